"""FID and KID from one pass of InceptionV3 features.

The network is torchmetrics' `NoTrainInceptionV3` (its wrapper of torch-fidelity's
`FeatureExtractorInceptionV3`, with `antialias=False` so the resize is torch-fidelity's own), loaded
from a weights file pinned by sha256. Each image set goes through it
once; FID and KID are then computed from the same 2048-d pool features:

* FID: statistics in float64, so the result does not depend on batch size (torchmetrics#1620 saw
  1.9 vs 10 between batch sizes). tr((S1 S2)^½) is the nuclear norm of B1 B2ᵀ for root factors
  Bᵢᵀ Bᵢ = Sᵢ: the centred features themselves when n <= d, eigh of the covariance otherwise.
  No `scipy.linalg.sqrtm` (minutes on 2048 x 2048, pytorch-fid#83).
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
    exactly and without a d x d eigendecomposition; otherwise B comes from eigh of the covariance."""
    f = _as_features(features)
    mu = f.mean(axis=0)
    if f.shape[0] - 1 <= f.shape[1]:
        return mu, (f - mu) / np.sqrt(f.shape[0] - 1)
    return mu, _psd_root_factor(np.cov(f, rowvar=False))


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
    """FID between two feature sets (rows are images); equals frechet_distance of their feature_stats."""
    return _frechet_from_factors(*_feature_root_factor(features1), *_feature_root_factor(features2))


def poly_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """KID's kernel (x·y / d + 1)³, as torch-fidelity and torchmetrics (degree 3, gamma 1/d, coef 1)."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² between two equally sized samples (diagonals of K_xx, K_yy excluded)."""
    m = x.shape[0]
    k_xx, k_yy, k_xy = poly_kernel(x, x), poly_kernel(y, y), poly_kernel(x, y)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2.0 * k_xy.sum() / (m * m))


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
    f1, f2 = np.asarray(features1, np.float64), np.asarray(features2, np.float64)
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
