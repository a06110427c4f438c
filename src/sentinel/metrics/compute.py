"""Score one image set: every registered metric (registry.py: FID, KID, CLIP score, CMMD, ...), each with
a seeded bootstrap CI at the configured level and its n.

One pass: the generated and reference images are decoded once and fed to InceptionV3 and the CLIP
image tower together (extract.py). Features are cached per image sha256 and extractor namespace
(cache.py), in memory and, with `FeatureCache(cache_dir)`, on disk across runs; reference feature
matrices are also cached whole, keyed by the content hash of the images (in order) and of every
extractor namespace (weights sha256, resize, feature layer, device). Scoring the same images twice
recomputes nothing, and the cache never changes a number (rows are stored losslessly).

    cache = FeatureCache(".cache/sentinel")
    result = score_set(gen_paths, prompts, ref_paths, cache=cache, **score_kwargs)

Row order never reaches a number: both sides are put in canonical order (`canonical`: by
`<folder>/<file>`, then the full path) and every subsample is drawn from a stream seeded by score.seed
and the set of image keys (metrics/streams.py). `set_features` gives those exact rows (releases store
them: sentinel.release.features).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from sentinel.metrics import bootstrap as bs
from sentinel.metrics import clip_score as clip
from sentinel.metrics import cmmd, fid, registry, streams
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


def _extractors(ids: list[str], *, inception_weights: str, clip_arch: str, clip_weights: str, batch_size: int,
                device: str, options: dict | None = None) -> list:
    builders = {"inception": lambda: inception_extractor(inception_weights, batch_size, device),
                "clip": lambda: clip_image_extractor(clip_arch, clip_weights, batch_size, device)}
    return [builders[i]() if i in builders else registry.build_extractor(i, options or {}, batch_size, device)
            for i in ids]  # the others (dinov2, cmmd_clip) from registry.EXTRACTOR_BUILDERS


def _ci(metric: registry.Metric, inputs: registry.Inputs, counts: np.ndarray, level: float) -> dict:
    """The metric's own interval method when it has one, else the percentile interval of its replicates."""
    if metric.interval is not None:
        ci = dict(metric.call("interval", inputs, level))
    else:
        low, high = bs.interval(metric.call("replicates", inputs, counts), level)
        ci = {"low": low, "high": high}
    n, m = len(inputs.prompts), len(next(iter(inputs.ref.values())))
    return {**ci, **({"n_pairs": n} if metric.ci_counts == "pairs" else {"n_generated": n, "n_reference": m})}


def _key(path) -> str:
    """An image's identity for ordering and seeding: `<folder>/<file>` (`<model>/<job>.png`,
    `<category>/<photo>.png`), never the absolute path, so a re-score elsewhere draws the same subsets."""
    return "/".join(Path(path).parts[-2:])


def canonical(paths: Sequence[Path]) -> list[int]:
    """Indices that put `paths` in canonical order: by `<folder>/<file>`, then by the whole path (two
    configured reference folders may share a name), so no listing order can reach a number."""
    return sorted(range(len(paths)), key=lambda i: (_key(paths[i]), str(paths[i])))


def set_features(paths: Sequence[Path], *, inception_weights: str, clip_arch: str, clip_weights: str,
                 batch_size: int, cache: FeatureCache | None = None, device: str = "cpu",
                 reference: bool = False) -> tuple[list[str], dict[str, np.ndarray]]:
    """(keys, {extractor id: features}) of one image set in canonical order, exactly the rows
    score_set computes its metrics from (releases store them: sentinel.release.features)."""
    paths = [Path(paths[i]) for i in canonical(paths)]
    cache = DEFAULT_CACHE if cache is None else cache
    ids = [i for i in registry.EXTRACTORS if any(m.extractor == i for m in registry.active({}))]
    extractors = _extractors(ids, inception_weights=inception_weights, clip_arch=clip_arch,
                             clip_weights=clip_weights, batch_size=batch_size, device=device)
    feats = reference_features(paths, extractors, cache) if reference else extract(paths, extractors, cache)
    return [_key(p) for p in paths], dict(zip(ids, feats))


