"""Stage `generate`: one PNG per (model, job), a deterministic record per image, timings apart.

records.jsonl holds only what the image determines (model, job, seed, settings, sha256), so two runs
give identical records; timings.jsonl holds compute and wall seconds, which differ run to run.
"""
from __future__ import annotations

import time
from pathlib import Path

from . import config, models
from .images import encode_png
from .provenance import sha256_bytes, staged_dir, write_jsonl
from .workload import Job, load_jobs


def generate_model(model: models.ImageModel, jobs: list[Job], out_dir: Path) -> tuple[list[dict], list[dict]]:
    records, timings = [], []
    out_dir.mkdir(parents=True, exist_ok=True)
    for job in jobs:
        t0 = time.perf_counter()
        img = model.generate(job)
        compute_s = time.perf_counter() - t0
        png = encode_png(img)
        (out_dir / f"{job.id}.png").write_bytes(png)
        wall_s = time.perf_counter() - t0
        steps, guidance = model.settings(job)
        records.append({"model": model.cfg.name, "job_id": job.id, "category": job.category, "prompt": job.prompt,
                        "seed": job.seed, "steps": steps, "guidance": guidance, "width": img.width,
                        "height": img.height, "image": f"{model.cfg.name}/{job.id}.png",
                        "sha256": sha256_bytes(png), "plumbing": model.cfg.plumbing})
        timings.append({"model": model.cfg.name, "job_id": job.id, "compute_s": compute_s, "wall_s": wall_s,
                        "device": model.device})
    return records, timings


def run(params_path: str | Path = "params.yaml") -> list[dict]:
    cfg = config.load(params_path, sections=("model", "workload", "paths"))
    wl, paths = cfg["workload"], cfg["paths"]
    jobs = load_jobs(wl.jobs, wl.categories)
    records, timings = [], []
    with staged_dir(paths.images) as tmp:
        for name, mcfg in cfg["model"].items():
            t0 = time.perf_counter()
            model = models.load(mcfg)
            load_s = time.perf_counter() - t0
            print(f"generate: {name}: {len(jobs)} jobs on {model.device} (loaded in {load_s:.2f} s)", flush=True)
            r, t = generate_model(model, jobs, tmp / name)
            records += r
            timings += [{**row, "load_s": load_s} for row in t]
    write_jsonl(paths.records, records)
    write_jsonl(paths.timings, timings)
    return records
