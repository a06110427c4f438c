"""Verify names the cause: manifest edits first, inputs before code, timing verdicts not held exact."""
from __future__ import annotations

import json

from sentinel.provenance import sha256_file
from sentinel.release import fingerprint as fp
from sentinel.release.tolerances import Context, rule_for, tolerance_for
from sentinel.release.verify import manifest_checks

REMEASURED = Context(same_platform=True, remeasured=True)


def test_first_difference_prefers_inputs_over_code_even_when_code_comes_first():
    diffs = [fp.Difference("code.src/sentinel/executors/work.py", "a", "b", "info"),
             fp.Difference("hardware.cpu", "x", "y", "platform"),
             fp.Difference("workload.sha256", "1", "2", "strict")]
    assert fp.first_difference(diffs).field == "workload.sha256"
    assert fp.first_difference(diffs[:2]).field == "hardware.cpu"
    assert fp.first_difference(diffs[:1]).field.startswith("code.")
    assert fp.first_difference([]) is None


def test_workload_csv_is_a_strict_fingerprint_field_and_load_is_info(tmp_path):
    (tmp_path / "jobs.csv").write_text("id,prompt\n1,a\n")
    wl = fp.workload_hashes(tmp_path, {"workload": {"jobs": "jobs.csv"}})
    assert wl == {"jobs": "jobs.csv", "sha256": sha256_file(tmp_path / "jobs.csv")}
    assert fp.field_class("workload.sha256") == "strict"
    assert fp.field_class("load.loadavg_1m") == "info"
    assert fp.GROUPS.index("workload") < fp.GROUPS.index("params") < fp.GROUPS.index("code")


def test_manifest_checks_name_a_file_edited_after_the_cut(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"fid": 6.1}))
    (tmp_path / "cost.json").write_text("{}")
    manifest = {"files": {"metrics.json": sha256_file(tmp_path / "metrics.json"),
                          "cost.json": sha256_file(tmp_path / "cost.json"), "gone.json": "00"}}
    (tmp_path / "metrics.json").write_text(json.dumps({"fid": 7.1}))
    status = {c.address: c.status for c in manifest_checks(tmp_path, manifest)}
    assert status == {"manifest:metrics.json": "edited after cut", "manifest:cost.json": "ok",
                      "manifest:gone.json": "missing"}
    assert [c.failed for c in manifest_checks(tmp_path, manifest)] == [False, True, True]  # sorted by name


def test_timing_derived_leaderboard_values_get_bands_not_exact_when_remeasured():
    for key in ("goodput_fraction", "p95_meets_slo", "p95_claimable", "p95_min_requests", "p99_min_requests"):
        address = f"leaderboard:models.tiny-sd.{key}"
        assert rule_for(address).depends_on == "timing", key
        assert tolerance_for(address, REMEASURED).kind in ("ratio", "skip"), key
        assert tolerance_for(address, Context(True, False)).kind == "exact", key  # recomputed from published
    assert tolerance_for("leaderboard:models.tiny-sd.composite", REMEASURED).kind == "exact"