def score_set(
    generated: list[Path], prompts: list[str], reference: list[Path], *, inception_weights: str,
    clip_arch: str, clip_weights: str, batch_size: int, kid_subset_size: int, kid_subsets: int, seed: int,
    cache: FeatureCache | None = None, device: str = "cpu", bootstrap_samples: int = 200, ci_level: float = 0.95,
    options: dict | None = None,  # registry.score_options: optional metrics (FD-DINOv2, plug-ins), CMMD's encoder
) -> dict:
    """Every registered metric (metrics/registry.py) of `generated` against `reference` and `prompts`,
    each with a seeded percentile-bootstrap CI at `ci_level` (one resample matrix shared by all).

    Record `convention(...)` beside the result.
    """
    if len(generated) < 2 or len(reference) < 2:
        raise ValueError(f"FID needs at least 2 images per set: generated {len(generated)}, "
                         f"reference {len(reference)}")
    if len(generated) != len(prompts):
        raise ValueError(f"CLIP score needs one prompt per image: {len(generated)} images, {len(prompts)} prompts")
    bs.check_level(ci_level)
    # Canonical order: every resample and subset below is drawn over images sorted by path (job id),
    # so the workload's row order can change no number; per-image outputs go back to input order.
    order = canonical(generated)
    generated, prompts = [generated[i] for i in order], [prompts[i] for i in order]
    reference = [reference[i] for i in canonical(reference)]
    cache = DEFAULT_CACHE if cache is None else cache
    options = dict(options or {})
    metrics = registry.active(options)
    ids = [i for i in registry.EXTRACTORS if i != "pairs" and any(m.extractor == i for m in metrics)]
    extractors = _extractors(ids, inception_weights=inception_weights, clip_arch=clip_arch,
                             clip_weights=clip_weights, batch_size=batch_size, device=device, options=options)
    ref = dict(zip(ids, reference_features(list(reference), extractors, cache)))
    gen = dict(zip(ids, extract(list(generated), extractors, cache)))
    text = None if "clip" not in ids else text_embeddings_cached(
        list(prompts), arch=clip_arch, weights_path=clip_weights, batch_size=batch_size, cache=cache, device=device)
    keys = [_key(p) for p in generated] + ["ref:" + _key(p) for p in reference]
    inputs = registry.Inputs(gen=gen, ref=ref, prompts=list(prompts), text=text, settings={
        "kid_subset_size": kid_subset_size, "kid_subsets": kid_subsets, "seed": seed, "clip_arch": clip_arch,
        "keys": keys, "interval_reps": min(bootstrap_samples, 100), "options": options, "paths": list(generated)})
    # The percentile bootstrap (CLIP score) draws from the stream of (seed, image keys): metrics/streams.py.
    counts = bs.resample_counts(len(generated), bootstrap_samples, streams.stream_seed(keys, "bootstrap", seed))
    result: dict = {}
    for m in metrics:
        result.update(m.call("extras", inputs) if m.extras else {})
        result[m.name] = float(m.call("point", inputs))
    result["ci"] = {m.name: _ci(m, inputs, counts, ci_level) for m in metrics}
    for key, value in list(result.items()):  # per-image lists back to the caller's order
        if key.endswith("_per_image") and isinstance(value, list) and len(value) == len(order):
            result[key] = [value[order.index(i)] for i in range(len(order))]
    return {**result, "ci_level": ci_level, "bootstrap_samples": bootstrap_samples,
            "n_generated": len(generated), "n_reference": len(reference)}


def convention(inception_weights: str, clip_arch: str, clip_weights: str) -> dict:
    """The conventions behind score_set's numbers, for the provenance of the score stage's output."""
    from sentinel.metrics import mix

    fid_kid = {**fid.convention(inception_weights), "kid": "full unbiased MMD^2 over all pairs (`kid`); "
               "`kid_subsets_mean`/`kid_subsets_std`: torch-fidelity's mean/std over subsets, labelled so",
               "kid_subsets_rng": streams.KID_SUBSETS_RNG}
    return {"fid_kid": fid_kid, "clip_score": clip.convention(clip_arch, clip_weights),
            "cmmd": cmmd.convention(clip_arch),
            "bootstrap": "FID, KID, CMMD: half-sampling of both sides without replacement, point +- z sd "
                         "(metrics/halfsample.py); CLIP score: percentile bootstrap over image-prompt pairs; "
                         "images sorted by path first, so row order changes nothing; see "
                         "rubrics/metrics-convention.md",
            "random_streams": {"order": "images sorted by <folder>/<file> (then full path) on both sides",
                               "seed": streams.STREAM_SEED, "kid_subsets": streams.KID_SUBSETS_RNG,
                               "intervals": streams.INTERVAL_RNG},
            "overall": f"FID, KID, CMMD: {mix.METHOD}; CLIP score: pooled mean over image-prompt pairs; "
                       "the pooled set metrics are kept as <metric>_pooled",
            "registry": {m.name: f"{m.label}: extractor {m.extractor}, "
                                 f"{'higher' if m.higher_is_better else 'lower'} is better, column {m.column}"
                         for m in registry.REGISTRY.values()}}
