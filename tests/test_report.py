"""Composite uncertainty, rank stability, weight sensitivity, and fixed anchors across model sets."""
from __future__ import annotations

import numpy as np
import pytest

from sentinel.report import leaderboard, uncertainty
from model_configs import plain_model as _model
from sentinel.config import NormalisationConfig, ReportConfig

NORM = NormalisationConfig(fid_best=0, fid_worst=100, clip_best=35, clip_worst=15, human_best=5, human_worst=1)
RCFG = ReportConfig(version="v", weights={"fid": 0.4, "clip": 0.3, "human": 0.3}, normalisation=NORM)


def _row(name, fid=0.0, clip=0.0, human=0.0, se=(0.0, 0.0, 0.0)):
    return {"model": name, "components": {"fid": fid, "clip": clip, "human": human},
            "component_se": dict(zip(("fid", "clip", "human"), se))}


Z95, Z90 = 1.959963984540054, 1.6448536269514722  # standard normal quantiles 0.975 and 0.95 (tables)


@pytest.mark.parametrize("level, z", [(0.95, Z95), (0.90, Z90)])
def test_component_se_closed_form(level, z):
    # FID CI [10, 10 + 2z] on anchors 0..100: half-width z -> se 1 FID point = 1 on the 0-100 scale
    assert uncertainty.component_se([10.0, 10.0 + 2 * z], 0, 100, level) == pytest.approx(1.0)
    assert uncertainty.component_se([3.0, 3.0 + 2 * z], 5, 1, level) == pytest.approx(25.0)  # Likert: 4 points = 100
    assert uncertainty.component_se(None, 0, 100, level) is None


def test_no_uncertainty_gives_point_ci_and_certain_rank():
    rows = [_row("a", 80, 80, 80), _row("b", 50, 50, 50)]
    out = uncertainty.uncertainty(rows, RCFG)
    assert out["a"]["composite_ci"] == pytest.approx([80, 80]) and out["a"]["p_holds_rank"] == 1.0
    assert out["b"]["rank"] == 2 and out["a"]["ci_missing"] == []


def test_identical_models_hold_rank_half_the_time_and_ci_matches_normal():
    rows = [_row("a", 50, 50, 50, se=(10, 10, 10)), _row("b", 50, 50, 50, se=(10, 10, 10))]
    out = uncertainty.uncertainty(rows, RCFG, n=20000, seed=1)
    assert out["a"]["p_holds_rank"] == pytest.approx(0.5, abs=0.02)
    sd = 10 * np.sqrt(0.4**2 + 0.3**2 + 0.3**2)  # independent components, weighted sum
    lo, hi = out["a"]["composite_ci"]
    assert (hi - lo) / (2 * Z95) == pytest.approx(sd, rel=0.03)


def test_weight_sensitivity_names_models_that_flip():
    rows = [_row("fid-strong", fid=90, clip=40, human=40), _row("clip-strong", fid=40, clip=90, human=40)]
    table = {t["weights"]: t for t in uncertainty.weight_sensitivity(rows, RCFG.weights)}
    assert table["published"]["ranking"] == ["fid-strong", "clip-strong"] and table["published"]["flipped"] == []
    assert table["CLIP-heavy"]["ranking"] == ["clip-strong", "fid-strong"]
    assert set(table["CLIP-heavy"]["flipped"]) == {"fid-strong", "clip-strong"}


def _score(fid, clip, likert):
    block = {"fid": fid, "kid_mean": 0.01, "kid_std": 0.001, "clip_score": clip, "n_generated": 10,
             "n_reference": 20, "fid_ci": [fid - 1, fid + 1], "clip_score_ci": [clip - 1, clip + 1]}
    return {"overall": block, "categories": {"c": block}, "plumbing": False,
            "human": {"likert_mean": likert, "likert_ci": [likert - 0.2, likert + 0.2], "simulated": True}}


def _board(scores):
    rows = [leaderboard.entry(n, _model(n), s, None, None, RCFG) for n, s in scores.items()]
    return {r["model"]: r for r in leaderboard.rank(rows, RCFG)}


def test_adding_a_third_model_leaves_the_first_two_composites_unchanged():
    two = {"a": _score(20, 30, 4.0), "b": _score(40, 25, 3.0)}
    three = {**two, "c": _score(1, 34, 4.9)}  # a much better model joins and takes rank 1
    before, after = _board(two), _board(three)
    for name in ("a", "b"):
        assert after[name]["composite"] == before[name]["composite"]
        assert after[name]["components"] == before[name]["components"]
    assert after["c"]["rank"] == 1 and after["a"]["rank"] == before["a"]["rank"] + 1


def test_unmeasured_stages_are_marked_with_a_reason():
    row = _board({"a": _score(20, 30, 4.0)})["a"]
    assert row["cost_usd_per_image"] is None and "cost_usd_per_image" in row["not_measured"]
    assert row["latency_p95_s"] is None and "latency_p95_s" in row["not_measured"]


def test_pairwise_only_human_ratings_leave_composite_unscored_not_crashed():
    score = _score(20, 30, 4.0)
    score["human"] = {"bt_strength": 0.3, "simulated": False}  # an export with votes but no Likert
    board = _board({"a": score, "b": _score(40, 25, 3.0)})
    assert board["a"]["composite"] is None and "composite" in board["a"]["not_measured"]
    assert board["a"]["rank"] is None and board["b"]["rank"] == 1


