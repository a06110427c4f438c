"""Releases end to end, in a temporary copy of the project: `dvc repro`, commit, cut, verify.

Then tamper with one published image, one weights file and one library-version field in turn, and
show that verification fails (exit 1) and names each as the first differing fingerprint field.
"""
from __future__ import annotations

import json

import pytest
import yaml

from dvc_project import copy_project, project_env, run
from release_project import (assert_fails_naming, cache_aside, release_cli, remote_object,
                             restored, tamper_image, tamper_library, tamper_weights, verification)
from sentinel.provenance import declared_md5, sha256_file

pytestmark = pytest.mark.slow
RID = "2026-Q4-test"


@pytest.fixture(scope="module")
def released(root, tmp_path_factory):
    env = project_env()
    path = copy_project(root, tmp_path_factory.mktemp("release"), env)
    run(["dvc", "pull", "-q"], path, env)  # the committed results, as a maintainer's fresh clone has them
    proc = release_cli(path, env, "cut", RID, "--note", "Test release.")
    if proc.returncode != 0:  # the committed numbers were made on another host: re-score the same images here
        assert "made on another platform" in proc.stderr, proc.stderr
        models = list(yaml.safe_load((path / "params.yaml").read_text())["model"])
        run(["dvc", "repro", "--force", "--single-item", *(f"score@{m}" for m in models), "gather"], path, env)
        run(["dvc", "repro"], path, env)  # what reads the new score: cost, report
        run(["git", "add", "-A"], path, env)
        run(["git", "commit", "-qm", "Re-scored here"], path, env)
        proc = release_cli(path, env, "cut", RID, "--note", "Test release.")
    assert proc.returncode == 0, proc.stderr
    run(["git", "add", "-A"], path, env)
    run(["git", "commit", "-qm", f"Release {RID}"], path, env)
    return path, env, path / "releases" / RID


def _records(release_dir):
    return [json.loads(line) for line in (release_dir / "records.jsonl").read_text().splitlines()]


def test_cut_freezes_results_lock_fingerprints_and_history(released):
    path, env, rel = released
    for name in ("manifest.json", "fingerprint.json", "params.yaml", "dvc.lock", "records.jsonl", "timings.jsonl",
                 "metrics.json", "cost.json", "latency.json", "leaderboard.json", "report.md"):
        assert (rel / name).is_file(), name
    assert (rel / "dvc.lock").read_bytes() == (path / "dvc.lock").read_bytes()
    records, manifest = _records(rel), json.loads((rel / "manifest.json").read_text())
    assert len(records) == 24 and all(
        sha256_file(path / "outputs/generate/images" / r["image"]) == r["sha256"] for r in records)
    lock_outs = {o["path"]: o for s in yaml.safe_load((path / "dvc.lock").read_text())["stages"].values()
                 for o in s.get("outs", [])}
    assert manifest["images"] == {  # one DVC out per model (generate@<model>)
        "path": "outputs/generate/images", "nfiles": 24, "remote": "embedded",
        "models": {m: {"md5": lock_outs[f"outputs/generate/images/{m}"]["md5"], "nfiles": 12}
                   for m in ("tiny-sd", "tiny-sdxl")}}
    assert all(remote_object(path, path / "outputs/generate/images" / r["image"]).is_file() for r in records)
    fingerprint = json.loads((rel / "fingerprint.json").read_text())
    convention = json.loads((rel / "metrics.json").read_text())["convention"]
    assert fingerprint["weights"]["score.inception_weights"] == convention["fid_kid"]["weights_sha256"]
    assert fingerprint["weights"]["score.clip_weights"] == convention["clip_score"]["weights_sha256"]
    assert fingerprint["data"]["md5"] == declared_md5(path / "data.dvc")
    assert "## 2026-Q4-test" in (path / "releases/CHANGELOG.md").read_text()
    history = (path / "releases/HISTORY.md").read_text()
    assert "| tiny-sd |" in history and "| tiny-sdxl |" in history and "2026-Q4-test *(plumbing)*" in history
    again = release_cli(path, env, "cut", RID)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_the_cut_carries_feature_statistics_that_reproduce_its_fid(released, tmp_path):
    """features/ is in the release, hashed in manifest.json, and the ten-line script of releases/README.md
    (run verbatim) reproduces every model's published FID to 1e-9 relative."""
    from readme_script import run_script

    path, env, rel = released
    manifest = json.loads((rel / "manifest.json").read_text())
    for name in ("features/stats.npz", "features/features.npz"):  # the smoke profile stores the features too
        assert manifest["files"][name] == sha256_file(rel / name), name
    got = run_script(rel, tmp_path)
    assert set(got) == {"tiny-sd", "tiny-sdxl"} and all(diff <= 1e-9 for *_, diff in got.values()), got


