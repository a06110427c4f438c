"""`sentinel release log releases/<id>`: a release as an MLflow run, beside contributors' runs.

The run is logged into the experiment the release's own params name (`tracking.experiment`), so
the MLflow UI shows a contributor's `dvc exp run` and the published release side by side and
compares them metric by metric: the same scalars as reports/metrics.json (composite and its CI
bounds, every registered metric with its CI, human, cost, latency, n), one nested run per model.

Read-only on the release: the numbers come from its frozen leaderboard.json, never from the
workspace. The release is checked against its manifest first (a file edited after the cut is
refused, not logged). Tags name the release, the commit it was cut from, its dvc.lock md5, the
suite and whether it is plumbing. Logging the same release twice makes two runs; MLflow mirrors,
it is never the source of truth.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml

from sentinel.release.layout import ReleaseError


def _manifest_problems(release: Path, manifest: dict) -> list[str]:
    from sentinel.release.verify import manifest_checks

    return [f"{c.address.split(':', 1)[1]} {c.status}" for c in manifest_checks(release, manifest) if c.status != "ok"]


def release_run(release: Path) -> dict:
    """What would be logged: experiment, run name, params, tags, per-model scalars."""
    from sentinel import tracking
    from sentinel.report.flat import flat_metrics

    manifest_path = release / "manifest.json"
    if not manifest_path.is_file():
        raise ReleaseError(f"{release}: not a release folder (no manifest.json)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    edited = _manifest_problems(release, manifest)
    if edited:
        raise ReleaseError(f"{release}: refusing to log a release whose files differ from its manifest: "
                           + "; ".join(edited))
    params = yaml.safe_load((release / "params.yaml").read_text(encoding="utf-8"))
    board = json.loads((release / "leaderboard.json").read_text(encoding="utf-8"))
    tags = {"release": manifest["release"], "git_commit": manifest["git_commit"], "suite": manifest["suite"],
            "plumbing": str(manifest["plumbing"]), "cut_utc": manifest["cut_utc"],
            "dvc_lock_md5": tracking.lock_md5(release / "dvc.lock"),
            "release_manifest_sha256": hashlib.sha256(manifest_path.read_bytes()).hexdigest(),
            "workload": str((params.get("workload") or {}).get("name", "")), "kind": "release"}
    experiment = (params.get("tracking") or {}).get("experiment") or "sentinel"
    artifacts = [release / f for f in ("manifest.json", "leaderboard.json", "report.md") if (release / f).is_file()]
    return {"experiment": experiment, "name": f"release/{manifest['release']}", "params": params, "tags": tags,
            "children": flat_metrics(board), "artifacts": artifacts}


def log_release(release: Path) -> str:
    """Log the release; returns the MLflow run id. MLflow's tracking URI is its own choice
    (MLFLOW_TRACKING_URI, else its default store in the working directory)."""
    from sentinel import tracking

    run = release_run(release)
    return tracking.log_run(run["experiment"], run["params"], {}, run["artifacts"], run["tags"],
                            children=run["children"], name=run["name"])
