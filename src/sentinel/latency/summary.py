"""Figures of one model's latency run, from its per-request rows (requests.jsonl).

    summarize_rows(rows, slo_s, duration_s, lag_bound_s)  # percentiles, CIs, cold, goodput, breakdowns

A row is one request of the job set: scheduled/sent/first-byte/done seconds from the schedule's
origin, latency_s (+inf for a miss: HTTP error, timeout, wrong image), ok, reason, cold, category,
width and height. Percentiles are nearest rank over all requests (misses as +inf) and over
successes only, each with its distribution-free 95 % CI (stats.percentile_table).
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict

from sentinel.latency import stats


def json_s(x: float | None) -> float | None:
    """Seconds for JSON: microsecond rounding (monotone, so order is kept); a miss (+inf) -> null."""
    if x is None or math.isinf(x):
        return None
    return round(x, 6)


def _clean(obj):
    if isinstance(obj, float):
        return json_s(obj)
    if isinstance(obj, list):
        return [_clean(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    return obj


def cause(reason: str) -> str:
    """A miss's cause class: the reason up to its first colon ("HTTP 500", "timeout", "sha256 mismatch ...")."""
    head = reason.split(":", 1)[0].strip()
    return "sha256 mismatch" if head.startswith("sha256 mismatch") else head


def _group(rows: list[dict], key) -> dict[str, dict]:
    groups: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        groups[key(r)].append(r["latency_s"])
    return {name: {"n_requests": len(xs), "n_failed": sum(1 for x in xs if math.isinf(x)),
                   **{f"latency_p{q}_s": json_s(stats.percentile(xs, q)) for q in (50, 95)}}
            for name, xs in sorted(groups.items())}


def cold_figures(rows: list[dict]) -> dict:
    """Cold requests (sent before the replica that served them was ready: they paid its start)
    and p95 with and without them."""
    cold = [r for r in rows if r.get("cold")]
    warm = [r["latency_s"] for r in rows if not r.get("cold")]
    out = {"n_cold": len(cold), "cold_latencies_s": [json_s(r["latency_s"]) for r in cold],
           "cold_jobs": [r["job"] for r in cold],
           "latency_p95_warm_only_s": json_s(stats.percentile(warm, 95)) if warm else None}
    if cold:
        first = cold[0]
        compute = first.get("compute_s") or 0.0
        load = first.get("weight_load_s") or 0.0
        out.update(cold_start_s=json_s(first["latency_s"]), weight_load_s=json_s(load), first_inference_s=json_s(compute),
                   process_start_s=json_s(first["latency_s"] - load - compute) if math.isfinite(first["latency_s"]) else None)
    return out


def summarize_rows(rows: list[dict], slo_s: float, duration_s: float, lag_bound_s: float) -> dict:
    """Every figure of one run of the job set; JSON-ready (+inf -> null)."""
    sample = [r["latency_s"] for r in rows]
    lags = [r["sent_s"] - r["scheduled_s"] for r in rows]
    failures = Counter(cause(r["reason"]) for r in rows if not r["ok"])
    slo = stats.slo_summary(sample, slo_s, duration_s)
    lag_p99 = stats.percentile(lags, 99)
    out = {"n_requests": len(rows), "n_failed": sum(failures.values()),
           "failure_rate": sum(failures.values()) / len(rows), "failures_by_cause": dict(sorted(failures.items())),
           **stats.percentile_table(sample), "latency_max_s": max(sample),
           "latency_mean_s": math.fsum(sample) / len(sample), **slo,
           "achieved_rate_rps": len(rows) / duration_s if duration_s > 0 else None,
           "schedule_lag_p50_s": stats.percentile(lags, 50), "schedule_lag_p99_s": lag_p99,
           "schedule_lag_max_s": max(lags), "client_lag_bound_s": lag_bound_s, "client_bound": lag_p99 > lag_bound_s,
           **cold_figures(rows),
           "by_category": _group(rows, lambda r: r["category"]),
           "by_resolution": _group(rows, lambda r: f"{r['width']}x{r['height']}")}
    return _clean(out)
