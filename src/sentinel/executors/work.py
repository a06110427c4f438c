"""Batches of jobs on a loaded model: the unit of work every executor runs.

Mirrors the generate stage's loop (sentinel.generate) so that executors are interchangeable:
batches are the stage's canonical batches over all jobs (`plan_batches`), each job draws its noise
from its own seed (never from its position in a batch), a failed or invalid image becomes a `failed`
record with its cause, and timings stay apart from the deterministic record.
"""
from __future__ import annotations

import time
from collections.abc import Iterator

from sentinel.executors.batches import plan_batches
from sentinel.images import encode_png
from sentinel.models.protocol import Model
from sentinel.provenance import sha256_bytes
from sentinel.workloads.jobs import Job

# sentinel.models.loader (hence torch) is imported inside the functions that run on a worker, so that a Ray
# driver, which only schedules and writes, never imports torch.


def run_batch(model: Model, batch: list[Job]) -> list:
    """One image or one GenerationFailed per job; a pipeline error fails these jobs, not the run."""
    from sentinel.models.outputs import GenerationFailed

    try:
        return model.generate_batch(batch)
    except GenerationFailed as e:
        return [e] * len(batch)
    except Exception as e:  # noqa: BLE001 - recorded as the jobs' failure cause
        return [GenerationFailed(f"error: {type(e).__name__}: {e}".splitlines()[0])] * len(batch)


def make_record(model: Model, job: Job, result) -> tuple[dict, bytes | None]:
    """The deterministic record and the PNG bytes (None for a failed job)."""
    from sentinel.models.outputs import GenerationFailed

    steps, guidance = model.settings(job)
    width, height = model.size(job)
    rec = {"model": model.cfg.name, "job_id": job.id, "category": job.category, "prompt": job.prompt,
           "seed": job.seed, "steps": steps, "guidance": guidance, "width": width, "height": height,
           "plumbing": model.cfg.plumbing}
    if model.cfg.source == "local":  # the checkpoint's content hash stands for its revision (hashed once)
        from sentinel.models.local import content_sha256

        rec["content_sha256"] = content_sha256(model.cfg)
    if isinstance(result, GenerationFailed):
        return {**rec, "status": "failed", "failure": result.cause, "image": None, "sha256": None}, None
    png = encode_png(result)
    return {**rec, "status": "ok", "width": result.width, "height": result.height,
            "image": f"{model.cfg.name}/{job.id}.png", "sha256": sha256_bytes(png)}, png


def plan(model: Model, jobs: list[Job], pending: set[str]) -> list[list[Job]]:
    """The stage's canonical batches over *all* jobs (sentinel.executors.batches.plan_batches), keeping those
    with a pending job. Batches never depend on what a killed run had finished, so with
    `batch_size > 1` a resumed run computes every image in the same batch as an uninterrupted run."""

    return [b for b in plan_batches(model, jobs) if any(j.id in pending for j in b)]


def run_batches(model: Model, batches: list[list[Job]], load_s: float | None, labels: dict) -> Iterator[tuple[dict, bytes | None]]:
    """(result, png) per job, yielded batch by batch; `labels` tag each timing row."""
    price = model.cfg.api.list_price_usd_per_image if model.cfg.api else None  # the cost stage prices with it
    for batch in batches:
        t0 = time.perf_counter()
        results = run_batch(model, batch)
        compute_s = (time.perf_counter() - t0) / len(batch)
        for job, result in zip(batch, results, strict=True):
            t1 = time.perf_counter()
            rec, png = make_record(model, job, result)
            timing = {"model": model.cfg.name, "job_id": job.id, "compute_s": compute_s,
                      "wall_s": compute_s + time.perf_counter() - t1, "device": model.device,
                      "batch_size": len(batch), "status": rec["status"], "load_s": load_s, **labels}
            if price is not None:
                timing["list_price_usd_per_image"] = price
            yield {"record": rec, "timing": timing, "resumed": False}, png
