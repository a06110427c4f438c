"""report.md / report.html from hand-written stage outputs: answer first, units people compare,
the data used named, fields other stages add (checks, judge agreement, capacity) rendered when
present and absent sections left out. Renderers run for real (matplotlib, Jinja2, Markdown)."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image

from sentinel.config import ModelConfig, NormalisationConfig, ReportConfig, SchedulerConfig
from sentinel.report import leaderboard, plots, uncertainty
from sentinel.report.html import render_html
from sentinel.report.markdown import render
from sentinel.report.stage import plot_data

NORM = NormalisationConfig(fid_best=0, fid_worst=100, clip_best=35, clip_worst=15, human_best=5, human_worst=1)
RCFG = ReportConfig(version="composite-v2", weights={"fid": 0.4, "clip": 0.3, "human": 0.3}, normalisation=NORM)
CHECKS = {"version": "workload-checks-v1", "thresholds": {"near_hamming": 6}, "n_jobs": 2, "n_failed": 0,
          "checks": {"headshot_one_face": {"kind": "rate", "value": 0.25, "ci": [0.05, 0.57], "ci_level": 0.95,
                                           "ci_method": "wilson", "n": 4}}}
JUDGES = {"clip_score": {"vote_agreement": 0.61, "vote_agreement_ci": [0.5, 0.7], "n_votes": 40, "n_left_out": 2,
                         "rank_tau": 0.33, "rank_tau_ci": [-0.3, 1.0], "ci_level": 0.95}}


def _model(name):
    return ModelConfig(name=name, display_name=name, pipeline="StableDiffusionPipeline", source="tiny-random",
                       repo_id=None, revision=None, init_seed=0, scheduler=SchedulerConfig(cls="DDIMScheduler"),
                       steps=None, guidance=None, dtype="float32", device="cpu", cpu_threads=1, licence="x",
                       plumbing=False)


def _score(fid, extras):
    block = {"fid": fid, "kid_mean": 0.01, "kid_std": 0.001, "clip_score": 30.0, "n_generated": 2, "n_reference": 4,
             "fid_ci": [fid - 1, fid + 1], "clip_score_ci": [29.0, 31.0]}
    return {"overall": block, "categories": {"hs": block}, "plumbing": False,
            "human": {"likert_mean": 4.0, "likert_ci": [3.8, 4.2], "bt_strength": 0.1, "bt_ci": [-0.2, 0.4],
                      "bt_n_votes": 20, "n_raters": 2, "simulated": False}, **extras}


def _latency(name):
    return {"n_requests": 100, "n_failed": 0, "latency_p50_s": 0.1, "latency_p95_s": 0.3, "latency_p99_s": 0.4,
            "cold_start_s": 2.0, "latency_p95_ci95_s": [0.25, 0.35], "goodput_fraction": 0.987, "n_cold": 3,
            "capacity_display": "[40, 60) req/s", "max_rate_meeting_slo_rps": 40.123456, "slo_s": 1.0,
            "per_request_s": [0.1, 0.2, 0.3], "load": [], "success_latency_p95_s": 0.29, "model": name}


def _board(extras=None, data=True, breakdown=None):
    names = ("alpha", "beta")
    cost = {"cost_usd_per_image": 9.89e-05, "cost_usd_per_1000_images": 0.0989, "compute_usd_per_image": 9e-05,
            "orchestration_usd_per_image": 8.9e-06, "platform_fee_usd_per_image": 0.0}
    rows = [leaderboard.entry(n, _model(n), _score(10 + 5 * i, extras or {}), cost, _latency(n), RCFG)
            for i, n in enumerate(names)]
    rows = leaderboard.rank(rows, RCFG)
    board = {"suite": "smoke", "plumbing": False, "note": "", "composite_version": RCFG.version,
             "weights": RCFG.weights, "normalisation": vars(NORM),
             "weight_sensitivity": uncertainty.weight_sensitivity(rows, RCFG.weights), "convention": {},
             "price_card": {"card": "c", "gpu": "g", "price_usd_per_hour": 1.0, "utilisation": 0.6, "as_of": "x",
                            "source": "s"}, "cost_note": "", "models": rows,
             "model_cards": {n: {"display_name": n, "pipeline": "p", "source": "s", "repo_id": None, "revision": None,
                                 "scheduler": "d", "steps": 1, "guidance": 0.0, "dtype": "float32", "licence": "x",
                                 "plumbing": False, "text": None} for n in names},
             "provenance": {"git_commit": "abc", "git_dirty": False, "dvc_lock_sha256": None, "libraries": {},
                            "hardware": {}},
             "attribute_breakdown": breakdown or {"models": {}, "convention": {"min_n": 5, "ci_level": 0.95}}}
    if data:
        board["data"] = {"suite": "smoke", "workload": "interiors", "jobs": "workloads/interiors.csv",
                         "jobs_sha256": "ab" * 32, "reference": {"hs": {"folder": "data/mine/hs", "n_images": 4,
                                                                         "sha256": "cd" * 32}}}
    return board


@pytest.fixture
def records(tmp_path):
    recs = []
    for i, name in enumerate(("alpha", "beta")):
        for job in ("hs-1", "hs-2"):
            (tmp_path / name).mkdir(exist_ok=True)
            Image.new("RGB", (8, 8), (40 * i, 80, 120)).save(tmp_path / name / f"{job}.png")
            recs.append({"model": name, "job_id": job, "category": "hs", "image": f"{name}/{job}.png",
                         "prompt": f"a portrait for {job}", "status": "ok"})
    return recs


def _lat_stage():
    return {"models": {n: _latency(n) for n in ("alpha", "beta")}}


def test_markdown_leads_with_the_answer_in_units_people_compare():
    md = render(_board({"checks": CHECKS}), records=[])
    assert md.splitlines()[0] == "# Sentinel report: suite smoke, workload interiors"
    assert md.index("## Leaderboard") < md.index("## Human ratings") < md.index("## Latency detail")
    assert "| $0.0989 |" in md and "$ per 1,000 images" in md  # 9.89e-05 $/image * 1000
    assert not re.search(r"\de-0\d", md), "no exponent notation anywhere"
    assert "| 98.7 % |" in md and "[40, 60) req/s" in md and "40.12" not in md
    assert "0.300 [0.250, 0.350]" in md  # p95 with its CI
    assert "{'fid_best'" not in md and "| fid | 0 | 100 | 40% |" in md  # anchors as a table
    assert "workloads/interiors.csv" in md and "ab" * 32 in md and "data/mine/hs" in md and "cd" * 32 in md


def test_checks_and_judges_render_when_present_and_vanish_when_absent():
    with_them = _board({"checks": CHECKS})
    with_them["judge_agreement"] = JUDGES
    md = render(with_them, records=[])
    assert "## Production checks" in md and "real pixels" in md
    assert "| alpha | 25.0 % [5.0 %, 57.0 %], n=4 | 0 of 2 |" in md
    assert "| clip_score | 61.0 % [50.0 %, 70.0 %] | 40 | 2 | 0.33 [-0.30, 1.00] |" in md
    bare = render(_board(), records=[])
    assert "Production checks" not in bare and "automatic judge" not in bare
    assert "Per subject attribute" not in bare  # a workload without attributes: no empty tables


def test_attribute_gap_between_groups_below_min_n_is_not_stated():
    small = {"mean": 3.0, "low": None, "high": None, "n": 1}
    res = {"attributes": {"hs.age": {"20s": small, "60s": {**small, "mean": 1.0}}},
           "largest_gap": {"attribute": "hs.age", "value_high": "20s", "mean_high": 3.0, "n_high": 1,
                           "value_low": "60s", "mean_low": 1.0, "n_low": 1, "gap": 2.0, "gap_low": None,
                           "gap_high": None, "worst_value": "60s"}}
    bd = {"models": {"alpha": {"human_mos": res}}, "convention": {"min_n": 5, "ci_level": 0.95}}
    md = render(_board(breakdown=bd), records=[])
    assert "No attribute group reaches n >= 5" in md and "largest gap" not in md.lower()


def test_html_puts_leaderboard_first_one_colour_per_model_and_a_prompt_grid(records, tmp_path):
    board = _board()
    pdata = plot_data(board, _lat_stage())
    html = render_html(board, records, tmp_path, pdata)
    assert "<title>Sentinel report: suite smoke, workload interiors</title>" in html
    assert html.index('id="leaderboard"') < html.index('id="plots"') < html.index('id="side-by-side"')
    grid = html[html.index('id="side-by-side"'):]
    assert "a portrait for hs-1" in grid and grid.count('<figure data-model=') == 2
    colour = plots.colours(["alpha", "beta"])
    assert colour["alpha"] != colour["beta"]
    assert {r["model"]: r["colour"] for r in pdata["pareto.json"]} == colour
    assert {r["colour"] for r in pdata["latency_cdf.json"] if r["model"] == "beta"} == {colour["beta"]}
    assert f'background:{colour["alpha"]}' in html
    assert "**" not in html[:html.index('id="plots"')]  # Markdown emphasis rendered, not printed


def test_pareto_front_closed_form():
    pts = [(1.0, 50.0), (2.0, 40.0), (3.0, 70.0), (0.5, 30.0), (3.0, 60.0)]
    assert plots.front(pts) == [(0.5, 30.0), (1.0, 50.0), (3.0, 70.0)]


def test_leaderboard_json_carries_bt_strengths_and_the_data_block():
    board = json.loads(json.dumps(_board(), default=str))
    row = board["models"][0]
    assert row["human_bt_strength"] == 0.1 and row["human_bt_ci"] == [-0.2, 0.4] and row["human_bt_n_votes"] == 20
    assert board["data"]["workload"] == "interiors"
    assert np.isfinite(row["composite"])


@pytest.mark.slow
def test_report_html_in_chromium_leaderboard_above_the_fold_and_every_image_loads(records, tmp_path):
    from browser import chromium

    board = _board()
    page = tmp_path / "report.html"
    page.write_text(render_html(board, records, tmp_path, plot_data(board, _lat_stage())), encoding="utf-8")
    driver = chromium()
    try:
        driver.set_window_size(1280, 1000)
        driver.get(page.as_uri())
        top = driver.execute_script("return document.getElementById('leaderboard').getBoundingClientRect().top")
        assert top < 1000
        images = driver.execute_script("return Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0]);")
        assert all(ok for _, ok in images) and len(images) >= 3 + 2 + 1, images  # plots, grid, sample grid
        grid = driver.execute_script("return document.querySelectorAll('#side-by-side figure[data-model]').length")
        assert grid == 2
        assert not [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    finally:
        driver.quit()


def test_largest_gap_is_taken_among_groups_that_reach_min_n():
    def grp(mean, n, half=0.1):
        return {"mean": mean, "low": mean - half, "high": mean + half, "n": n} if n >= 5 else \
            {"mean": mean, "low": None, "high": None, "n": n}
    res = {"attributes": {"hs.age": {"20s": grp(4.0, 6), "40s": grp(3.5, 7), "60s": grp(1.0, 1)},
                          "hs.tone": {"a": grp(3.0, 8), "b": grp(2.9, 8)}},
           "largest_gap": {"attribute": "hs.age", "value_high": "20s", "mean_high": 4.0, "n_high": 6,
                           "value_low": "60s", "mean_low": 1.0, "n_low": 1, "gap": 3.0, "gap_low": None,
                           "gap_high": None, "worst_value": "60s"}}
    bd = {"models": {"alpha": {"human_mos": res}}, "convention": {"min_n": 5, "ci_level": 0.95}}
    md = render(_board(breakdown=bd), records=[])
    assert ("largest gap among groups with n >= 5: hs.age: 20s 4.00 [3.90, 4.10] (n=6) vs 40s 3.50 "
            "[3.40, 3.60] (n=7) = 0.50") in md
    assert "60s" not in md  # the n = 1 group is in the collapsed HTML tables only
    assert "| hs.tone | a | 8 | 3.00 [2.90, 3.10] |" in md
