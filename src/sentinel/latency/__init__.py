"""Latency stage: every job of the workload, on its own arrival trace, through Ray Serve.

    run("params.yaml")                 # every model: paths.latency, paths.latency_cdf, paths.latency_load
    run("params.yaml", model="tiny-sd")  # one model: paths.model_latency/<model>/ (DVC's latency@<model>)

Beside each latency.json: <model>/requests.jsonl, one row per request of the job set (scheduled,
sent, first byte, done, status, queue and compute seconds, replica and its ready time, cold).
Modules: serve.py (Ray Serve: start, deploy, stop; watchdog.py reaps it if the stage is killed),
server.py (the model as a Serve deployment), kinds.py (what a deployment serves: image, video or
try-on: loader, payload, encoding), media.py (the video and try-on latency stages on this same
machinery), client.py (one request, keep-alive), compliance.py
(TEST01: delivered bytes; TEST04: no response cache), schedules.py
(trace replay and seeded schedules), load.py (open/closed-loop generator), capacity.py
(steady-state probes, the capacity bracket), serving.py (one model end to end), summary.py and
stats.py (percentiles with order-statistic CIs, early stopping, goodput), curves.py (plot CSVs),
stub.py (a ground-truth test server). Latency runs from the *scheduled* send time; misses are
counted, never dropped (null = +inf).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from sentinel import config
from sentinel.provenance import atomic_write_text, environment, read_jsonl, write_json, write_jsonl
from sentinel.workloads.jobs import load_workload
from sentinel.latency import curves, stats
from sentinel.records import is_ok

__all__ = ["run", "measure_model", "stats"]
_LAZY = {"measure_model": "serving"}


def __getattr__(name: str):
    # Lazy: importing the package (the report reads stats) must not import Ray.
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


def _outputs(paths, model: str | None) -> tuple[Path, Path, Path, Path]:
    """(records read, latency.json, cdf.csv, load.csv): one model's (DVC's `latency@<model>`,
    sentinel.per_model) or every model's."""
    if model is None:
        return Path(paths.records), Path(paths.latency), Path(paths.latency_cdf), Path(paths.latency_load)
    from sentinel.per_model import model_paths

    mp = model_paths(paths, model)
    return mp.records, mp.latency_json, mp.latency_cdf, mp.latency_load


def requests_path(latency_json: Path, name: str, model: str | None) -> Path:
    """<model>/requests.jsonl: inside the per-model folder, or beside latency.json for all models."""
    return latency_json.parent / "requests.jsonl" if model is not None else latency_json.parent / name / "requests.jsonl"


def run(params_path: str | Path = "params.yaml", model: str | None = None) -> dict:
    """Measure one model (or every model, in params order) and write its latency.json and plot
    CSVs; any failure raises and leaves no output file (a stale one is removed before measuring)."""
    from sentinel.latency.serve import ServeInstance
    from sentinel.latency.serving import measure_model, validate

    cfg = config.load(params_path, sections=SECTIONS)
    latency, workload, paths = cfg["latency"], cfg["workload"], cfg["paths"]
    if model is not None and model not in cfg["model"]:
        raise config.ConfigError(f"model {model!r}: not in params.yaml's model section (composed: {', '.join(cfg['model'])})")
    names = list(cfg["model"]) if model is None else [model]
    records_path, out_path, cdf_path, load_path = _outputs(paths, model)
    for stale in (out_path, cdf_path, load_path, *(requests_path(out_path, n, model) for n in names)):
        Path(stale).unlink(missing_ok=True)
    validate(latency)
    wl = load_workload(workload.jobs, workload.categories)
    if latency.arrival == "trace" and wl.arrival_s is None:  # before Ray starts, not after Serve deploys
        raise config.ConfigError(f"latency.arrival: trace replays the workload's arrival_s column, and "
                                 f"{workload.jobs} has none; set -S latency.arrival=poisson (or gamma), "
                                 "or add arrival_s to the workload")
    records = read_jsonl(records_path)
    expected = {n: None if cfg["model"][n].source == "api" else _expected(records, n) for n in names}
    results, rows = {}, {}
    with ServeInstance(latency.host, latency.num_cpus) as serve:  # one Ray + Serve for all models here
        for name in names:  # vendor (source: api) images are not byte-reproducible: no sha256 check
            results[name], rows[name] = measure_model(str(params_path), name, wl.jobs, latency, expected[name],
                                                      arrival_s=wl.arrival_s, serve=serve)
    for name in names:
        write_jsonl(requests_path(out_path, name, model), rows[name])
    doc = {
        "models": results,
        "config": {
            "latency": {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(latency).items()},
            "workload": {"name": workload.name, "jobs": workload.jobs, "n_jobs": len(wl.jobs)},
            "models": names,
            "schedule": f"every job (latency.sample_per_category=0) open loop on latency.arrival={latency.arrival}, "
                        "time-scaled to latency.target_utilisation of max_replicas / warm service time; "
                        "capacity: steady-state probes of exact-rate Poisson arrivals (capacity.py)",
            "serving": "Ray Serve, one deployment per model, autoscaling [min_replicas, max_replicas]; "
                       "cold = sent before the replica that served it was ready",
            "latency_from": "scheduled send time to the last byte of the PNG",
            "percentile_method": stats.PERCENTILE_METHOD,
            "percentile_ci": f"distribution-free {stats.CI_LEVEL:.0%} CI from order statistics: [lower, upper]; "
                             "lower null = unbounded below, upper null = +inf (too few requests, or a miss)",
            "confidence": stats.CONFIDENCE,
            "claim_rule": "pXX_claimable: MLPerf early stopping on requests over slo_s (misses included); "
                          "pXX_min_requests: requests the claim needs given the misses seen",
            "miss_policy": "HTTP error (429 included), timeout or wrong image = miss: kept in the sample "
                           "as +inf (null in JSON), counted in n_failed and failures_by_cause; success_* "
                           "percentiles leave them out",
            "requests": "requests.jsonl beside this file, one folder per model",
            "compliance": "per model: test01 (every delivered image's sha256 equals the generate stage's), test04 "
                          "(median repeated / fresh latency over interleaved pairs at concurrency 1: fail when its "
                          "95 % CI lies below 0.9, i.e. a response cache); compliance.py",
            "client": "keep-alive connections; in flight <= in_flight_headroom x the requests due in the "
                      "schedule's busiest SLO-long window (Little's law), capped at workers; client_bound = "
                      "schedule lag p99 > client_lag_bound_s",
        },
        "provenance": environment(),
        "note": NOTE,
    }
    atomic_write_text(cdf_path, curves.to_csv(curves.cdf_rows(results), curves.CDF_COLUMNS))
    atomic_write_text(load_path, curves.to_csv(curves.load_rows(results), curves.LOAD_COLUMNS))
    write_json(out_path, doc)  # last: its presence means the stage completed
    return doc
