"""The metric registry in the fast lane: errors that list names, and the leaderboard, report table and
flat metrics iterating it (no torch: functions named "module:function" are imported only when scoring)."""
from __future__ import annotations


import pytest

from model_configs import plain_model as _model
from sentinel.config import NormalisationConfig, ReportConfig
from sentinel.metrics import registry
from sentinel.report import flat, leaderboard

NORM = NormalisationConfig(fid_best=0, fid_worst=100, clip_best=35, clip_worst=15, human_best=5, human_worst=1)
RCFG = ReportConfig(version="v", weights={"fid": 0.4, "clip": 0.3, "human": 0.3}, normalisation=NORM)
TOY = registry.Metric("toy", "inception", "nowhere:point", "nowhere:replicates", True, "toy_col", "Toy")


@pytest.fixture
def toy():
    registry.register(TOY)
    yield TOY
    registry.REGISTRY.pop(TOY.name)


def test_builtins_and_errors_that_list_the_valid_names():
    assert list(registry.REGISTRY) == ["fid", "fd_dinov2", "kid", "clip_score", "cmmd", "hpsv2", "pickscore"]
    assert {m.name: m.higher_is_better for m in registry.REGISTRY.values()} == {
        "fid": False, "fd_dinov2": False, "kid": False, "clip_score": True, "cmmd": False, "hpsv2": True,
        "pickscore": True}
    # off unless switched on: FD-DINOv2 by score.dinov2_weights, plug-ins by score.preference_models
    assert [m.name for m in registry.active({})] == ["fid", "kid", "clip_score", "cmmd"]
    on = registry.active({"dinov2_weights": "w.pt", "preference_models": ["pickscore"], "cmmd_clip_arch": "ViT-L-14-336"})
    assert [(m.name, m.extractor) for m in on] == [("fid", "inception"), ("fd_dinov2", "dinov2"), ("kid", "inception"),
                                                   ("clip_score", "clip"), ("cmmd", "cmmd_clip"), ("pickscore", "pairs")]
    with pytest.raises(KeyError, match="unknown metric 'fd' \\(registered: fid, fd_dinov2, kid, clip_score, cmmd"):
        registry.get("fd")
    with pytest.raises(ValueError, match="metric 'fid' is already registered"):
        registry.register(registry.REGISTRY["fid"])
    with pytest.raises(ValueError, match="extractor 'dino' is not one of inception, clip, dinov2"):
        registry.Metric("x", "dino", "m:f", "m:g", True, "x", "X")
    with pytest.raises(ValueError, match="leaderboard column 'fid' is taken"):
        registry.register(registry.Metric("fid2", "inception", "m:f", "m:g", False, "fid", "FID again"))


def _score(extra: dict | None = None, extra_ci: dict | None = None) -> dict:
    ci = {"fid": {"low": 19.0, "high": 21.0}, "clip_score": {"low": 29.0, "high": 31.0}, **(extra_ci or {})}
    o = {"fid": 20.0, "kid_mean": 0.01, "kid_std": 0.001, "clip_score": 30.0, "n_generated": 10, "n_reference": 20,
         "ci_level": 0.9, **(extra or {}), "ci": ci}
    return {"overall": o, "categories": {"c": o}, "plumbing": False,
            "human": {"likert_mean": 4.0, "likert_ci": [3.8, 4.2], "ci_level": 0.9, "simulated": True}}


def test_a_registered_metric_gets_a_leaderboard_column_with_its_ci(toy):
    score = _score({"toy": 7.5}, {"toy": {"low": 7.0, "high": 8.0}})
    row = leaderboard.rank([leaderboard.entry("m", _model("m"), score, None, None, RCFG)], RCFG)[0]
    assert row["toy_col"] == 7.5 and row["toy_col_ci"] == [7.0, 8.0]
    assert row["categories"]["c"]["toy_col_ci"] == [7.0, 8.0]
    assert row["ci_level"] == 0.9 and row["composite_ci_level"] == 0.9
    heads = flat.flat_metrics({"models": [row]})["m"]
    assert (heads["toy_col"], heads["toy_col_ci_low"], heads["toy_col_ci_high"]) == (7.5, 7.0, 8.0)


def test_a_metric_the_score_stage_did_not_report_is_null_not_a_guess(toy):
    row = leaderboard.entry("m", _model("m"), _score(), None, None, RCFG)
    assert row["toy_col"] is None and row["toy_col_ci"] is None


def test_models_scored_at_different_levels_are_refused():
    a = leaderboard.entry("a", _model("a"), _score(), None, None, RCFG)
    b = {**leaderboard.entry("b", _model("b"), _score(), None, None, RCFG), "ci_level": 0.95}
    with pytest.raises(ValueError, match=r"different CI levels \[0.9, 0.95\]"):
        leaderboard.rank([a, b], RCFG)


def test_a_metric_with_its_own_interval_method_needs_no_replicates():
    m = registry.Metric("hs", "inception", "m:point", None, False, "hs", "HS", interval="m:interval")
    assert m.replicates is None and m.interval == "m:interval"
    with pytest.raises(ValueError, match="needs `replicates` or `interval`"):
        registry.Metric("none", "inception", "m:point", None, False, "none", "None")


def test_an_optional_metric_gets_a_report_column_only_when_some_row_measured_it():
    """FD-DINOv2 and plug-in scorers are off unless enabled: the report adds no empty column for them."""
    always = ["fid", "kid", "clip_score", "cmmd"]
    assert [m.name for m in registry.shown([{"fid": 1.0}])] == always
    assert [m.name for m in registry.shown([{"pickscore": None}, {"pickscore": 20.1}])] == [*always, "pickscore"]
