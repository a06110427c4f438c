"""The in-process executor: one model loaded here, every pending job run in this process."""
from __future__ import annotations

import time
from pathlib import Path

from sentinel.config import ModelConfig
from sentinel.workloads.jobs import Job
from sentinel.executors import store
from sentinel.executors.work import plan, run_batches


def run_pending(cfg: ModelConfig, jobs: list[Job], pending: set[str], work: Path, settings,
                progress) -> dict[str, dict]:
    """Run every batch holding a pending job in this process, committing each batch as it is done."""
    from sentinel.models import loader

    if not pending:
        return {}
    t0 = time.perf_counter()
    model = loader.load(cfg)
    load_s = time.perf_counter() - t0
    keys = {j.id: store.fingerprint(cfg, j) for j in jobs}
    done: dict[str, dict] = {}
    for result, png in run_batches(model, plan(model, jobs, pending), load_s, {"executor": "local"}):
        job_id = result["record"]["job_id"]
        store.commit(work, result, png, keys[job_id])
        done[job_id] = result
        progress.update(job_id in pending)
    return done
