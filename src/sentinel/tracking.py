"""The only module that talks to MLflow. MLflow mirrors DVC; it is never the source of truth.

With `tracking.enabled: false` nothing is logged and every DVC output is unchanged. The tracking
URI is MLflow's own choice: `MLFLOW_TRACKING_URI` when set, else MLflow's default store
(sqlite:///mlflow.db in the working directory for MLflow 3). Secrets never reach MLflow: params are
logged from params.yaml, which holds none, and keys that look like secrets are refused.

A run links back to DVC: its name is the DVC experiment's (`dvc exp run` sets DVC_EXP_NAME), else
the commit (`git describe --always --dirty`); its tags name the commit, the dvc.lock it came from,
the suite, the workload and the reference set; each model's nested run holds that model's params
and the same scalars as reports/metrics.json (CI bounds and n included).

A writer killed mid-logging (SIGKILL runs no `finally`) leaves its runs RUNNING; every run records
its writer (host, pid, the pid's start time), and the next `log_run` marks FAILED the RUNNING runs
whose writer is gone (`fail_dead_runs`). The report stage logs only after its DVC outputs are in
place, so a FINISHED run always has its files.
"""
from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path
from typing import Any

import yaml

from sentinel.provenance import git

SECRET_HINTS = ("api_key", "apikey", "token", "secret", "password")
WRITER_HOST, WRITER_PID, WRITER_START = "sentinel.writer_host", "sentinel.writer_pid", "sentinel.writer_start"


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': 1}} -> {'a.b': 1}; lists are kept whole as values."""
    if not isinstance(obj, dict):
        return {prefix: obj}
    out: dict[str, Any] = {}
    for key, value in obj.items():
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def log_run(experiment: str, params: dict, metrics: dict[str, float], artifacts: list[Path],
            tags: dict[str, str], children: dict[str, dict[str, float]] | None = None,
            name: str | None = None) -> str:
    """Log one run, plus one nested run per child (model) with that child's metrics, also mirrored on
    the parent as `<child>.<metric>`. Returns the parent run id. Raises on any MLflow failure.
    `name` overrides the run name (a release logs as `release/<id>`; default: run_name())."""
    import mlflow

    flat = flatten(params)
    leaked = [k for k in flat if any(h in k.lower() for h in SECRET_HINTS)]
    if leaked:
        raise ValueError(f"params key {leaked[0]!r} looks like a secret; secrets come from the environment only")
    exp = mlflow.set_experiment(experiment)
    fail_dead_runs(exp.experiment_id)
    with mlflow.start_run(run_name=name or run_name(), tags=writer_tags()) as run:
        mlflow.set_tags({"git_commit": git("rev-parse", "HEAD"), **tags})
        mlflow.log_params({k: str(v)[:6000] for k, v in flat.items()})
        children = children or {}
        flat_children = {f"{c}.{k}": v for c, m in children.items() for k, v in m.items()}
        mlflow.log_metrics({k: float(v) for k, v in {**metrics, **flat_children}.items()})
        for path in artifacts:
            mlflow.log_artifact(str(path))
        for child, child_metrics in children.items():
            with mlflow.start_run(run_name=f"{run.info.run_name}/{child}", nested=True, tags=writer_tags()):
                mlflow.set_tags({**tags, "model": child})
                own = {k[len(f"model.{child}."):]: v for k, v in flat.items() if k.startswith(f"model.{child}.")}
                mlflow.log_params({k: str(v)[:6000] for k, v in own.items()})
                mlflow.log_metrics({k: float(v) for k, v in child_metrics.items()})
        return run.info.run_id


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), None if gone
    or not Linux: with the pid it names one process, even after the pid is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def writer_tags() -> dict[str, str]:
    """Who is writing this run: host, pid and the pid's start time, set when the run is created."""
    pid = os.getpid()
    return {WRITER_HOST: socket.gethostname(), WRITER_PID: str(pid), WRITER_START: _start_ticks(pid) or ""}


def _writer_dead(tags: dict[str, str]) -> bool:
    """True only when the run's writer was on this host and is certainly gone (pid absent, or the pid
    now belongs to a process started at another time). A run written elsewhere is never touched."""
    if tags.get(WRITER_HOST) != socket.gethostname() or not tags.get(WRITER_PID, "").isdigit():
        return False
    now = _start_ticks(int(tags[WRITER_PID]))
    if now is None:
        return Path("/proc/self/stat").exists()  # on Linux: no such process; elsewhere: cannot tell
    return bool(tags.get(WRITER_START)) and now != tags[WRITER_START]


def fail_dead_runs(experiment_id: str) -> list[str]:
    """Mark FAILED every RUNNING run of the experiment whose writer was killed (SIGKILL skips
    MLflow's end_run), nested model runs included; returns their ids. Called before each new run,
    so a crash leaves no run that looks in progress once the next one starts."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    dead = [r for r in client.search_runs([experiment_id], "attributes.status = 'RUNNING'", max_results=1000)
            if _writer_dead(r.data.tags)]
    for r in dead:
        client.set_tag(r.info.run_id, "sentinel.ended_by", f"a later run: writer pid {r.data.tags[WRITER_PID]} was gone")
        client.set_terminated(r.info.run_id, status="FAILED")
    return [r.info.run_id for r in dead]


def run_name() -> str:
    """The DVC experiment's name while `dvc exp run` runs the stage, else the commit it ran at."""
    return os.environ.get("DVC_EXP_NAME") or git("describe", "--always", "--dirty")


def lock_md5(path: str | Path = "dvc.lock", leave_out: str = "report") -> str:
    """md5 of dvc.lock without the logging stage's own entry: DVC writes that entry only after the
    stage exits, so the rest is what the logged numbers were made from (recompute it from the
    experiment's committed dvc.lock to match a run)."""
    try:
        lock = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError:
        return "none"
    stages = {k: v for k, v in (lock.get("stages") or {}).items() if k != leave_out}
    return hashlib.md5(yaml.safe_dump(stages, sort_keys=True).encode()).hexdigest()


def run_tags(cfg: dict, board: dict) -> dict[str, str]:
    """What a run's numbers came from, as tags the MLflow UI can filter and compare on."""
    wl = cfg["workload"]
    reference = ", ".join(f"{k}={v}" for k, v in sorted(wl.reference.items())) or \
        f"default ({cfg['paths'].data}/reference/<category>)"
    tags = {"suite": board["suite"], "plumbing": str(board["plumbing"]), "workload": wl.name,
            "workload.jobs": wl.jobs, "reference_set": reference, "dvc_lock_md5": lock_md5(),
            "git_commit": git("rev-parse", "HEAD")}
    if os.environ.get("DVC_EXP_NAME"):
        tags["dvc_experiment"] = os.environ["DVC_EXP_NAME"]
        tags["dvc_exp_baseline"] = os.environ.get("DVC_EXP_BASELINE_REV", tags["git_commit"])
    return tags
