"""Stage `generate`: one PNG per (model, job), a deterministic record per job, timings apart.

records.jsonl holds only what the image determines (model, job, seed, settings, sha256) plus the
job's `status` ("ok" or "failed") and, for failed jobs, `failure` (the cause) and no image file: a
failed or invalid output never crashes the run and is never dropped. timings.jsonl holds compute and
wall seconds, which differ run to run.

Batches (`model.batch_size`) are formed in a canonical order (jobs grouped by call settings, then
sorted by id), so the workload's row order never changes an image.
"""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from sentinel import config, executors
from sentinel.config import ConfigError
from sentinel.executors.store import recipe
from sentinel.per_model import check_model, model_paths
from sentinel.executors.batches import plan_batches
from sentinel.executors.work import run_batches
from sentinel.models.protocol import Model
from sentinel.provenance import staged_dir, to_json, write_jsonl
from sentinel.workloads.jobs import Job, load_jobs

log = logging.getLogger("sentinel")


def generate_model(model: Model, jobs: list[Job], out_dir: Path) -> tuple[list[dict], list[dict]]:
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


def _run_model(mcfg, jobs: list[Job], paths, gen) -> list[dict]:
    """One model's jobs through the executor (images stay in the work folder until published)."""
    if not gen.resume:
        shutil.rmtree(Path(paths.generate_work) / mcfg.name, ignore_errors=True)
    return executors.run_jobs(mcfg, jobs, paths.generate_work, gen)


def _check_recipe(mcfg, path: Path) -> None:
    """The recipe file is this stage's DVC dependency: refuse one that is missing or stale, so the
    images DVC records are always those of the recipe it hashed."""
    want = json.loads(to_json(recipe(mcfg)))  # as written: tuples become lists
    have = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    if have != want:
        raise ConfigError(f"{path}: {'missing' if have is None else 'stale'} recipe for model {mcfg.name!r}; "
                          f"run `dvc repro recipe@{mcfg.name}` (or `dvc repro`) first")


def run(params_path: str | Path = "params.yaml", model: str | None = None) -> list[dict]:
    """Every job of one model (DVC's `generate@<model>`), or of every model, through the configured
    executor (local or Ray), then publish.

    One model writes paths.images/<model>/ and its own records and timings (sentinel.per_model);
    every model (model=None, as `sentinel.release` reruns do) writes the all-model files. The
    executor writes each image once under paths.generate_work; unless `generate.resume` is set,
    that folder is cleared first, so a `dvc repro` always regenerates with the current code."""
    cfg = config.load(params_path, sections=("model", "workload", "paths", "generate"))
    wl, paths, gen, models = cfg["workload"], cfg["paths"], cfg["generate"], cfg["model"]
    names = list(models) if model is None else [model]
    if model is not None:
        check_model(models, model)
    log.info("generate: composed models: %s; this run: %s", ", ".join(models), ", ".join(names))
    jobs = load_jobs(wl.jobs, wl.categories)
    if model is not None:
        mp = model_paths(paths, model)
        _check_recipe(models[model], mp.recipe)
        with staged_dir(mp.images) as tmp:  # paths.images/<model>/: this stage's only image folder
            results = _run_model(models[model], jobs, paths, gen)
            executors.publish(results, paths.generate_work, tmp, flat=True)
        write_jsonl(mp.timings, [r["timing"] for r in results])
        write_jsonl(mp.records, [r["record"] for r in results])
        return [r["record"] for r in results]
    records, timings = [], []
    with staged_dir(paths.images) as tmp:
        for name in names:
            results = _run_model(models[name], jobs, paths, gen)
            executors.publish(results, paths.generate_work, tmp)
            records += [r["record"] for r in results]
            timings += [r["timing"] for r in results]
    write_jsonl(paths.records, records)
    write_jsonl(paths.timings, timings)
    return records

