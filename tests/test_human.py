"""The smoke suite's simulated rater and the `human` block of outputs/score/metrics.json."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sentinel import human
from sentinel.config import ConfigError, HumanConfig
from sentinel.human import summary
from sentinel.images import encode_png
from sentinel.provenance import sha256_bytes, write_jsonl


def _records(tmp_path: Path, arrays: list[np.ndarray], models=("m",)) -> list[dict]:
    rows = []
    for model in models:
        for i, a in enumerate(arrays):
            png = encode_png(Image.fromarray(a if model == models[0] else 255 - a))
            (tmp_path / f"{model}-{i}.png").write_bytes(png)
            rows.append({"model": model, "job_id": str(i), "category": f"c{i % 2}", "image": f"{model}-{i}.png",
                         "sha256": sha256_bytes(png)})
    return rows


def test_simulated_rater_is_deterministic_labelled_and_tracks_structure(tmp_path):
    rng = np.random.default_rng(0)
    flat = [np.full((32, 32, 3), 128, np.uint8) + np.uint8(i) for i in range(8)]
    busy = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(8)]
    recs = _records(tmp_path, flat + busy)
    a = human.simulate(recs, tmp_path, raters=3, seed=0, rubric="human-v2")
    assert a == human.simulate(recs, tmp_path, raters=3, seed=0, rubric="human-v2")
    likert = [r for r in a if r["kind"] == "likert"]
    assert len(likert) == 3 * 16 and all(r["simulated"] is True and 1 <= r["likert"] <= 5 for r in likert)
    assert all(r["simulated"] is True for r in a)
    mean = lambda rows: np.mean([r["likert"] for r in rows])  # noqa: E731
    flat_ids = {str(i) for i in range(8)}
    assert mean([r for r in likert if r["job_id"] in flat_ids]) < mean([r for r in likert if r["job_id"] not in flat_ids])
    with pytest.raises(ValueError, match="score.human.raters"):
        human.simulate(recs, tmp_path, raters=0, seed=0, rubric="human-v2")


def test_model_block_has_ci_raters_alpha_and_bt_per_category(tmp_path):
    rng = np.random.default_rng(1)
    recs = _records(tmp_path, [rng.integers(0, 256, (16, 16, 3), dtype=np.uint8) for _ in range(6)], ("x", "y"))
    rows = human.simulate(recs, tmp_path, raters=3, seed=0, rubric="human-v2")
    block = human.summarise(rows, "x", seed=0, n_boot=200)
    for key in ("likert_mean", "likert_ci", "n_images", "n_ratings", "n_raters", "n_excluded_raters",
                "krippendorff_alpha", "bt_strength", "bt_ci", "bt_tie_model", "simulated", "rubric"):
        assert key in block, key
    assert block["simulated"] is True and block["n_raters"] == 3 and block["n_excluded_raters"] == 0
    assert block["likert_ci"][0] <= block["likert_mean"] <= block["likert_ci"][1]
    assert set(block["categories"]) == {"c0", "c1"}
    assert block["bt_strength"] == pytest.approx(-human.summarise(rows, "y", seed=0, n_boot=200)["bt_strength"])
    assert json.dumps(block) == json.dumps(human.summarise(rows, "x", seed=0, n_boot=200))  # deterministic
    with pytest.raises(ValueError, match="no ratings for model 'z'"):
        human.summarise(rows, "z", seed=0)


def test_gold_failing_raters_are_excluded_and_counted():
    rows = [{"kind": "likert", "rater": r, "model": "m", "job_id": str(i), "category": "c", "image_sha256": str(i),
             "dimension": "overall", "likert": (i % 5) + 1 if r != "bad" else 1, "simulated": False}
            for r in ("a", "b", "bad") for i in range(10)]
    rows += [{"kind": "gold", "rater": r, "correct": r != "bad" or g == 0} for r in ("a", "b", "bad") for g in range(5)]
    block = human.summarise(rows, "m", seed=0, n_boot=100, gold_min_accuracy=0.8)
    assert (block["n_raters"], block["n_excluded_raters"], block["n_ratings"]) == (2, 1, 20)
    assert block["krippendorff_alpha"] == pytest.approx(1.0) and block["simulated"] is False


def test_ratings_file_source_is_validated(tmp_path):
    good = {"kind": "pairwise", "rater": "r", "category": "c", "job_id": "j", "model_a": "x", "model_b": "y",
            "outcome": "tie"}
    write_jsonl(tmp_path / "ok.jsonl", [good])
    cfg = HumanConfig(source=str(tmp_path / "ok.jsonl"), raters=1, seed=0, gold_min_accuracy=0.8, rubric="human-v2")
    delivered = [{"model": m, "job_id": "j", "sha256": None} for m in ("x", "y")]
    assert human.ratings(cfg, delivered, tmp_path) == [good]
    with pytest.raises(ValueError, match="ok.jsonl:1: model 'x', job_id 'j': no delivered image of this run"):
        human.ratings(cfg, [], tmp_path)  # votes on images this run did not deliver are refused
    for bad, match in [({**good, "outcome": "left"}, "outcome 'left'"), ({**good, "kind": "vote"}, "kind 'vote'"),
                       ({k: v for k, v in good.items() if k != "model_b"}, "lacks \\['model_b'\\]")]:
        write_jsonl(tmp_path / "bad.jsonl", [good, bad])
        with pytest.raises(ValueError, match=f"bad.jsonl:2: .*{match}"):
            summary.load(tmp_path / "bad.jsonl")
    with pytest.raises(FileNotFoundError, match="score.human.source"):
        summary.load(tmp_path / "missing.jsonl")


def test_config_values_are_checked(tmp_path):
    cfg = HumanConfig(source="simulated", raters=1, seed=0, gold_min_accuracy=1.5, rubric="human-v2")
    with pytest.raises(ValueError, match="score.human.gold_min_accuracy"):
        human.ratings(cfg, [], tmp_path)


def test_pairwise_alpha_is_one_for_unanimous_raters_and_matches_reference():
    import krippendorff

    rows = [{"kind": "pairwise", "rater": r, "category": "c", "job_id": str(j), "model_a": "x", "model_b": "y",
             "outcome": ("a", "b", "tie")[j % 3], "simulated": False} for r in ("p", "q") for j in range(9)]
    assert summary._alpha_pairwise(rows) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    noisy = [{**r, "outcome": ("a", "b", "tie")[rng.integers(3)]} if r["rater"] == "q" else r for r in rows]
    # swapping model_a/model_b with the outcome flipped is the same vote
    flipped = [{**r, "model_a": "y", "model_b": "x", "outcome": {"a": "b", "b": "a", "tie": "tie"}[r["outcome"]]}
               if i % 2 else r for i, r in enumerate(noisy)]
    coded = {"a": 1.0, "b": -1.0, "tie": 0.0}
    ref = krippendorff.alpha(reliability_data=[[coded[r["outcome"]] for r in noisy if r["rater"] == k] for k in "pq"],
                             level_of_measurement="ordinal")
    assert summary._alpha_pairwise(flipped) == pytest.approx(ref, abs=1e-6)


def test_the_rubric_comes_from_config_and_is_checked_against_rubrics(tmp_path):
    rng = np.random.default_rng(2)
    recs = _records(tmp_path, [rng.integers(0, 256, (16, 16, 3), dtype=np.uint8) for _ in range(4)], ("x", "y"))
    cfg = HumanConfig(source="simulated", raters=2, seed=0, gold_min_accuracy=0.8, rubric="human-v1")
    rows = human.ratings(cfg, recs, tmp_path)
    assert {r["rubric"] for r in rows if r["kind"] == "likert"} == {"human-v1"}  # not a constant of the simulator
    assert human.summarise(rows, "x", seed=0, n_boot=50)["rubric"] == "human-v1"
    with pytest.raises(ConfigError, match=r"score.human.rubric: unknown rubric 'human-v9' \(valid: human-v1, human-v2"):
        human.ratings(HumanConfig("simulated", 2, 0, 0.8, rubric="human-v9"), recs, tmp_path)
    write_jsonl(tmp_path / "export.jsonl", rows)  # collected under v1, configured as v2: refused, naming both
    with pytest.raises(ConfigError, match=r"export.jsonl: ratings were collected under rubric human-v1, but "
                                          r"score.human.rubric is 'human-v2'"):
        human.ratings(HumanConfig(str(tmp_path / "export.jsonl"), 2, 0, 0.8, rubric="human-v2"), recs, tmp_path)
    with pytest.raises(ValueError, match="mix rubrics"):
        human.summarise(rows + [{**rows[0], "rubric": "human-v2"}], "x", seed=0, n_boot=50)


def test_human_intervals_follow_the_configured_level(tmp_path):
    rng = np.random.default_rng(3)
    recs = _records(tmp_path, [rng.integers(0, 256, (16, 16, 3), dtype=np.uint8) for _ in range(12)], ("x", "y"))
    rows = human.simulate(recs, tmp_path, raters=3, seed=0, rubric="human-v2")
    wide, narrow = (human.summarise(rows, "x", seed=0, n_boot=400, level=lv) for lv in (0.95, 0.5))
    assert wide["ci_level"] == 0.95 and narrow["ci_level"] == 0.5
    width = lambda ci: ci[1] - ci[0]  # noqa: E731
    assert width(narrow["likert_ci"]) < width(wide["likert_ci"]) and width(narrow["bt_ci"]) < width(wide["bt_ci"])
    assert wide["likert_mean"] == narrow["likert_mean"]  # the level moves intervals only
