"""Crashes leave nothing behind: a SIGKILL mid-MLflow-logging leaves no RUNNING run once the next run
logs, and a SIGKILL mid-generate leaves a clean `git status` and no staging folder after the next run.

Both use the real things: an MLflow tracking server (tests/dvc_project.py start_mlflow) and the
generate stage script in a temporary git repository holding a copy of the project's tracked files.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dvc_project import project_env, run

HANG = """
import sys, time, mlflow
from sentinel import tracking
real = mlflow.log_params
def hang(*a, **k):  # the kill lands mid-logging: parent run created, params half-logged
    real(*a, **k)
    print("LOGGING", flush=True)
    time.sleep(600)
mlflow.log_params = hang
tracking.log_run("crash", {"a": {"b": 1}}, {"m": 1.0}, [], {"suite": "smoke"}, children={"tiny-sd": {"x": 1.0}})
"""
NEXT = """
from sentinel import tracking
print(tracking.log_run("crash", {"a": {"b": 2}}, {"m": 2.0}, [], {"suite": "smoke"}, children={"tiny-sd": {"x": 2.0}}))
"""


def _statuses(uri: str) -> dict[str, str]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("crash")
    return {r.info.run_id: r.info.status for r in client.search_runs([exp.experiment_id])} if exp else {}


def _wait_for(proc: subprocess.Popen, marker: str, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if marker in line:
            return
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode} before {marker!r}: {proc.stderr.read()[-2000:]}")
    raise AssertionError(f"no {marker!r} within {timeout_s} s")


@pytest.mark.slow
def test_sigkill_mid_logging_then_next_run_leaves_no_running_run(mlflow_uri, tmp_path):
    env = project_env(MLFLOW_TRACKING_URI=mlflow_uri)
    proc = subprocess.Popen([sys.executable, "-c", HANG], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(proc, "LOGGING")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    killed = _statuses(mlflow_uri)
    assert "RUNNING" in killed.values(), killed  # the kill really left a run in progress
    out = run([sys.executable, "-c", NEXT], tmp_path, env, timeout=300).stdout.split()[-1]
    after = _statuses(mlflow_uri)
    assert "RUNNING" not in after.values(), after
    assert after[out] == "FINISHED"
    assert all(after[r] == "FAILED" for r, s in killed.items() if s == "RUNNING")


@pytest.mark.slow
def test_a_live_writer_on_this_host_or_a_run_from_elsewhere_is_never_failed(mlflow_uri, tmp_path):
    """Only a writer that is certainly gone is ended: a run whose pid is alive (this test's own
    process, same start time) or whose host is another machine stays RUNNING."""
    from mlflow.tracking import MlflowClient

    from sentinel import tracking

    client = MlflowClient(tracking_uri=mlflow_uri)
    exp = client.get_experiment_by_name("crash") or client.get_experiment(client.create_experiment("crash"))
    live = client.create_run(exp.experiment_id, tags=tracking.writer_tags()).info.run_id
    other = client.create_run(exp.experiment_id, tags={**tracking.writer_tags(),
                                                       tracking.WRITER_HOST: "another-machine"}).info.run_id
    env = project_env(MLFLOW_TRACKING_URI=mlflow_uri)
    run([sys.executable, "-c", NEXT], tmp_path, env, timeout=300)
    after = _statuses(mlflow_uri)
    assert after[live] == "RUNNING" and after[other] == "RUNNING"
    for rid in (live, other):
        client.set_terminated(rid, status="KILLED")


# --- mid-generate -----------------------------------------------------------------------------------

def _git_copy(root: Path, dest: Path, env: dict) -> Path:
    """The project's tracked and untracked-not-ignored files (not the DVC remote) in a fresh git repo."""
    env["PYTHONPATH"] = str(dest / "src")
    for rel in run(["git", "ls-files", "-co", "--exclude-standard"], root).stdout.split():
        if (root / rel).is_file() and not rel.startswith(("dvc-store/", "releases/")):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / rel, dest / rel)
    run(["git", "init", "-q"], dest, env)
    run(["git", "add", "-A"], dest, env)
    run(["git", "commit", "-qm", "snapshot"], dest, env)
    return dest


def _leftovers(repo: Path) -> list[Path]:
    return [p for p in (repo / "outputs").rglob("*") if ".staging-" in p.name]


@pytest.mark.slow
def test_sigkill_mid_generate_then_next_run_leaves_a_clean_tree(root, tmp_path):
    env = project_env()
    repo = _git_copy(root, tmp_path / "repo", env)
    stage = [sys.executable, "stages/generate.py", "tiny-sd"]
    run([sys.executable, "stages/recipe.py", "tiny-sd"], repo, env, timeout=300)
    proc = subprocess.Popen(stage, cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    images = repo / "outputs/generate/work"
    while time.monotonic() < deadline and proc.poll() is None:
        if any(images.rglob("*.png")):  # mid-generate: some jobs done, not all
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the stage finished before the kill; nothing was tested"
    assert not (repo / "outputs/generate/records/tiny-sd.jsonl").exists()  # nothing looks complete
    run(stage, repo, env, timeout=600)
    assert (repo / "outputs/generate/records/tiny-sd.jsonl").is_file()
    assert _leftovers(repo) == []
    status = run(["git", "status", "--porcelain", "--untracked-files=all"], repo, env).stdout
    assert status == "", status
