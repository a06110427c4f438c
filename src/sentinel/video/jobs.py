"""Video jobs: one row of a video workload CSV is one clip to generate (issue 18).

Columns: id, category, prompt, negative_prompt, seed, width, height, fps, seconds, steps, guidance,
then optionally `arrival_s` (seconds from the trace's start, non-decreasing down the file) and
`attributes` (`key=value;key=value`, as in the image workloads). Columns are matched by name, in any
order; unknown columns are ignored; a UTF-8 BOM and CRLF line ends are read as plain UTF-8. A
malformed row fails with `<file>:<line>: <column>: <what is wrong>` (the image loader's helpers,
sentinel.workloads.jobs, do the shared checks).

    jobs = load_video_jobs("workloads/video-smoke.csv", categories)   # list[VideoJob], file order

Frame count: `n_frames = floor(seconds * fps + 0.5)` (round half up), at least MIN_FRAMES. It is what
the model must deliver; a model whose frame rule differs (Wan: 4k+1 frames) generates the nearest valid
count above and keeps the first `n_frames` (sentinel.video.models), so the job never depends on a model.
Sides must be multiples of 16 (most video VAEs x patch sizes; a model with a coarser grid, e.g. Wan 2.2
TI2V's 32, fails those jobs with the cause). Pure Python: no torch, no numpy.
"""
from __future__ import annotations

import csv
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sentinel.errors import WorkloadError
from sentinel.workloads.jobs import SAFE_ID, _check_utf8, _num, parse_attributes

COLUMNS = ("id", "category", "prompt", "negative_prompt", "seed", "width", "height", "fps", "seconds", "steps",
           "guidance")
EXTRA_COLUMNS = ("arrival_s", "attributes")  # optional, in this order, after COLUMNS
MIN_SIDE_PX, MAX_SIDE_PX, SIDE_MULTIPLE_PX = 16, 4096, 16
MIN_FPS, MAX_FPS = 1, 120
MAX_SECONDS = 600.0
MIN_FRAMES, MAX_FRAMES = 2, 2000  # a video has at least two frames
MAX_STEPS = 1000


def frame_count(seconds: float, fps: int) -> int:
    """The frames a clip of `seconds` at `fps` holds: round half up (2.5 frames -> 3)."""
    return int(math.floor(seconds * fps + 0.5))


@dataclass(frozen=True)
class VideoJob:
    id: str
    category: str
    prompt: str
    negative_prompt: str
    seed: int
    width: int
    height: int
    fps: int
    seconds: float
    steps: int
    guidance: float
    arrival_s: float | None = None  # None: the file has no arrival_s column
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        """Frames the model must deliver: floor(seconds x fps + 0.5)."""
        return frame_count(self.seconds, self.fps)

    def to_dict(self) -> dict:
        """JSON-safe (the latency server's payload); `n_frames` included for the server's check."""
        return {**asdict(self), "attributes": dict(self.attributes), "n_frames": self.n_frames}

    @classmethod
    def from_dict(cls, d: dict) -> "VideoJob":
        """The inverse of to_dict (a server rebuilding the job from its payload)."""
        keys = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in keys})


def _check_header(path: Path, header: tuple[str, ...]) -> tuple[str, ...]:
    """The optional columns present; a required column missing or named twice is refused, naming it."""
    missing = [c for c in COLUMNS if c not in header]
    twice = sorted({h for h in header if header.count(h) > 1})
    if missing or twice:
        what = "; ".join([*([f"missing column(s) {', '.join(missing)}"] if missing else []),
                          *([f"column(s) {', '.join(twice)} appear twice"] if twice else [])])
        raise WorkloadError(f"{path}:1: {what} (required: {','.join(COLUMNS)}; optional: "
                            f"{','.join(EXTRA_COLUMNS)}); got {','.join(header) or '(empty)'}")
    ignored = [h for h in header if h not in COLUMNS + EXTRA_COLUMNS]
    if ignored:
        logging.getLogger(__name__).info("%s: ignoring column(s) %s (not video workload columns)", path,
                                         ", ".join(ignored))
    return tuple(c for c in EXTRA_COLUMNS if c in header)


