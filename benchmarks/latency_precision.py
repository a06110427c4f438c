"""Precision of the latency load generator, side by side with wrk on the same machine.

    .venv/bin/python benchmarks/latency_precision.py [--quick] [--json out.json]

The stub server (sentinel.latency.stub) runs in its own process, so it does not share the
client's GIL. It injects a known service-time distribution; the script reports:
  A. error of measured p50/p95/p99 against the injected truth (goal: within 2 % + 1 ms), ours
     (open-loop Poisson) and wrk's (closed loop), same endpoint, same distribution;
  B. schedule lag (actual - scheduled send) p50/p99 at 200 and 500 requests/s, Poisson, against a
     no-op endpoint (goal: p99 < 2 ms), with the client's CPU per request; wrk in the same run,
     paced to the same rate (Lua delay(), closed loop: it has no schedule, so no lag), its CPU too;
  C. highest rate sustained against a no-op endpoint (goal: >= 500/s) and wrk's closed-loop max;
  D. coordinated omission: a 1 s stall on a serial 10 ms server, p99 as ours and wrk see it.
Needs `wrk` on PATH (Debian: apt-get install -y wrk); without it the wrk columns are skipped.
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import re
import shutil
import resource
import subprocess
import tempfile
import time

import numpy as np

from sentinel.latency import load, schedules, stats
from sentinel.latency.stub import NOOP_PATH, WORK_PATH, StubServer

MEDIAN_S, SIGMA, SEED = 0.050, 0.5, 0
STALL_S, SERIAL_S = 1.0, 0.010
WRK_LUA = """done = function(summary, latency, requests)
  for _, q in ipairs({50, 95, 99}) do io.write(string.format("P%d %d\\n", q, latency:percentile(q))) end
  io.write(string.format("MAXUS %d\\n", latency.max))
  io.write(string.format("REQUESTS %d\\n", summary.requests))
