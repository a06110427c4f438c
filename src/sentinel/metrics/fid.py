"""FID and KID from one pass of InceptionV3 features.

The network is torchmetrics' `NoTrainInceptionV3` (its wrapper of torch-fidelity's
`FeatureExtractorInceptionV3`, with `antialias=False` so the resize is torch-fidelity's own), loaded
from a weights file pinned by sha256. Each image set goes through it
once; FID and KID are then computed from the same 2048-d pool features:

* FID: statistics in float64, so the result does not depend on batch size (torchmetrics#1620 saw
  1.9 vs 10 between batch sizes). tr((S1 S2)^½) is the nuclear norm of B1 B2ᵀ for root factors
  Bᵢᵀ Bᵢ = Sᵢ: the centred features themselves when n <= d, eigh of the covariance otherwise.
  No `scipy.linalg.sqrtm` (minutes on 2048 x 2048, pytorch-fid#83).
  Working copies are float64 row chunks (CHUNK_ENTRIES), never the whole set: score-stage memory
  grows only by the stored float32 features (tests/test_score_memory.py).
* KID: unbiased MMD² with the cubic polynomial kernel k(x, y) = (x·y/d + 1)³, averaged over
  `subsets` random subsets of `subset_size` drawn with `numpy.random.default_rng(seed)`.

Both agree with torchmetrics' `FrechetInceptionDistance(antialias=False)` / `KernelInceptionDistance`
on the same images and weights file (tests/test_metrics_fid.py states the tolerances).
"""
from __future__ import annotations

import functools
import importlib.metadata as md
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from sentinel.images import QUANTISATION, load_uint8_chw
from sentinel.metrics.weights import require_weights, weights_sha256

FEATURE_LAYER = "2048"
CHUNK_ENTRIES = 1 << 19  # float64 entries per working chunk (4 MiB): score-stage memory grows only by the features
RESIZE = "torch-fidelity bilinear resize to 299 (torchmetrics NoTrainInceptionV3, antialias=False)"


@functools.lru_cache(maxsize=2)
def _inception(path: str, sha256: str, device: str) -> torch.nn.Module:
    from torchmetrics.image.fid import NoTrainInceptionV3

    torch.load(path, weights_only=True)  # torch-fidelity unpickles with weights_only=False: refuse code first
    # torchmetrics' wrapper of torch-fidelity's network; antialias=False keeps torch-fidelity's own resize.
    net = NoTrainInceptionV3("inception-v3-compat", [FEATURE_LAYER], feature_extractor_weights_path=path,
                             antialias=False)
    return net.to(device).eval()


def load_inception(weights_path: str | Path, device: str = "cpu") -> torch.nn.Module:
    """The InceptionV3 feature extractor with the weights in `weights_path` (never downloads)."""
    path = require_weights(weights_path, "InceptionV3")
    return _inception(str(path.resolve()), weights_sha256(path), device)


def _batches(paths: Sequence[str | Path], batch_size: int):
    """Yield uint8 arrays (B, 3, H, W); a batch ends early where the image size changes."""
    batch: list[np.ndarray] = []
    for path in paths:
        img = load_uint8_chw(path)
        if batch and (len(batch) == batch_size or img.shape != batch[0].shape):
            yield np.stack(batch)
            batch = []
        batch.append(img)
    if batch:
        yield np.stack(batch)


def inception_features(
    paths: Sequence[str | Path], *, weights_path: str | Path, batch_size: int, device: str = "cpu"
) -> np.ndarray:
    """2048-d pool features, shape (n, 2048), float32 as the network returns them."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    net = load_inception(weights_path, device)
    out = [np.zeros((0, 2048), dtype=np.float32)]
    with torch.inference_mode():
        for batch in _batches(paths, batch_size):
            feats = net(torch.from_numpy(batch).to(device))
            out.append(feats.float().cpu().numpy())
    return np.concatenate(out)


def _as_features(features: np.ndarray) -> np.ndarray:
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"need at least 2 feature rows to estimate a covariance, got shape {f.shape}")
    return f


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance (n - 1), both float64."""
    f = _as_features(features)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _psd_root_factor(sigma: np.ndarray) -> np.ndarray:
    """B with Bᵀ B = sigma, from eigh; eigenvalues below the numerical-rank threshold are dropped.

    For a rank-deficient covariance (n < d) this keeps ±1e-13 round-off out of the factor.
    """
    w, v = np.linalg.eigh(sigma)
    keep = w > max(w.max(initial=0.0), 0.0) * len(w) * np.finfo(np.float64).eps
    return (v[:, keep] * np.sqrt(w[keep])).T


