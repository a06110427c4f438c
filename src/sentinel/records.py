"""Generation records: the typed row the generate stage writes per (model, job), and what reads it.

records.jsonl holds only what the image determines (model, job, seed, settings, sha256) plus the
job's `status` ("ok" or "failed") and, for failed jobs, `failure` ("<cause>: <detail>") and no image.
Every later stage reads records through here, so "ok" means the same thing everywhere and failures
are counted from one source. Pure Python: no torch, no numpy.
"""
from __future__ import annotations

from collections import Counter
from typing import TypedDict


class Record(TypedDict, total=False):
    model: str
    job_id: str
    category: str
    seed: int
    sha256: str | None
    image: str | None
    status: str  # "ok" | "failed"; records from before statuses carry none and count as ok
    failure: str


def is_ok(record: dict) -> bool:
    """A record whose image exists and is valid (records written before statuses count as ok)."""
    return record.get("status", "ok") == "ok"


def ok_records(records: list[dict], model: str | None = None) -> list[dict]:
    return [r for r in records if is_ok(r) and (model is None or r["model"] == model)]


def failure_summary(records: list[dict]) -> dict[str, dict]:
    """Per model: n_jobs, n_failed, failure_rate and failures_by_cause (for the leaderboard)."""
    out = {}
    for model in dict.fromkeys(r["model"] for r in records):
        rows = [r for r in records if r["model"] == model]
        failed = [r for r in rows if not is_ok(r)]
        causes = Counter(r.get("failure", "unknown").split(":")[0] for r in failed)
        out[model] = {"n_jobs": len(rows), "n_failed": len(failed), "failure_rate": len(failed) / len(rows),
                      "failures_by_cause": dict(sorted(causes.items()))}
    return out


def canonical(records: list[dict]) -> list[dict]:
    """Records sorted by (model, job id): the order score, gather and report compute from, so the
    workload's row order (which the generate records follow) cannot change a number or a list in
    metrics.json, and per-image lists pair with records by position."""
    return sorted(records, key=lambda r: (str(r.get("model")), str(r.get("job_id")), str(r.get("image"))))
