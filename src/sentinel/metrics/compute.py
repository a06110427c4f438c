"""Score one image set: FID, KID and CLIP score from features computed once.

The score stage scores each model overall and per category against reference sets. Features are
cached in memory per image *content* (sha256 of the PNG) and per network (weights sha256, device),
so a reference category is encoded once and reused across models, and a generated image scored
overall and again in its category is encoded once too.

    cache = FeatureCache()  # or leave cache out: score_set then uses the process-wide DEFAULT_CACHE
    for model in models:
        overall = score_set(gen[model], prompts[model], ref_all, cache=cache, **score_kwargs)
        for cat in categories:
            per_cat = score_set(gen[model, cat], prompts[model, cat], ref[cat], cache=cache, **score_kwargs)
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Hashable, Sequence

import numpy as np

from sentinel.metrics import clip_score as clip
from sentinel.metrics import fid
from sentinel.metrics.weights import require_weights, weights_sha256
from sentinel.provenance import sha256_file


class FeatureCache:
    """In-memory feature rows keyed by (namespace, item); namespace names the network and its weights."""

    def __init__(self) -> None:
        self._rows: dict[tuple[Hashable, Hashable], np.ndarray] = {}
        self.computed = 0  # rows computed by a network (the rest were cache hits)

    def rows(self, namespace: Hashable, keys: Sequence[Hashable],
             compute: Callable[[list[int]], np.ndarray]) -> np.ndarray:
        """Rows for `keys`; `compute(indices)` is called once, for the first index of each missing key."""
        first: dict[Hashable, int] = {}
        for i, key in enumerate(keys):
            if (namespace, key) not in self._rows:
                first.setdefault(key, i)
        if first:
            new = compute(list(first.values()))
            for key, row in zip(first, new, strict=True):
                self._rows[(namespace, key)] = row
            self.computed += len(first)
        return np.stack([self._rows[(namespace, k)] for k in keys]) if keys else np.zeros((0, 0), np.float32)


DEFAULT_CACHE = FeatureCache()


def _image_keys(paths: Sequence[Path]) -> list[str]:
    return [sha256_file(p) for p in paths]


def inception_features_cached(paths: Sequence[Path], *, weights_path: str, batch_size: int,
                              cache: FeatureCache, device: str = "cpu") -> np.ndarray:
    namespace = ("inception-2048", weights_sha256(require_weights(weights_path, "InceptionV3")), device)
    return cache.rows(namespace, _image_keys(paths), lambda idx: fid.inception_features(
        [paths[i] for i in idx], weights_path=weights_path, batch_size=batch_size, device=device))


def clip_scores_cached(paths: Sequence[Path], prompts: Sequence[str], *, arch: str, weights_path: str,
                       batch_size: int, cache: FeatureCache, device: str = "cpu") -> dict:
    """Same result as clip_score.clip_score, with image and text embeddings taken from `cache`."""
    if len(paths) != len(prompts) or not paths:
        raise ValueError(f"CLIP score needs one prompt per image and at least one pair: "
                         f"{len(paths)} images, {len(prompts)} prompts")
    sha = weights_sha256(require_weights(weights_path, f"CLIP {arch}"))
    kwargs = dict(arch=arch, weights_path=weights_path, batch_size=batch_size, device=device)
    img = cache.rows(("clip-image", arch, sha, device), _image_keys(paths),
                     lambda idx: clip.clip_image_embeddings([paths[i] for i in idx], **kwargs))
    txt = cache.rows(("clip-text", arch, sha, device), list(prompts),
                     lambda idx: clip.clip_text_embeddings([prompts[i] for i in idx], **kwargs))
    return clip.summarise(clip.clip_scores_from_embeddings(img, txt), clip.tokenize(prompts, arch)[1])


def score_set(
    generated: list[Path], prompts: list[str], reference: list[Path], *, inception_weights: str,
    clip_arch: str, clip_weights: str, batch_size: int, kid_subset_size: int, kid_subsets: int, seed: int,
    cache: FeatureCache | None = None, device: str = "cpu",
) -> dict:
    """FID and KID of `generated` against `reference`, and CLIP score of `generated` against `prompts`.

    Inception features of each set are extracted once and shared by FID and KID. Features are
    reused across calls through `cache` (default: the process-wide DEFAULT_CACHE; its keys hold
    everything that changes a number, so reuse is safe). Record `convention(...)` beside the result.
    """
    if len(generated) < 2 or len(reference) < 2:
        raise ValueError(f"FID needs at least 2 images per set: generated {len(generated)}, "
                         f"reference {len(reference)}")
    cache = DEFAULT_CACHE if cache is None else cache
    feats = dict(weights_path=inception_weights, batch_size=batch_size, cache=cache, device=device)
    gen = inception_features_cached(list(generated), **feats)
    ref = inception_features_cached(list(reference), **feats)
    kid_mean, kid_std = fid.kid_from_features(gen, ref, subset_size=kid_subset_size, subsets=kid_subsets, seed=seed)
    clip_result = clip_scores_cached(list(generated), list(prompts), arch=clip_arch, weights_path=clip_weights,
                                     batch_size=batch_size, cache=cache, device=device)
    return {
        "fid": fid.fid_from_features(gen, ref),
        "kid_mean": kid_mean,
        "kid_std": kid_std,
        **clip_result,
        "n_generated": len(generated),
        "n_reference": len(reference),
    }


def convention(inception_weights: str, clip_arch: str, clip_weights: str) -> dict:
    """The conventions behind score_set's numbers, for the provenance of the score stage's output."""
    return {"fid_kid": fid.convention(inception_weights), "clip_score": clip.convention(clip_arch, clip_weights)}