end
"""
WRK_PACED = "delay = function() return {delay_ms} end\n"  # each connection waits this long between requests
LAG_SLO_S, LAG_HEADROOM, LAG_CAP = 1.0, 4.0, 32  # the smoke profile's in-flight rule (load.in_flight_limit)


def service_times(n: int) -> list[float]:
    return [float(x) for x in np.random.default_rng(SEED).lognormal(math.log(MEDIAN_S), SIGMA, n)]


class Behaviour:
    """Picklable injected behaviour: 'lognormal' (cycles through the seeded list), 'stall'
    (serial 10 ms, one STALL_S request at index `stall_at`), 'noop'."""

    def __init__(self, kind: str, n: int = 0, stall_at: int = -1):
        self.kind, self.stall_at = kind, stall_at
        self.times = service_times(n) if kind == "lognormal" else []

    def __call__(self, i: int) -> tuple[int, float]:
        if self.kind == "lognormal":
            return 200, self.times[i % len(self.times)]
        if self.kind == "stall":
            return 200, STALL_S if i == self.stall_at else SERIAL_S
        return 200, 0.0


def _serve(behaviour: Behaviour, serial: bool, urls: mp.Queue, stop: mp.Event) -> None:
    with StubServer(behaviour, serial=serial) as stub:
        urls.put(stub.url)
        stop.wait()


class ServerProc:
    def __init__(self, behaviour: Behaviour, serial: bool = False):
        ctx = mp.get_context("spawn")
        self.urls, self.stop = ctx.Queue(), ctx.Event()
        self.proc = ctx.Process(target=_serve, args=(behaviour, serial, self.urls, self.stop), daemon=True)

    def __enter__(self) -> str:
        self.proc.start()
        return self.urls.get(timeout=30)

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.proc.join(10)


def _children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)  # reaped children only: wrk, once it has exited
    return ru.ru_utime + ru.ru_stime


def wrk(url: str, threads: int, conns: int, duration_s: int, delay_ms: int | None = None) -> dict | None:
    """wrk's closed-loop run (paced by `delay_ms` per connection when given): requests/s, its
    p50/p95/p99/max (seconds) and its CPU seconds per request; None without wrk."""
    if shutil.which("wrk") is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_LUA + ("" if delay_ms is None else WRK_PACED.format(delay_ms=delay_ms)))
    cpu0 = _children_cpu_s()
    try:
        out = subprocess.run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration_s}s", "-s", f.name, url],
                             capture_output=True, text=True, timeout=duration_s + 60, check=True).stdout
    finally:
        os.unlink(f.name)
    cpu = _children_cpu_s() - cpu0
    res = {f"p{q}_s": int(v) / 1e6 for q, v in re.findall(r"^P(\d+) (\d+)$", out, re.M)}
    res["max_s"] = int(re.search(r"^MAXUS (\d+)$", out, re.M).group(1)) / 1e6
    res["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    res["requests"] = int(re.search(r"^REQUESTS (\d+)$", out, re.M).group(1))
    res["cpu_us_per_request"] = round(1e6 * cpu / max(res["requests"], 1), 1)
    return res


def _err(measured: float, truth: float) -> dict:
    err = measured - truth
    return {"measured_s": round(measured, 6), "truth_s": round(truth, 6), "error_s": round(err, 6),
            "error_pct": round(100 * err / truth, 3), "within_goal": abs(err) <= 0.02 * truth + 0.001}


def precision(n: int, rate_rps: float, wrk_s: int) -> dict:
    truth_sample = service_times(n)
    analytic = {q: MEDIAN_S * math.exp(SIGMA * float(stats_norm_ppf(q / 100))) for q in (50, 95, 99)}
    with ServerProc(Behaviour("lognormal", n)) as url:
        r = load.open_loop(load.http_sender(url, WORK_PATH, 10.0), schedules.poisson(rate_rps, n, SEED), 10.0, 64)
    ours = {f"p{q}": _err(stats.percentile(r.latencies_s, q), stats.percentile(truth_sample, q)) for q in (50, 95, 99)}
    out = {"n": n, "rate_rps": rate_rps, "misses": len(r.misses), "ours": ours,
           "analytic_truth_s": {f"p{q}": round(v, 6) for q, v in analytic.items()}}
    with ServerProc(Behaviour("lognormal", 4096)) as url:  # wrk: open-ended count, so the truth is analytic
        w = wrk(url + WORK_PATH, 1, 4, wrk_s)
    if w:
        out["wrk_c4"] = {f"p{q}": _err(w[f"p{q}_s"], analytic[q]) for q in (50, 95, 99)}
    return out


def stats_norm_ppf(p: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(p)


def _ours_at(send: load.Send, rate_rps: float, seconds: float) -> dict:
    """Open loop, Poisson at `rate_rps`, workers sized as the stage sizes them; lag, latency, CPU."""
    offsets = schedules.poisson(rate_rps, int(rate_rps * seconds), SEED)
    workers = load.in_flight_limit(offsets, LAG_SLO_S, LAG_HEADROOM, LAG_CAP)
    cpu0 = time.process_time()  # every thread of this process: the generator, its workers, their spinning
    r = load.open_loop(send, offsets, 10.0, workers)
    cpu = time.process_time() - cpu0
    return {"n": len(offsets), "workers": workers, "offered_rps": round(r.offered_rate_rps, 2),
            "achieved_rps": round(r.achieved_rate_rps, 2), "misses": len(r.misses),
            **{f"lag_p{q}_ms": round(1e3 * stats.percentile(r.lags_s, q), 3) for q in (50, 99)},
            "lag_max_ms": round(1e3 * max(r.lags_s), 3),
            **{f"latency_p{q}_ms": round(1e3 * stats.percentile(r.latencies_s, q), 3) for q in (50, 99)},
            "cpu_us_per_request": round(1e6 * cpu / len(offsets), 1)}


def _wrk_at(url: str, rate_rps: float, seconds: int) -> dict | None:
    """wrk paced to about `rate_rps`: 10 ms between requests on each of rate / 100 connections."""
    delay_ms = 10
    conns = max(1, round(rate_rps * delay_ms / 1000))
    w = wrk(url, 1, conns, seconds, delay_ms=delay_ms)
    if w is None:
        return None
    return {"conns": conns, "delay_ms": delay_ms, "achieved_rps": w["rps"], "requests": w["requests"],
            "schedule_lag": "n/a: closed loop, no schedule",
            **{f"latency_p{q}_ms": round(1e3 * w[f"p{q}_s"], 3) for q in (50, 99)},
            "cpu_us_per_request": w["cpu_us_per_request"]}


def schedule_lag(rates: list[float], seconds: int) -> list[dict]:
    """B: per rate, ours (open loop) then wrk (paced) against the same no-op endpoint."""
    rows = []
    with ServerProc(Behaviour("noop")) as url:
        send = load.http_sender(url, NOOP_PATH, 10.0)
        for rate in rates:
            rows.append({"rate_rps": rate, "ours": _ours_at(send, rate, seconds),
                         "wrk_paced": _wrk_at(url + NOOP_PATH, rate, seconds)})
    return rows


def max_rate(rates: list[float], seconds: float, wrk_s: int) -> dict:
    """Open loop at each rate for `seconds`. Two bars: *throughput* (achieved >= 97 % of offered,
    no miss) and *on time* (that, and schedule lag p99 <= 5 ms). Then the closed-loop ceiling,
    ours (8 workers) and wrk's (-c8), against the same no-op endpoint."""
    rows, best, best_on_time = [], None, None
    with ServerProc(Behaviour("noop")) as url:
        send = load.http_sender(url, NOOP_PATH, 10.0)
        for rate in rates:
            r = load.open_loop(send, schedules.uniform(rate, int(rate * seconds)), 10.0, 64)
            lag_p99 = stats.percentile(r.lags_s, 99)
            ok = r.achieved_rate_rps >= 0.97 * rate and not r.misses
            rows.append({"offered_rps": rate, "achieved_rps": round(r.achieved_rate_rps, 1),
                         "lag_p99_ms": round(1e3 * lag_p99, 3), "sustained": ok})
            best = rate if ok else best
            best_on_time = rate if ok and lag_p99 <= 0.005 else best_on_time
        closed = load.closed_loop(send, int(4000 * seconds), 8, 10.0)
        w = wrk(url + NOOP_PATH, 1, 8, wrk_s)
    return {"open_loop": rows, "max_sustained_rps": best, "max_on_time_rps": best_on_time,
            "ours_closed_c8_rps": round(closed.achieved_rate_rps, 1),
            "wrk_closed_c8_rps": None if w is None else w["rps"]}


