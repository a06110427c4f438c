"""Fréchet video distance on video features, in the convention of the `cd-fvd` package.

cd-fvd (Ge et al., "On the Content Bias in Fréchet Video Distance", CVPR 2024; PyPI `cd-fvd`,
`cdfvd.fvd.cdfvd.compute_fvd_from_stats`) computes, from one feature vector per clip:

    μ = mean of the features,  Σ = (1/n) Σ_i x_i x_iᵀ - μ μᵀ     (population covariance, float64
                                                                   sums of float32 features)
    FVD = ‖μ_r - μ_f‖² + tr(Σ_r + Σ_f - 2 (Σ_r Σ_f)^½)

Its features: VideoMAE-v2 ViT-g (SSv2 fine-tuned) `forward_features`, 1408-d, the *content-debiased*
choice; or I3D (Kinetics-400) logits, 400-d, the classic FVD. See `sentinel.video.encoders`.

The formula is evaluated by `sentinel.metrics.fid`'s public Fréchet code (one implementation in
the project, float64, eigh/SVD based instead of cd-fvd's `scipy.linalg.sqrtm`, so it is faster on
wide features and not affected by sqrtm's complex round-off); only the covariance normaliser (1/n,
not FID's 1/(n-1)) is cd-fvd's, applied by rescaling the centred rows by √((n-1)/n). tests/test_video_metrics.py checks it against cd-fvd itself on the
same features and against the closed form on Gaussians.

Interval: half-sampling of both sets without replacement (`sentinel.metrics.halfsample`, the FID
interval method), seeded from the clip ids, so it covers E[FVD at this n] and not the population
value (FVD, like FID, is biased upwards at small n: always report n).
"""
from __future__ import annotations

import numpy as np

from sentinel.metrics import halfsample

COVARIANCE = "population (1/n), as cd-fvd's FeatureStats.get_mean_cov"
DEFINITION = "|mu_r - mu_f|^2 + tr(S_r + S_f - 2 (S_r S_f)^1/2), S with 1/n (cd-fvd compute_fvd_from_stats)"


def _features(x, what: str) -> np.ndarray:
    f = np.asarray(x, np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"FVD needs at least 2 {what} clips' features as an (n, d) array, got shape {f.shape}")
    if not np.isfinite(f).all():
        raise ValueError(f"FVD: the {what} features contain NaN or inf")
    return f


def feature_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """(μ, Σ) with cd-fvd's population covariance, float64."""
    f = _features(features, "")
    return f.mean(axis=0), np.cov(f, rowvar=False, ddof=0)


def _as_sample_covariance(f: np.ndarray) -> np.ndarray:
    """Rows with the same mean whose 1/(n-1) covariance is f's 1/n covariance (centred rows x √((n-1)/n)).

    So fid.fid_from_features (FID's normaliser) evaluates cd-fvd's FVD through the public API.
    """
    mu = f.mean(axis=0)
    return mu + (f - mu) * np.sqrt((len(f) - 1) / len(f))


def fvd_from_features(real, fake) -> float:
    """FVD between reference (`real`) and generated (`fake`) feature sets, rows are clips."""
    from sentinel.metrics import fid  # imports torch: lazily, so this module stays light

    r, g = _features(real, "reference"), _features(fake, "generated")
    if r.shape[1] != g.shape[1]:
        raise ValueError(f"FVD: feature widths differ (reference {r.shape[1]}, generated {g.shape[1]})")
    return float(fid.fid_from_features(_as_sample_covariance(r), _as_sample_covariance(g)))


def fvd_from_stats(mu_real, sigma_real, mu_fake, sigma_fake) -> float:
    """FVD from precomputed (μ, Σ) pairs (e.g. published reference statistics)."""
    from sentinel.metrics import fid

    return fid.frechet_distance(mu_real, sigma_real, mu_fake, sigma_fake)


def fvd_interval(real, fake, *, real_ids: list[str], fake_ids: list[str], level: float, reps: int = 200) -> dict:
    """{"fvd", "ci", "se", "ci_level", "ci_method", "replicates", "n_real", "n_fake"}; rows keyed by clip id."""
    if len(real_ids) != len(real) or len(fake_ids) != len(fake):
        raise ValueError("FVD interval: one id per feature row is needed on each side")
    r, g = halfsample.in_key_order(real_ids, real), halfsample.in_key_order(fake_ids, fake)
    point = fvd_from_features(r, g)
    seed = halfsample.seed_from_keys(list(real_ids) + list(fake_ids), salt="fvd")
    values = np.array([fvd_from_features(r[i], g[j]) for j, i in halfsample.half_indices(len(g), len(r), reps, seed)])
    return {"fvd": point, **halfsample.interval_from_replicates(point, values, level, floor=0.0),
            "n_real": len(r), "n_fake": len(g)}
