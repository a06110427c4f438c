"""One model on Ray Serve: calibrate, replay every job on the workload's trace, search capacity.

    measure_model("params.yaml", "tiny-sd", jobs, cfg, expected_sha256, arrival_s=wl.arrival_s)
    # -> (the per-model dict for latency.json, one row per job for requests.jsonl)

Order: deploy the model (autoscaling from `min_replicas`, usually zero); `requests` closed-loop
requests measure the warm service time (the first of them is a cold start); the workload's own
arrival trace (or a seeded Poisson/gamma schedule) is time-scaled so the offered rate is
`target_utilisation` x max_replicas / service time; with `idle_start` the trace waits for zero
replicas, so its first request pays a replica start as after a quiet spell in production; then
every job is sent open loop, timed from its scheduled send to the last byte, with at most
load.in_flight_limit requests in flight (Little's law from the schedule and the SLO, capped at
`workers`); then TEST01 on those rows and TEST04 on the warm deployment (compliance.py); last,
the capacity search (capacity.py) between `search_fractions` of warm capacity, with steady-state
probes.
"""
from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence

import numpy as np

from sentinel import config
from sentinel.config import LatencyConfig
from sentinel.workloads.jobs import Job
from sentinel.latency import capacity, compliance, kinds, load, schedules, stats
from sentinel.latency.client import Payload, check, post_job
from sentinel.latency.kinds import SPLIT_HEADERS, read_split
from sentinel.latency.schedules import KINDS
from sentinel.latency.server import check_loopback
from sentinel.latency.summary import cold_figures, json_s, summarize_rows


def validate(cfg: LatencyConfig, model_group: str = "model") -> None:
    """Refuse a latency config that cannot be measured, naming the key; slo_s_by_model's keys must
    name models of `model_group` (the conf/ group: model, video_model, tryon_model)."""
    check_loopback(cfg.host)
    positive = {k: getattr(cfg, k) for k in (
        "timeout_s", "startup_timeout_s", "slo_s", "burst_cv", "target_utilisation", "requests", "workers",
        "num_cpus", "replica_cpus", "max_replicas", "probe_min_requests", "probe_min_duration_s",
        "client_lag_bound_s", "in_flight_headroom")} | {f"slo_s_by_model.{k}": v for k, v in cfg.slo_s_by_model.items()}
    for key, value in positive.items():
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"latency.{key}: must be > 0, got {value!r}")
    for key in ("downscale_delay_s", "probe_warmup_s", "sample_per_category", "min_replicas", "search_steps"):
        if not getattr(cfg, key) >= 0:
            raise ValueError(f"latency.{key}: must be >= 0, got {getattr(cfg, key)!r}")
    if not 0 < cfg.slo_percentile <= 100:
        raise ValueError(f"latency.slo_percentile: must be in (0, 100], got {cfg.slo_percentile!r}")
    if not cfg.test04_pairs >= compliance.MIN_PAIRS:
        raise ValueError(f"latency.test04_pairs: must be >= {compliance.MIN_PAIRS} (the fewest pairs whose median "
                         f"has a 95 % CI), got {cfg.test04_pairs!r}")
    if cfg.arrival not in KINDS:
        raise ValueError(f"latency.arrival: unknown {cfg.arrival!r} (valid: {', '.join(KINDS)})")
    if cfg.min_replicas > cfg.max_replicas or cfg.max_replicas * cfg.replica_cpus > cfg.num_cpus:
        raise ValueError(f"latency.max_replicas: need min_replicas <= max_replicas and max_replicas x replica_cpus "
                         f"<= num_cpus, got {cfg.min_replicas}, {cfg.max_replicas}, {cfg.replica_cpus}, {cfg.num_cpus}")
    unknown = sorted(set(cfg.slo_s_by_model) - set(config.choices(model_group)))
    if unknown:
        valid = ", ".join(config.choices(model_group))
        raise ValueError(f"latency.slo_s_by_model.{unknown[0]}: unknown model (valid: {valid})")
    lo_hi = cfg.search_fractions
    if len(lo_hi) != 2 or not 0 < lo_hi[0] < lo_hi[1]:
        raise ValueError(f"latency.search_fractions: need [low, high] with 0 < low < high, got {list(lo_hi)}")