def fifo_latencies(arrivals_s: list[float], service_s: list[float]) -> list[float]:
    """Exact latencies of a single FIFO server (Lindley): start = max(arrival, previous finish)."""
    out, finish = [], -math.inf
    for a, s in zip(arrivals_s, service_s):
        finish = max(a, finish) + s
        out.append(finish - a)
    return out


def coordinated_omission(seconds: int) -> dict:
    """Serial 10 ms server, one 1 s stall. Ours: open loop at 50/s (half capacity) against the
    exact FIFO truth for those arrivals. wrk -c1 (closed loop; wrk 4 back-fills the histogram
    with synthetic samples at its own request interval, its CO correction)."""
    rate, n = 50.0, int(50 * seconds)
    behaviour = Behaviour("stall", stall_at=n // 3)
    offsets = schedules.uniform(rate, n)
    with ServerProc(behaviour, serial=True) as url:
        r = load.open_loop(load.http_sender(url, WORK_PATH, 10.0), offsets, 10.0, 64)
    truth = fifo_latencies(offsets, [behaviour(i)[1] for i in range(n)])
    with ServerProc(Behaviour("stall", stall_at=int(100 * seconds) // 3), serial=True) as url:
        w = wrk(url + WORK_PATH, 1, 1, seconds)
    ours = {f"p{q}": _err(stats.percentile(r.latencies_s, q), stats.percentile(truth, q)) for q in (50, 90, 95, 99)}
    return {"n": n, "ours_open_loop_50rps": ours, "wrk_c1": w,
            "requests_over_0_5s": {"truth": sum(x > 0.5 for x in truth), "ours": sum(x > 0.5 for x in r.latencies_s)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (smoke check of the script)")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    q, t0 = args.quick, time.perf_counter()
    res = {"cpus": os.cpu_count(), "load_average_1m_before": round(os.getloadavg()[0], 2),
           "A_precision": precision(400 if q else 2000, 100.0, 3 if q else 10),
           "B_schedule_lag": schedule_lag([200.0, 500.0], 3 if q else 10),
           "C_max_rate": max_rate([250.0, 500.0, 1000.0, 2000.0, 3000.0, 4000.0, 5000.0], 1.0 if q else 3.0, 3 if q else 5),
           "D_coordinated_omission": coordinated_omission(4 if q else 10)}
    res["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    res["wall_s"] = round(time.perf_counter() - t0, 1)
    text = json.dumps(res, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
