"""Score one image set: FID, KID, CLIP score and CMMD, each with a seeded bootstrap CI and its n.

One pass: the generated and reference images are decoded once and fed to InceptionV3 and the CLIP
image tower together (extract.py). Features are cached per image sha256 and extractor namespace
(cache.py), in memory and, with `FeatureCache(cache_dir)`, on disk across runs; reference feature
matrices are also cached whole, keyed by the content hash of the images (in order) and of every
extractor namespace (weights sha256, resize, feature layer, device). Scoring the same images twice
recomputes nothing, and the cache never changes a number (rows are stored losslessly).

    cache = FeatureCache(".cache/sentinel")
    result = score_set(gen_paths, prompts, ref_paths, cache=cache, **score_kwargs)
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from sentinel.metrics import bootstrap as bs
from sentinel.metrics import clip_score as clip
from sentinel.metrics import cmmd, fid
from sentinel.metrics.cache import FeatureCache, digest, text_key
from sentinel.metrics.extract import clip_image_extractor, extract, image_keys, inception_extractor
from sentinel.metrics.weights import require_weights, weights_sha256

__all__ = ["FeatureCache", "DEFAULT_CACHE", "score_set", "convention", "inception_features_cached",
           "reference_features"]

DEFAULT_CACHE = FeatureCache()


def inception_features_cached(paths: Sequence[Path], *, weights_path: str, batch_size: int,
                              cache: FeatureCache, device: str = "cpu") -> np.ndarray:
    return extract(list(paths), [inception_extractor(weights_path, batch_size, device)], cache)[0]


def reference_features(paths: Sequence[Path], extractors, cache: FeatureCache) -> list[np.ndarray]:
    """Feature matrices of a reference set, cached whole under the hash of everything that changes them."""
    key = digest({"kind": "reference-features", "images": image_keys(paths),
                  "extractors": [list(ex.namespace) for ex in extractors]})
    blob = cache.get_arrays(key)
    if blob is None:
        blob = {f"f{i}": f for i, f in enumerate(extract(list(paths), extractors, cache))}
        cache.put_arrays(key, blob)
    return [blob[f"f{i}"] for i in range(len(extractors))]


def text_embeddings_cached(prompts: Sequence[str], *, arch: str, weights_path: str, batch_size: int,
                           cache: FeatureCache, device: str = "cpu") -> np.ndarray:
    sha = weights_sha256(require_weights(weights_path, f"CLIP {arch}"))
    return cache.rows(("clip-text", arch, sha, "eot-kept truncation", device), [text_key(p) for p in prompts],
                      lambda idx: clip.clip_text_embeddings([prompts[i] for i in idx], arch=arch,
                                                            weights_path=weights_path, batch_size=batch_size,
                                                            device=device))


def _ci(values: np.ndarray, level: float, **n: int) -> dict:
    low, high = bs.interval(values, level)
    return {"low": low, "high": high, **n}


def _with_uncertainty(gen_inc, ref_inc, gen_clip, ref_clip, per_pair, *, samples: int, level: float,
                      seed: int) -> dict:
    n, m = len(gen_inc), len(ref_inc)
    counts = bs.resample_counts(n, samples, seed)
    kid_k, cmmd_k = bs.kid_kernels(gen_inc, ref_inc), cmmd.kernels(gen_clip, ref_clip)
    ones = np.ones((1, n))
    sizes = {"n_generated": n, "n_reference": m}
    return {
        "kid_full": float(bs.kid_full_replicates(*kid_k, ones)[0]),
        "cmmd": float(bs.cmmd_replicates(*cmmd_k, ones)[0]),
        "ci": {"fid": _ci(bs.fid_replicates(gen_inc, ref_inc, counts), level, **sizes),
               "kid_full": _ci(bs.kid_full_replicates(*kid_k, counts), level, **sizes),
               "clip_score": _ci(bs.mean_replicates(per_pair, counts), level, n_pairs=n),
               "cmmd": _ci(bs.cmmd_replicates(*cmmd_k, counts), level, **sizes)},
        "ci_level": level,
        "bootstrap_samples": samples,
    }


def score_set(
    generated: list[Path], prompts: list[str], reference: list[Path], *, inception_weights: str,
    clip_arch: str, clip_weights: str, batch_size: int, kid_subset_size: int, kid_subsets: int, seed: int,
    cache: FeatureCache | None = None, device: str = "cpu", bootstrap_samples: int = 200, ci_level: float = 0.95,
) -> dict:
    """FID, KID and CMMD of `generated` against `reference`, CLIP score against `prompts`, with CIs.

    Record `convention(...)` beside the result.
    """
    if len(generated) < 2 or len(reference) < 2:
        raise ValueError(f"FID needs at least 2 images per set: generated {len(generated)}, "
                         f"reference {len(reference)}")
    if len(generated) != len(prompts):
        raise ValueError(f"CLIP score needs one prompt per image: {len(generated)} images, {len(prompts)} prompts")
    cache = DEFAULT_CACHE if cache is None else cache
    extractors = [inception_extractor(inception_weights, batch_size, device),
                  clip_image_extractor(clip_arch, clip_weights, batch_size, device)]
    ref_inc, ref_clip = reference_features(list(reference), extractors, cache)
    gen_inc, gen_clip = extract(list(generated), extractors, cache)
    kid_mean, kid_std = fid.kid_from_features(gen_inc, ref_inc, subset_size=kid_subset_size, subsets=kid_subsets,
                                              seed=seed)
    txt = text_embeddings_cached(list(prompts), arch=clip_arch, weights_path=clip_weights, batch_size=batch_size,
                                 cache=cache, device=device)
    per_pair = clip.clip_scores_from_embeddings(gen_clip, txt)
    result = {"fid": fid.fid_from_features(gen_inc, ref_inc), "kid_mean": kid_mean, "kid_std": kid_std,
              **clip.summarise(per_pair, clip.tokenize(prompts, clip_arch)[1])}
    result.update(_with_uncertainty(gen_inc, ref_inc, gen_clip, ref_clip, per_pair, samples=bootstrap_samples,
                                    level=ci_level, seed=seed))
    return {**result, "n_generated": len(generated), "n_reference": len(reference)}


def convention(inception_weights: str, clip_arch: str, clip_weights: str) -> dict:
    """The conventions behind score_set's numbers, for the provenance of the score stage's output."""
    return {"fid_kid": fid.convention(inception_weights), "clip_score": clip.convention(clip_arch, clip_weights),
            "cmmd": cmmd.convention(clip_arch),
            "bootstrap": "percentile bootstrap over generated images (reference fixed), "
                         "numpy default_rng(score.seed).integers; see rubrics/metrics-convention.md"}
