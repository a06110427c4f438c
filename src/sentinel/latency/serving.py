"""One model behind its own server process: cold start, warm latency, latency under load.

    measure_model("params.yaml", "tiny-sd", jobs, cfg, expected_sha256)  # -> the per-model dict

Order: spawn the server and time spawn -> READY -> first image (cold start, split into process
start, weight load as the server reports it in /healthz, and first inference); then `requests`
closed-loop warm requests at `concurrency`; then open-loop runs at `load_fractions` of the warm
capacity, and a bisection for the highest rate whose `slo_percentile` stays within `slo_s`.
"""
from __future__ import annotations

import json
import math
import time
import urllib.request
from collections.abc import Mapping, Sequence

from sentinel.config import LatencyConfig
from sentinel.workloads.jobs import Job
from sentinel.latency import load, schedules, stats
from sentinel.latency.client import ServerProcess, check, post_job
from sentinel.latency.server import HEALTH_PATH, check_loopback

BLENDED = (50, 90, 95, 99)


def validate(cfg: LatencyConfig) -> None:
    """Refuse a latency config that cannot be measured, naming the key."""
    check_loopback(cfg.host)
    positive = {"requests": cfg.requests, "timeout_s": cfg.timeout_s, "startup_timeout_s": cfg.startup_timeout_s,
                "concurrency": cfg.concurrency, "slo_s": cfg.slo_s, "workers": cfg.workers,
                "load_requests": cfg.load_requests, "burst_cv": cfg.burst_cv}
    for key, value in positive.items():
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"latency.{key}: must be > 0, got {value!r}")
    if not 0 < cfg.slo_percentile <= 100:
        raise ValueError(f"latency.slo_percentile: must be in (0, 100], got {cfg.slo_percentile!r}")
    if not 0 <= cfg.cold_start_rate <= 1:
        raise ValueError(f"latency.cold_start_rate: must be in [0, 1], got {cfg.cold_start_rate!r}")
    if cfg.arrival not in ("poisson", "gamma"):
        raise ValueError(f"latency.arrival: unknown {cfg.arrival!r} (valid: poisson, gamma)")
    if any(not (math.isfinite(f) and f > 0) for f in cfg.load_fractions):
        raise ValueError(f"latency.load_fractions: each must be > 0, got {list(cfg.load_fractions)}")
    lo_hi = cfg.search_fractions
    if len(lo_hi) != 2 or not 0 < lo_hi[0] < lo_hi[1] or cfg.search_steps < 0:
        raise ValueError(f"latency.search_fractions: need [low, high] with 0 < low < high and search_steps >= 0, "
                         f"got {list(lo_hi)}, search_steps={cfg.search_steps}")


def json_s(x: float) -> float | None:
    """Seconds for JSON: microsecond rounding (monotone, so order is kept); a miss (+inf) -> null."""
    return None if math.isinf(x) else round(x, 6)


def _cold_start(server: ServerProcess, job: Job, expected: Mapping[str, str] | None) -> dict:
    server.start()
    resp = post_job(server.url, job, server.startup_timeout_s)
    t_first_image = time.perf_counter()
    reason = check(resp, job, expected)
    if reason:
        raise RuntimeError(f"cold-start request (job {job.id}) failed: {reason}{server.stderr_tail()}")
    with urllib.request.urlopen(server.url + HEALTH_PATH, timeout=server.startup_timeout_s) as r:
        weight_load_s = float(json.loads(r.read())["weight_load_s"])
    startup_s = server.t_ready - server.t_spawn
    return {"cold_start_s": t_first_image - server.t_spawn, "startup_s": startup_s,
            "process_start_s": startup_s - weight_load_s, "weight_load_s": weight_load_s,
            "first_inference_s": t_first_image - server.t_ready}


def _sender(url: str, jobs: Sequence[Job], expected: Mapping[str, str] | None) -> load.Send:
    def send(i: int, timeout_s: float) -> str:
        job = jobs[i % len(jobs)]
        reason = check(post_job(url, job, timeout_s), job, expected)
        return f"job {job.id}: {reason}" if reason else ""
    return send