def test_the_frozen_release_leaderboard_rebuilds_under_todays_names(root):
    """The withdrawn release 2026-Q4-smoke published `*_ci95` (its files are the fixture
    tests/fixtures/release-ci95); today's leaderboard says `*_ci` + `ci_level`. Rebuilt
    from the release's own score, cost and latency files, every published number is found and equal
    (release verify maps the old names: sentinel.release.compare.current_name)."""
    import json

    from sentinel import config
    from sentinel.provenance import read_jsonl
    from sentinel.release.compare import compare_tree
    from sentinel.release.tolerances import Context
    from sentinel.report.stage import build

    rel = root / "tests" / "fixtures" / "release-ci95"
    cfg = config.load(rel / "params.yaml", sections=("suite", "model", "report", "paths", "cost"))
    score, cost, lat = (json.loads((rel / f).read_text()) for f in ("metrics.json", "cost.json", "latency.json"))
    board = json.loads(json.dumps(build(cfg, score, cost, lat, read_jsonl(rel / "records.jsonl"))))
    published = json.loads((rel / "leaderboard.json").read_text())
    published.pop("attribute_breakdown")  # added by the stage's run(), not by build()
    assert "fid_ci95" in published["models"][0] and "fid_ci" in board["models"][0]
    failed = [(c.address, c.status) for c in compare_tree("leaderboard", published, board, Context(True, False))
              if c.failed]
    assert failed == []
    assert all(r["ci_level"] == 0.95 and r["composite_ci_level"] == 0.95 for r in board["models"])


V2 = ReportConfig(version="composite-v2", weights={"fid": 0.4, "clip": 0.3, "human": 0.3}, normalisation=NORM)


def _export_rows(votes_per_rater):
    """Rows as `sentinel.human.app.export` writes them for raters who pressed only the pairwise keys."""
    rows = []
    for rater, outcomes in votes_per_rater.items():
        rows.append({"kind": "gold", "rater": rater, "category": "c", "job_id": "g", "rubric": "human-v2",
                     "simulated": False, "check": "gold", "correct": True})
        rows += [{"kind": "pairwise", "rater": rater, "category": "c", "job_id": f"j{i}", "rubric": "human-v2",
                  "simulated": False, "model_a": "a", "model_b": "b", "outcome": o} for i, o in enumerate(outcomes)]
    return rows


def test_two_raters_answering_only_pairwise_give_a_ranked_leaderboard():
    from sentinel.human.summary import summarise

    rows = _export_rows({"r1": ["a", "a", "a", "b"], "r2": ["a", "b", "a", "a"]})  # a wins 6 of 8
    scores = {}
    for m in ("a", "b"):
        scores[m] = _score(20, 30, 4.0)
        scores[m]["human"] = summarise(rows, m, seed=0, n_boot=200)
    rows_out = [leaderboard.entry(n, _model(n), s, None, None, V2) for n, s in scores.items()]
    board = {r["model"]: r for r in leaderboard.rank(rows_out, V2)}
    # Bradley-Terry MLE without ties: theta_a - theta_b = log(6/2); centred theta_a = log(3)/2, so
    # human_a = 100 * sigmoid(log(3)/2) = 100 * sqrt(3) / (1 + sqrt(3)) (the ridge prior moves it < 0.1)
    expected = 100 * np.sqrt(3) / (1 + np.sqrt(3))
    assert board["a"]["human"] == pytest.approx(expected, abs=0.1)
    assert board["b"]["human"] == pytest.approx(100 - expected, abs=0.1)
    assert board["a"]["human_source"] == "pairwise" and board["a"]["human_bt_n_votes"] == 8
    assert board["a"]["composite"] == pytest.approx(0.4 * 80 + 0.3 * 75 + 0.3 * expected, abs=0.05)
    assert (board["a"]["rank"], board["b"]["rank"]) == (1, 2)
    lo, hi = board["a"]["human_ci"]
    assert lo < board["a"]["human"] < hi and "human_ci" not in board["a"]["not_measured"]


def test_auto_keeps_composite_v1_numbers_when_likert_is_present():
    v1 = _board({"a": _score(20, 30, 4.0), "b": _score(40, 25, 3.0)})
    rows = [leaderboard.entry(n, _model(n), s, None, None, V2)
            for n, s in {"a": _score(20, 30, 4.0), "b": _score(40, 25, 3.0)}.items()]
    v2 = {r["model"]: r for r in leaderboard.rank(rows, V2)}
    for m in ("a", "b"):
        assert v2[m]["composite"] == v1[m]["composite"] and v2[m]["composite_ci"] == v1[m]["composite_ci"]
        assert v2[m]["human_source"] == "likert"
    assert v1["a"]["human"] == pytest.approx(75.0)  # (4 - 1) / (5 - 1) on the Likert anchors


def test_pairwise_source_needs_composite_v2():
    from sentinel.report import composite

    with pytest.raises(ValueError, match="report.human_source: pairwise needs report.version"):
        composite.validate(ReportConfig(version="composite-v1", weights=RCFG.weights, normalisation=NORM,
                                        human_source="pairwise"))


def test_report_rules_are_checked_at_load_all_at_once(root, tmp_path):
    import yaml

    from sentinel import config
    from sentinel.errors import ConfigError

    params = yaml.safe_load((root / "params.yaml").read_text())
    params["report"].update(version="composite-v1", human_source="pairwise", attribute_min_n=0)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(ConfigError) as err:
        config.load(tmp_path / "params.yaml")
    assert "report.human_source: pairwise needs report.version composite-v2" in str(err.value)
    assert "report.attribute_min_n" in str(err.value)
