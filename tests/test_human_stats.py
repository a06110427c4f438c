"""Human-evaluation statistics against closed forms, reference implementations and known-truth simulations."""
from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from scipy.stats import spearmanr

from sentinel.human import stats, summary
from sentinel.human.simulate import simulate_votes

NAN = np.nan
# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C: 4 observers x 12 units.
KRIPP_EXAMPLE = np.array([[1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
                          [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
                          [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
                          [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN]])


@pytest.mark.parametrize("level, published", [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)])
def test_krippendorff_matches_published_example_and_reference_package(level, published):
    ours = stats.krippendorff_alpha(KRIPP_EXAMPLE, level)
    assert ours == pytest.approx(published, abs=5e-4)
    assert ours == pytest.approx(krippendorff.alpha(reliability_data=KRIPP_EXAMPLE, level_of_measurement=level),
                                 abs=1e-12)


def test_krippendorff_random_data_matches_reference_and_perfect_agreement_is_one():
    rng = np.random.default_rng(3)
    data = rng.integers(1, 6, (5, 40)).astype(float)
    data[rng.random(data.shape) < 0.2] = NAN
    for level in ("nominal", "ordinal", "interval"):
        ref = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
        assert stats.krippendorff_alpha(data, level) == pytest.approx(ref, abs=1e-12)
    same = np.tile(rng.integers(1, 6, 30).astype(float), (3, 1))
    assert stats.krippendorff_alpha(same, "interval") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="fewer than two distinct values"):
        stats.krippendorff_alpha(np.ones((3, 4)))
    with pytest.raises(ValueError, match="level 'ratio'"):
        stats.krippendorff_alpha(data, "ratio")


def test_davidson_two_models_closed_form():
    """Two models: the multinomial MLE gives theta_1 - theta_2 = log(w/l) and nu = t / sqrt(w*l)."""
    w, l, t = 30, 10, 5
    theta, nu = stats.fit_bradley_terry(np.array([[0, w], [l, 0.0]]), np.array([[0, t], [t, 0.0]]))
    assert theta[0] - theta[1] == pytest.approx(np.log(w / l), abs=1e-3)
    assert nu == pytest.approx(t / np.sqrt(w * l), rel=1e-3)
    theta, nu = stats.fit_bradley_terry(np.array([[0, w], [l, 0.0]]), np.zeros((2, 2)))
    assert nu == 0.0 and theta[0] - theta[1] == pytest.approx(np.log(w / l), abs=1e-3)


def test_vote_validation_names_the_problem():
    with pytest.raises(ValueError, match="outcome 'left'"):
        stats.vote_counts([(0, 1, "left")], 2)
    with pytest.raises(ValueError, match="with itself"):
        stats.vote_counts([(1, 1, "a")], 2)
    with pytest.raises(ValueError, match="no pairwise votes"):
        stats.bradley_terry([], 2, seed=0)


def _votes(rows: list[dict], models: list[str]) -> list[tuple[int, int, str]]:
    return [(models.index(r["model_a"]), models.index(r["model_b"]), r["outcome"]) for r in rows
            if r["kind"] == "pairwise"]


def test_2000_votes_recover_true_ranking_after_excluding_gold_failures():
    true = {f"m{i}": s for i, s in enumerate(np.linspace(-1.0, 1.0, 8))}
    rows = simulate_votes(true, n_votes=2000, n_raters=20, careless=3, seed=11, lapse_max=0.1)
    excluded = summary.excluded_raters(rows, gold_min_accuracy=0.8)
    assert excluded == {"simulated-0", "simulated-1", "simulated-2"}  # the three careless raters
    models = sorted(true)
    kept = [r for r in rows if r["rater"] not in excluded]
    fit = stats.bradley_terry(_votes(kept, models), len(models), seed=0, n_boot=200)
    rho = spearmanr(fit["strength"], [true[m] for m in models]).statistic
    assert rho >= 0.9
    assert fit["n_votes"] == sum(1 for r in kept if r["kind"] == "pairwise") > 1600


@pytest.mark.slow
def test_bootstrap_ci_covers_true_strengths_at_nominal_rate():
    """30 simulated studies x 6 models = 180 intervals; 95 % intervals should cover ~171 of them."""
    truth = np.array([0.9, 0.5, 0.2, -0.1, -0.6, -0.9])
    truth -= truth.mean()
    models = [f"m{i}" for i in range(6)]
    covered = 0
    for rep in range(30):
        rows = simulate_votes(dict(zip(models, truth)), n_votes=2000, n_raters=10, seed=100 + rep, lapse_max=0.0)
        fit = stats.bradley_terry(_votes(rows, models), 6, seed=rep, n_boot=300)
        covered += int(((fit["ci"][:, 0] <= truth) & (truth <= fit["ci"][:, 1])).sum())
    rate = covered / 180
    assert 0.88 <= rate <= 0.995, rate


def test_mos_ci_closed_form_and_bootstrap_is_seeded():
    out = stats.mos([[1], [2], [3], [4], [5]], seed=0)
    assert out["mean"] == 3.0 and out["n_items"] == 5
    assert 1 <= out["ci"][0] < 3 < out["ci"][1] <= 5
    assert out == stats.mos([[1], [2], [3], [4], [5]], seed=0)
    const = stats.mos([[4, 4], [4]], seed=1)
    assert const["ci"] == [4.0, 4.0]
    with pytest.raises(ValueError, match="no ratings"):
        stats.mos([], seed=0)


@pytest.mark.parametrize("level", [0.95, 0.9])
def test_mos_interval_is_the_percentile_interval_at_the_configured_level(level):
    """Reference: the same seeded resamples, quantiles (1-level)/2 and (1+level)/2 by numpy directly."""
    items = [[1, 2], [5], [3], [4, 4], [2], [5, 3]]
    means = np.array([np.mean(v) for v in items])
    boot = means[np.random.default_rng(7).integers(0, 6, size=(500, 6))].mean(axis=1)
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    out = stats.mos(items, seed=7, n_boot=500, level=level)
    assert out["ci"] == pytest.approx([lo, hi], abs=1e-12) and out["ci_level"] == level
    with pytest.raises(ValueError, match=r"must be in \(0, 1\)"):
        stats.mos(items, seed=7, level=95)
