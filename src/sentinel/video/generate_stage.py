"""Stage `video_generate@<model>`: one film strip per (model, job), a deterministic record per job,
timings apart.

    run("params.yaml", "tiny-wan")   # -> <clips>/tiny-wan/<job_id>.png, <records>/tiny-wan.jsonl,
                                     #    <timings>/tiny-wan.jsonl   (video.paths.*)

Records hold only what the clip determines: model, job, seed, settings, the frame count and size,
the strip's sha256 and frames_sha256 (sentinel.video.clipfile), and `status` ok|failed with the
`failure` cause and no file for a failed job. As in the image stage (sentinel.generate), a failed or
invalid clip never crashes the run and is never dropped; a pipeline error fails that job only. If
*every* job of a model fails the stage writes its records and timings, then exits with an error
naming the first cause (a model that delivers nothing is a broken setup, not a result). Timings:
compute_s (the model call), strip_s (PNG encoding), wall_s (both), load_s, and the vendor's own split
queue_s / generation_s / encoding_s for API models when the vendor states it (else null; always null
for self-hosted models). An API model with `base_url: fake://loopback` runs against the loopback fake
vendor (sentinel.video.api.fake_vendor), started for this stage only: plumbing. Clips are written
into a staged folder, moved into place at the end; records and timings are written atomically, in
job (file) order. Two runs give byte-identical strips and records.
"""
from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path

from sentinel.errors import ExecutorError
from sentinel.models.outputs import GenerationFailed
from sentinel.provenance import sha256_bytes, staged_dir, write_jsonl
from sentinel.video.clipfile import StripError, check_frames, encode_strip, frames_sha256
from sentinel.video.config import VideoModelConfig, load_video_section
from sentinel.video.jobs import VideoJob, load_video_jobs

log = logging.getLogger("sentinel")


def _settings(model, cfg: VideoModelConfig, job: VideoJob) -> tuple[int | None, float | None]:
    """The steps and guidance the clip was made with; an API model's are the vendor's (its config's, often null)."""
    if hasattr(model, "settings"):
        return model.settings(job)
    return cfg.steps, cfg.guidance


def _vendor_split(model) -> dict:
    """The vendor's own split of the last job (sentinel.video.api: `last_timings`); null where it said
    nothing, and always null for self-hosted models (their time is compute_s)."""
    split = getattr(model, "last_timings", None)
    split = split if isinstance(split, dict) else {}
    return {k: split.get(k) for k in ("queue_s", "generation_s", "encoding_s")}


def generate_one(model, cfg: VideoModelConfig, job: VideoJob) -> tuple[dict, dict, bytes | None]:
    """(record, timing, strip PNG or None) for one job; every failure becomes a failed record."""
    steps, guidance = _settings(model, cfg, job)
    rec = {"model": cfg.name, "job_id": job.id, "category": job.category, "prompt": job.prompt, "seed": job.seed,
           "steps": steps, "guidance": guidance, "n_frames": job.n_frames, "fps": job.fps, "seconds": job.seconds,
           "width": job.width, "height": job.height, "plumbing": cfg.plumbing}
    t0 = time.perf_counter()
    png, cause = None, None
    try:
        frames = check_frames(model.generate(job), f"{cfg.name}/{job.id}")
        if frames.shape != (job.n_frames, job.height, job.width, 3):
            raise GenerationFailed(f"invalid clip: shape {frames.shape}, the job needs "
                                   f"({job.n_frames}, {job.height}, {job.width}, 3)")
    except GenerationFailed as e:
        cause = e.cause
    except StripError as e:
        cause = f"invalid clip: {e}"
    except Exception as e:  # noqa: BLE001 - recorded as the job's failure cause, as the image stage does
        cause = f"error: {type(e).__name__}: {e}".splitlines()[0]
    compute_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    if cause is None:
        png = encode_strip(frames)
        rec = {**rec, "status": "ok", "clip": f"{cfg.name}/{job.id}.png", "sha256": sha256_bytes(png),
               "frames_sha256": frames_sha256(frames)}
    else:
        rec = {**rec, "status": "failed", "failure": cause, "clip": None, "sha256": None, "frames_sha256": None}
    strip_s = time.perf_counter() - t1
    timing = {"model": cfg.name, "job_id": job.id, "status": rec["status"], "compute_s": compute_s,
              "strip_s": strip_s, "wall_s": compute_s + strip_s, "device": getattr(model, "device", None),
              **_vendor_split(model)}
    return rec, timing, png


def generate_model(model, cfg: VideoModelConfig, jobs: list[VideoJob], out_dir: Path) -> tuple[list[dict], list[dict]]:
    """Every job in order; strips written into `out_dir` (records name them `<model>/<job_id>.png`)."""
    records, timings = [], []
    for job in jobs:
        rec, timing, png = generate_one(model, cfg, job)
        if png is not None:
            (out_dir / f"{job.id}.png").write_bytes(png)
        records.append(rec)
        timings.append(timing)
        log.info("video_generate %s/%s: %s in %.2f s", cfg.name, job.id, rec["status"], timing["wall_s"])
    return records, timings


def _serving(cfg: VideoModelConfig):
    if cfg.source != "api":
        return contextlib.nullcontext(cfg)
    from sentinel.video.api.fake_vendor import serving_fake_vendor

    return serving_fake_vendor(cfg)  # yields cfg unchanged unless its base_url is fake://loopback


def run_model(section, name: str) -> list[dict]:
    from sentinel.video.models import load_video_model

    cfg = section.model(name)
    wl = section.workload
    jobs = load_video_jobs(wl.jobs, wl.categories)  # before the (possibly slow) model load
    paths = section.paths
    with _serving(cfg) as served:  # `base_url: fake://loopback`: the loopback fake vendor, for this run only
        t0 = time.perf_counter()
        model = load_video_model(served)
        load_s = time.perf_counter() - t0
        with staged_dir(Path(paths.clips) / name) as tmp:
            records, timings = generate_model(model, cfg, jobs, tmp)
    for t in timings:
        t["load_s"] = load_s
    write_jsonl(Path(paths.timings) / f"{name}.jsonl", timings)
    write_jsonl(Path(paths.records) / f"{name}.jsonl", records)
    check_delivered(name, records, Path(paths.records) / f"{name}.jsonl")
    return records


def check_delivered(name: str, records: list[dict], records_path: Path) -> None:
    """A model that delivered no clip at all fails the stage (after its records are written)."""
    if records and all(r["status"] == "failed" for r in records):
        raise ExecutorError(f"video model {name!r}: every job failed (first, {records[0]['job_id']}: "
                            f"{records[0]['failure']}); see {records_path}")


def run(params_path: str | Path = "params.yaml", model: str | None = None) -> list[dict]:
    """One model's jobs (DVC's `video_generate@<model>`), or every composed video model's."""
    section = load_video_section(params_path)
    names = list(section.models) if model is None else [section.model(model).name]
    records = []
    for name in names:
        records += run_model(section, name)
    return records
