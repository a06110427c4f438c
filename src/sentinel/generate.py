"""Stage `generate`: one PNG per (model, job), a deterministic record per job, timings apart.

records.jsonl holds only what the image determines (model, job, seed, settings, sha256) plus the
job's `status` ("ok" or "failed") and, for failed jobs, `failure` (the cause) and no image file: a
failed or invalid output never crashes the run and is never dropped. timings.jsonl holds compute and
wall seconds, which differ run to run.

Batches (`model.batch_size`) are formed in a canonical order (jobs grouped by call settings, then
sorted by id), so the workload's row order never changes an image.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from sentinel import config, executors
from sentinel.executors.batches import plan_batches
from sentinel.executors.work import run_batches
from sentinel.provenance import staged_dir, write_jsonl
from sentinel.workloads.jobs import Job, load_jobs


def generate_model(model, jobs: list[Job], out_dir: Path) -> tuple[list[dict], list[dict]]:
    """Records and timings for every job, in workload order, in this process and without the
    executor's resume store: the same batches and rows as `executors.work.run_batches`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {}
    for result, png in run_batches(model, plan_batches(model, jobs), load_s=None, labels={}):
        job_id = result["record"]["job_id"]
        if png is not None:
            (out_dir / f"{job_id}.png").write_bytes(png)
        results[job_id] = result
    return [results[j.id]["record"] for j in jobs], [results[j.id]["timing"] for j in jobs]


def run(params_path: str | Path = "params.yaml") -> list[dict]:
    """Every job of every model through the configured executor (local or Ray), then publish.

    The executor writes each image once under paths.generate_work; unless `generate.resume` is set,
    that folder is cleared first, so a `dvc repro` always regenerates with the current code."""
    cfg = config.load(params_path, sections=("model", "workload", "paths", "generate"))
    wl, paths, gen = cfg["workload"], cfg["paths"], cfg["generate"]
    jobs = load_jobs(wl.jobs, wl.categories)
    records, timings = [], []
    with staged_dir(paths.images) as tmp:
        for name, mcfg in cfg["model"].items():
            if not gen.resume:
                shutil.rmtree(Path(paths.generate_work) / name, ignore_errors=True)
            results = executors.run_jobs(mcfg, jobs, paths.generate_work, gen)
            executors.publish(results, paths.generate_work, tmp)
            records += [r["record"] for r in results]
            timings += [r["timing"] for r in results]
    write_jsonl(paths.records, records)
    write_jsonl(paths.timings, timings)
    return records
