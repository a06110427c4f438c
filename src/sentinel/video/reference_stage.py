"""Stage `video_reference`: the FVD reference clips, one film strip per reference photo (or user clip).

    run("params.yaml")   # -> <video.paths.reference>/<category>/<clip_id>.png + manifest.json

Reads `video.workload` (the jobs CSV, the categories, `reference_photos`, `reference_clips`,
`reference_seed`) and `video.paths.reference`. Each category's clips get the frame count and size
most common among that category's jobs (ties: the smallest), so generated and reference clips are
alike in shape. A category named in `reference_clips` is the user's own strips (validated against
that frame count and re-encoded, so the bytes are canonical); every other category is made from its
photos by sentinel.video.reference (seeded camera motion, workloads/VIDEO-DATACARD.md).
manifest.json lists every clip with its source (photo and its sha256, or the user's file), motion,
shape, the strip's sha256 and frames_sha256. Written through a staged folder: all or nothing.
"""
from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

from sentinel.errors import ReferenceSetError
from sentinel.provenance import sha256_bytes, sha256_file, staged_dir, to_json
from sentinel.video.clipfile import StripError, decode_strip, encode_strip, frames_sha256
from sentinel.video.config import load_video_section
from sentinel.video.jobs import VideoJob, load_video_jobs
from sentinel.video.reference import category_clips

log = logging.getLogger("sentinel")


def clip_shape(jobs: list[VideoJob], category: str) -> tuple[int, int, int] | None:
    """(n_frames, width, height) most common among the category's jobs; ties: the smallest. None: no jobs."""
    counts = Counter((j.n_frames, j.width, j.height) for j in jobs if j.category == category)
    if not counts:
        return None
    return min(counts, key=lambda s: (-counts[s], s))


def _photos(folder: Path, category: str) -> list[Path]:
    photos = sorted(folder.glob("*.png"))
    if not photos:
        raise ReferenceSetError(f"{folder}: no reference photos (*.png) for category {category!r}; "
                                f"set video.workload.reference_photos or video.workload.reference_clips.{category}")
    return photos


def _user_clips(folder: Path, category: str, n_frames: int) -> list[tuple[str, bytes, str, dict]]:
    strips = sorted(folder.glob("*.png"))
    if not strips:
        raise ReferenceSetError(f"{folder}: no reference strips (*.png) for category {category!r} "
                                f"(video.workload.reference_clips.{category})")
    out = []
    for path in strips:
        try:
            frames = decode_strip(path, n_frames)
        except StripError as e:
            raise ReferenceSetError(f"{e} (video.workload.reference_clips.{category}: strips of {n_frames} frames, "
                                    "the category's job length)") from None
        out.append((path.stem, encode_strip(frames), frames_sha256(frames),
                    {"source": "user", "file": str(path), "file_sha256": sha256_file(path),
                     "n_frames": n_frames, "width": int(frames.shape[2]), "height": int(frames.shape[1])}))
    return out


def build_reference(section) -> tuple[dict[str, list[tuple[str, bytes, str, dict]]], dict]:
    """category -> [(clip_id, png, frames_sha256, entry)], and the manifest header."""
    wl = section.workload
    jobs = load_video_jobs(wl.jobs, wl.categories)
    out = {}
    for category in wl.categories:
        shape = clip_shape(jobs, category)
        if shape is None:
            log.info("video_reference: no jobs in category %s; no reference clips", category)
            continue
        n_frames, width, height = shape
        if category in wl.reference_clips:
            out[category] = _user_clips(Path(wl.reference_clips[category]), category, n_frames)
            continue
        folder = Path(wl.reference_photos) / category
        photos = _photos(folder, category)
        clips = []
        for (clip_id, frames, motion), photo in zip(category_clips(photos, category, n_frames, (width, height),
                                                                   wl.reference_seed),
                                                    sorted(photos, key=lambda p: p.name), strict=True):
            clips.append((clip_id, encode_strip(frames), frames_sha256(frames),
                          {"source": "photo", "file": str(photo), "file_sha256": sha256_file(photo),
                           "motion": motion.to_dict(), "n_frames": n_frames, "width": width, "height": height}))
        out[category] = clips
    header = {"generator": "sentinel.video.reference", "seed": wl.reference_seed, "workload": wl.name,
              "jobs": str(wl.jobs), "plumbing_note": "synthetic camera motion over still photos: a stand-in "
              "for real reference video (workloads/VIDEO-DATACARD.md)"}
    return out, header


def run(params_path: str | Path = "params.yaml", model: str | None = None) -> dict:
    """Write every category's reference strips and manifest.json under video.paths.reference."""
    section = load_video_section(params_path)
    clips, header = build_reference(section)
    manifest = {**header, "clips": []}
    with staged_dir(section.paths.reference) as tmp:
        for category, items in clips.items():
            (tmp / category).mkdir()
            for clip_id, png, fsha, entry in items:
                (tmp / category / f"{clip_id}.png").write_bytes(png)
                manifest["clips"].append({"category": category, "clip_id": clip_id,
                                          "clip": f"{category}/{clip_id}.png", "sha256": sha256_bytes(png),
                                          "frames_sha256": fsha, **entry})
        (tmp / "manifest.json").write_text(to_json(manifest), encoding="utf-8")
    log.info("video_reference: %d clips in %d categories -> %s", len(manifest["clips"]), len(clips),
             section.paths.reference)
    return manifest
