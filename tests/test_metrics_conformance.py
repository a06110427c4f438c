"""Conformance: end-to-end FID vs torch-fidelity's calculate_metrics, CMMD vs the authors' formula,
and the bootstrap's count-weighted replicates vs the statistic recomputed on the resampled set.

Tolerances, and why:
  end-to-end FID vs torch-fidelity calculate_metrics   1e-5 relative. Same folders, same weights file,
                           same network and resize; it differs only in its scipy sqrtm of the float64
                           covariances (measured 2e-6 on these sets).
  CMMD vs google-research/cmmd's formula (torch, float64)   1e-10 relative
  bootstrap replicate vs recomputation on gen[idx]          1e-8 relative (same float64 arithmetic,
                           different summation order)
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sentinel.metrics import bootstrap as bs
from sentinel.metrics import cmmd, fid

pytest_plugins = ["metrics_fixtures"]


@pytest.mark.slow
def test_end_to_end_fid_matches_torch_fidelity_on_the_same_folders(image_sets, features, inception_weights):
    import torch_fidelity

    a, b = image_sets["faces_a"][0].parent, image_sets["faces_b_noise8"][0].parent
    theirs = torch_fidelity.calculate_metrics(
        input1=str(a), input2=str(b), fid=True, feature_extractor_weights_path=str(inception_weights),
        cuda=False, verbose=False, cache=False, batch_size=7, save_cpu_ram=True)["frechet_inception_distance"]
    ours = fid.fid_from_features(features["faces_a"], features["faces_b_noise8"])
    assert ours > 0.1  # a real difference, not collapsed features
    assert ours == pytest.approx(theirs, rel=1e-5)


def _cmmd_reference(x: np.ndarray, y: np.ndarray) -> float:
    """google-research/cmmd distance.mmd, transcribed to torch float64 (embeddings L2-normalised first)."""
    x = torch.from_numpy(x / np.linalg.norm(x, axis=1, keepdims=True))
    y = torch.from_numpy(y / np.linalg.norm(y, axis=1, keepdims=True))
    x_sq, y_sq = torch.diag(x @ x.T), torch.diag(y @ y.T)
    gamma = 1 / (2 * 10 ** 2)
    k_xx = torch.mean(torch.exp(-gamma * (-2 * x @ x.T + x_sq[:, None] + x_sq[None, :])))
    k_xy = torch.mean(torch.exp(-gamma * (-2 * x @ y.T + x_sq[:, None] + y_sq[None, :])))
    k_yy = torch.mean(torch.exp(-gamma * (-2 * y @ y.T + y_sq[:, None] + y_sq[None, :])))
    return float(1000 * (k_xx + k_yy - 2 * k_xy))


def test_cmmd_matches_the_reference_formula_and_is_zero_for_identical_sets():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 512)), rng.normal(0.3, 1.0, size=(25, 512))
    assert cmmd.cmmd(x, y) == pytest.approx(_cmmd_reference(x, y), rel=1e-10)
    assert cmmd.cmmd(x, y) > 0
    assert cmmd.cmmd(x, x) == pytest.approx(0.0, abs=1e-12)
    assert cmmd.cmmd(x, 3.0 * x) == pytest.approx(0.0, abs=1e-12)  # scale-free: embeddings are normalised
    with pytest.raises(ValueError, match="differ in width"):
        cmmd.cmmd(x, y[:, :100])


def test_bootstrap_replicates_equal_the_statistic_on_the_resampled_set(features):
    gen, ref = features["faces_b_noise8"], features["faces_a"]
    rng = np.random.default_rng(3)
    idx = rng.integers(0, len(gen), len(gen))
    counts = np.bincount(idx, minlength=len(gen))[None, :]
    assert bs.fid_replicates(gen, ref, counts)[0] == pytest.approx(fid.fid_from_features(gen[idx], ref), rel=1e-8)
    kid_direct = fid.mmd2_unbiased(np.asarray(gen[idx], np.float64), np.asarray(ref, np.float64))  # n == m here
    assert bs.kid_full_replicates(*bs.kid_kernels(gen, ref), counts)[0] == pytest.approx(kid_direct, rel=1e-8)
    emb_g, emb_r = rng.normal(size=(30, 64)), rng.normal(size=(20, 64))
    assert bs.cmmd_replicates(*cmmd.kernels(emb_g, emb_r), counts)[0] == pytest.approx(
        cmmd.cmmd(emb_g[idx], emb_r), rel=1e-8)
    values = rng.normal(size=30)
    assert bs.mean_replicates(values, counts)[0] == pytest.approx(values[idx].mean(), rel=1e-12)


def test_fid_bootstrap_uses_the_eigh_factor_when_the_resample_exceeds_the_dimension():
    rng = np.random.default_rng(5)
    gen, ref = rng.normal(size=(60, 8)), rng.normal(0.5, 1.2, size=(50, 8))
    idx = rng.integers(0, 60, 60)
    counts = np.bincount(idx, minlength=60)[None, :]
    assert bs.fid_replicates(gen, ref, counts)[0] == pytest.approx(fid.fid_from_features(gen[idx], ref), rel=1e-8)


def test_bootstrap_ci_of_a_mean_matches_the_normal_closed_form_and_is_seeded():
    values = np.random.default_rng(11).normal(5.0, 2.0, size=400)
    lo, hi = bs.interval(bs.mean_replicates(values, bs.resample_counts(400, 2000, seed=0)), 0.95)
    half = 1.959964 * values.std(ddof=1) / np.sqrt(400)
    assert (hi - lo) / 2 == pytest.approx(half, rel=0.08)
    assert (lo + hi) / 2 == pytest.approx(values.mean(), abs=0.05 * half)
    again = bs.interval(bs.mean_replicates(values, bs.resample_counts(400, 2000, seed=0)), 0.95)
    other = bs.interval(bs.mean_replicates(values, bs.resample_counts(400, 2000, seed=1)), 0.95)
    assert again == (lo, hi) and other != (lo, hi)
    with pytest.raises(ValueError, match="ci_level"):
        bs.interval(np.ones(3), 1.5)
    with pytest.raises(ValueError, match="n >= 2"):
        bs.resample_counts(1, 10, 0)
