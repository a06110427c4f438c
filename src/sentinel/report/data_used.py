"""Which data a report was made from: suite, workload name, jobs file and reference folders, each
with a sha256 fingerprint, so a report on one's own category says so (report.md, report.html and
leaderboard.json all carry this block)."""
from __future__ import annotations

import hashlib
from pathlib import Path

from sentinel.provenance import sha256_file
from sentinel.workloads.references import reference_dir

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def folder_fingerprint(folder: Path) -> tuple[int, str | None]:
    """(number of reference images, sha256 of their sorted "name<TAB>sha256" lines); (0, None) if none.

    Names and contents both count, so renaming or replacing a photo changes the fingerprint."""
    files = sorted(p for p in folder.glob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES) \
        if folder.is_dir() else []
    if not files:
        return 0, None
    lines = "".join(f"{p.name}\t{sha256_file(p)}\n" for p in files)
    return len(files), hashlib.sha256(lines.encode()).hexdigest()


def data_used(cfg: dict) -> dict:
    """The `data` block of leaderboard.json from the loaded config (suite, workload, paths)."""
    wl, data_dir = cfg["workload"], cfg["paths"].data
    jobs = Path(wl.jobs)
    refs = {}
    for cat in wl.categories:
        folder = reference_dir(data_dir, cat, wl.reference)
        n, digest = folder_fingerprint(folder)
        refs[cat] = {"folder": folder.as_posix(), "n_images": n, "sha256": digest}
    return {"suite": cfg["suite"].name, "workload": wl.name, "jobs": jobs.as_posix(),
            "jobs_sha256": sha256_file(jobs) if jobs.is_file() else None, "reference": refs}
