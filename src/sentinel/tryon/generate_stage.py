"""Stage `tryon_generate@<model>`: one result PNG per try-on job, a deterministic record per job, timings apart.

Reads only params.yaml's `tryon` section and the files it names. Before any model is built, the
jobs CSV is validated (every image present under `tryon.workload.root`) and, when
`tryon.workload.pairs` names a manifest, the published pair lists are checked against their sha256
and every job against them. Then, per model:

* `tryon.paths.results/<model>/<job_id>.png`: written into a staged folder that replaces the old
  one only when every job has run (sentinel.provenance.staged_dir);
* `tryon.paths.records/<model>.jsonl`: one line per job, in workload order, holding only what the
  result determines: `{model, job_id, category, protocol, seed, status, failure?, result, sha256,
  width, height, plumbing}` (`result` is "<model>/<job_id>.png" under paths.results; a failed job
  has `status: failed`, its `failure` cause, and `result`/`sha256` null, and no file);
* `tryon.paths.timings/<model>.jsonl`: `{model, job_id, wall_s, compute_s, queue_s, generation_s,
  encoding_s, load_s, device, status}`, which differ run to run (queue_s and the vendor split are
  null for self-hosted models).

A job's failure (an unreadable image, an invalid output, a pipeline error, a vendor API failure)
is its record's `failure`, never a crash and never a dropped job, as in the image stage
(sentinel.generate). An API model (`source: api`, sentinel.tryon.api) with `base_url: fake://loopback`
runs against the loopback fake vendor (sentinel.tryon.api.fake_vendor), started for this stage's
run of that model only: plumbing.
"""
from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path

from sentinel.images import encode_png, load_rgb
from sentinel.provenance import sha256_bytes, staged_dir, write_jsonl
from sentinel.tryon.config import TryOnModelConfig, TryOnSection, check_model, load_tryon_section
from sentinel.tryon.jobs import TryOnJob, load_tryon_jobs

log = logging.getLogger("sentinel")


def _inputs(job: TryOnJob, root: Path):
    person = load_rgb(root / job.person)
    garment = load_rgb(root / job.garment)
    mask = None if job.mask is None else load_rgb(root / job.mask)
    return person, garment, mask


def run_job(model, job: TryOnJob, root: Path) -> tuple[dict, dict, bytes | None]:
    """(record, timing, PNG bytes or None) for one job; every failure is caught and recorded."""
    from sentinel.models.outputs import GenerationFailed

    cfg = model.cfg
    t0 = time.perf_counter()
    rec = {"model": cfg.name, "job_id": job.id, "category": job.category, "protocol": job.protocol,
           "seed": job.seed, "plumbing": cfg.plumbing}
    png, compute_s = None, 0.0
    try:
        person, garment, mask = _inputs(job, root)
        t1 = time.perf_counter()
        try:
            result = model.generate(job, person, garment, mask)
        finally:
            compute_s = time.perf_counter() - t1
        if result.size != person.size:
            raise GenerationFailed(f"result is {result.size[0]}x{result.size[1]}, the person {person.size[0]}x{person.size[1]}")
        t2 = time.perf_counter()
        png = encode_png(result)
        encoding_s = time.perf_counter() - t2
        rec.update(status="ok", result=f"{cfg.name}/{job.id}.png", sha256=sha256_bytes(png),
                   width=result.width, height=result.height)
    except GenerationFailed as e:
        rec.update(status="failed", failure=e.cause, result=None, sha256=None, width=None, height=None)
        encoding_s = None
    except Exception as e:  # noqa: BLE001 - unreadable inputs, pipeline errors: recorded as the job's cause
        cause = f"error: {type(e).__name__}: {e}".splitlines()[0]
        rec.update(status="failed", failure=cause, result=None, sha256=None, width=None, height=None)
        encoding_s = None
    timing = {"model": cfg.name, "job_id": job.id, "wall_s": time.perf_counter() - t0, "compute_s": compute_s,
              "queue_s": None, "generation_s": None, "encoding_s": encoding_s, "device": model.device,
              "status": rec["status"]}
    return rec, timing, png


def generate_model(cfg: TryOnModelConfig, jobs: list[TryOnJob], root: Path, out_dir: Path) -> tuple[list[dict], list[dict]]:
    """Build the model, run every job in workload order, write the PNGs into `out_dir`."""
    from sentinel.tryon.models import load_tryon_model

    t0 = time.perf_counter()
    model = load_tryon_model(cfg)
    load_s = time.perf_counter() - t0
    records, timings = [], []
    for job in jobs:
        rec, timing, png = run_job(model, job, root)
        if png is not None:
            (out_dir / f"{job.id}.png").write_bytes(png)
        records.append(rec)
        timings.append({**timing, "load_s": load_s})
        log.info("tryon-generate %s %s: %s (%.2f s)", cfg.name, job.id, rec["status"], timing["wall_s"])
    return records, timings


def _serving(cfg: TryOnModelConfig):
    if cfg.source != "api":
        return contextlib.nullcontext(cfg)
    from sentinel.tryon.api.fake_vendor import serving_fake_vendor

    return serving_fake_vendor(cfg)  # yields cfg unchanged unless its base_url is fake://loopback


def load_jobs(section: TryOnSection) -> list[TryOnJob]:
    wl = section.workload
    return load_tryon_jobs(wl.jobs, root=wl.root, pairs=wl.pairs)


def run(params_path: str | Path = "params.yaml", model: str | None = None) -> list[dict]:
    """Every job of one try-on model (DVC's `tryon_generate@<model>`), or of every composed model."""
    section = load_tryon_section(params_path)
    names = list(section.models) if model is None else [model]
    if model is not None:
        check_model(section, model)
    jobs = load_jobs(section)  # fails on a bad CSV, missing image or tampered pair list before any model loads
    root = Path(section.workload.root)
    log.info("tryon-generate: %d jobs; models: %s", len(jobs), ", ".join(names) or "none")
    all_records = []
    for name in names:
        with _serving(section.models[name]) as served, staged_dir(section.paths.result_dir(name)) as tmp:
            records, timings = generate_model(served, jobs, root, Path(tmp))
        write_jsonl(section.paths.timings_file(name), timings)
        write_jsonl(section.paths.records_file(name), records)
        all_records += records
    return all_records
