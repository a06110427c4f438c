"""Per-attribute breakdown: group means, bootstrap CIs against a plain reference loop, n, largest gap."""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from sentinel.report.breakdown import (breakdown, breakdown_markdown, mean_breakdown, qualified_attributes, set_statistic_breakdown)
from sentinel.workloads.jobs import load_workload

BANDS = {"light": 10.0, "medium": 12.0, "deep": 15.0}


def _data(n_per: int = 30, seed: int = 1):
    rng = np.random.default_rng(seed)
    values, attrs = {}, {}
    for band, mu in BANDS.items():
        for i in range(n_per):
            job = f"{band}-{i}"
            values[job] = float(rng.normal(mu, 1.0))
            attrs[job] = {"skin_tone_band": band, "attire": "suit" if i % 2 else "sweater"}
    return values, attrs


def _reference_ci(x: np.ndarray, seed: int, attr: str, value: str, samples: int, level: float):
    """The documented procedure, written out as a loop."""
    rng = np.random.default_rng([seed, zlib.crc32(f"{attr}={value}".encode())])
    idx = rng.integers(0, len(x), (samples, len(x)))
    means = [x[row].mean() for row in idx]
    return tuple(np.quantile(means, [(1 - level) / 2, (1 + level) / 2]))


def test_group_means_n_and_cis_match_reference():
    values, attrs = _data()
    res = mean_breakdown(values, attrs, higher_is_better=True, seed=7, samples=300, level=0.9)
    for band in BANDS:
        x = np.array([values[j] for j in sorted(values) if attrs[j]["skin_tone_band"] == band])  # job-id order
        s = res["attributes"]["skin_tone_band"][band]
        assert s["n"] == 30 and s["mean"] == pytest.approx(x.mean(), abs=1e-12)
        assert (s["low"], s["high"]) == pytest.approx(_reference_ci(x, 7, "skin_tone_band", band, 300, 0.9), abs=1e-12)
        assert s["low"] < s["mean"] < s["high"]


def test_largest_gap_is_the_attribute_that_differs_and_its_ci_excludes_zero():
    values, attrs = _data()
    gap = mean_breakdown(values, attrs, higher_is_better=True, seed=0, samples=500)["largest_gap"]
    assert gap["attribute"] == "skin_tone_band" and (gap["value_high"], gap["value_low"]) == ("deep", "light")
    assert gap["gap"] == pytest.approx(gap["mean_high"] - gap["mean_low"]) and gap["worst_value"] == "light"
    assert 0 < gap["gap_low"] < gap["gap"] < gap["gap_high"]
    lower_better = mean_breakdown(values, attrs, higher_is_better=False, seed=0, samples=500)["largest_gap"]
    assert lower_better["worst_value"] == "deep"


def test_small_groups_get_no_ci_and_their_gap_no_ci():
    values = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 5.0}
    attrs = {"a": {"band": "x"}, "b": {"band": "y"}, "c": {"band": "y"}, "d": {"other": "z"}}
    res = mean_breakdown(values, attrs, higher_is_better=True, samples=50)
    assert res["attributes"]["band"]["x"] == {"mean": 1.0, "low": None, "high": None, "n": 1}
    gap = res["largest_gap"]
    assert (gap["attribute"], gap["gap"], gap["gap_low"], gap["gap_high"]) == ("band", 1.5, None, None)
    assert "Largest gap: **band**" in breakdown_markdown({"models": {"m": {"x": res}}})
    assert mean_breakdown({"d": 5.0}, attrs, higher_is_better=True)["largest_gap"] is None  # one value only


def test_seeded_and_order_independent():
    values, attrs = _data()
    a = mean_breakdown(values, attrs, higher_is_better=True, seed=3, samples=100)
    shuffled = dict(reversed(list(values.items())))
    assert mean_breakdown(shuffled, attrs, higher_is_better=True, seed=3, samples=100)["attributes"] == a["attributes"]
    assert mean_breakdown(values, attrs, higher_is_better=True, seed=4, samples=100) != a


def test_set_statistic_matches_the_mean_path():
    values, attrs = _data(10)
    ids = list(values)
    x = np.array([values[j] for j in ids])
    via_set = set_statistic_breakdown(ids, attrs, lambda pos: float(x[pos].mean()), higher_is_better=True,
                                      seed=2, samples=200)
    assert via_set == mean_breakdown(values, attrs, higher_is_better=True, seed=2, samples=200)


def test_bad_input_is_named():
    with pytest.raises(KeyError, match="job 'zz': no attributes"):
        mean_breakdown({"zz": 1.0}, {}, higher_is_better=True)
    with pytest.raises(ValueError, match="job 'a': metric value is not finite"):
        mean_breakdown({"a": float("nan")}, {"a": {}}, higher_is_better=True)


def test_smoke_workload_breakdown_per_model_and_markdown(root):
    wl = load_workload(root / "workloads/smoke.csv")
    attrs = qualified_attributes(wl)
    assert "corporate_headshot.skin_tone_band" in attrs["hs-001"]
    rows = [{"model": m, "job_id": j.id, "clip_score": 20.0 + k + (i % 3), "human_mos": None}
            for k, m in enumerate(["tiny-sd", "tiny-sdxl"]) for i, j in enumerate(wl.jobs)]
    res = breakdown(rows, {"clip_score": True, "human_mos": True}, attrs, seed=0, samples=100)
    assert set(res["models"]) == {"tiny-sd", "tiny-sdxl"} and set(res["models"]["tiny-sd"]) == {"clip_score"}
    bands = res["models"]["tiny-sd"]["clip_score"]["attributes"]["corporate_headshot.skin_tone_band"]
    assert sum(s["n"] for s in bands.values()) == 4
    md = breakdown_markdown(res, attributes=["corporate_headshot.skin_tone_band"])
    assert "| corporate_headshot.skin_tone_band | MST 1-3 |" in md and "Largest gap: **" in md
    assert "age_band" not in md.split("Largest gap")[0]


def test_human_rows_average_each_images_ratings():
    ratings = [{"model": "m", "job_id": "a", "dimension": "overall", "likert": 2},
               {"model": "m", "job_id": "a", "dimension": "overall", "likert": 5},
               {"model": "m", "job_id": "a", "dimension": "realism", "likert": 1},
               {"model": "m", "job_id": "b", "dimension": "overall", "likert": 4}]
    from sentinel.report.breakdown import human_rows
    assert human_rows(ratings) == [{"model": "m", "job_id": "a", "human_mos": 3.5},
                                   {"model": "m", "job_id": "b", "human_mos": 4.0}]