def slo_for(cfg: LatencyConfig, model: str) -> float:
    return cfg.slo_s_by_model.get(model, cfg.slo_s)


def sample_jobs(jobs: Sequence[Job], per_category: int, seed: int) -> list[Job]:
    """Every job (0), or a seeded sample of `per_category` jobs per category, in workload order."""
    if per_category == 0:
        return list(jobs)
    rng, keep = np.random.default_rng([seed, 2]), set()
    for cat in sorted({j.category for j in jobs}):
        ids = [j.id for j in jobs if j.category == cat]
        keep.update(rng.choice(ids, size=min(per_category, len(ids)), replace=False).tolist())
    return [j for j in jobs if j.id in keep]


def schedule(jobs: Sequence[Job], arrival_s: Mapping[str, float] | None, rate_rps: float,
             cfg: LatencyConfig) -> tuple[list[float], float | None]:
    """(send offsets, trace speedup): the trace time-scaled to `rate_rps`, or a seeded schedule."""
    if cfg.arrival == "trace":
        if arrival_s is None:
            raise ValueError("latency.arrival: trace needs the workload's arrival_s column, and this workload has none")
        return schedules.at_rate([arrival_s[j.id] for j in jobs], rate_rps)
    if cfg.arrival == "gamma":
        return schedules.at_rate(schedules.gamma_bursts(rate_rps, len(jobs), cfg.burst_cv, cfg.seed), rate_rps)[0], None
    return schedules.poisson_exact(rate_rps, len(jobs), cfg.seed), None


def sender(url: str, jobs: Sequence[Job], expected: Mapping[str, str] | None,
           payload: Payload | None = None, split: bool = False,
           sizes: Mapping[str, tuple[int, int]] | None = None) -> load.Send:
    """Request i sends jobs[i % len(jobs)]; the row gets job, status, server timings and cold.
    Media kinds (kinds.py): `payload` builds the body, with `split` the row also gets the
    server's generation_s / encoding_s / vendor_queue_s (None where it did not say), and `sizes`
    (job id -> width, height) gives the size of jobs that do not carry one (try-on: the person's)."""
    def send(i: int, timeout_s: float) -> dict:
        job = jobs[i % len(jobs)]
        width, height = (sizes or {}).get(job.id) or (getattr(job, "width", None), getattr(job, "height", None))
        sent_unix = time.time()
        resp = post_job(url, job, timeout_s, payload)
        h = resp.headers
        ready = float(h["x-replica-ready-unix"]) if "x-replica-ready-unix" in h else None
        media = read_split(h) if split else {}
        return {"reason": check(resp, job, expected), "job": job.id, "category": job.category,
                "width": width, "height": height, "status": resp.status,
                "first_byte_after_send_s": resp.first_byte_s,
                "compute_s": float(h["x-compute-seconds"]) if "x-compute-seconds" in h else None,
                "weight_load_s": float(h["x-weight-load-seconds"]) if "x-weight-load-seconds" in h else None,
                "replica": h.get("x-replica"), "cold": ready is not None and sent_unix < ready,
                "ready_after_send_s": None if ready is None else ready - sent_unix, **media}
    return send


