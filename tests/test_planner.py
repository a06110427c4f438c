"""The one planner: priced by the cost stage's function (API rows equal to the cent), capacity closed forms, CLI."""
from __future__ import annotations

import json
import math

import pytest

from sentinel.cost import planner, pricing, stage

CARD_OVERRIDE = "cost=a100-80gb-replicate-2025"  # $5.04/h, overhead $0.0002, fee 10 %, utilisation 0.6, 500 images/cold start


@pytest.fixture(scope="module")
def card():
    return planner.load_suite([CARD_OVERRIDE])["cost"]


def test_api_model_with_a_list_price_is_priced_as_the_cost_stage_prices_it(tmp_path):
    p = planner.plan(["model=[proprietary-a,proprietary-b]", CARD_OVERRIDE,
                      "+cost.list_price_usd_per_image.proprietary-a=0.04",     # the card's price
                      "model.proprietary-b.api.list_price_usd_per_image=0.03",  # the model config's price
                      f"paths.timings={tmp_path / 'none.jsonl'}"])
    rows = {r["model"]: r for r in p["models"]}
    card = planner.load_suite([CARD_OVERRIDE, "+cost.list_price_usd_per_image.proprietary-a=0.04"])["cost"]
    timings = [{"model": m, "job_id": "1", "compute_s": 9.0, "wall_s": 9.0, "device": "api", "load_s": None,
                "list_price_usd_per_image": price} for m, price in (("proprietary-a", None), ("proprietary-b", 0.03))]
    cost_stage = stage.summarise(timings, card)
    for model, price in (("proprietary-a", 0.04), ("proprietary-b", 0.03)):
        closed_form = (price + 0.0002) * (1 + 0.10)  # list price + orchestration, then the platform fee
        assert rows[model]["usd_per_image"] == cost_stage[model]["cost_usd_per_image"]
        assert rows[model]["usd_per_image"] == pytest.approx(closed_form, abs=1e-12)
        assert rows[model]["gpu_hours"] == 0.0 and rows[model]["source"] == "vendor list price"
        assert round(rows[model]["usd"], 2) == round(p["jobs"] * closed_form, 2)
    assert rows["proprietary-a"]["usd_per_image"] == pytest.approx(0.04422)


def test_api_model_without_a_list_price_is_unpriced_not_gpu_billed(tmp_path):
    p = planner.plan(["model=[proprietary-a]", f"paths.timings={tmp_path / 'none.jsonl'}"], gpus=[4])
    row, cap = p["models"][0], p["capacity"][0]
    assert row["usd"] is None and row["gpu_hours"] == 0 and row["source"] == "list price not set"
    assert cap["gpu_hours"] == 0 and cap["unpriced"] == 1 and cap["cost_usd_per_1000_images"] is None


def test_measured_self_hosted_seconds_are_priced_as_the_cost_stage_prices_them(tmp_path):
    rows = [{"model": "tiny-sd", "job_id": str(i), "compute_s": s, "wall_s": s, "device": "cpu", "load_s": 30.0,
             "status": "ok"} for i, s in enumerate([1.0, 2.0, 3.0])]
    rows.append({**rows[0], "job_id": "x", "compute_s": 100.0, "status": "failed"})  # not a successful image
    timings = tmp_path / "timings.jsonl"
    timings.write_text("".join(json.dumps(r) + "\n" for r in rows))
    p = planner.plan(["model=[tiny-sd]", CARD_OVERRIDE, f"paths.timings={timings}"])
    row = p["models"][0]
    billed_s = 2.0 / 0.6 + 30.0 / 500  # mean of the ok rows / utilisation + load amortised per cold start
    assert row["source"] == "measured (not the priced GPU)" and row["s_per_image"] == 2.0
    assert row["usd_per_image"] == pytest.approx((billed_s / 3600 * 5.04 + 0.0002) * 1.1)
    card = planner.load_suite([CARD_OVERRIDE])["cost"]
    assert row["usd_per_image"] == stage.summarise(rows[:3], card)["tiny-sd"]["cost_usd_per_image"]
    assert row["gpu_hours"] == pytest.approx(billed_s * p["jobs"] / 3600)


