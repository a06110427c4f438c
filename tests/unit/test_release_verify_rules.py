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


ZEN5 = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 26
model\t\t: 2
model name\t: AMD EPYC
stepping\t: 1
flags\t\t: fpu sse2 avx2 avx512f

processor\t: 1
vendor_id\t: AuthenticAMD
cpu family\t: 99
model\t\t: 9
"""


def test_cpu_identity_reads_the_first_processor_and_hashes_its_sorted_flags():
    import hashlib

    from sentinel.release.cpu_identity import parse_cpuinfo

    got = parse_cpuinfo(ZEN5)
    assert got == {"cpu_vendor": "AuthenticAMD", "cpu_family": "26", "cpu_model_number": "2", "cpu_stepping": "1",
                   "cpu_flags_sha256": hashlib.sha256(b"avx2 avx512f fpu sse2").hexdigest()[:16]}
    zen4 = parse_cpuinfo(ZEN5.replace("cpu family\t: 26", "cpu family\t: 25", 1))
    assert zen4["cpu_family"] == "25" and zen4["cpu_flags_sha256"] == got["cpu_flags_sha256"]
    assert parse_cpuinfo("processor : 0\n")["cpu_flags_sha256"] == "unknown"


def test_two_epycs_that_differ_in_family_are_not_the_same_platform_and_old_releases_never_are():
    from sentinel.release.verify import same_platform

    hw = {"cpu": "x86_64", "cpu_model": "AMD EPYC", "cpu_family": "26", "cpu_kernel_isa": "AVX512"}
    env = {"hardware": hw, "libraries": {"torch": "2.9"}}
    assert same_platform({"hardware": dict(hw), "libraries": {"torch": "2.9"}}, env)
    assert not same_platform({"hardware": {**hw, "cpu_family": "25"}, "libraries": {"torch": "2.9"}}, env)
    cut_before_the_field = {k: v for k, v in hw.items() if k not in ("cpu_family", "cpu_kernel_isa")}
    assert not same_platform({"hardware": cut_before_the_field, "libraries": {"torch": "2.9"}}, env)
