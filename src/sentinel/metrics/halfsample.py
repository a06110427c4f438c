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

Cost. Up to CAP images a side (n, m <= 2·CAP + 1), every replicate is computed from the Gram
matrices of the full sets (one (n+m)·d pass): FID needs only sub-blocks (centring by rank-one
corrections) and one SVD of an (n/2) x (m/2) matrix. Above that, a replicate draws b = min(side/2, CAP)
images a side without replacement (m-out-of-n subsampling) straight from the float32 features, and
the replicate sd is rescaled to the reported n: for a statistic with variance V/n, a b-subsample of
the observed set has conditional variance V·(1/b - 1/n), so sd·√(1/r) with r = n/b - 1, r taken as
the smaller of the two sides' (conservative for the other side, and for the second-order terms of
FID, whose share grows by (n + b)/b). A replicate then costs O(CAP² d + CAP³) whatever n is, no n x n
matrix is ever held, and the point estimate comes from the chunked full-set formulas. Rows are put
in job-id order and the generator is seeded from the job ids (`seed_from_keys`), so row order never
changes a number.
"""
from __future__ import annotations

import hashlib

import numpy as np

METHOD = ("half-sampling without replacement of both generated and reference sets; "
          "point ± z·sd(replicates); target: E[estimate at the reported n, m]")
CAP = 500  # most images a side one replicate draws; above 2·CAP + 1 a side, subsamples of CAP, sd rescaled


def capped_method(b1: int, b2: int, scale: float) -> str:
    return (f"subsampling without replacement of both sides (m-out-of-n: {b1} generated, {b2} reference a "
            f"replicate, cap {CAP}); point ± z·sd(replicates)·{scale:.4f} (sd rescaled to the reported n, "
            "conservative); target: E[estimate at the reported n, m]")


def plan(n: int, m: int, cap: int = CAP) -> tuple[int, int, float]:
    """(generated, reference) images a replicate draws, and the factor that rescales the replicate sd
    to the reported n, m: halves and 1.0 while both sides are at most 2·cap + 1."""
    h1, h2 = n // 2, m // 2
    if h1 <= cap and h2 <= cap:
        return h1, h2, 1.0
    b1, b2 = min(h1, cap), min(h2, cap)
    return b1, b2, float(np.sqrt(1.0 / min(n / b1 - 1.0, m / b2 - 1.0)))


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


def half_indices(n: int, m: int, reps: int, seed: int, sizes: tuple[int, int] | None = None
                 ) -> list[tuple[np.ndarray, np.ndarray]]:
    """`reps` (generated, reference) index sets drawn without replacement: halves, or `sizes`."""
    if n < 4 or m < 4:
        raise ValueError(f"half-sample intervals need at least 4 images per side, got {n} and {m}")
    b1, b2 = (n // 2, m // 2) if sizes is None else sizes
    rng = np.random.default_rng(seed)
    return [(np.sort(rng.choice(n, b1, replace=False)), np.sort(rng.choice(m, b2, replace=False)))
            for _ in range(reps)]


def interval_from_replicates(point: float, reps: np.ndarray, level: float, floor: float | None = None,
                             scale: float = 1.0, method: str = METHOD) -> dict:
    from scipy.stats import norm

    sd = float(np.std(reps, ddof=1))
    if scale != 1.0:
        sd *= scale
    z = float(norm.ppf(0.5 + level / 2))
    lo, hi = point - z * sd, point + z * sd
    if floor is not None:
        lo = max(lo, floor)
    return {"ci": [lo, hi], "se": sd, "ci_level": level, "ci_method": method, "replicates": len(reps)}


def blocks(mats: tuple[np.ndarray, np.ndarray, np.ndarray], i: np.ndarray, j: np.ndarray):
    xx, yy, xy = mats
    return xx[np.ix_(i, i)], yy[np.ix_(j, j)], xy[np.ix_(i, j)]


def _capped(point: float, gen: np.ndarray, ref: np.ndarray, statistic, *, level: float, reps: int, seed: int,
            floor: float | None = None) -> dict:
    """Above 2·CAP + 1 images a side: `statistic(X, Y)` of float64 copies of CAP-row subsamples only."""
    b1, b2, scale = plan(len(gen), len(ref))
    values = np.array([statistic(np.asarray(gen[i], np.float64), np.asarray(ref[j], np.float64))
                       for i, j in half_indices(len(gen), len(ref), reps, seed, sizes=(b1, b2))])
    return interval_from_replicates(point, values, level, floor=floor, scale=scale,
                                    method=capped_method(b1, b2, scale))


def _fid_rows(x: np.ndarray, y: np.ndarray) -> float:
    """FID of two (float64) row sets from their centred rows: one SVD of the (b1 x b2) cross block."""
    from sentinel.metrics import fid  # torch: only when scoring

    mx, my = x.mean(axis=0), y.mean(axis=0)
    x -= mx  # x, y are this replicate's own float64 copies: centre in place
    y -= my
    x /= np.sqrt(len(x) - 1)
    y /= np.sqrt(len(y) - 1)
    return fid._frechet_from_factors(mx, x, my, y)


def _kid_rows(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    return kid_unbiased((x @ x.T / d + 1.0) ** 3, (y @ y.T / d + 1.0) ** 3, (x @ y.T / d + 1.0) ** 3)


def is_capped(n: int, m: int) -> bool:
    """More than 2·CAP + 1 images on a side: subsamples of CAP, never an n x n matrix."""
    return plan(n, m)[:2] != (n // 2, m // 2)


def fid_interval(gen: np.ndarray, ref: np.ndarray, *, level: float, reps: int, seed: int, g=None,
                 point: float | None = None) -> dict:
    """FID with its half-sample interval; pass `g` (grams(gen, ref)) to share one Gram pass with KID."""
    if is_capped(len(gen), len(ref)):
        from sentinel.metrics import fid

        point = fid.fid_from_features(gen, ref) if point is None else point
        return {"fid": point, **_capped(point, gen, ref, _fid_rows, level=level, reps=reps, seed=seed, floor=0.0)}
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


def kid_interval(gen: np.ndarray, ref: np.ndarray, *, level: float, reps: int, seed: int, g=None,
                 point: float | None = None) -> dict:
    """The full unbiased KID (polynomial kernel, as fid.poly_kernel) with its half-sample interval."""
    if is_capped(len(gen), len(ref)):
        from sentinel.metrics import bootstrap

        point = bootstrap.kid_full(gen, ref) if point is None else point
        return {"value": point, **_capped(point, gen, ref, _kid_rows, level=level, reps=reps, seed=seed)}
    xx, yy, xy = grams(gen, ref) if g is None else g
    d = np.asarray(gen).shape[1]
    poly = lambda gram: (gram / d + 1.0) ** 3  # noqa: E731
    return kernel_interval((poly(xx), poly(yy), poly(xy)), kid_unbiased, level=level, reps=reps, seed=seed)


def cmmd_interval(gen: np.ndarray, ref: np.ndarray, *, level: float, reps: int, seed: int, kernels=None,
                  point: float | None = None) -> dict:
    """CMMD (cmmd.py) with its interval: from the full kernels (`kernels`, or computed) up to 2·CAP + 1
    images a side, from CAP-row subsamples of the embeddings above (no n x n kernel held)."""
    from sentinel.metrics import cmmd

    if is_capped(len(gen), len(ref)):
        point = cmmd.cmmd_chunked(gen, ref) if point is None else point
        return {"value": point, **_capped(point, gen, ref, cmmd.cmmd, level=level, reps=reps, seed=seed)}
    k_gg, k_gr, k_rr = cmmd.kernels(gen, ref) if kernels is None else kernels
    return kernel_interval((k_gg, k_rr, k_gr), lambda gg, rr, gr: cmmd.cmmd_from_kernels(gg, gr, rr),
                           level=level, reps=reps, seed=seed)
