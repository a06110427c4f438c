"""The only module that talks to MLflow. MLflow mirrors DVC; it is never the source of truth.

With `tracking.enabled: false` nothing is logged and every DVC output is unchanged. The tracking
URI is MLflow's own choice: `MLFLOW_TRACKING_URI` when set, else MLflow's default store
(sqlite:///mlflow.db in the working directory for MLflow 3). Secrets never reach MLflow: params are
logged from params.yaml, which holds none, and keys that look like secrets are refused.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sentinel.provenance import git

SECRET_HINTS = ("api_key", "apikey", "token", "secret", "password")


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': 1}} -> {'a.b': 1}; lists are kept whole as values."""
    if not isinstance(obj, dict):
        return {prefix: obj}
    out: dict[str, Any] = {}
    for key, value in obj.items():
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def log_run(experiment: str, params: dict, metrics: dict[str, float], artifacts: list[Path],
            tags: dict[str, str], children: dict[str, dict[str, float]] | None = None) -> str:
    """Log one run, plus one nested run per child (model) with that child's metrics, also mirrored on
    the parent as `<child>.<metric>`. Returns the parent run id. Raises on any MLflow failure."""
    import mlflow

    flat = flatten(params)
    leaked = [k for k in flat if any(h in k.lower() for h in SECRET_HINTS)]
    if leaked:
        raise ValueError(f"params key {leaked[0]!r} looks like a secret; secrets come from the environment only")
    mlflow.set_experiment(experiment)
    with mlflow.start_run() as run:
        mlflow.set_tags({**tags, "git_commit": git("rev-parse", "HEAD")})
        mlflow.log_params({k: str(v)[:6000] for k, v in flat.items()})
        children = children or {}
        flat_children = {f"{c}.{k}": v for c, m in children.items() for k, v in m.items()}
        mlflow.log_metrics({k: float(v) for k, v in {**metrics, **flat_children}.items()})
        for path in artifacts:
            mlflow.log_artifact(str(path))
        for child, child_metrics in children.items():
            with mlflow.start_run(run_name=child, nested=True):
                mlflow.set_tags({**tags, "model": child})
                mlflow.log_metrics({k: float(v) for k, v in child_metrics.items()})
        return run.info.run_id