def test_capacity_matches_the_closed_form(card):
    profiles = [planner.ModelProfile(f"m{i}", False, None, 3.0, 60.0, "assumed") for i in range(8)]
    eight, many = planner.capacity(profiles, 12000, [8, 128], card)
    wall_per_model = 60.0 + 1500 * 3.0 / 0.6  # 12,000 / 8 GPUs = 1,500 images on each
    assert eight["wall_s"] == pytest.approx(8 * wall_per_model)
    assert eight["gpu_hours"] == pytest.approx(8 * 8 * wall_per_model / 3600)
    cost = 8 * (8 * wall_per_model / 3600 * 5.04 + 12000 * 0.0002) * 1.10
    assert eight["cost_usd"] == pytest.approx(cost)
    assert eight["cost_usd_per_1000_images"] == pytest.approx(1000 * cost / 96000)
    assert many["models"][0]["images_per_gpu"] == math.ceil(12000 / 128) == 94  # the straggler GPU sets wall time
    assert many["wall_s"] == pytest.approx(8 * (60.0 + 94 * 3.0 / 0.6))
    assert many["gpu_hours"] > eight["gpu_hours"], "more GPUs pay more idle load time and tail"
    api = planner.ModelProfile("vendor", True, 0.04, None, 0.0, "vendor")
    row = planner.capacity([api], 1000, [10], card)[0]["models"][0]
    assert row["gpu_hours"] == 0 and row["cost_usd"] == pytest.approx(1000 * (0.04 + 0.0002) * 1.1)


def test_cli_prints_both_tables_and_refuses_bad_input(capsys, root, monkeypatch):
    monkeypatch.chdir(root)
    assert planner.main(["model=[flux2-dev]", CARD_OVERRIDE, "--jobs", "12000", "--gpus", "8", "32",
                         "--assume-s-per-image", "3"]) == 0
    out = capsys.readouterr().out
    assert "| flux2-dev | 12,000 | 3 | assumed |" in out
    wall_h = (60 + 1500 * 3 / 0.6) / 3600  # one model, 1,500 images per GPU
    assert f"| 8 | 12,000 | {wall_h:,.2f} | {8 * wall_h:,.1f} |" in out
    assert planner.main(["model=no-such-model"]) == 2
    assert "model/no-such-model" in capsys.readouterr().err
    assert planner.main(["--assume-load-s", "-1"]) == 2
    assert "--assume-load-s: must be >= 0" in capsys.readouterr().err
    assert planner.main(["--gpus", "0"]) == 2
    assert "--gpus: each count must be >= 1" in capsys.readouterr().err
    assert planner.main(["--utilisation", "0"]) == 2
    assert "cost.utilisation: must be in (0, 1]" in capsys.readouterr().err
    assert planner.main(["--json", "model=[tiny-sd]"]) == 0
    assert json.loads(capsys.readouterr().out)["models"][0]["model"] == "tiny-sd"


def test_pricing_refuses_nothing_silently():
    """price_image's three branches are the only ones: list price, unpriced API, GPU time."""
    card = planner.load_suite([CARD_OVERRIDE])["cost"]
    assert pricing.price_image("x", card, api=False, config_price=0.01, compute_s=5.0)["billing"] == "list price"
    assert pricing.price_image("x", card, api=True, config_price=None, compute_s=5.0)["cost_usd_per_image"] is None
    gpu = pricing.price_image("x", card, api=False, config_price=None, compute_s=3.6, load_s=0.0)
    assert gpu["billing"] == "gpu time" and gpu["cost_usd_per_image"] == pytest.approx((3.6 / 0.6 / 3600 * 5.04 + 0.0002) * 1.1)


def test_a_params_file_is_planned_as_it_is(tmp_path, capsys):
    import yaml

    from sentinel.compose import compose

    params = compose(["model=[tiny-sd]", CARD_OVERRIDE])
    params["paths"]["timings"] = str(tmp_path / "none.jsonl")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    p = planner.plan([], params=str(tmp_path / "params.yaml"))
    assert [r["model"] for r in p["models"]] == ["tiny-sd"] and p["card"] == "a100-80gb-replicate-2025"
    assert planner.main(["--params", str(tmp_path / "params.yaml"), "suite=2026-q4"]) == 2
    assert "not both" in capsys.readouterr().err