def request_row(model: str, row: dict) -> dict:
    """One line of requests.jsonl: times in seconds from the schedule's origin; latency null = miss."""
    fb = row.pop("first_byte_after_send_s")
    ready = row.pop("ready_after_send_s", None)  # the serving replica's start, on the schedule's clock
    first_byte = None if fb is None else row["sent_s"] + fb
    queue = None if first_byte is None or row["compute_s"] is None else first_byte - row["sent_s"] - row["compute_s"]
    out = {"model": model, **{k: row[k] for k in ("job", "category", "width", "height", "index", "scheduled_s",
                                                   "sent_s")},
           "first_byte_s": first_byte, "done_s": row["done_s"], "latency_s": row["latency_s"],
           "status": row["status"], "ok": row["ok"], "reason": row["reason"], "queue_s": queue,
           "compute_s": row["compute_s"], **{k: row[k] for k in SPLIT_HEADERS if k in row},
           "weight_load_s": row["weight_load_s"], "replica": row["replica"],
           "replica_ready_s": None if ready is None else row["sent_s"] + ready, "cold": row["cold"]}
    return {k: json_s(v) if isinstance(v, float) else v for k, v in out.items()}


def _calibrate(send: load.Send, cfg: LatencyConfig) -> tuple[float, dict]:
    """Warm service time (mean of the closed-loop requests that were not cold) and the first cold one."""
    result = load.closed_loop(send, cfg.requests, 1, cfg.timeout_s)
    warm = [r["latency_s"] for r in result.rows if not r["cold"] and r["ok"]]
    if not warm:
        reasons = sorted({r["reason"] for r in result.rows if r["reason"]})
        raise RuntimeError(f"calibration: no warm request succeeded ({'; '.join(reasons)[:500]})")
    cold = next((r for r in result.rows if r["cold"]), None)
    return math.fsum(warm) / len(warm), {"calibration_requests": len(result.rows), "cold_row": cold}


def _capacity(send: load.Send, warm_capacity_rps: float, slo_s: float, cfg: LatencyConfig) -> dict:
    spec = capacity.ProbeSpec(slo_s=slo_s, slo_percentile=cfg.slo_percentile, min_requests=cfg.probe_min_requests,
                              min_duration_s=cfg.probe_min_duration_s, warmup_s=cfg.probe_warmup_s,
                              timeout_s=cfg.timeout_s, workers=cfg.workers, seed=cfg.seed,
                              headroom=cfg.in_flight_headroom, lag_bound_s=cfg.client_lag_bound_s)
    lo, hi = (f * warm_capacity_rps for f in cfg.search_fractions)
    found = capacity.search(lambda r: capacity.run_probe(send, r, spec), lo, hi, cfg.search_steps)
    met, failed = found["bracket_rps"]
    return {"max_rate_meeting_slo_rps": json_s(met), "capacity_bracket_rps": [json_s(met), json_s(failed)],
            "capacity_display": found["display"],
            "rate_search": {"criterion": f"p{cfg.slo_percentile:g} <= {slo_s} s", "censored": found["censored"],
                            "void": found["void"], "searched_rps": [round(lo, 6), round(hi, 6)],
                            "steps": cfg.search_steps, "void_shortfall": capacity.VOID_SHORTFALL,
                            "client_bound_probes": sum(1 for p in found["probes"] if p["client_bound"])},
            "load": found["probes"]}


def _compliance(model: str, url: str, jobs: Sequence[Job], rows: list[dict],
                expected: Mapping[str, str] | None, cfg: LatencyConfig, payload: Payload | None = None) -> dict:
    """TEST01 on the run's rows; TEST04 on the still-deployed model (compliance.py)."""
    post = compliance.http_post(url, cfg.timeout_s, expected, payload)
    return {"test01": compliance.run_test01(model, rows, expected is not None),
            "test04": compliance.run_test04(model, post, jobs[0], cfg.test04_pairs, {j.seed for j in jobs}, cfg.seed)}