def summarize_run(result: load.LoadResult, cfg: LatencyConfig) -> dict:
    """Flat figures of one run: percentiles, failure rate, goodput at the SLO, claimability."""
    sample = result.latencies_s
    out = {"n_requests": len(sample), "n_failed": len(result.misses),
           "failure_rate": len(result.misses) / len(sample),
           **{k: json_s(v) for k, v in stats.summarize(sample).items()},
           "achieved_rate_rps": round(result.achieved_rate_rps, 6),
           "offered_rate_rps": None if result.offered_rate_rps is None else round(result.offered_rate_rps, 6),
           "schedule_lag_p99_s": round(stats.percentile(result.lags_s, 99), 6),
           "schedule_lag_max_s": round(max(result.lags_s), 6)}
    slo = stats.slo_summary(sample, cfg.slo_s, result.duration_s)
    out.update({k: round(v, 6) if isinstance(v, float) else v for k, v in slo.items()})
    return out


def _open_loop(send: load.Send, rate_rps: float, cfg: LatencyConfig) -> load.LoadResult:
    if cfg.arrival == "gamma":
        offsets = schedules.gamma_bursts(rate_rps, cfg.load_requests, cfg.burst_cv, cfg.seed)
    else:
        offsets = schedules.poisson(rate_rps, cfg.load_requests, cfg.seed)
    return load.open_loop(send, offsets, cfg.timeout_s, cfg.workers)


def _under_load(send: load.Send, capacity_rps: float, cfg: LatencyConfig) -> dict:
    """Open-loop runs at each load fraction, then the rate search; every probe is kept."""
    runs, verdicts = [], {}

    def probe(rate_rps: float) -> bool:  # a rate already run (a load fraction) is not run again
        if rate_rps not in verdicts:
            result = _open_loop(send, rate_rps, cfg)
            runs.append({"target_rate_rps": round(rate_rps, 6),  # offered_rate_rps: what the seeded schedule gave
                         "offered_fraction_of_capacity": round(rate_rps / capacity_rps, 6),
                         **summarize_run(result, cfg)})
            verdicts[rate_rps] = stats.percentile(result.latencies_s, cfg.slo_percentile) <= cfg.slo_s
        return verdicts[rate_rps]

    for fraction in cfg.load_fractions:
        probe(fraction * capacity_rps)
    lo, hi = (f * capacity_rps for f in cfg.search_fractions)
    search = load.search_max_rate(probe, lo, hi, cfg.search_steps)
    best = search["max_rate_meeting_slo_rps"]
    return {"max_rate_meeting_slo_rps": None if best is None else round(best, 6),
            "rate_search": {"criterion": f"p{cfg.slo_percentile:g} <= {cfg.slo_s} s", "censored": search["censored"],
                            "bracket_rps": [round(lo, 6), round(hi, 6)], "steps": cfg.search_steps},
            "load": sorted(runs, key=lambda r: r["target_rate_rps"])}


def measure_model(params_path: str, model_name: str, jobs: Sequence[Job], cfg: LatencyConfig,
                  expected_sha256: Mapping[str, str] | None = None) -> dict:
    """Cold start, warm closed loop, then load, against one fresh server process for the model."""
    validate(cfg)
    if not jobs:
        raise ValueError(f"measure_model({model_name}): no jobs")
    server = ServerProcess(params_path, model_name, cfg.host, cfg.startup_timeout_s)
    try:
        cold = _cold_start(server, jobs[0], expected_sha256)
        send = _sender(server.url, jobs, expected_sha256)
        warm = load.closed_loop(send, cfg.requests, cfg.concurrency, cfg.timeout_s)
        capacity_rps = warm.achieved_rate_rps
        under_load = _under_load(send, capacity_rps, cfg)
    finally:
        server.stop()
    blended = {f"blended_latency_p{q}_s": json_s(stats.blended_percentile(
        warm.latencies_s, cold["cold_start_s"], cfg.cold_start_rate, q)) for q in BLENDED}
    return {"model": model_name, **{k: round(v, 6) for k, v in cold.items()},
            **summarize_run(warm, cfg), "schedule": f"closed-loop, concurrency {cfg.concurrency}",
            "warm_capacity_rps": round(capacity_rps, 6), "percentile_method": stats.PERCENTILE_METHOD,
            "cold_start_rate": cfg.cold_start_rate, **blended, **under_load,
            "sha256_checked": expected_sha256 is not None,
            "misses": [{"index": m["index"], "reason": m["reason"]} for m in warm.misses],
            "per_request_s": [json_s(x) for x in warm.latencies_s]}
