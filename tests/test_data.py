"""Reference photos: deterministic recipe, pinned by photos.dvc, pulled offline on a fresh clone."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sentinel.workloads import photos

pytestmark = pytest.mark.slow


def _run(cmd, cwd, **kw):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300, **kw)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _dvc(*args, cwd):
    return _run([str(Path(sys.executable).parent / "dvc"), *args], cwd)


def _tree_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_recipe_rebuilds_pinned_pixels(root):
    assert photos.check(root / "data") == []


def test_recipe_is_deterministic(tmp_path):
    photos.prepare(tmp_path / "a")
    photos.prepare(tmp_path / "b")
    assert _tree_hashes(tmp_path / "a") == _tree_hashes(tmp_path / "b")
    assert len(_tree_hashes(tmp_path / "a")) == 3 * photos.PER_CATEGORY + 1  # + manifest


def test_fresh_clone_pulls_data_offline(root, tmp_path):
    clone = tmp_path / "clone"
    _run(["git", "clone", "-q", str(root), str(clone)], tmp_path)
    assert not (clone / "data").exists()
    _dvc("pull", "-q", "data.dvc", cwd=clone)
    assert _tree_hashes(clone / "data") == _tree_hashes(root / "data")
    assert photos.check(clone / "data") == []


def test_push_and_pull_through_a_local_remote(root, tmp_path):
    repo, remote = tmp_path / "repo", tmp_path / "remote"
    repo.mkdir()
    _run(["git", "init", "-q"], repo)
    _dvc("init", "-q", cwd=repo)
    shutil.copytree(root / "data", repo / "data")
    _dvc("add", "-q", "data", cwd=repo)
    pinned = yaml.safe_load((root / "data.dvc").read_text())["outs"][0]["md5"]
    assert yaml.safe_load((repo / "data.dvc").read_text())["outs"][0]["md5"] == pinned
    _dvc("remote", "add", "-d", "local", str(remote), cwd=repo)
    _dvc("push", "-q", cwd=repo)
    shutil.rmtree(repo / "data")
    shutil.rmtree(repo / ".dvc" / "cache", ignore_errors=True)
    _dvc("pull", "-q", cwd=repo)
    assert _tree_hashes(repo / "data") == _tree_hashes(root / "data")
