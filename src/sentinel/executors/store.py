"""Exactly-once storage for generated images: deterministic keys, atomic writes, resume, reconcile.

Layout under a work folder (kept between runs, so a killed run resumes):

    <work>/<model>/<job_id>.png    the image, written to a temp file then renamed
    <work>/<model>/<job_id>.json   its sidecar: record, timing, sha256 and the job's fingerprint

The sidecar is written after the PNG, so a sidecar means the PNG was complete. A job is done, and is
skipped on rerun, only when its sidecar says `status: ok`, its fingerprint matches the current
(model config, job) and the PNG on disk decodes and hashes to the recorded sha256. Anything else
(a missing, torn or stale file, a failed job) is generated again. `reconcile` refuses to return a
result list that is shorter than, longer than, or in a different order from the jobs asked for.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import os
from pathlib import Path

from sentinel.errors import ExecutorError  # noqa: F401 (re-exported: importable here as before)
from sentinel.config import ModelConfig
from sentinel.images import load_rgb
from sentinel.provenance import atomic_write_bytes, atomic_write_text, sha256_bytes, sha256_file, to_json
from sentinel.workloads.jobs import Job


# Model-config keys that never change a pixel or a record: fixing them must invalidate no image.
# The model's name is not in the recipe either: it is the folder the recipe is filed under.
PRESENTATION = ("name", "display_name", "licence")
UNSET_OMITTED = ("folder", "load_kwargs")  # `source: local` / from_pretrained options; absent when unset
# Libraries whose version can change the bytes of an image (pipelines, kernels, tokenizer, PNG encoder).
PIXEL_LIBRARIES = ("torch", "diffusers", "transformers", "accelerate", "safetensors", "open_clip_torch",
                   "numpy", "pillow")


@functools.lru_cache(maxsize=1)
def _library_versions() -> tuple[tuple[str, str], ...]:
    import importlib.metadata as md

    out = {}
    for pkg in PIXEL_LIBRARIES:
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    return tuple(out.items())


def library_versions() -> dict[str, str]:
    """Installed versions of PIXEL_LIBRARIES (read once per process: a fingerprint is taken per job)."""
    return dict(_library_versions())


def recipe(cfg: ModelConfig) -> dict:
    """What keys a model's images: its config minus presentation, plus the pixel libraries' versions.

    The generate stage depends on this (as outputs/generate/recipes/<model>.json) instead of on the
    model's params, so a display name or licence fix regenerates nothing, while a step count,
    scheduler, dtype, batch size or a diffusers upgrade regenerates that model and only it."""
    config = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in PRESENTATION}
    for key in UNSET_OMITTED:  # keys newer than most recipes: unset, they leave older recipes' bytes alone
        if not config.get(key):
            config.pop(key, None)
    out = {"config": config, "libraries": library_versions()}
    if cfg.source == "local":  # a folder has no commit: its content hash keys the images (sentinel.models.local)
        from sentinel.models.local import content_sha256

        out["content_sha256"] = content_sha256(cfg)
    return out


def fingerprint(cfg: ModelConfig, job: Job) -> str:
    """Everything an image depends on (its model's recipe and the job); a sidecar with another
    fingerprint is stale, so a resumed run never reuses an image made with other libraries."""
    payload = {"recipe": recipe(cfg), "job": job.to_dict()}
    return sha256_bytes(json.dumps(payload, sort_keys=True, default=str).encode())


def png_path(work: Path, model: str, job_id: str) -> Path:
    return Path(work) / model / f"{job_id}.png"


def sidecar_path(work: Path, model: str, job_id: str) -> Path:
    return Path(work) / model / f"{job_id}.json"


def commit(work: Path, result: dict, png: bytes | None, key: str) -> None:
    """Write one job's PNG (if any) then its sidecar, each atomically. Last writer wins, same bytes."""
    rec = result["record"]
    if png is not None:
        if sha256_bytes(png) != rec["sha256"]:
            raise ExecutorError(f"{rec['model']}/{rec['job_id']}: PNG bytes do not match the recorded sha256")
        atomic_write_bytes(png_path(work, rec["model"], rec["job_id"]), png)
    atomic_write_text(sidecar_path(work, rec["model"], rec["job_id"]), to_json({**result, "fingerprint": key}))


def load_done(work: Path, cfg: ModelConfig, job: Job) -> dict | None:
    """The stored result of a job that already has a valid output, else None (generate it again)."""
    side = sidecar_path(work, cfg.name, job.id)
    try:
        stored = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    rec = stored.get("record") or {}
    if stored.get("fingerprint") != fingerprint(cfg, job) or rec.get("status") != "ok":
        return None
    png = png_path(work, cfg.name, job.id)
    try:
        load_rgb(png)  # decodes fully: a truncated or corrupt file is not done
        if sha256_file(png) != rec.get("sha256"):
            return None
    except (OSError, ValueError, SyntaxError):
        return None
    return {"record": rec, "timing": stored["timing"], "resumed": True}


def clear_stale_temps(work: Path, model: str) -> int:
    """Remove temp files left by a killed writer (they never had a final name). Returns the count."""
    folder = Path(work) / model
    stale = list(folder.glob(".*.tmp")) if folder.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def reconcile(model: str, jobs: list[Job], results: dict[str, dict]) -> list[dict]:
    """One result per job, in workload order; any missing or extra job is an error, never dropped."""
    expected = [j.id for j in jobs]
    missing = [j for j in expected if j not in results]
    extra = sorted(set(results) - set(expected))
    if missing or extra:
        raise ExecutorError(f"{model}: expected {len(expected)} results, got {len(results)}; "
                            f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, unexpected {extra[:5]}")
    ordered = [results[j] for j in expected]
    for job_id, res in zip(expected, ordered, strict=True):
        if res["record"]["job_id"] != job_id:
            raise ExecutorError(f"{model}: result for {res['record']['job_id']!r} filed under {job_id!r}")
    return ordered


def publish(results: list[dict], work: Path, dest: Path, flat: bool = False) -> None:
    """Place each ok job's PNG at dest/<model>/<job_id>.png, or at dest/<job_id>.png when `flat`
    (a one-model stage's own folder); hard link when possible, else copy."""
    for res in results:
        rec = res["record"]
        if rec["status"] != "ok":
            continue
        src = png_path(work, rec["model"], rec["job_id"])
        dst = Path(dest) / (Path(rec["image"]).name if flat else rec["image"])
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.unlink(missing_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            atomic_write_bytes(dst, src.read_bytes())
