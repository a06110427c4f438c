"""Try-on jobs: one row of a try-on workload CSV is one person wearing one garment.

Columns, in this order: id, person, garment, mask, category, seed.

* `person`, `garment`: PNG paths (relative, POSIX, no `..`), resolved against a root the caller
  gives (the repository root for the smoke set, the DVC-pulled folder for licensed sets). PNG only,
  as everywhere in the project (sentinel.images refuses lossy formats: they move FID).
* `mask`: optional PNG of the garment region in the person image (white = garment, the region the
  model may change); empty when the job has none. Without a mask the garment-region and
  preservation metrics are undefined for that job and leave its n.
* `category`: upper | lower | dress (DressCode's three; VITON-HD is all `upper`).
* `seed`: 0 .. 2**64 - 1.

A malformed row fails with `<file>:<line>: <column>: <what is wrong>`, as workload CSVs do
(sentinel.workloads.jobs, whose style this follows and whose helpers it reuses).

    jobs = load_tryon_jobs("workloads/tryon-smoke.csv", root=".")   # list[TryOnJob]
"""
from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

from sentinel.errors import WorkloadError
from sentinel.workloads.jobs import SAFE_ID, _num

COLUMNS = ("id", "person", "garment", "mask", "category", "seed")
CATEGORIES = ("upper", "lower", "dress")


@dataclass(frozen=True)
class TryOnJob:
    id: str
    person: str  # PNG path, relative to the workload's root
    garment: str
    mask: str | None  # PNG path of the garment region in the person image; None: no mask
    category: str  # one of CATEGORIES
    seed: int

    def to_dict(self) -> dict:
        return asdict(self)


def _image_path(row: dict, col: str, where: str, root: Path | None, optional: bool = False) -> str | None:
    raw = (row.get(col) or "").strip()
    if not raw:
        if optional:
            return None
        raise WorkloadError(f"{where}: {col}: missing value")
    p = PurePosixPath(raw)
    if p.is_absolute() or "\\" in raw or ".." in p.parts:
        raise WorkloadError(f"{where}: {col}: {raw!r} must be a relative POSIX path without '..'")
    if p.suffix.lower() != ".png":
        raise WorkloadError(f"{where}: {col}: {raw!r} must be a PNG (lossy formats change FID)")
    if root is not None and not (root / p).is_file():
        raise WorkloadError(f"{where}: {col}: {raw!r} not found under {root}")
    return raw


def _parse_row(row: dict, where: str, root: Path | None) -> TryOnJob:
    job_id, category = (row.get(c, "").strip() for c in ("id", "category"))
    if not SAFE_ID.match(job_id):
        raise WorkloadError(f"{where}: id: {job_id!r} must match {SAFE_ID.pattern} (ids become file names)")
    if category not in CATEGORIES:
        raise WorkloadError(f"{where}: category: {category!r} is not one of {', '.join(CATEGORIES)}")
    return TryOnJob(id=job_id, person=_image_path(row, "person", where, root),
                    garment=_image_path(row, "garment", where, root),
                    mask=_image_path(row, "mask", where, root, optional=True), category=category,
                    seed=_num(row, "seed", int, 0, 2**64 - 1, where))


def load_tryon_jobs(path: str | Path, root: str | Path | None = None) -> list[TryOnJob]:
    """Read and validate a try-on CSV; ids must be unique. With `root`, every image must exist under it."""
    path = Path(path)
    root = None if root is None else Path(root)
    if not path.is_file():
        raise WorkloadError(f"{path}: try-on workload file not found")
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
                job = _parse_row(row, where, root)
                if job.id in seen:
                    raise WorkloadError(f"{where}: id: {job.id!r} duplicates line {seen[job.id]}")
                seen[job.id] = reader.line_num
                jobs.append(job)
        except csv.Error as e:
            raise WorkloadError(f"{path}:{reader.line_num}: {e}") from None
    if not jobs:
        raise WorkloadError(f"{path}: no jobs")
    return jobs
