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
from collections import Counter, defaultdict
from pathlib import Path

from . import config, executors
from .executors.work import run_batches
from .provenance import staged_dir, write_jsonl
from .workload import Job, load_jobs


def plan_batches(model, jobs: list[Job]) -> list[list[Job]]:
    """Chunks of at most `batch_size` jobs with equal call settings, in a canonical order."""
    groups: dict[tuple, list[Job]] = defaultdict(list)
    for job in jobs:
        groups[model.batch_key(job)].append(job)
    size = max(1, model.cfg.batch_size)
    batches = []
    for key in sorted(groups, key=repr):
        ordered = sorted(groups[key], key=lambda j: j.id)
        batches += [ordered[i:i + size] for i in range(0, len(ordered), size)]
    return batches


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


def failure_summary(records: list[dict]) -> dict[str, dict]:
    """Per model: n_jobs, n_failed, failure_rate and failures_by_cause (for the leaderboard)."""
    out = {}
    for model in dict.fromkeys(r["model"] for r in records):
        rows = [r for r in records if r["model"] == model]
        failed = [r for r in rows if r.get("status") == "failed"]
        causes = Counter(r["failure"].split(":")[0] for r in failed)
        out[model] = {"n_jobs": len(rows), "n_failed": len(failed), "failure_rate": len(failed) / len(rows),
                      "failures_by_cause": dict(sorted(causes.items()))}
    return out


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
