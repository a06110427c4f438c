"""Capacity: the highest offered rate whose percentile meets the SLO, from steady-state probes.

    search(probe_fn, lo_rps=40, hi_rps=60, steps=2)  # -> {"bracket_rps": [met, failed], ...}
    run_probe(send, 48.0, ProbeSpec(...))             # one open-loop probe -> its verdict dict

Why each rule (short probes overstate capacity, measured on this repository): a 20-request probe ends before a
queue forms, so it passed 81.4 req/s where the truth is 47.9. A probe here lasts at least
`min_requests` and `min_duration_s`; requests scheduled in its first `warmup_s` are excluded from
the verdict; its schedule offers exactly the rate it names (schedules.poisson_exact); and it is
*void* (neither met nor failed) when the client's achieved send rate over the measured requests is
more than VOID_SHORTFALL below the rate the schedule offered for those same requests, since it
then did not test that rate. A probe
stops early once enough requests exceeded the SLO that the percentile cannot meet it.
The answer is a bracket (met, failed); with no failing rate it is censored and prints ">= met".
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from sentinel.latency import load, schedules, stats

VOID_SHORTFALL = 0.03


@dataclass(frozen=True)
class ProbeSpec:
    slo_s: float
    slo_percentile: float
    min_requests: int
    min_duration_s: float
    warmup_s: float
    timeout_s: float
    workers: int  # most requests in flight (with `headroom`: the cap on load.in_flight_limit)
    seed: int
    headroom: float | None = None  # None: `workers` in flight; else Little's law (load.in_flight_limit)
    lag_bound_s: float | None = None  # schedule lag p99 above this flags the probe client_bound


def probe_size(rate_rps: float, spec: ProbeSpec) -> int:
    """Requests in a probe: the minimum count, or enough for the minimum duration plus warm-up."""
    return max(spec.min_requests, math.ceil(rate_rps * (spec.min_duration_s + spec.warmup_s)))


def _allowed_slow(n_measured: int, q: float) -> int:
    """How many measured requests may exceed the SLO before the nearest-rank q-th percentile must."""
    return n_measured - max(math.ceil(q * n_measured / 100), 1)


def achieved_send_rate(rows: list[dict], key: str = "sent_s") -> float | None:
    """Requests per second over these rows: (m - 1) over the span of their `key` times (actual
    sends by default; "scheduled_s" gives what the schedule offered for the same requests)."""
    times = sorted(r[key] for r in rows)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return (len(times) - 1) / span if span > 0 else None


def run_probe(send: load.Send, rate_rps: float, spec: ProbeSpec) -> dict:
    """One open-loop probe at `rate_rps`: verdict "met", "failed" or "void", with its figures."""
    offsets = schedules.poisson_exact(rate_rps, probe_size(rate_rps, spec), spec.seed)
    n_measured = sum(1 for t in offsets if t >= spec.warmup_s)
    if n_measured < 2:
        raise ValueError(f"probe at {rate_rps} req/s: warmup_s={spec.warmup_s} leaves < 2 requests")
    allowed, slow = _allowed_slow(n_measured, spec.slo_percentile), [0]

    def stop(row: dict) -> bool:  # under the load generator's lock
        if row["scheduled_s"] >= spec.warmup_s and not row["latency_s"] <= spec.slo_s:
            slow[0] += 1
        return slow[0] > allowed

    workers = spec.workers if spec.headroom is None else load.in_flight_limit(offsets, spec.slo_s, spec.headroom,
                                                                            spec.workers)
    result = load.open_loop(send, offsets, spec.timeout_s, workers, stop=stop)
    measured = [r for r in result.rows if r["scheduled_s"] >= spec.warmup_s]
    sample = [r["latency_s"] for r in measured]
    pq = stats.percentile(sample, spec.slo_percentile) if sample else math.inf
    achieved = achieved_send_rate(measured)
    offered = achieved_send_rate(measured, "scheduled_s")  # = rate_rps over a whole probe; a stopped
    void = achieved is None or offered is None or achieved < (1 - VOID_SHORTFALL) * offered  # one: its part
    failed = result.stopped_early or not pq <= spec.slo_s
    verdict = "void" if void else ("failed" if failed else "met")
    n_ok = sum(1 for r in measured if r["ok"])
    lag_p99 = stats.percentile([r["sent_s"] - r["scheduled_s"] for r in measured], 99) if measured else None
    return {"target_rate_rps": round(rate_rps, 6), "offered_rate_rps": round(rate_rps, 6), "verdict": verdict,
            "n_requests": len(offsets), "n_measured": len(measured), "stopped_early": result.stopped_early,
            "achieved_rate_rps": None if achieved is None else round(achieved, 6),
            f"latency_p{spec.slo_percentile:g}_s": _s(pq),
            **{f"latency_p{q}_s": _s(stats.percentile(sample, q)) if sample else None for q in (50, 99)},
            "failure_rate": round(1 - n_ok / len(measured), 6) if measured else None,
            "goodput_fraction": round(sum(1 for x in sample if x <= spec.slo_s) / len(sample), 6) if sample else None,
            "schedule_lag_p99_s": None if lag_p99 is None else round(lag_p99, 6), "in_flight_limit": workers,
            "client_bound": None if lag_p99 is None or spec.lag_bound_s is None else lag_p99 > spec.lag_bound_s}


def _s(x: float) -> float | None:
    return None if math.isinf(x) else round(x, 6)


def search(probe: Callable[[float], dict], lo_rps: float, hi_rps: float, steps: int) -> dict:
    """Bisection over [lo_rps, hi_rps] for the SLO's edge, assuming meeting it gets no easier with
    load. Returns {bracket_rps: [met, failed], censored, display, void, probes}: met None when lo
    already fails; failed None (censored) when hi still meets it. A void probe ends the search
    with the bracket so far (its rate was not tested), and says so."""
    if not 0 < lo_rps < hi_rps or steps < 0:
        raise ValueError(f"search: need 0 < low < high and steps >= 0, got [{lo_rps}, {hi_rps}], steps={steps}")
    probes: list[dict] = []
    met = failed = None

    def verdict(rate: float) -> str:
        probes.append(probe(rate))
        return probes[-1]["verdict"]

    todo = [lo_rps, hi_rps] + [None] * steps
    for rate in todo:
        if rate is None:
            if met is None or failed is None:
                break
            rate = (met + failed) / 2
        v = verdict(rate)
        if v == "void":
            break
        if v == "met":
            met = rate
        else:
            failed = rate
            if met is None:  # lo fails: nothing to bisect
                break
    void = any(p["verdict"] == "void" for p in probes)
    return {"bracket_rps": [met, failed], "censored": met == hi_rps and failed is None,
            "display": display(met, failed, void), "void": void,
            "probes": probes}


def display(met: float | None, failed: float | None, void: bool = False) -> str:
    """How a bracket prints everywhere: "[met, failed) req/s", ">= met" when censored, "< failed"."""
    if met is None and failed is None:
        return "not measured (void probe)"
    if void and failed is None:
        return f">= {met:.4g} req/s (search stopped: void probe)"
    if met is None:
        return f"< {failed:.4g} req/s"
    if failed is None:
        return f">= {met:.4g} req/s"
    return f"[{met:.4g}, {failed:.4g}) req/s"
