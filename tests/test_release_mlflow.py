"""`sentinel release log`: the committed release as an MLflow run on a real MLflow mlflow_uri, with the
leaderboard's scalars per model, and an edited release refused before anything is logged."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "releases" / "2026-Q4-smoke-r2"
pytestmark = pytest.mark.timeout(300)


def _log(release: Path, uri: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    return subprocess.run([sys.executable, "-m", "sentinel.release", "log", str(release)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=240)


def test_release_is_logged_with_the_leaderboards_numbers_per_model(mlflow_uri, tmp_path):
    import mlflow

    proc = _log(RELEASE, mlflow_uri, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run_id = proc.stdout.strip().split()[-1]
    client = mlflow.MlflowClient(tracking_uri=mlflow_uri)
    run = client.get_run(run_id)
    manifest = json.loads((RELEASE / "manifest.json").read_text())
    assert run.info.run_name == f"release/{manifest['release']}" and run.info.status == "FINISHED"
    assert run.data.tags["git_commit"] == manifest["git_commit"] and run.data.tags["kind"] == "release"
    board = json.loads((RELEASE / "leaderboard.json").read_text())
    for row in board["models"]:  # the published numbers, read independently of the code under test
        name = row["model"]
        assert run.data.metrics[f"{name}.composite"] == pytest.approx(row["composite"], rel=1e-12)
        low, high = row["composite_ci"]
        assert run.data.metrics[f"{name}.composite_ci_low"] == pytest.approx(low, rel=1e-12)
        assert run.data.metrics[f"{name}.composite_ci_high"] == pytest.approx(high, rel=1e-12)
    children = client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{run_id}'")
    assert sorted(c.data.tags["model"] for c in children) == sorted(
        r["model"] for r in board["models"])
    assert (tmp_path / "mlruns").exists() is False  # nothing written beside the caller: the server holds it


def test_a_release_edited_after_cut_is_refused_and_nothing_is_logged(mlflow_uri, tmp_path):
    import mlflow

    edited = tmp_path / RELEASE.name
    shutil.copytree(RELEASE, edited)
    board = json.loads((edited / "leaderboard.json").read_text())
    board["models"][0]["composite"] += 1.0
    (edited / "leaderboard.json").write_text(json.dumps(board))
    client = mlflow.MlflowClient(tracking_uri=mlflow_uri)
    before = sum(len(client.search_runs([e.experiment_id])) for e in client.search_experiments())
    proc = _log(edited, mlflow_uri, tmp_path)
    assert proc.returncode == 2 and "leaderboard.json edited after cut" in proc.stderr, proc.stderr[-2000:]
    assert sum(len(client.search_runs([e.experiment_id])) for e in client.search_experiments()) == before
