"""Which data a report was made from: suite, workload name, jobs file and reference folders, each
with a sha256 fingerprint, so a report on one's own category says so (report.md, report.html and
leaderboard.json all carry this block)."""
from __future__ import annotations

from pathlib import Path

from sentinel.provenance import sha256_file
from sentinel.workloads.references import folder_fingerprint, reference_sets  # noqa: F401 (folder_fingerprint: re-exported)


def data_used(cfg: dict) -> dict:
    """The `data` block of leaderboard.json from the loaded config (suite, workload, paths)."""
    wl, data_dir = cfg["workload"], cfg["paths"].data
    jobs = Path(wl.jobs)
    refs = reference_sets(data_dir, wl)
    return {"suite": cfg["suite"].name, "workload": wl.name, "jobs": jobs.as_posix(),
            "jobs_sha256": sha256_file(jobs) if jobs.is_file() else None, "reference": refs}