def _feature_root_factor(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, B) with Bᵀ B = covariance. For n <= d the centred features / √(n-1) are such a B,
    exactly and without a d x d eigendecomposition; otherwise B comes from eigh of the covariance
    (accumulated in row chunks: no float64 copy of all n rows)."""
    _check_rows(features)
    n, d = features.shape
    if n - 1 <= d:
        f = np.array(features, dtype=np.float64)  # at most (d + 1) x d: bounded whatever n is
        mu = f.mean(axis=0)
        f -= mu
        f /= np.sqrt(n - 1)
        return mu, f
    mu = chunked_mean(features)
    return mu, _psd_root_factor(chunked_scatter(features, mu) / (n - 1))


def _check_rows(features: np.ndarray) -> None:
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"need at least 2 feature rows to estimate a covariance, got shape {features.shape}")


def row_chunks(n: int, width: int, budget: int = CHUNK_ENTRIES):
    """Slices of at most `budget` / `width` rows: float64 working copies stay a few MiB whatever n is."""
    step = max(1, budget // max(width, 1))
    return (slice(s, min(s + step, n)) for s in range(0, n, step))


def chunked_mean(features: np.ndarray) -> np.ndarray:
    total = np.zeros(features.shape[1], np.float64)
    for sl in row_chunks(*features.shape):
        total += np.asarray(features[sl], np.float64).sum(axis=0)
    return total / features.shape[0]


def chunked_scatter(features: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Σ (f - mu)(f - mu)ᵀ in float64, a row chunk at a time (d x d; never an n x d float64 copy)."""
    out = np.zeros((features.shape[1],) * 2, np.float64)
    for sl in row_chunks(*features.shape):
        c = np.asarray(features[sl], np.float64) - mu
        out += c.T @ c
    return out


def _centred_sq_norm(features: np.ndarray, mu: np.ndarray) -> float:
    return float(sum(np.sum((np.asarray(features[sl], np.float64) - mu) ** 2)
                     for sl in row_chunks(*features.shape)))


def _fid_small_vs_large(small: np.ndarray, large: np.ndarray) -> float:
    """FID when one set has n <= d + 1 rows (root factor: its centred rows, k x d) and the other more:
    the nuclear norm of C = B_small B_largeᵀ (k x n) is that of the k x k R of a QR of Cᵀ, built a row
    chunk of the large set at a time (TSQR, backward stable: no squared condition number), so neither
    a d x d matrix nor a k x n one is ever held."""
    mu_s, b_s = _feature_root_factor(small)
    n, k = large.shape[0], len(b_s)
    mu_l = chunked_mean(large)
    r = np.zeros((0, k), np.float64)
    for sl in row_chunks(n, large.shape[1], budget=max(CHUNK_ENTRIES, k * large.shape[1])):
        ct = ((np.asarray(large[sl], np.float64) - mu_l) / np.sqrt(n - 1)) @ b_s.T  # rows of Cᵀ
        r = np.linalg.qr(np.vstack([r, ct]), mode="r")
    nuclear = np.linalg.svd(r, compute_uv=False).sum()
    diff = mu_s - mu_l
    return float(diff @ diff + np.sum(b_s * b_s) + _centred_sq_norm(large, mu_l) / (n - 1) - 2.0 * nuclear)


def _frechet_from_factors(mu1: np.ndarray, b1: np.ndarray, mu2: np.ndarray, b2: np.ndarray) -> float:
    """‖mu1 - mu2‖² + tr S1 + tr S2 - 2 tr((S1 S2)^½) with Sᵢ = Bᵢᵀ Bᵢ.

    The eigenvalues of S1 S2 are the squared singular values of B1 B2ᵀ, so tr((S1 S2)^½) is its
    nuclear norm: no square root of a non-symmetric matrix, no sqrt of round-off eigenvalues.
    """
    cross = b1 @ b2.T
    tr_covmean = np.linalg.svd(cross, compute_uv=False).sum() if cross.size else 0.0
    diff = mu1 - mu2
    return float(diff @ diff + np.sum(b1 * b1) + np.sum(b2 * b2) - 2.0 * tr_covmean)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), in float64, eigh-based."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (len(mu1), len(mu1)):
        raise ValueError(f"shape mismatch: mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}")
    return _frechet_from_factors(mu1, _psd_root_factor(sigma1), mu2, _psd_root_factor(sigma2))


def fid_from_features(features1: np.ndarray, features2: np.ndarray) -> float:
    """FID between two feature sets (rows are images); equals frechet_distance of their feature_stats.

    Working memory does not grow with n beyond the features themselves (float32 as stored): both
    sets <= d + 1 rows, the exact centred-row factors (at most (d + 1) x d each); one above, the
    chunked small-vs-large form; both above, chunked covariances and their eigh roots (d x d).
    """
    f1, f2 = np.asarray(features1), np.asarray(features2)
    _check_rows(f1), _check_rows(f2)
    if f1.shape[1] != f2.shape[1]:
        raise ValueError(f"feature widths differ: {f1.shape[1]} vs {f2.shape[1]}")
    d = f1.shape[1]
    small1, small2 = len(f1) - 1 <= d, len(f2) - 1 <= d
    if small1 != small2:
        return _fid_small_vs_large(f1, f2) if small1 else _fid_small_vs_large(f2, f1)
    return _frechet_from_factors(*_feature_root_factor(f1), *_feature_root_factor(f2))


