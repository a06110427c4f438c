"""Latency stage: per model, cold start and end-to-end request latency against a local server.

    run("params.yaml")  # reads sections model, workload, latency, paths; writes paths.latency

Modules: server.py (the stdlib HTTP model server; PNG bytes from sentinel.images.encode_png),
client.py (spawn, cold start, scheduled-time measurement), stats.py (nearest-rank percentiles,
early stopping). Misses are counted, never dropped; in the JSON a null latency means +inf.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from .. import config
from ..provenance import environment, read_jsonl, write_json
from ..workload import load_jobs
from . import stats

__all__ = ["run", "measure_model", "measure_requests", "stats"]
_LAZY = {"measure_model": "client", "measure_requests": "client"}


def __getattr__(name: str):
    # Lazy, so `python -m sentinel.latency.server` does not import server.py twice (runpy warns).
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

NOTE = "timings; machine-dependent; plumbing models on CPU"
SECTIONS = ("model", "workload", "latency", "paths")


def _expected(records: list[dict], model: str) -> dict[str, str]:
    """The generate stage's sha256 per job: the server must send exactly those bytes."""
    expected = {r["job_id"]: r["sha256"] for r in records if r["model"] == model}
    if not expected:
        raise ValueError(f"no generate records for model {model!r}; run the generate stage first")
    return expected


def run(params_path: str | Path = "params.yaml") -> dict:
    """Measure every model in params order and write `paths.latency`; any failure raises and
    leaves no output file (a stale one is removed before measuring)."""
    from .client import measure_model
    from .server import check_loopback

    cfg = config.load(params_path, sections=SECTIONS)
    latency, workload, out_path = cfg["latency"], cfg["workload"], Path(cfg["paths"].latency)
    out_path.unlink(missing_ok=True)
    check_loopback(latency.host)
    jobs = load_jobs(workload.jobs, workload.categories)
    records = read_jsonl(cfg["paths"].records)
    results = {name: measure_model(str(params_path), name, jobs, latency, expected_sha256=_expected(records, name))
               for name in cfg["model"]}
    doc = {
        "models": results,
        "config": {
            "latency": dataclasses.asdict(latency),
            "workload": {"name": workload.name, "jobs": workload.jobs, "n_jobs": len(jobs)},
            "models": list(cfg["model"]),
            "schedule": "closed-loop",
            "percentile_method": stats.PERCENTILE_METHOD,
            "confidence": stats.CONFIDENCE,
            "miss_policy": "HTTP error, timeout or wrong image = miss: kept in the sample as +inf "
                           "(null in JSON), counted in n_failed, listed in misses",
        },
        "provenance": environment(),
        "note": NOTE,
    }
    write_json(out_path, doc)
    return doc