def _parse_row(row: dict, where: str, categories: tuple[str, ...], extras: tuple[str, ...]) -> VideoJob:
    job_id, category, prompt = (row.get(c, "").strip() for c in ("id", "category", "prompt"))
    if not SAFE_ID.match(job_id):
        raise WorkloadError(f"{where}: id: {job_id!r} must match {SAFE_ID.pattern} (ids become file names)")
    if not category:
        raise WorkloadError(f"{where}: category: missing value")
    if categories and category not in categories:
        raise WorkloadError(f"{where}: category: {category!r} is not one of {', '.join(categories)}")
    if not prompt:
        raise WorkloadError(f"{where}: prompt: empty")
    for col in ("prompt", "negative_prompt"):
        bad = sorted({f"U+{ord(ch):04X}" for ch in row.get(col) or "" if ord(ch) < 32 and ch not in "\t\n"})
        if bad:
            raise WorkloadError(f"{where}: {col}: control character(s) {', '.join(bad)} (a NUL byte or similar)")
    width, height = (_num(row, c, int, MIN_SIDE_PX, MAX_SIDE_PX, where) for c in ("width", "height"))
    for col, side in (("width", width), ("height", height)):
        if side % SIDE_MULTIPLE_PX:
            raise WorkloadError(f"{where}: {col}: must be a multiple of {SIDE_MULTIPLE_PX}, got {side}")
    fps = _num(row, "fps", int, MIN_FPS, MAX_FPS, where)
    seconds = _num(row, "seconds", float, 0.0, MAX_SECONDS, where)
    if seconds <= 0:
        raise WorkloadError(f"{where}: seconds: must be > 0, got {seconds}")
    n = frame_count(seconds, fps)
    if not MIN_FRAMES <= n <= MAX_FRAMES:
        raise WorkloadError(f"{where}: seconds: {seconds} s at {fps} fps is {n} frame(s); a clip needs "
                            f"{MIN_FRAMES} to {MAX_FRAMES}")
    arrival = _num(row, "arrival_s", float, 0.0, math.inf, where) if "arrival_s" in extras else None
    return VideoJob(id=job_id, category=category, prompt=prompt,
                    negative_prompt=(row.get("negative_prompt") or "").strip(),
                    seed=_num(row, "seed", int, 0, 2**63 - 1, where), width=width, height=height, fps=fps,
                    seconds=seconds, steps=_num(row, "steps", int, 1, MAX_STEPS, where),
                    guidance=_num(row, "guidance", float, 0.0, math.inf, where), arrival_s=arrival,
                    attributes=parse_attributes(row.get("attributes") or "", where))


def load_video_jobs(path: str | Path, categories: tuple[str, ...] = ()) -> list[VideoJob]:
    """Read and validate a video workload CSV, in file order. Ids must be unique; categories must be
    in `categories` if given; `arrival_s`, when present, must not decrease down the file."""
    path = Path(path)
    if not path.exists():
        raise WorkloadError(f"{path}: video workload file not found")
    _check_utf8(path)
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f, strict=True)
        header = tuple(h.strip() for h in reader.fieldnames or ())
        extras = _check_header(path, header)
        reader.fieldnames = list(header)
        jobs: list[VideoJob] = []
        seen: dict[str, int] = {}
        try:
            for row in reader:
                where = f"{path}:{reader.line_num}"
                if None in row or any(v is None for v in row.values()):
                    raise WorkloadError(f"{where}: expected {len(header)} columns, got a different count")
                job = _parse_row(row, where, categories, extras)
                if job.id in seen:
                    raise WorkloadError(f"{where}: id: {job.id!r} duplicates line {seen[job.id]}")
                if jobs and job.arrival_s is not None and job.arrival_s < jobs[-1].arrival_s:
                    raise WorkloadError(f"{where}: arrival_s: {job.arrival_s} is earlier than the previous row's "
                                        f"{jobs[-1].arrival_s}; rows must be in arrival order")
                seen[job.id] = reader.line_num
                jobs.append(job)
        except csv.Error as e:
            raise WorkloadError(f"{path}:{reader.line_num}: {e}") from None
    if not jobs:
        raise WorkloadError(f"{path}: no jobs")
    return jobs
