"""Jobs: one row of a workload CSV is one image to generate.

Columns: id, category, prompt, negative_prompt, seed, width, height, steps, guidance.
A malformed row fails with `<file>:<line>: <column>: <what is wrong>`.
"""
from __future__ import annotations

import csv
import re
from dataclasses import asdict, dataclass
from pathlib import Path

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # ids become file names
COLUMNS = ("id", "category", "prompt", "negative_prompt", "seed", "width", "height", "steps", "guidance")


class WorkloadError(ValueError):
    """A workload file or row is malformed; the message names the file and line."""


@dataclass(frozen=True)
class Job:
    id: str
    category: str
    prompt: str
    negative_prompt: str
    seed: int
    width: int
    height: int
    steps: int
    guidance: float

    def to_dict(self) -> dict:
        return asdict(self)


def _parse_row(row: dict, where: str, categories: tuple[str, ...]) -> Job:
    def num(col: str, kind: type, lo: float):
        raw = (row.get(col) or "").strip()
        try:
            value = kind(raw)
        except ValueError:
            raise WorkloadError(f"{where}: {col}: expected {kind.__name__}, got {raw!r}") from None
        if value < lo:
            raise WorkloadError(f"{where}: {col}: must be >= {lo}, got {value}")
        return value

    job_id, category, prompt = (row.get(c, "").strip() for c in ("id", "category", "prompt"))
    if not SAFE_ID.match(job_id):
        raise WorkloadError(f"{where}: id: {job_id!r} must match {SAFE_ID.pattern} (ids become file names)")
    if categories and category not in categories:
        raise WorkloadError(f"{where}: category: {category!r} is not one of {', '.join(categories)}")
    if not prompt:
        raise WorkloadError(f"{where}: prompt: empty")
    width, height = num("width", int, 8), num("height", int, 8)
    if width % 8 or height % 8:
        raise WorkloadError(f"{where}: width/height: must be multiples of 8, got {width}x{height}")
    return Job(id=job_id, category=category, prompt=prompt, negative_prompt=(row.get("negative_prompt") or "").strip(),
               seed=num("seed", int, 0), width=width, height=height, steps=num("steps", int, 1),
               guidance=num("guidance", float, 0.0))


def load_jobs(path: str | Path, categories: tuple[str, ...] = ()) -> list[Job]:
    """Read and validate a workload CSV. Ids must be unique; categories must be in `categories` if given."""
    path = Path(path)
    if not path.exists():
        raise WorkloadError(f"{path}: workload file not found")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, strict=True)
        header = tuple(reader.fieldnames or ())
        if header != COLUMNS:
            raise WorkloadError(f"{path}:1: header must be {','.join(COLUMNS)}; got {','.join(header) or '(empty)'}")
        jobs, seen = [], {}
        try:
            for row in reader:
                where = f"{path}:{reader.line_num}"
                if None in row or any(v is None for v in row.values()):
                    raise WorkloadError(f"{where}: expected {len(COLUMNS)} columns, got a different count")
                job = _parse_row(row, where, categories)
                if job.id in seen:
                    raise WorkloadError(f"{where}: id: {job.id!r} duplicates line {seen[job.id]}")
                seen[job.id] = reader.line_num
                jobs.append(job)
        except csv.Error as e:
            raise WorkloadError(f"{path}:{reader.line_num}: {e}") from None
    if not jobs:
        raise WorkloadError(f"{path}: no jobs")
    return jobs
