"""CI: the committed smoke release verifies on a fresh clone, and tampering is caught and named.

A clean `git clone` of this repository (committed files only), `dvc pull data.dvc` from the in-repo
remote, the smoke weights generated locally, then `python -m sentinel.release verify` on the newest
committed release: the published images come from the DVC remote (`dvc-store/`), are re-scored and
every number compared with its tolerance. Then one published image (its object in the remote), one
weights file and one library-version field are tampered with in turn.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dvc_project import project_env, run
from release_project import (assert_fails_naming, cache_aside, release_cli, restored, tamper_library,
                             tamper_weights, verification)
from conftest import ROOT

pytestmark = pytest.mark.slow


def _committed_releases() -> list[str]:
    proc = subprocess.run(["git", "ls-files", "releases/*/manifest.json"], cwd=ROOT, capture_output=True, text=True)
    from sentinel.release.layout import sort_key

    return sorted((p.split("/")[1] for p in proc.stdout.split()), key=sort_key)


COMMITTED = _committed_releases()
NO_RELEASE = ("no release is committed under releases/: a smoke release (releases/<YYYY-Qn>-smoke*) must be "
              "committed; cut it with `python -m sentinel.release cut <YYYY-Qn>-smoke` (releases/README.md)")


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    if not COMMITTED:
        pytest.fail(NO_RELEASE)
    env = project_env()
    path = tmp_path_factory.mktemp("clone") / "sentinel"
    run(["git", "clone", "-q", str(ROOT), str(path)], ROOT, env)
    env["PYTHONPATH"] = str(path / "src")
    run(["dvc", "pull", "-q", "data.dvc"], path, env)
    run([sys.executable, "-m", "sentinel.smoke_weights", "--out", "weights/"], path, env)
    return path, env, COMMITTED[-1]


def test_committed_release_verifies_on_a_fresh_clone(clone):
    path, env, rid = clone
    assert not (path / "outputs/generate/images").exists()  # the images can only come from the DVC remote
    proc = release_cli(path, env, "verify", f"releases/{rid}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = verification(path, rid)
    assert report["passed"] and not report["stage_error"]
    checked = {c["address"].split(":")[0] for c in report["checks"]}
    assert {"images", "score", "cost", "leaderboard"} <= checked


def test_tampering_the_committed_release_fails_naming_each_field(clone):
    path, env, rid = clone
    rel = path / "releases" / rid
    first = json.loads((rel / "records.jsonl").read_text().splitlines()[0])
    md5_obj = _remote_object_of(path, rel, first["image"])
    with cache_aside(path), restored(md5_obj) as obj:  # the first verify filled the cache: use the remote
        obj.chmod(0o644)
        data = bytearray(obj.read_bytes())
        data[len(data) // 2] ^= 0xFF
        obj.write_bytes(bytes(data))
        proc = release_cli(path, env, "verify", f"releases/{rid}")
    assert_fails_naming(proc, path, rid, f"images.{first['image']}")
    with restored(path / "weights/inception-smoke.pt") as weights:
        tamper_weights(weights)
        proc = release_cli(path, env, "verify", f"releases/{rid}")
    assert_fails_naming(proc, path, rid, "weights.score.inception_weights")
    with restored(rel / "fingerprint.json"):
        tamper_library(rel, "torch", "0.0.0+tampered")
        proc = release_cli(path, env, "verify", f"releases/{rid}")
    assert_fails_naming(proc, path, rid, "libraries.torch")


def _remote_object_of(path, rel, image: str):
    """The remote object of a published image: its md5 from the release's DVC tree object."""
    images = json.loads((rel / "manifest.json").read_text())["images"]
    if "models" in images:  # one DVC out per model: the tree of images/<model>/
        model, relpath = image.split("/", 1)
        tree_md5 = images["models"][model]["md5"].removesuffix(".dir")
    else:  # releases cut before per-model stages: one tree for the whole folder
        relpath, tree_md5 = image, images["md5"].removesuffix(".dir")
    tree = json.loads((path / "dvc-store/files/md5" / tree_md5[:2] / (tree_md5[2:] + ".dir")).read_text())
    md5 = next(e["md5"] for e in tree if e["relpath"] == relpath)
    return path / "dvc-store/files/md5" / md5[:2] / md5[2:]
