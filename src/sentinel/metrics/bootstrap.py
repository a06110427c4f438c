"""Seeded percentile-bootstrap confidence intervals for FID, KID, CLIP score and CMMD.

What is resampled: the *generated* images (with replacement, n of n); the reference set is held
fixed, since it is the same for every model and ranking differences come from the generated side.
Every replicate is expressed through the resample's counts c (c_i = how often image i was drawn),
which makes each statistic exact for the resampled set without copying it:

* FID: mean c·F/n, covariance Σ c_i (f_i - μ)(f_i - μ)ᵀ/(n-1); the rows √c_i (f_i - μ)/√(n-1) are a
  root factor of that covariance, so the nuclear-norm Fréchet distance of fid.py applies unchanged.
* KID: the full-sample unbiased MMD² (cubic polynomial kernel), (cᵀKc - Σ c_i K_ii)/(n(n-1)) for the
  generated block. Its point value is reported as `kid_full`; `kid_mean` (the subset average, as
  torch-fidelity) estimates the same MMD² with more variance.
* CLIP score: mean of the per-pair clamped scores.  * CMMD: cᵀK_gg c/n² and cᵀK_gr 1/(n m).

Indices come from numpy.random.default_rng(seed).integers(0, n, (samples, n)); the interval is
numpy.quantile(values, [(1-level)/2, (1+level)/2]) (linear interpolation).

This module is also the one home of interval arithmetic for every other bootstrap in the project
(human ratings, per-attribute breakdowns, the composite's draws): `interval` at a configured level,
`check_level`, and `z` (the normal quantile for a level). It imports only numpy at import time, so
the light packages (human, report) use it without torch.
"""
from __future__ import annotations

import numpy as np

from sentinel.metrics import cmmd as cmmd_mod


def resample_counts(n: int, samples: int, seed: int) -> np.ndarray:
    """(samples, n) int64 counts of each item in each bootstrap resample."""
    if n < 2 or samples < 1:
        raise ValueError(f"bootstrap needs n >= 2 items and samples >= 1, got n={n}, samples={samples}")
    idx = np.random.default_rng(seed).integers(0, n, size=(samples, n))
    return np.stack([np.bincount(row, minlength=n) for row in idx])


def check_level(level: float, where: str = "score.ci_level") -> float:
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        raise ValueError(f"{where} must be in (0, 1), got {level!r}")
    return float(level)


def interval(values: np.ndarray, level: float, axis: int | None = None):
    """Percentile interval [(1-level)/2, (1+level)/2] of bootstrap replicates (floats; arrays along `axis`)."""
    check_level(level)
    lo, hi = np.quantile(np.asarray(values, np.float64), [(1 - level) / 2, (1 + level) / 2], axis=axis)
    return (float(lo), float(hi)) if axis is None else (lo, hi)


def z(level: float) -> float:
    """Two-sided normal quantile: an interval of +-z(level) sd covers `level` (1.95996... for 0.95)."""
    from scipy.stats import norm

    return float(norm.ppf((1 + check_level(level)) / 2))


def weighted_root_factor(features: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, B) of the resampled set with BᵀB = its unbiased covariance."""
    from sentinel.metrics import fid  # torch: only when scoring

    f, c = np.asarray(features, np.float64), np.asarray(counts, np.float64)
    n = c.sum()
    mu = c @ f / n
    keep = c > 0
    b = np.sqrt(c[keep])[:, None] * (f[keep] - mu) / np.sqrt(n - 1)
    if b.shape[0] > b.shape[1]:
        b = fid._psd_root_factor(b.T @ b)
    return mu, b


def fid_replicates(gen: np.ndarray, ref: np.ndarray, counts: np.ndarray) -> np.ndarray:
    from sentinel.metrics import fid

    ref_mu, ref_b = fid._feature_root_factor(ref)
    return np.array([fid._frechet_from_factors(*weighted_root_factor(gen, c), ref_mu, ref_b) for c in counts])


def kid_kernels(gen: np.ndarray, ref: np.ndarray):
    from sentinel.metrics import fid

    g, r = np.asarray(gen, np.float64), np.asarray(ref, np.float64)
    return fid.poly_kernel(g, g), fid.poly_kernel(g, r), fid.poly_kernel(r, r)


def kid_full_replicates(k_gg: np.ndarray, k_gr: np.ndarray, k_rr: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Full-sample unbiased MMD² of each resample (counts rows; a row of ones is the point value)."""
    c = np.asarray(counts, np.float64)
    n, m = c.sum(axis=1), k_rr.shape[0]
    within_g = (((c @ k_gg) * c).sum(axis=1) - c @ np.diag(k_gg)) / (n * (n - 1))
    within_r = (k_rr.sum() - np.trace(k_rr)) / (m * (m - 1))
    cross = c @ k_gr.sum(axis=1) / (n * m)
    return within_g + within_r - 2.0 * cross


def kid_full(features1: np.ndarray, features2: np.ndarray) -> float:
    """The full-sample unbiased MMD² over all pairs (KID, cubic polynomial kernel), float64. Up to
    fid.FULL_KERNEL_ROWS a side from the full kernels (kid_full_replicates, exactly as before);
    above, summed in kernel blocks: memory does not grow with n beyond the features."""
    n, m = len(features1), len(features2)
    from sentinel.metrics import fid

    if max(n, m) <= fid.FULL_KERNEL_ROWS:
        return float(kid_full_replicates(*kid_kernels(features1, features2), np.ones((1, n)))[0])
    kern = fid.poly_block_kernel(features1.shape[1])
    sxx, txx = fid.kernel_block_sums(features1, features1, kern, same=True)
    syy, tyy = fid.kernel_block_sums(features2, features2, kern, same=True)
    sxy, _ = fid.kernel_block_sums(features1, features2, kern)
    return float((sxx - txx) / (n * (n - 1)) + (syy - tyy) / (m * (m - 1)) - 2.0 * sxy / (n * m))


def cmmd_replicates(k_gg: np.ndarray, k_gr: np.ndarray, k_rr: np.ndarray, counts: np.ndarray) -> np.ndarray:
    c = np.asarray(counts, np.float64)
    n = c.sum(axis=1)
    gg = ((c @ k_gg) * c).sum(axis=1) / n ** 2
    gr = c @ k_gr.sum(axis=1) / (n * k_gr.shape[1])
    return cmmd_mod.SCALE * (gg + k_rr.mean() - 2.0 * gr)


def mean_replicates(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    c = np.asarray(counts, np.float64)
    return c @ np.asarray(values, np.float64) / c.sum(axis=1)
