"""Cost and composite formulas against closed-form answers."""
from __future__ import annotations

import pytest

from sentinel.report import composite
from sentinel.cost import pricing, stage
from sentinel.config import CostConfig, NormalisationConfig, ReportConfig

CARD = CostConfig(card="t", source="s", as_of="2026-01-01", gpu="A100 80GB", price_usd_per_hour=3.6,
                  orchestration_overhead_usd_per_image=0.001, platform_fee_fraction=0.25, utilisation=1.0,
                  images_per_cold_start=100, utilisation_sensitivity=(0.5, 1.0),
                  list_price_usd_per_image={"vendor-a": 0.04})
NORM = NormalisationConfig(fid_best=0, fid_worst=100, clip_best=35, clip_worst=15, human_best=5, human_worst=1)
REPORT = ReportConfig(version="v", weights={"fid": 0.4, "clip": 0.3, "human": 0.3}, normalisation=NORM)


def test_cost_per_image_closed_form():
    # 2 s at $3.6/h = $0.002; + $0.001 overhead = $0.003; + 25 % fee = $0.00375
    out = pricing.cost_per_image(2.0, CARD)
    assert out["compute_usd_per_image"] == pytest.approx(0.002)
    assert out["cost_usd_per_image"] == pytest.approx(0.00375)
    assert out["cost_usd_per_1000_images"] == pytest.approx(3.75)


def test_billed_time_includes_idle_and_amortised_cold_start():
    # 1 s at 50 % utilisation = 2 s billed; 30 s load over 100 images = 0.3 s; 2.3 s at $3.6/h = $0.0023
    out = pricing.cost_per_image(1.0, CARD, load_s=30.0, utilisation=0.5)
    assert out["billed_s_per_image"] == pytest.approx(2.3)
    assert out["compute_usd_per_image"] == pytest.approx(0.0023)
    assert out["cost_usd_per_image"] == pytest.approx((0.0023 + 0.001) * 1.25)


def test_cost_summary_uses_mean_compute_and_flags_cpu_pricing():
    rows = [{"model": "m", "job_id": str(i), "compute_s": s, "wall_s": s + 1, "device": "cpu", "load_s": 0.0}
            for i, s in enumerate([1.0, 2.0, 3.0])]
    out = stage.summarise(rows, CARD)["m"]
    assert out["compute_s_mean"] == 2.0 and out["n_images"] == 3
    assert out["cost_usd_per_image"] == pytest.approx(0.00375)
    assert out["priced_as_measured"] is False
    # sensitivity: halving utilisation doubles the compute part only
    by_u = {row["utilisation"]: row["cost_usd_per_image"] for row in out["sensitivity"]}
    assert by_u[0.5] == pytest.approx((0.004 + 0.001) * 1.25) and by_u[1.0] == pytest.approx(0.00375)


def test_api_models_pay_list_price():
    rows = [{"model": "vendor-a", "job_id": "1", "compute_s": 7.0, "wall_s": 7.0, "device": "api"}]
    out = stage.summarise(rows, CARD)["vendor-a"]
    assert out["billing"] == "list price"
    assert out["cost_usd_per_image"] == pytest.approx((0.04 + 0.001) * 1.25)


def test_bad_price_cards_are_refused():
    import dataclasses

    with pytest.raises(ValueError, match=r"cost\.price_usd_per_hour: must be >= 0"):
        pricing.validate_card(dataclasses.replace(CARD, price_usd_per_hour=-1.0))
    with pytest.raises(ValueError, match=r"cost\.list_price_usd_per_image\.vendor-a: must be a number >= 0"):
        pricing.validate_card(dataclasses.replace(CARD, list_price_usd_per_image={"vendor-a": -0.01}))
    with pytest.raises(ValueError, match=r"cost\.utilisation: must be in \(0, 1\]"):
        pricing.validate_card(dataclasses.replace(CARD, utilisation=0.0))


def test_unknown_unit_and_missing_price_are_refused(tmp_path, smoke_params):
    import copy

    import yaml

    from sentinel import config

    for mutate, message in [
        (lambda c: c.update(price_usd_per_minute=0.1), r"cost\.price_usd_per_minute: unknown key"),
        (lambda c: c.pop("price_usd_per_hour"), r"cost\.price_usd_per_hour: missing key"),
    ]:
        params = copy.deepcopy(smoke_params)
        mutate(params["cost"])
        (tmp_path / "p.yaml").write_text(yaml.safe_dump(params))
        with pytest.raises(config.ConfigError, match=message):
            config.load(tmp_path / "p.yaml", sections=("cost",))


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


def test_api_model_without_list_price_is_not_measured_not_gpu_billed():
    rows = [{"model": "vendor-b", "job_id": "1", "compute_s": 7.0, "wall_s": 7.0, "device": "api",
             "list_price_usd_per_image": None}]
    out = stage.summarise(rows, CARD)["vendor-b"]
    assert out["cost_usd_per_image"] is None and "cost.list_price_usd_per_image.vendor-b" in out["not_measured"]
    rows[0]["list_price_usd_per_image"] = 0.02  # the model config's vendor price, when the card has none
    assert stage.summarise(rows, CARD)["vendor-b"]["cost_usd_per_image"] == pytest.approx((0.02 + 0.001) * 1.25)
