"""The only module that talks to MLflow. MLflow mirrors DVC; it is never the source of truth.

With `tracking.enabled: false` nothing is logged and every DVC output is unchanged. The tracking
URI is MLflow's own choice: `MLFLOW_TRACKING_URI` when set, else MLflow's default store
(sqlite:///mlflow.db in the working directory for MLflow 3). Secrets never reach MLflow: params are
logged from params.yaml, which holds none, and keys that look like secrets are refused.
"""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

SECRET_HINTS = ("api_key", "apikey", "token", "secret", "password")


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': 1}} -> {'a.b': 1}; lists are kept whole as values."""
    if not isinstance(obj, dict):
        return {prefix: obj}
    out: dict[str, Any] = {}
    for key, value in obj.items():
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def log_run(experiment: str, params: dict, metrics: dict[str, float], artifacts: list[Path],
            tags: dict[str, str]) -> str:
    """Log one run; returns its run id. Raises on any MLflow failure (the stage then fails)."""
    import mlflow

    flat = flatten(params)
    leaked = [k for k in flat if any(h in k.lower() for h in SECRET_HINTS)]
    if leaked:
        raise ValueError(f"params key {leaked[0]!r} looks like a secret; secrets come from the environment only")
    mlflow.set_experiment(experiment)
    with mlflow.start_run() as run:
        mlflow.set_tags({**tags, "git_commit": _git_commit()})
        mlflow.log_params({k: str(v)[:6000] for k, v in flat.items()})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        for path in artifacts:
            mlflow.log_artifact(str(path))
        return run.info.run_id
