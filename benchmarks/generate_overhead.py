"""Generation harness overhead over bare pipeline calls, and throughput with and without batching.

    HF_HUB_OFFLINE=1 python benchmarks/generate_overhead.py [--model tiny-sd] [--repeats 5] [--jobs 12]

Side by side in one process, on the same jobs, interleaved (bare, harness, bare, harness, ...):
  bare     : pipe(prompt, negative_prompt, steps, guidance, size, generator) -> .images[0].save(png)
  harness  : sentinel.generate.generate_model (validation, PNG encode, sha256, records, timings)
  batched  : the harness with batch_size = --batch (same jobs, same outputs)
Reports medians over repeats and the medians of the per-repeat ratios harness/bare and\nunbatched/batched (pairing cancels slow drift on a shared machine). Figures go in
benchmarks/README.md; no test asserts them.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]


def bare(model, jobs, out_dir: Path) -> float:
    """What a user would write: one pipeline call per job, image saved as PNG."""
    t0 = time.perf_counter()
    with torch.inference_mode():
        for job in jobs:
            steps, guidance = model.settings(job)
            kwargs = {"negative_prompt": job.negative_prompt} if model.accepts_negative and job.negative_prompt else {}
            img = model.pipe(prompt=job.prompt, num_inference_steps=steps, guidance_scale=guidance, width=job.width,
                             height=job.height, generator=torch.Generator().manual_seed(job.seed), **kwargs).images[0]
            img.save(out_dir / f"{job.id}.png")
    return time.perf_counter() - t0


RECORD_SHARE: list[float] = []  # per run: harness-only seconds (validate, encode, hash, write) / pipeline seconds


def harness(generate_model, model, jobs, out_dir: Path) -> float:
    t0 = time.perf_counter()
    _, timings = generate_model(model, jobs, out_dir)
    elapsed = time.perf_counter() - t0
    compute = sum(t["compute_s"] for t in timings)
    RECORD_SHARE.append(sum(t["wall_s"] for t in timings) / compute - 1)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    from sentinel import config
    from sentinel.models import loader
    from sentinel.generate import generate_model
    from sentinel.workloads.jobs import load_jobs

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="tiny-sd")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--jobs", type=int, default=12)
    p.add_argument("--batch", type=int, default=4)
    args = p.parse_args(argv)
    cfg = config.models(yaml.safe_load((ROOT / "params.yaml").read_text())["model"])[args.model]
    jobs = load_jobs(ROOT / "workloads/smoke.csv")[: args.jobs]
    single = loader.load(cfg)
    batched = dataclasses.replace(single, cfg=dataclasses.replace(cfg, batch_size=args.batch))
    torch.set_num_threads(cfg.cpu_threads)
    times: dict[str, list[float]] = {"bare": [], "harness": [], "batched": []}
    record_share: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        harness(generate_model, single, jobs[:2], Path(tmp) / "warm")  # warm-up, not timed
        for r in range(args.repeats):
            times["bare"].append(bare(single, jobs, _mk(tmp, f"bare{r}")))
            times["harness"].append(harness(generate_model, single, jobs, _mk(tmp, f"h{r}")))
            record_share.append(RECORD_SHARE[-1])
            times["batched"].append(harness(generate_model, batched, jobs, _mk(tmp, f"b{r}")))
    med = {k: statistics.median(v) for k, v in times.items()}
    n = len(jobs)
    print(f"model={args.model} device={single.device} cpu_threads={cfg.cpu_threads} jobs={n} repeats={args.repeats} "
          f"torch={torch.__version__}")
    for k, v in med.items():
        print(f"  {k:8s} median {v:.3f} s  ({n / v:.2f} images/s)  runs: {', '.join(f'{x:.3f}' for x in times[k])}")
    paired = statistics.median(h / b for h, b in zip(times["harness"], times["bare"]))
    speedup = statistics.median(h / b for h, b in zip(times["harness"], times["batched"]))
    print(f"  harness overhead over bare (median of paired ratios): {100 * (paired - 1):+.2f} %")
    print(f"  harness per-image bookkeeping / pipeline time (from its own timings): "
          f"{100 * statistics.median(record_share):.2f} %")
    print(f"  batched (batch {args.batch}) / unbatched throughput (median of paired ratios): {speedup:.3f}x")
    return 0


def _mk(tmp: str, name: str) -> Path:
    path = Path(tmp) / name
    path.mkdir()
    return path


if __name__ == "__main__":
    sys.exit(main())