def measure_model(params_path: str, model_name: str, jobs: Sequence[Job], cfg: LatencyConfig,
                  expected_sha256: Mapping[str, str] | None = None, *,
                  arrival_s: Mapping[str, float] | None = None, serve=None, model_cfg=None,
                  kind: str = "image", payload: Payload | None = None, model_group: str = "model",
                  sizes: Mapping[str, tuple[int, int]] | None = None) -> tuple[dict, list[dict]]:
    """Deploy, calibrate, replay the job set on its trace, search capacity; undeploy. Starts (and
    stops) its own Serve instance unless `serve` (serve.ServeInstance) is given. A video or try-on
    model: its `model_cfg` (the family's config object), `kind` ("video", "tryon"), the client's
    `payload` function, the conf group its names come from and, for jobs without a size, `sizes`
    (kinds.py, sentinel.latency.media)."""
    from sentinel.latency.serve import ServeInstance

    validate(cfg, model_group)
    if not jobs:
        raise ValueError(f"measure_model({model_name}): no jobs")
    if model_cfg is None:
        model_cfg = config.load(params_path, sections=("model",))["model"][model_name]
    split = kinds.get(kind).split
    slo_s, jobs = slo_for(cfg, model_name), sample_jobs(jobs, cfg.sample_per_category, cfg.seed)
    inst = serve or ServeInstance(cfg.host, cfg.num_cpus)
    if serve is None:
        inst.start()
    try:
        url = inst.deploy(model_cfg, min_replicas=cfg.min_replicas, max_replicas=cfg.max_replicas,
                          downscale_delay_s=cfg.downscale_delay_s, replica_cpus=cfg.replica_cpus,
                          kind=kind)
        send = sender(url, jobs, expected_sha256, payload, split, sizes)
        service_s, calib = _calibrate(send, cfg)
        rate = cfg.target_utilisation * cfg.max_replicas / service_s
        offsets, speedup = schedule(jobs, arrival_s, rate, cfg)
        idle = cfg.idle_start and cfg.min_replicas == 0 and inst.wait_idle(
            model_name, cfg.downscale_delay_s + cfg.startup_timeout_s)
        in_flight = load.in_flight_limit(offsets, slo_s, cfg.in_flight_headroom, cfg.workers)
        run = load.open_loop(send, offsets, cfg.timeout_s, in_flight)
        rows = [request_row(model_name, r) for r in run.rows]
        checks = _compliance(model_name, url, jobs, rows, expected_sha256, cfg, payload)
        found = _capacity(send, cfg.max_replicas / service_s, slo_s, cfg)
    finally:
        inst.remove(model_name) if serve is not None else inst.stop()
    figures = summarize_rows([{**r, "latency_s": math.inf if r["latency_s"] is None else r["latency_s"]}
                              for r in rows], slo_s, run.duration_s, cfg.client_lag_bound_s)
    cold_row = calib.pop("cold_row")
    figures["cold_start_source"] = "trace" if figures["n_cold"] else ("calibration" if cold_row else None)
    if not figures["n_cold"] and cold_row:  # the trace met only warm replicas: the deployment's first request
        figures.update({k: v for k, v in cold_figures([cold_row]).items() if k not in ("n_cold", "cold_latencies_s",
                                                                                           "cold_jobs", "latency_p95_warm_only_s")})
    return {"model": model_name, "slo_s": slo_s, **figures,
            "schedule": {"arrival": cfg.arrival, "trace_speedup": speedup, "target_utilisation": cfg.target_utilisation,
                         "offered_rate_rps": round(rate, 6), "service_s": round(service_s, 6),
                         "replicas": [cfg.min_replicas, cfg.max_replicas], "started_idle": bool(idle),
                         "in_flight_limit": in_flight, "in_flight_cap": cfg.workers,
                         "sampled": cfg.sample_per_category > 0, "n_jobs": len(jobs), **calib},
            "warm_capacity_rps": round(cfg.max_replicas / service_s, 6), **found,
            "percentile_method": stats.PERCENTILE_METHOD, "sha256_checked": expected_sha256 is not None,
            "compliance": checks,
            "misses": [{"job": r["job"], "reason": r["reason"]} for r in rows if not r["ok"]][:50],
            "per_request_s": [r["latency_s"] for r in rows]}, rows
