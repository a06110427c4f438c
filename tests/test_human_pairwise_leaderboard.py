"""A rating round done the documented way (pairwise keys only, no Likert) gives every model a human
score, a composite and a rank: votes stored in the rating app's own database, exported by its own
export code, summarised by the score stage's code, ranked by the report's (composite-v2)."""
from __future__ import annotations

import math

import pytest
import sqlalchemy as sa

from model_configs import plain_model as _model
from sentinel.config import NormalisationConfig, ReportConfig
from sentinel.human.app import db, export
from sentinel.human.summary import summarise
from sentinel.report import leaderboard
from sentinel.report.markdown import render

NORM = NormalisationConfig(fid_best=0, fid_worst=100, clip_best=35, clip_worst=15, human_best=5, human_worst=1)
V2 = ReportConfig(version="composite-v2", weights={"fid": 0.4, "clip": 0.3, "human": 0.3}, normalisation=NORM)
MODELS = ("m-a", "m-b", "m-c")


def _database(url: str, votes: dict[str, list[tuple[str, str, str]]]) -> sa.Engine:
    """Items per (model, job), compare tasks for each vote, one correct gold answer per rater, no Likert."""
    eng = db.engine(url)
    jobs = sorted({f"j{i}" for rater in votes.values() for i in range(len(rater))})
    with eng.begin() as conn:
        conn.execute(db.ITEMS.insert(), [{"id": f"{m}-{j}", "model": m, "job_id": j, "category": "c",
                                          "sha256": f"{m}{j}", "png": b""} for m in MODELS for j in jobs + ["g"]])
        conn.execute(db.TASKS.insert(), {"id": "gold", "kind": "gold", "category": "c", "job_id": "g", "prompt": "p",
                                         "item_a": "m-a-g", "item_b": "m-b-g", "expected": "a"})
        for rater, rater_votes in votes.items():
            conn.execute(db.RATERS.insert(), {"id": rater, "created_at": 0.0})
            conn.execute(db.RATINGS.insert(), {"rater_id": rater, "task_id": "gold", "outcome": "a", "likert_a": {},
                                               "likert_b": {}, "created_at": 0.0, "rubric": "human-v2"})
            for i, (a, b, outcome) in enumerate(rater_votes):
                task = f"{rater}-{i}"
                conn.execute(db.TASKS.insert(), {"id": task, "kind": "compare", "category": "c", "job_id": f"j{i}",
                                                 "prompt": "p", "item_a": f"{a}-j{i}", "item_b": f"{b}-j{i}",
                                                 "expected": None})
                conn.execute(db.RATINGS.insert(), {"rater_id": rater, "task_id": task, "outcome": outcome,
                                                   "likert_a": {}, "likert_b": {}, "created_at": 0.0,
                                                   "rubric": "human-v2"})
    return eng


def test_pairwise_only_round_from_the_rating_app_gives_every_model_a_rank(tmp_path):
    # m-a beats m-b and m-c clearly, m-b edges m-c, with a tie: two raters, 12 votes each
    one = [("m-a", "m-b", "a"), ("m-a", "m-c", "a"), ("m-b", "m-c", "a"), ("m-a", "m-b", "a"),
           ("m-c", "m-a", "b"), ("m-b", "m-c", "tie"), ("m-a", "m-b", "b"), ("m-a", "m-c", "a"),
           ("m-c", "m-b", "b"), ("m-b", "m-a", "b"), ("m-c", "m-a", "a"), ("m-b", "m-c", "a")]
    two = [(b, a, {"a": "b", "b": "a", "tie": "tie"}[o]) for a, b, o in one]  # same preferences, sides swapped
    rows = export.rows(_database(f"sqlite:///{tmp_path / 'ratings.db'}", {"r1": one, "r2": two}))
    assert {r["kind"] for r in rows} == {"pairwise", "gold"}  # nobody typed a Likert rating
    block = {"fid": 20.0, "kid_mean": 0.01, "kid_std": 0.001, "clip_score": 30.0, "n_generated": 4,
             "n_reference": 8, "fid_ci": [19.0, 21.0], "clip_score_ci": [29.0, 31.0]}
    entries = [leaderboard.entry(m, _model(m), {"overall": block, "categories": {}, "plumbing": False,
                                                "human": summarise(rows, m, seed=0, n_boot=200)}, None, None, V2)
               for m in MODELS]
    board = {r["model"]: r for r in leaderboard.rank(entries, V2)}
    assert [board[m]["rank"] for m in MODELS] == [1, 2, 3]
    for m in MODELS:
        r = board[m]
        assert r["human_source"] == "pairwise" and r["composite"] is not None and "composite" not in r["not_measured"]
        # the documented mapping, from the strength the row itself reports
        assert r["human"] == pytest.approx(100 / (1 + math.exp(-r["human_bt_strength"])))
        lo, hi = r["human_bt_ci"]
        assert lo < r["human_bt_strength"] < hi and r["human_bt_n_votes"] == 16
        assert r["composite"] == pytest.approx(0.4 * 80 + 0.3 * 75 + 0.3 * r["human"])
    md = render({"suite": "s", "plumbing": False, "models": list(board.values())} | _rest(), records=[])
    assert "## Human ratings" in md and "| m-a | pairwise |" in md


def _rest() -> dict:
    return {"note": "", "composite_version": "composite-v2", "weights": V2.weights, "normalisation": vars(NORM),
            "weight_sensitivity": [], "convention": {}, "cost_note": "", "model_cards": {},
            "price_card": {"card": "c", "gpu": "g", "price_usd_per_hour": 1, "utilisation": 0.5, "as_of": "x",
                           "source": "s"},
            "provenance": {"git_commit": "x", "git_dirty": False, "dvc_lock_sha256": None, "libraries": {},
                           "hardware": {}}}
