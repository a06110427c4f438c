"""Capacity planner: closed-form wall time and cost, measured seconds from the cost stage, clear errors."""
from __future__ import annotations

import json
import math

import pytest

from sentinel.cost import planner


@pytest.fixture(scope="module")
def card():
    return planner.load_card("a100-80gb-replicate-2025")


def test_plan_matches_the_closed_form(card):
    profiles = [planner.ModelProfile(f"m{i}", 3.0, 60.0, "assumed") for i in range(8)]
    result = planner.plan(profiles, 12000, [8, 128], card, utilisation=0.6)
    eight, many = result["plans"]
    wall_per_model = 60.0 + 1500 * 3.0 / 0.6  # 12,000 / 8 GPUs = 1,500 images on each
    assert eight["wall_s"] == pytest.approx(8 * wall_per_model)
    assert eight["gpu_hours"] == pytest.approx(8 * 8 * wall_per_model / 3600)
    cost = 8 * (8 * wall_per_model / 3600 * 5.04 + 12000 * 0.0002) * 1.10
    assert eight["cost_usd"] == pytest.approx(cost)
    assert eight["cost_usd_per_1000_images"] == pytest.approx(1000 * cost / 96000)
    assert many["models"][0]["images_per_gpu"] == math.ceil(12000 / 128) == 94  # the straggler GPU sets wall time
    assert many["wall_s"] == pytest.approx(8 * (60.0 + 94 * 3.0 / 0.6))
    assert many["gpu_hours"] > eight["gpu_hours"], "more GPUs pay more idle load time and tail"


def test_defaults_to_the_cards_utilisation_and_prices_api_models_by_list_price(card):
    import dataclasses

    api_card = dataclasses.replace(card, list_price_usd_per_image={"vendor": 0.04})
    profiles = [planner.ModelProfile("vendor", 9.0, 0.0, "assumed"), planner.ModelProfile("m", 2.0, 0.0, "assumed")]
    result = planner.plan(profiles, 1000, [10], api_card)
    assert result["utilisation"] == card.utilisation
    vendor, m = result["plans"][0]["models"]
    assert vendor["gpu_hours"] == 0 and vendor["cost_usd"] == pytest.approx(1000 * (0.04 + 0.0002) * 1.1)
    assert m["wall_s"] == pytest.approx(100 * 2.0 / card.utilisation)


def test_measured_seconds_come_from_the_cost_output_and_cpu_is_flagged(card, tmp_path):
    path = tmp_path / "cost.json"
    path.write_text(json.dumps({"models": {"tiny-sd": {"compute_s_mean": 0.5, "load_s": 2.0, "measured_on": "cpu"}}}))
    profiles = planner.measured_profiles(path)
    assert profiles == [planner.ModelProfile("tiny-sd", 0.5, 2.0, "cpu")]
    assert "measured on cpu, priced as A100 80GB" in planner.plan(profiles, 10, [1], card)["note"]
    path.write_text(json.dumps({"models": {"tiny-sd": {"load_s": 2.0, "measured_on": "cpu"}}}))
    with pytest.raises(ValueError, match="missing key 'compute_s_mean'"):
        planner.measured_profiles(path)


def test_cli_prints_the_table_and_refuses_bad_input(tmp_path, capsys, root, monkeypatch):
    monkeypatch.chdir(root)
    assert planner.main(["--jobs", "12000", "--gpus", "8", "32", "--assume-s-per-image", "3",
                         "--assume-models", "8"]) == 0
    out = capsys.readouterr().out
    assert "| 8 | 96,000 | 16.80 | 134.4 |" in out and "12,000 jobs x 8 models on A100 80GB" in out
    assert planner.main(["--jobs", "10", "--gpus", "8", "--card", "nope", "--assume-s-per-image", "1"]) == 2
    assert "unknown price card 'nope' (valid: a100-80gb-replicate-2025" in capsys.readouterr().err
    assert planner.main(["--jobs", "10", "--gpus", "0", "--assume-s-per-image", "1"]) == 2
    assert "--gpus: each count must be >= 1" in capsys.readouterr().err
    assert planner.main(["--jobs", "10", "--gpus", "1", "--measured", str(tmp_path / "none.json")]) == 2
    assert "no measured seconds" in capsys.readouterr().err