def poly_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """KID's kernel (x·y / d + 1)³, as torch-fidelity and torchmetrics (degree 3, gamma 1/d, coef 1)."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² between two equally sized samples (diagonals of K_xx, K_yy excluded)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)  # a subset's rows only, never a whole set
    m = x.shape[0]
    k_xx, k_yy, k_xy = poly_kernel(x, x), poly_kernel(y, y), poly_kernel(x, y)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2.0 * k_xy.sum() / (m * m))


FULL_KERNEL_ROWS = 1001  # up to this many rows a side, KID/CMMD hold the full kernels (exact old sums, <= 24 MiB)


KERNEL_BLOCK_ROWS = 512  # rows a side of one kernel block (8 MiB float64 copies at d = 2048; GEMMs stay efficient)


def kernel_block_sums(a: np.ndarray, b: np.ndarray, kernel, same: bool = False) -> tuple[float, float]:
    """(Σ of all entries, trace) of kernel(a, b) in float64, one block of rows of each side at a time,
    so no n x m kernel (and no float64 copy of a whole set) is held. `same`: b is a; only blocks on
    and above the diagonal are computed (the kernel is symmetric) and the trace is returned."""
    rows = max(1, min(KERNEL_BLOCK_ROWS, 3 * CHUNK_ENTRIES // max(a.shape[1], 1)))
    starts_a, starts_b = range(0, len(a), rows), range(0, len(b), rows)
    total, trace = 0.0, 0.0
    for si in starts_a:
        ai = np.asarray(a[si:si + rows], np.float64)
        for sj in (s for s in starts_b if not same or s >= si):
            k = kernel(ai, ai if same and si == sj else np.asarray(b[sj:sj + rows], np.float64))
            total += float(k.sum()) * (2.0 if same and sj > si else 1.0)
            if same and si == sj:
                trace += float(np.trace(k))
    return total, trace


def poly_block_kernel(d: int):
    def kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        k = x @ y.T
        k /= d
        k += 1.0
        return k * k * k  # (x·y/d + 1)³ without pow(): one temporary
    return kernel


def kid_subset_indices(n1: int, n2: int, *, subset_size: int, subsets: int, seed: int):
    """The (idx1, idx2) pairs KID averages over; set 1 is the generated set, set 2 the reference."""
    if subset_size > n1 or subset_size > n2:
        raise ValueError(
            f"KID subset_size={subset_size} is larger than the number of samples "
            f"(generated: {n1}, reference: {n2}); lower score.kid_subset_size or add images"
        )
    if subset_size < 2 or subsets < 1:
        raise ValueError(f"KID needs subset_size >= 2 and subsets >= 1, got {subset_size} and {subsets}")
    rng = np.random.default_rng(seed)
    return [(rng.choice(n1, subset_size, replace=False), rng.choice(n2, subset_size, replace=False))
            for _ in range(subsets)]


def kid_from_features(
    features1: np.ndarray, features2: np.ndarray, *, subset_size: int, subsets: int, seed: int
) -> tuple[float, float]:
    """(mean, population std) of unbiased MMD² over the seeded subsets, in float64."""
    f1, f2 = np.asarray(features1), np.asarray(features2)  # float32 as stored: subsets go to float64
    pairs = kid_subset_indices(len(f1), len(f2), subset_size=subset_size, subsets=subsets, seed=seed)
    mmds = np.array([mmd2_unbiased(f1[i], f2[j]) for i, j in pairs])
    return float(mmds.mean()), float(mmds.std())


def convention(weights_path: str | Path) -> dict:
    """Everything that can move FID/KID, recorded beside the numbers."""
    path = require_weights(weights_path, "InceptionV3")
    return {
        "network": "torchmetrics NoTrainInceptionV3 (torch-fidelity FeatureExtractorInceptionV3 weights layout)",
        "weights_file": path.name,
        "weights_sha256": weights_sha256(path),
        "feature_layer": "2048 (final average pool)",
        "resize": RESIZE,
        "quantisation": f"uint8 PNG: {QUANTISATION}",
        "network_dtype": "float32",
        "statistics_dtype": "float64",
        "fid_matrix_sqrt": "nuclear norm of B1 B2^T, B = centred features (n <= d) or eigh root (no sqrtm)",
        "kid_kernel": "polynomial, degree 3, gamma 1/d, coef 1; unbiased MMD^2",
        "kid_subsets_rng": "numpy.random.default_rng(seed).choice without replacement",
        "torchmetrics": md.version("torchmetrics"),
        "torch_fidelity": md.version("torch-fidelity"),
        "torch": torch.__version__,
    }
