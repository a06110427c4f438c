"""Latency stage: per model, cold start, warm latency and latency under load, end to end.

    run("params.yaml")  # reads model, workload, latency, paths; writes paths.latency,
                        # paths.latency_cdf and paths.latency_load

Modules: server.py (the stdlib HTTP model server), client.py (server process, one request),
schedules.py (seeded arrival schedules), load.py (open/closed-loop generator, rate search),
serving.py (one model: cold start, warm, load), stats.py (nearest-rank percentiles, early
stopping, goodput, cold/warm blend), curves.py (plot CSVs), stub.py (an injectable test server).
Latency runs from the *scheduled* send time; misses are counted, never dropped (null = +inf).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from sentinel import config
from sentinel.provenance import atomic_write_text, environment, read_jsonl, write_json
from sentinel.workloads.jobs import load_jobs
from sentinel.latency import curves, stats
from sentinel.records import is_ok

__all__ = ["run", "measure_model", "stats"]
_LAZY = {"measure_model": "serving"}


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
    expected = {r["job_id"]: r["sha256"] for r in records
                if r["model"] == model and is_ok(r) and r.get("sha256")}
    if not expected:
        raise ValueError(f"no generate records for model {model!r}; run the generate stage first")
    return expected


def run(params_path: str | Path = "params.yaml") -> dict:
    """Measure every model in params order and write `paths.latency`; any failure raises and
    leaves no output file (a stale one is removed before measuring)."""
    from sentinel.latency.serving import measure_model, validate

    cfg = config.load(params_path, sections=SECTIONS)
    latency, workload, paths = cfg["latency"], cfg["workload"], cfg["paths"]
    out_path = Path(paths.latency)
    for stale in (paths.latency, paths.latency_cdf, paths.latency_load):
        Path(stale).unlink(missing_ok=True)
    validate(latency)
    jobs = load_jobs(workload.jobs, workload.categories)
    records = read_jsonl(cfg["paths"].records)
    # vendor (source: api) images are not byte-reproducible: check self-hosted models only
    results = {name: measure_model(str(params_path), name, jobs, latency,
                                   expected_sha256=None if m.source == "api" else _expected(records, name))
               for name, m in cfg["model"].items()}
    doc = {
        "models": results,
        "config": {
            "latency": {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(latency).items()},
            "workload": {"name": workload.name, "jobs": workload.jobs, "n_jobs": len(jobs)},
            "models": list(cfg["model"]),
            "schedule": "warm: closed loop at latency.concurrency; load: open loop, seeded "
                        f"{latency.arrival} arrivals at latency.load_fractions of warm capacity",
            "latency_from": "scheduled send time to the last byte of the PNG",
            "percentile_method": stats.PERCENTILE_METHOD,
            "confidence": stats.CONFIDENCE,
            "claim_rule": "pXX_claimable: MLPerf early stopping on requests over slo_s (misses included); "
                          "pXX_min_requests: requests the claim needs given the misses seen",
            "blend": f"blended_latency_pXX_s: mixture of the warm sample and cold_start_s at "
                     f"cold_start_rate={latency.cold_start_rate}",
            "miss_policy": "HTTP error (429 included), timeout or wrong image = miss: kept in the sample "
                           "as +inf (null in JSON), counted in n_failed, listed in misses",
        },
        "provenance": environment(),
        "note": NOTE,
    }
    atomic_write_text(paths.latency_cdf, curves.to_csv(curves.cdf_rows(results), curves.CDF_COLUMNS))
    atomic_write_text(paths.latency_load, curves.to_csv(curves.load_rows(results), curves.LOAD_COLUMNS))
    write_json(out_path, doc)  # last: its presence means the stage completed
    return doc
