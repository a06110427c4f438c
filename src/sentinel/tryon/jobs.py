"""Try-on jobs: one row of a try-on workload CSV is one person wearing one garment.

Columns, in this order: id, person, garment, mask, category, seed, protocol.

* `person`, `garment`: PNG paths (relative, POSIX, no `..`), resolved against a root the caller
  gives (`tryon.workload.root`: workloads/tryon for the smoke set, the DVC-pulled folder for
  licensed sets). PNG only, as everywhere in the project (sentinel.images refuses lossy formats:
  they move FID). The garment is an in-shop photo: the garment alone on a white background.
* `mask`: optional PNG of the garment region in the *person* image (white = garment, the region
  the model may change; luminance >= 128, sentinel.tryon.regions); empty when the job has none.
  Without a mask the garment-region and preservation metrics are undefined for that job and leave
  its n, and a mask-based model (tiny-tryon) records the job as failed.
* `category`: upper | lower | dress (DressCode's three; VITON-HD is all `upper`).
* `seed`: 0 .. 2**64 - 1.
* `protocol`: `paired` (the person already wears this garment, so the person photo is the ground
  truth the result is compared with: `TryOnJob.ground_truth`) or `unpaired` (the garment is another
  one, usually another job's; there is no ground truth, only set-level distances). A file written
  before this column existed (the six columns up to `seed`) is read with every job `unpaired`:
  a job is never assumed to have a ground truth it was not declared to have.

A malformed row fails with `<file>:<line>: <column>: <what is wrong>`, as workload CSVs do
(sentinel.workloads.jobs, whose style this follows and whose helpers it reuses).

With `pairs` (a published pair-list manifest, sentinel.tryon.pairs), the manifest and every list it
names are verified against their sha256 first, and every job's (person, garment) must be a pair of
a list of the job's protocol. Pairs match by file stem (the name without folder and suffix), so a
list that names a dataset's published JPEG names matches jobs on the converted PNGs.

    jobs = load_tryon_jobs("workloads/tryon-smoke.csv", root="workloads/tryon",
                           pairs="workloads/tryon-pairs/manifest.json")   # list[TryOnJob]
"""
from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

from sentinel.errors import WorkloadError
from sentinel.workloads.jobs import SAFE_ID, _num

COLUMNS = ("id", "person", "garment", "mask", "category", "seed", "protocol")
LEGACY_COLUMNS = COLUMNS[:6]  # before `protocol`: read as unpaired
CATEGORIES = ("upper", "lower", "dress")
PROTOCOLS = ("paired", "unpaired")
LEGACY_PROTOCOL = "unpaired"


@dataclass(frozen=True)
class TryOnJob:
    id: str
    person: str  # PNG path, relative to the workload's root
    garment: str
    mask: str | None  # PNG path of the garment region in the person image; None: no mask
    category: str  # one of CATEGORIES
    seed: int
    protocol: str = LEGACY_PROTOCOL  # one of PROTOCOLS

    @property
    def ground_truth(self) -> str | None:
        """The image the result is compared with: the person photo for paired jobs, None for unpaired."""
        return self.person if self.protocol == "paired" else None

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
    person = _image_path(row, "person", where, root)
    garment = _image_path(row, "garment", where, root)
    if garment == person:
        raise WorkloadError(f"{where}: garment: {garment!r} is the person image itself; the garment is its own "
                            "in-shop photo (for a paired job: the garment the person wears, photographed alone)")
    mask = _image_path(row, "mask", where, root, optional=True)
    if category not in CATEGORIES:
        raise WorkloadError(f"{where}: category: {category!r} is not one of {', '.join(CATEGORIES)}")
    seed = _num(row, "seed", int, 0, 2**64 - 1, where)
    protocol = (row.get("protocol") or "").strip() if "protocol" in row else LEGACY_PROTOCOL
    if protocol not in PROTOCOLS:
        raise WorkloadError(f"{where}: protocol: {protocol!r} is not one of {', '.join(PROTOCOLS)}")
    return TryOnJob(id=job_id, person=person, garment=garment, mask=mask, category=category, seed=seed,
                    protocol=protocol)


def _pair_sets(manifest: str | Path) -> dict[str, set[tuple[str, str]]]:
    """protocol -> the (person stem, garment stem) pairs of the manifest's verified lists."""
    from sentinel.tryon.pairs import PairListError, verify_manifest

    try:
        lists = verify_manifest(manifest)
    except PairListError as e:
        raise WorkloadError(str(e)) from None
    out: dict[str, set[tuple[str, str]]] = {p: set() for p in PROTOCOLS}
    for pl in lists:
        out[pl.protocol] |= {(PurePosixPath(a).stem, PurePosixPath(b).stem) for a, b in pl.pairs}
    return out


def load_tryon_jobs(path: str | Path, root: str | Path | None = None,
                    pairs: str | Path | None = None) -> list[TryOnJob]:
    """Read and validate a try-on CSV; ids must be unique. With `root`, every image must exist under it;
    with `pairs`, every job must be a pair of a verified published list of its protocol."""
    path = Path(path)
    root = None if root is None else Path(root)
    if not path.is_file():
        raise WorkloadError(f"{path}: try-on workload file not found")
    allowed = _pair_sets(pairs) if pairs is not None else None  # the lists' hashes before any row
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, strict=True)
        header = tuple(reader.fieldnames or ())
        if header not in (COLUMNS, LEGACY_COLUMNS):
            raise WorkloadError(f"{path}:1: header must be {','.join(COLUMNS)}; got {','.join(header) or '(empty)'}")
        jobs, seen = [], {}
        try:
            for row in reader:
                where = f"{path}:{reader.line_num}"
                if None in row or any(v is None for v in row.values()):
                    raise WorkloadError(f"{where}: expected {len(header)} columns, got a different count")
                job = _parse_row(row, where, root)
                if job.id in seen:
                    raise WorkloadError(f"{where}: id: {job.id!r} duplicates line {seen[job.id]}")
                key = (PurePosixPath(job.person).stem, PurePosixPath(job.garment).stem)
                if allowed is not None and key not in allowed[job.protocol]:
                    raise WorkloadError(f"{where}: garment: (person {key[0]}, garment {key[1]}) is not a pair of "
                                        f"any {job.protocol} list in {pairs}")
                seen[job.id] = reader.line_num
                jobs.append(job)
        except csv.Error as e:
            raise WorkloadError(f"{path}:{reader.line_num}: {e}") from None
    if not jobs:
        raise WorkloadError(f"{path}: no jobs")
    return jobs
