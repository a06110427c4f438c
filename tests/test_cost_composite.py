"""Cost and composite formulas against closed-form answers."""
from __future__ import annotations

import pytest

from sentinel import composite, cost
from sentinel.config import CostConfig, NormalisationConfig, ReportConfig

CARD = CostConfig(card="t", source="s", as_of="2026-01-01", gpu="A100 80GB", price_usd_per_hour=3.6,
                  orchestration_overhead_usd_per_image=0.001, platform_fee_fraction=0.25)
NORM = NormalisationConfig(fid_best=0, fid_worst=100, clip_best=35, clip_worst=15, human_best=5, human_worst=1)
REPORT = ReportConfig(version="v", weights={"fid": 0.4, "clip": 0.3, "human": 0.3}, normalisation=NORM)


def test_cost_per_image_closed_form():
    # 2 s at $3.6/h = $0.002; + $0.001 overhead = $0.003; + 25 % fee = $0.00375
    out = cost.cost_per_image(2.0, CARD)
    assert out["compute_usd_per_image"] == pytest.approx(0.002)
    assert out["cost_usd_per_image"] == pytest.approx(0.00375)
    assert out["cost_usd_per_1000_images"] == pytest.approx(3.75)


def test_cost_summary_uses_mean_compute_and_flags_cpu_pricing():
    rows = [{"model": "m", "job_id": str(i), "compute_s": s, "wall_s": s + 1, "device": "cpu", "load_s": 9.0}
            for i, s in enumerate([1.0, 2.0, 3.0])]
    out = cost.summarise(rows, CARD)["m"]
    assert out["compute_s_mean"] == 2.0 and out["n_images"] == 3
    assert out["cost_usd_per_image"] == pytest.approx(0.00375)
    assert out["priced_as_measured"] is False


def test_negative_price_is_refused():
    import dataclasses

    with pytest.raises(ValueError, match=r"cost\.price_usd_per_hour: must be >= 0"):
        cost.validate_card(dataclasses.replace(CARD, price_usd_per_hour=-1.0))


@pytest.mark.parametrize("x, best, worst, expected", [
    (0, 0, 100, 100), (100, 0, 100, 0), (25, 0, 100, 75), (250, 0, 100, 0),
    (35, 35, 15, 100), (25, 35, 15, 50), (3, 5, 1, 50), (-4, 5, 1, 0)])
def test_normalise_closed_form(x, best, worst, expected):
    assert composite.normalise(x, best, worst) == pytest.approx(expected)


def test_composite_weights_and_validation():
    parts = composite.components(fid=25, clip_score=25, likert=3, n=NORM)
    assert parts == pytest.approx({"fid": 75, "clip": 50, "human": 50})
    assert composite.composite(parts, REPORT) == pytest.approx(0.4 * 75 + 0.3 * 50 + 0.3 * 50)
    bad = ReportConfig(version="v", weights={"fid": 0.5, "clip": 0.3, "human": 0.3}, normalisation=NORM)
    with pytest.raises(ValueError, match=r"report\.weights: must be >= 0 and sum to 1"):
        composite.composite(parts, bad)
