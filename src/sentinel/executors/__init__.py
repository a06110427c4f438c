"""Executors for the generate stage: where jobs run, with exactly-once, resumable output.

    results = executors.run_jobs(model_cfg, jobs, work_dir, settings)   # settings: GenerateConfig
    executors.publish(results, work_dir, images_dir)                    # PNGs into the stage's output

`settings.executor` picks the engine: `local` (this process) or `ray` (actors on a Ray cluster; see
ray_exec.py). Both write `<work>/<model>/<job_id>.png` atomically with a sidecar (store.py), skip
jobs whose output is already valid (a rerun resumes), and return one result per job in workload
order, each `{"record": ..., "timing": ..., "resumed": bool}`: `record` is exactly the generate
stage's records.jsonl row, `timing` its timings.jsonl row (plus `executor`, and on Ray `worker` and
`attempt`). A job that is neither written nor recorded as failed is an error (store.reconcile).
"""
from __future__ import annotations

import logging
from pathlib import Path

from sentinel.config import ConfigError, GenerateConfig, ModelConfig
from sentinel.workloads.jobs import Job
from sentinel.executors import local, store
from sentinel.executors.store import ExecutorError, publish

log = logging.getLogger(__name__)

__all__ = ["run_jobs", "publish", "ExecutorError", "EXECUTORS", "LOCAL"]

LOCAL = GenerateConfig(executor="local", actors_per_model=0, cpus_per_actor=0.5, gpus_per_actor=1.0,
                       max_retries=2, resume=False)


def _ray_run_pending(*args, **kwargs):
    from sentinel.executors import ray_exec  # Ray is imported only when asked for

    return ray_exec.run_pending(*args, **kwargs)


EXECUTORS = {"local": local.run_pending, "ray": _ray_run_pending}


def _check(settings: GenerateConfig, jobs: list[Job]) -> None:
    if settings.executor not in EXECUTORS:
        raise ConfigError(f"generate.executor: unknown executor {settings.executor!r} "
                          f"(valid: {', '.join(sorted(EXECUTORS))})")
    for key in ("cpus_per_actor", "gpus_per_actor"):
        if getattr(settings, key) < 0:
            raise ConfigError(f"generate.{key}: must be >= 0, got {getattr(settings, key)}")
    if settings.actors_per_model < 0 or settings.max_retries < 0:
        raise ConfigError("generate.actors_per_model and generate.max_retries: must be >= 0, got "
                          f"{settings.actors_per_model} and {settings.max_retries}")
    ids = [j.id for j in jobs]
    if len(set(ids)) != len(ids):
        raise ExecutorError(f"job ids must be unique (they are file names): {sorted({i for i in ids if ids.count(i) > 1})}")


def run_jobs(cfg: ModelConfig, jobs: list[Job], work: str | Path, settings: GenerateConfig = LOCAL) -> list[dict]:
    """One result per job, in `jobs` order; jobs with a valid output under `work` are not run again."""
    from sentinel.progress import Progress

    _check(settings, jobs)
    work = Path(work)
    store.clear_stale_temps(work, cfg.name)
    results, pending = {}, []
    for job in jobs:
        done = store.load_done(work, cfg, job)
        if done is None:
            pending.append(job)
        else:
            results[job.id] = done
    with Progress(len(jobs), f"generate[{settings.executor}] {cfg.name}", unit="img", initial=len(results)) as bar:
        results.update(EXECUTORS[settings.executor](cfg, jobs, {j.id for j in pending}, work, settings, bar))
    ordered = store.reconcile(cfg.name, jobs, results)
    n_failed = sum(r["record"]["status"] != "ok" for r in ordered)
    n_resumed = sum(r["resumed"] for r in ordered)
    log.info("generate[%s]: %s: %d of %d jobs accounted for (%d resumed, %d run, %d failed)", settings.executor,
             cfg.name, len(ordered), len(jobs), n_resumed, len(ordered) - n_resumed, n_failed)
    return ordered
