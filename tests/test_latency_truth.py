"""Client percentiles and capacity against a ground-truth loopback server (sentinel.latency.stub).

The stub logs each request's receive and finish times (CLOCK_MONOTONIC, shared with the client) and
the client's index for it, so its log is the truth the client must reproduce (within 2 ms + 2 %), with
a 2 s stall and every 10th request failing: each request's finish on the server minus its scheduled
send, the latency the stage reports. Capacity is checked against the M/D/1 closed form (Erlang's waiting-time distribution,
evaluated in 120-digit decimals), which shares no code with the search.
"""
from __future__ import annotations

import math
import multiprocessing
from decimal import Decimal, getcontext

import pytest

from sentinel.latency import capacity, load, schedules, stats
from sentinel.latency.stub import WORK_PATH, StubServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
SERVICE_S, STALL_S, STALL_AT = 0.010, 2.0, 100


def md1_wait_cdf(lam: float, d: float, t: float) -> float:
    """P(W <= t) for the M/D/1 queue: (1 - rho) sum_{k <= t/d} (lam (k d - t))^k / k! e^{-lam (k d - t)}."""
    getcontext().prec = 120
    lam_, d_, t_ = Decimal(repr(lam)), Decimal(repr(d)), Decimal(repr(t))
    total = Decimal(0)
    for k in range(int(t_ / d_) + 1):
        x = lam_ * (k * d_ - t_)
        total += (x**k if k else Decimal(1)) / math.factorial(k) * (-x).exp()
    return float((1 - lam_ * d_) * total)


def md1_max_rate(d: float, slo_s: float, q: float, sojourn: bool) -> float:
    """Highest Poisson rate whose q-quantile of waiting (or sojourn = wait + d) time is <= slo_s."""
    t = slo_s - d if sojourn else slo_s
    lo, hi = 0.1 / d, (1 - 1e-9) / d
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if md1_wait_cdf(mid, d, t) >= q else (lo, mid)
    return lo


def test_md1_closed_form_sanity():
    """P(W = 0) = 1 - rho; the edge for 20 ms service and p99 <= 1 s is 47.70 req/s for sojourn
    (wait + service) and 47.75 for the wait alone, beside the issue's simulated 47.9."""
    assert md1_wait_cdf(10.0, 0.02, 0.0) == pytest.approx(0.8, abs=1e-12)
    assert md1_max_rate(0.02, 1.0, 0.99, sojourn=True) == pytest.approx(47.70, abs=0.01)
    assert md1_max_rate(0.02, 1.0, 0.99, sojourn=False) == pytest.approx(47.75, abs=0.01)


def behaviour(i: int) -> tuple[int, float]:
    status = 500 if i % 10 == 9 else 200  # every 10th request fails (after its service time)
    return status, STALL_S if i == STALL_AT else SERVICE_S


def _serve_in_child(conn) -> None:
    """The ground-truth server in its own process (its own GIL: the client's threads cannot
    slow it, nor it them); perf_counter is CLOCK_MONOTONIC, one clock for both processes."""
    with StubServer(behaviour, serial=True) as stub:
        conn.send(stub.url)
        conn.recv()  # the client is done
        conn.send(list(stub.log))


@pytest.mark.parametrize("utilisation", [0.5, 0.9])
def test_percentiles_match_the_servers_own_log(utilisation):
    rate = utilisation / SERVICE_S
    offsets = schedules.poisson_exact(rate, 600, seed=1)
    ours, theirs = multiprocessing.get_context("fork").Pipe()
    child = multiprocessing.get_context("fork").Process(target=_serve_in_child, args=(theirs,), daemon=True)
    child.start()
    try:
        url = ours.recv()
        result = load.open_loop(load.http_sender(url, WORK_PATH, 30.0), offsets, 30.0, workers=300)
        ours.send("done")
        log = ours.recv()
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
    assert len(log) == len(offsets) == len(result.latencies_s)
    served = {e["request"]: e for e in log}  # by the client's X-Request index, not arrival order
    assert sorted(served) == list(range(len(offsets)))
    for i, row in enumerate(result.rows):  # causality on the one shared clock, for every request
        e = served[i]
        assert result.origin + row["sent_s"] <= e["received"] <= e["finished"] <= result.origin + row["done_s"], i
    # Truth on the right timestamps: what the client reports is latency from the *scheduled* send, so the
    # truth is the server's own finish (last byte written) minus that due time. A send that a loaded
    # machine delays is then inside both, as it is inside what the stage reports (its own size is
    # schedule lag, reported apart); only the last byte's delivery to the client is not. The server's
    # receive-to-finish span would charge the client's send lag to it as error.
    truth = [served[i]["finished"] - (result.origin + t) if served[i]["status"] == 200 else math.inf
             for i, t in enumerate(offsets)]
    assert sum(math.isinf(x) for x in truth) == sum(math.isinf(x) for x in result.latencies_s) == 60
    assert max(e["finished"] - e["received"] for e in log) >= STALL_S  # the stall is in the server's own log
    got, want = stats.percentile_table(result.latencies_s), stats.percentile_table(truth)
    for key in [k for k in want if k.endswith("_s") and "ci95" not in k]:
        g, w = got[key], want[key]
        if math.isinf(w):
            assert math.isinf(g), key
        else:
            assert abs(g - w) <= 0.002 + 0.02 * w, (key, g, w)


def _lindley_p(offsets: list[float], d: float, warmup_s: float, q: float) -> float:
    """q-th percentile (nearest rank) of sojourn times of a single-server FIFO queue with service
    d on this exact schedule, over requests scheduled after warm-up: the probe's own truth."""
    free, sojourn = 0.0, []
    for t in offsets:
        start = max(t, free)
        free = start + d
        if t >= warmup_s:
            sojourn.append(free - t)
    return sorted(sojourn)[math.ceil(q / 100 * len(sojourn)) - 1]


def test_capacity_bracket_contains_the_md1_truth():
    """20 ms service, p99 <= 1 s: probes at 40 and 60 req/s (far enough from the edge that a
    finite probe's verdict is the steady state's) must give a bracket around 47.7-47.9 req/s,
    where 20-request probes once reported 81.4."""
    service = 0.020
    spec = capacity.ProbeSpec(slo_s=1.0, slo_percentile=99, min_requests=200, min_duration_s=12.0,
                              warmup_s=3.0, timeout_s=10.0, workers=400, seed=0)
    with StubServer(lambda i: (200, service), serial=True) as stub:
        send = load.http_sender(stub.url, WORK_PATH, spec.timeout_s)
        result = capacity.search(lambda r: capacity.run_probe(send, r, spec), 40.0, 60.0, steps=0)
    met, failed = result["bracket_rps"]
    truths = (md1_max_rate(service, 1.0, 0.99, sojourn=True), md1_max_rate(service, 1.0, 0.99, sojourn=False), 47.9)
    assert met is not None and failed is not None and not result["void"], result
    assert all(met <= t < failed for t in truths), (result["bracket_rps"], truths)
    for p in result["probes"]:  # each verdict agrees with the queue replayed on the same schedule
        offsets = schedules.poisson_exact(p["offered_rate_rps"], capacity.probe_size(p["offered_rate_rps"], spec), 0)
        truth = _lindley_p(offsets, service, spec.warmup_s, 99)
        assert (p["verdict"] == "met") == (truth <= spec.slo_s), (p, truth)
    assert result["display"] == f"[{met:.4g}, {failed:.4g}) req/s"
