"""Intervals for FID, KID and CMMD that cover what they say: half-sampling of both sides.

The old intervals resampled the generated images *with replacement* and held the reference fixed:
duplicates shrink the effective sample (~63 % unique) and raise FID, so the bootstrap distribution
sat above the point estimate and covered neither the population FID nor the expected FID at this n
(0 of 40 draws at 2048-d, n = 200). Here each replicate draws half of the generated AND half of the
reference images *without* replacement (no duplicates, reference-side variance included).

Target and width. For a statistic whose variance scales as 1/n, a half-sample without replacement
from the observed set has conditional variance Var(T_{n/2}) - Var(T_n) ≈ Var(T_n): the classic
half-sample (balanced repeated replication) result. So the interval is

    point ± z(level) · sd(half-sample replicates)

and it covers **E[T̂ at the reported n, m]**: for FID the expected value of the plug-in estimator at
these sample sizes (not the population FID, which FID̂ overestimates by a bias ∝ 1/n); for KID and
CMMD (MMD² estimates) the population value up to their own small bias. Second-order terms make
the width slightly conservative. Coverage is demonstrated by simulation on 2048-d Gaussian features
with known populations (tests/test_metrics_coverage.py; figures in rubrics/metrics-convention.md).
The point estimate is always inside its own interval.

Cost. Every replicate is computed from the Gram matrices of the full sets (one (n+m)·d pass): FID
needs only sub-blocks (centring by rank-one corrections) and one SVD of an (n/2) x (m/2) matrix, so
a replicate's cost does not depend on the feature width d. Rows are put in job-id order and the
generator is seeded from the job ids (`seed_from_keys`), so row order never changes a number.
"""
from __future__ import annotations

import hashlib

import numpy as np

METHOD = ("half-sampling without replacement of both generated and reference sets; "
          "point ± z·sd(replicates); target: E[estimate at the reported n, m]")


def seed_from_keys(keys: list[str], salt: str = "") -> int:
    """A generator seed from the sorted keys (job ids / image hashes): independent of row order."""
    return int.from_bytes(hashlib.sha256((salt + "\n" + "\n".join(sorted(keys))).encode()).digest()[:8], "big")


def in_key_order(keys: list[str], features: np.ndarray) -> np.ndarray:
    """Rows sorted by key, so resample indices mean the same images whatever the input order."""
    order = sorted(range(len(keys)), key=lambda i: keys[i])
    return np.asarray(features, np.float64)[order]


def grams(gen: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    g, r = np.asarray(gen, np.float64), np.asarray(ref, np.float64)
    return g @ g.T, r @ r.T, g @ r.T


def _centred_trace(gram: np.ndarray) -> float:
    n = len(gram)
    return (np.trace(gram) - gram.sum() / n) / (n - 1)


def fid_from_grams(gxx: np.ndarray, gyy: np.ndarray, gxy: np.ndarray) -> float:
    """FID of the sets whose Gram blocks these are: ‖μx-μy‖² + tr Sx + tr Sy - 2‖C‖_*, where C is the
    doubly centred cross block / √((n-1)(m-1)) (= B1 B2ᵀ of fid.py's root factors)."""
    n, m = gxy.shape
    mean_sq = gxx.sum() / n ** 2 + gyy.sum() / m ** 2 - 2.0 * gxy.sum() / (n * m)
    c = gxy - gxy.mean(axis=1, keepdims=True) - gxy.mean(axis=0, keepdims=True) + gxy.mean()
    nuclear = np.linalg.svd(c / np.sqrt((n - 1) * (m - 1)), compute_uv=False).sum()
    return float(mean_sq + _centred_trace(gxx) + _centred_trace(gyy) - 2.0 * nuclear)


def kid_unbiased(kxx: np.ndarray, kyy: np.ndarray, kxy: np.ndarray) -> float:
    """Unbiased MMD² for unequal sizes (diagonals of the within-set blocks excluded)."""
    n, m = kxy.shape
    return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                 - 2.0 * kxy.sum() / (n * m))


def half_indices(n: int, m: int, reps: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    if n < 4 or m < 4:
        raise ValueError(f"half-sample intervals need at least 4 images per side, got {n} and {m}")
    rng = np.random.default_rng(seed)
    return [(np.sort(rng.choice(n, n // 2, replace=False)), np.sort(rng.choice(m, m // 2, replace=False)))
            for _ in range(reps)]


def interval_from_replicates(point: float, reps: np.ndarray, level: float, floor: float | None = None) -> dict:
    from scipy.stats import norm

    sd = float(np.std(reps, ddof=1))
    z = float(norm.ppf(0.5 + level / 2))
    lo, hi = point - z * sd, point + z * sd
    if floor is not None:
        lo = max(lo, floor)
    return {"ci": [lo, hi], "se": sd, "ci_level": level, "ci_method": METHOD, "replicates": len(reps)}


def blocks(mats: tuple[np.ndarray, np.ndarray, np.ndarray], i: np.ndarray, j: np.ndarray):
    xx, yy, xy = mats
    return xx[np.ix_(i, i)], yy[np.ix_(j, j)], xy[np.ix_(i, j)]


def fid_interval(gen: np.ndarray, ref: np.ndarray, *, level: float, reps: int, seed: int, g=None) -> dict:
    """FID with its half-sample interval; pass `g` (grams(gen, ref)) to share one Gram pass with KID."""
    g = grams(gen, ref) if g is None else g
    point = fid_from_grams(*g)
    values = np.array([fid_from_grams(*blocks(g, i, j)) for i, j in half_indices(len(gen), len(ref), reps, seed)])
    return {"fid": point, **interval_from_replicates(point, values, level, floor=0.0)}


def kernel_interval(kernels: tuple[np.ndarray, np.ndarray, np.ndarray], statistic, *, level: float, reps: int,
                    seed: int) -> dict:
    """Any MMD-type statistic(K_xx, K_yy, K_xy) with its half-sample interval."""
    kxx, kyy, kxy = kernels
    point = statistic(kxx, kyy, kxy)
    values = np.array([statistic(*blocks(kernels, i, j)) for i, j in half_indices(*kxy.shape, reps, seed)])
    return {"value": point, **interval_from_replicates(point, values, level)}


def kid_interval(gen: np.ndarray, ref: np.ndarray, *, level: float, reps: int, seed: int, g=None) -> dict:
    """The full unbiased KID (polynomial kernel, as fid.poly_kernel) with its half-sample interval."""
    xx, yy, xy = grams(gen, ref) if g is None else g
    d = np.asarray(gen).shape[1]
    poly = lambda gram: (gram / d + 1.0) ** 3  # noqa: E731
    return kernel_interval((poly(xx), poly(yy), poly(xy)), kid_unbiased, level=level, reps=reps, seed=seed)
