"""The feature statistics a release carries, so anyone can recompute its FID without regenerating.

    releases/<id>/features/stats.npz      every release
        <set>/mu           (d,) float64: the mean Inception (2048-d pool) feature of the set
        <set>/sigma_root   (k, d) float64 R with Σ = Rᵀ R, Σ the set's unbiased covariance (n - 1)
        <set>/n            the set's image count
    releases/<id>/features/features.npz   smoke-profile releases only (small): the features themselves
        <set>/inception    (n, 2048) float32, as extracted;  <set>/clip  (n, d) float32 CLIP image embeddings
        <set>/keys         the images (`<model>/<job>.png`, `<category>/<photo>.png`), in row order

Sets: `<model>/<category>` for every scored model and category, `reference/<category>` for every
category's reference set. Rows are in the score stage's canonical order and come from the same
extractors and cache (metrics/compute.py `set_features`), so they are the rows the published numbers
were computed from. R is the centred features / √(n-1) when n - 1 <= d (Σ has rank < d, and R is
n x d instead of d x d: small), else the eigh root of Σ (d x d). Then
tr((Σa Σb)^½) = ‖Ra Rbᵀ‖_* (nuclear norm), which is how the ten-line script in releases/README.md
recomputes each category's FID and combines them by the published `category_mix`.

Written by `release cut` into the staged release folder; manifest.json hashes both files, so
`release verify` reports an edited one (`manifest:features/stats.npz`).
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from sentinel import config
from sentinel.records import is_ok

STATS, FEATURES = "features/stats.npz", "features/features.npz"


def _rooted(root: Path, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else root / p


def image_sets(root: Path, params: dict, records: list[dict]) -> dict[str, list[Path]]:
    """{set name: image paths}: every model x category with delivered images, and every reference set."""
    from sentinel.workloads.references import scored_references

    wl, paths, sc = (config.section(params, k) for k in ("workload", "paths", "score"))
    images = _rooted(root, paths.images)
    sets: dict[str, list[Path]] = {}
    for r in sorted((r for r in records if is_ok(r)), key=lambda r: (r["model"], r["job_id"])):
        sets.setdefault(f"{r['model']}/{r['category']}", []).append(images / r["image"])
    reference = {c: str(_rooted(root, p)) for c, p in wl.reference.items()}
    for c in wl.categories:
        sets[f"reference/{c}"] = scored_references(_rooted(root, paths.data), c, reference,  # as score reads them
                                                   str(_rooted(root, sc.cache_dir)) if sc.cache_dir else None)
    return sets


def set_stats(inception: np.ndarray) -> dict[str, np.ndarray]:
    """mu, sigma_root R (Σ = Rᵀ R, the unbiased covariance) and n of one set's Inception features, float64.

    n - 1 <= d: R is the centred rows / √(n-1), exact and n x d; otherwise the eigh root of Σ, with
    eigenvalues below the numerical-rank threshold (max · d · eps) dropped, as metrics/fid.py does."""
    f = np.asarray(inception, np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"feature statistics need at least 2 rows, got shape {f.shape}")
    mu = f.mean(axis=0)
    if len(f) - 1 <= f.shape[1]:
        root = (f - mu) / np.sqrt(len(f) - 1)
    else:
        w, v = np.linalg.eigh(np.cov(f, rowvar=False))
        keep = w > max(w.max(initial=0.0), 0.0) * len(w) * np.finfo(np.float64).eps
        root = (v[:, keep] * np.sqrt(w[keep])).T
    return {"mu": mu, "sigma_root": np.ascontiguousarray(root), "n": np.int64(len(f))}


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def freeze(root: Path, params: dict, records: list[dict], out_dir: Path, with_features: bool | None = None) -> list[str]:
    """Write features/stats.npz (and, for the smoke profile or `with_features`, features/features.npz)
    under `out_dir`; returns the release-relative names written (for the manifest's hashes)."""
    from sentinel.metrics.compute import FeatureCache, set_features
    from sentinel.provenance import atomic_write_bytes

    sc = config.section(params, "score")
    cache = FeatureCache(_rooted(root, sc.cache_dir) if sc.cache_dir else None)
    kwargs = dict(inception_weights=str(_rooted(root, sc.inception_weights)), clip_arch=sc.clip_arch,
                  clip_weights=str(_rooted(root, sc.clip_weights)), batch_size=sc.batch_size, cache=cache)
    stats, feats = {}, {}
    for name, paths in image_sets(root, params, records).items():
        keys, f = set_features(paths, reference=name.startswith("reference/"), **kwargs)
        stats.update({f"{name}/{k}": v for k, v in set_stats(f["inception"]).items()})
        feats.update({f"{name}/keys": np.asarray(keys), **{f"{name}/{i}": v for i, v in f.items()}})
    written = [STATS]
    atomic_write_bytes(out_dir / STATS, _npz(stats))
    if with_features if with_features is not None else sc.profile == "smoke":
        atomic_write_bytes(out_dir / FEATURES, _npz(feats))
        written.append(FEATURES)
    return written
