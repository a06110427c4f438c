"""Jobs: one row of a workload CSV is one image to generate.

Columns: id, category, prompt, negative_prompt, seed, width, height, steps, guidance, then optionally
`arrival_s` (seconds from the trace's start, non-decreasing down the file: the latency stage can
replay it with `latency.schedules.trace`) and `attributes` (`key=value;key=value`: the subject
attributes used by the per-attribute breakdown, e.g. `age_band=25-34;monk_skin_tone=7`).
Columns are matched by name, in any order; unknown columns are ignored; a UTF-8 BOM and CRLF line
ends (spreadsheet exports) are read as plain UTF-8. A malformed row fails with
`<file>:<line>: <column>: <what is wrong>`.

    jobs = load_jobs("workloads/smoke.csv", categories)        # list[Job], as every stage uses
    wl = load_workload("workloads/2026-q4.csv", categories)    # + wl.attributes, wl.arrival_s by job id

Attributes and arrival times are kept out of `Job` (and so out of the latency server's payload and
the generate records): join them by job id.
"""
from __future__ import annotations

import csv
import logging
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from sentinel.errors import WorkloadError  # noqa: F401 (re-exported: importable here as before)

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # ids become file names
ATTR_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
COLUMNS = ("id", "category", "prompt", "negative_prompt", "seed", "width", "height", "steps", "guidance")
EXTRA_COLUMNS = ("arrival_s", "attributes")  # optional, in this order, after COLUMNS
MIN_SIDE_PX, MAX_SIDE_PX = 8, 4096  # the latency server refuses sides outside this range too
MAX_STEPS = 1000


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


@dataclass(frozen=True)
class Workload:
    jobs: list[Job]
    attributes: dict[str, dict[str, str]]  # job id -> {attribute: value}; {} for a job without any
    arrival_s: dict[str, float] | None  # job id -> arrival time; None when the file has no arrival_s


def _num(row: dict, col: str, kind: type, lo: float, hi: float, where: str):
    raw = (row.get(col) or "").strip()
    if not raw:
        raise WorkloadError(f"{where}: {col}: missing value")
    try:
        value = kind(raw)
    except ValueError:
        raise WorkloadError(f"{where}: {col}: expected {kind.__name__}, got {raw!r}") from None
    if not math.isfinite(value):
        raise WorkloadError(f"{where}: {col}: must be finite, got {raw!r}")
    if value < lo:
        raise WorkloadError(f"{where}: {col}: must be >= {lo}, got {value}")
    if value > hi:
        raise WorkloadError(f"{where}: {col}: must be <= {hi}, got {value}")
    return value


def _parse_row(row: dict, where: str, categories: tuple[str, ...]) -> Job:
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
    if width % 8 or height % 8:
        raise WorkloadError(f"{where}: width/height: must be multiples of 8, got {width}x{height}")
    return Job(id=job_id, category=category, prompt=prompt, negative_prompt=(row.get("negative_prompt") or "").strip(),
               seed=_num(row, "seed", int, 0, 2**64 - 1, where), width=width, height=height,
               steps=_num(row, "steps", int, 1, MAX_STEPS, where),
               guidance=_num(row, "guidance", float, 0.0, math.inf, where))


def parse_attributes(raw: str, where: str) -> dict[str, str]:
    """`key=value;key=value` -> dict (order kept). Keys are snake_case; values are non-empty."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in raw.split(";"))):
        key, sep, value = (s.strip() for s in part.partition("="))
        if not sep or not value or not ATTR_KEY.match(key):
            raise WorkloadError(f"{where}: attributes: {part!r} must be key=value with a snake_case key")
        if key in out:
            raise WorkloadError(f"{where}: attributes: {key!r} appears twice")
        out[key] = value
    return out


def format_attributes(attributes: dict[str, str]) -> str:
    return ";".join(f"{k}={v}" for k, v in attributes.items())


def _check_header(path: Path, header: tuple[str, ...]) -> tuple[str, ...]:
    """The optional columns present. Columns are found by name, in any order (a spreadsheet export
    reorders them); a required column missing or named twice is refused, naming it; columns this
    reader does not know (a spreadsheet's notes) are ignored with a log line naming them."""
    header = tuple(h.strip() for h in header)
    missing = [c for c in COLUMNS if c not in header]
    twice = sorted({h for h in header if header.count(h) > 1})
    if missing or twice:
        what = "; ".join([*([f"missing column(s) {', '.join(missing)}"] if missing else []),
                          *([f"column(s) {', '.join(twice)} appear twice"] if twice else [])])
        raise WorkloadError(f"{path}:1: {what} (required: {','.join(COLUMNS)}; optional: "
                            f"{','.join(EXTRA_COLUMNS)}); got {','.join(header) or '(empty)'}")
    ignored = [h for h in header if h not in COLUMNS + EXTRA_COLUMNS]
    if ignored:
        logging.getLogger(__name__).info("%s: ignoring column(s) %s (not workload columns)", path, ", ".join(ignored))
    return tuple(c for c in EXTRA_COLUMNS if c in header)


def _check_utf8(path: Path) -> None:
    """Name the line of the first byte that is not UTF-8 (the csv reader would name none)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise WorkloadError(f"{path}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})") from None


def load_workload(path: str | Path, categories: tuple[str, ...] = ()) -> Workload:
    """Read and validate a workload CSV. Ids must be unique; categories must be in `categories` if given."""
    path = Path(path)
    if not path.exists():
        raise WorkloadError(f"{path}: workload file not found")
    _check_utf8(path)
    with open(path, newline="", encoding="utf-8-sig") as f:  # -sig: a spreadsheet's UTF-8 BOM is not part of `id`
        reader = csv.DictReader(f, strict=True)
        extras = _check_header(path, tuple(reader.fieldnames or ()))
        reader.fieldnames = [h.strip() for h in reader.fieldnames]
        n_cols = len(reader.fieldnames)
        jobs, seen, attrs, arrivals = [], {}, {}, {}
        try:
            for row in reader:
                where = f"{path}:{reader.line_num}"
                if None in row or any(v is None for v in row.values()):
                    raise WorkloadError(f"{where}: expected {n_cols} columns, got a different count")
                job = _parse_row(row, where, categories)
                if job.id in seen:
                    raise WorkloadError(f"{where}: id: {job.id!r} duplicates line {seen[job.id]}")
                if "arrival_s" in extras:
                    t = _num(row, "arrival_s", float, 0.0, math.inf, where)
                    if arrivals and t < arrivals[jobs[-1].id]:
                        raise WorkloadError(f"{where}: arrival_s: {t} is earlier than the previous row's "
                                            f"{arrivals[jobs[-1].id]}; rows must be in arrival order")
                    arrivals[job.id] = t
                attrs[job.id] = parse_attributes(row.get("attributes") or "", where)
                seen[job.id] = reader.line_num
                jobs.append(job)
        except csv.Error as e:
            raise WorkloadError(f"{path}:{reader.line_num}: {e}") from None
    if not jobs:
        raise WorkloadError(f"{path}: no jobs")
    return Workload(jobs=jobs, attributes=attrs, arrival_s=arrivals if "arrival_s" in extras else None)


def load_jobs(path: str | Path, categories: tuple[str, ...] = ()) -> list[Job]:
    """The jobs of a workload CSV (see load_workload), in file order."""
    return load_workload(path, categories).jobs
