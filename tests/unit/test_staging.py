"""A killed writer's staging folder is cleaned by the next writer; a live writer's is left alone."""
from __future__ import annotations

import os
import subprocess
import sys

from sentinel.provenance import clear_stale_staging, staged_dir


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_next_writer_removes_a_dead_writers_folder_and_keeps_a_live_ones(tmp_path):
    final = tmp_path / "images"
    dead = tmp_path / f".images.staging-{_dead_pid()}-abc123"
    live = tmp_path / f".images.staging-{os.getpid()}-def456"
    legacy = tmp_path / ".images.k2j4h5g6"  # mkdtemp's 8 characters, from before pids were recorded
    other = tmp_path / ".records.jsonl.staging-1-x"  # another output's: not ours to clean
    for d in (dead, live, legacy, other):
        d.mkdir()
        (d / "1.png").write_bytes(b"x")
    with staged_dir(final) as tmp:
        (tmp / "a.png").write_bytes(b"a")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name, "images"])
    assert [p.name for p in final.iterdir()] == ["a.png"]
    assert clear_stale_staging(final) == []  # idempotent


def test_a_failed_block_leaves_nothing(tmp_path):
    final = tmp_path / "out"
    try:
        with staged_dir(final) as tmp:
            (tmp / "half.png").write_bytes(b"h")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert list(tmp_path.iterdir()) == []