def test_verify_rescoring_the_published_images_passes(released):
    path, env, rel = released
    proc = release_cli(path, env, "verify", f"releases/{RID}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"verify {RID}: PASS" in proc.stdout and "same platform" in proc.stdout
    report = verification(path, RID)
    status = {c["address"]: c["status"] for c in report["checks"]}
    assert report["passed"] and report["same_platform"] and not report["stage_error"]
    for address in ("images:tiny-sd/hs-001.png", "score:models.tiny-sd.overall.fid",
                    "score:models.tiny-sdxl.overall.clip_score", "cost:models.tiny-sd.cost_usd_per_image",
                    "leaderboard:models.tiny-sdxl.composite"):
        assert status[address] == "ok", address
    assert all(c["tolerance"] in ("exact", "count only") for c in report["checks"])  # same platform: bit-exact
    # only info fields moved: the commit (HEAD is not the release commit) and the machine's load
    assert {d["cls"] for d in report["differences"]} == {"info"}
    assert "git.commit" in {d["field"] for d in report["differences"]}
    assert {c["address"] for c in report["checks"] if c["address"].startswith("manifest:")} >= {
        "manifest:metrics.json", "manifest:leaderboard.json"}


def test_tampered_published_image_fetched_from_the_remote_fails_naming_it(released):
    path, env, rel = released
    first = _records(rel)[0]["image"]
    with cache_aside(path), restored(remote_object(path, path / "outputs/generate/images" / first)) as obj:
        obj.chmod(0o644)
        data = bytearray(obj.read_bytes())
        data[len(data) // 2] ^= 0xFF
        obj.write_bytes(bytes(data))
        proc = release_cli(path, env, "verify", f"releases/{RID}")
    report = assert_fails_naming(proc, path, RID, f"images.{first}")
    assert [c["address"] for c in report["checks"] if c["status"] != "ok"] == [f"images:{first}"]


def test_tampered_image_rescored_anyway_moves_only_its_models_numbers(released):
    path, env, rel = released
    first = _records(rel)[0]
    with restored(path / "outputs/generate/images" / first["image"]) as image:
        tamper_image(image)
        proc = release_cli(path, env, "verify", f"releases/{RID}", "--images", "workspace", "--keep-going")
    report = assert_fails_naming(proc, path, RID, f"images.{first['image']}")
    failed = [c["address"] for c in report["checks"] if c["status"] != "ok"]
    assert f"images:{first['image']}" in failed
    assert f"score:models.{first['model']}.overall.fid" in failed  # one pixel moved the FID...
    assert not [a for a in failed if a.startswith("score:models.tiny-sdxl.")]  # ...of that model only


def test_tampered_weights_file_fails_naming_it(released):
    path, env, rel = released
    with restored(path / "weights/inception-smoke.pt") as weights:
        tamper_weights(weights)
        proc = release_cli(path, env, "verify", f"releases/{RID}")
    report = assert_fails_naming(proc, path, RID, "weights.score.inception_weights")
    assert any("stages not re-run" in n for n in report["notes"])


def test_tampered_library_version_fails_naming_it(released):
    path, env, rel = released
    with restored(rel / "fingerprint.json"):
        tamper_library(rel, "torchmetrics", "0.0.0+tampered")
        proc = release_cli(path, env, "verify", f"releases/{RID}")
    report = assert_fails_naming(proc, path, RID, "libraries.torchmetrics")
    assert report["first_difference"]["published"] == "0.0.0+tampered"


def test_a_number_edited_in_a_release_file_is_reported_as_edited_after_cut(released):
    path, env, rel = released
    with restored(rel / "metrics.json") as metrics:
        doc = json.loads(metrics.read_text())
        doc["models"]["tiny-sd"]["overall"]["fid"] += 1.0
        metrics.write_text(json.dumps(doc, indent=2))
        proc = release_cli(path, env, "verify", f"releases/{RID}")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = verification(path, RID)
    status = {c["address"]: c["status"] for c in report["checks"]}
    assert status["manifest:metrics.json"] == "edited after cut"
    assert status["manifest:leaderboard.json"] == "ok"
    text = (path / ".cache/sentinel-verify" / RID / "discrepancy.md").read_text()
    assert "edited after cut: `metrics.json`" in text
