"""The load generator against a loopback stub server whose service times are injected and known.

No model and no mocks: real HTTP on 127.0.0.1 (sentinel.latency.stub). Assertions are closed-form
bounds that hold however slow the machine is (slowness only adds latency), never timings.
"""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from sentinel import config
from sentinel.latency import curves, load, schedules, serving, stats
from sentinel.latency.stub import NOOP_PATH, WORK_PATH, StubServer

pytestmark = pytest.mark.timeout(120)
SMOKE = Path(__file__).resolve().parents[1] / "conf/latency/smoke.yaml"


def run_open(behaviour, offsets, timeout_s=10.0, workers=64, serial=True):
    with StubServer(behaviour, serial=serial) as stub:
        result = load.open_loop(load.http_sender(stub.url, WORK_PATH, timeout_s), offsets, timeout_s, workers)
        return result, stub


# --- coordinated omission -----------------------------------------------------------------------

STALL_S, RATE_RPS, N = 1.0, 40.0, 200
STALL_AT = 40  # request 40 (t = 1 s) hits a 1 s stall; the 40 requests due during it queue behind it


def stalled(i: int) -> tuple[int, float]:
    return 200, STALL_S if i == STALL_AT else 0.005


def test_a_server_stall_raises_the_tail():
    """Requests due in the first half of the stall wait at least STALL_S / 2: 21 of 200 (the stalled
    one and 20 behind it), so p90 and p95 must reach 0.5 s; without the stall the median is far below."""
    offsets = schedules.uniform(RATE_RPS, N)
    calm, _ = run_open(lambda i: (200, 0.005), offsets)
    stall, stub = run_open(stalled, offsets)
    assert stub.max_in_flight > 10  # open loop: requests kept arriving during the stall
    slow = sum(x >= STALL_S / 2 for x in stall.latencies_s)
    assert slow >= 21 and stats.percentile(stall.latencies_s, 90) >= STALL_S / 2
    assert stats.percentile(stall.latencies_s, 99) >= 0.9 * STALL_S
    assert stats.percentile(calm.latencies_s, 90) < STALL_S / 2 and not calm.misses and not stall.misses


def test_a_blocked_client_still_sees_the_stall():
    """One worker: the client itself is stuck during the stall, as a closed-loop tool would be.
    Timed from the actual send, 1 or 2 requests look slow (coordinated omission); timed from the
    scheduled send, as we do, the 20+ requests due during the stall all carry the wait."""
    stall, stub = run_open(stalled, schedules.uniform(RATE_RPS, N), workers=1)
    assert stub.max_in_flight == 1
    from_actual_send = [x - lag for x, lag in zip(stall.latencies_s, stall.lags_s)]
    assert sum(x >= STALL_S / 2 for x in from_actual_send) <= 2
    assert sum(x >= STALL_S / 2 for x in stall.latencies_s) >= 21
    assert max(stall.lags_s) >= 0.9 * STALL_S - 1 / RATE_RPS  # the client's own lateness is recorded


# --- misses -------------------------------------------------------------------------------------

def test_timeouts_count_as_misses():
    """Every third request takes 1 s against a 0.2 s timeout: those are misses (+inf), kept."""
    result, _ = run_open(lambda i: (200, 1.0 if i % 3 == 0 else 0.0), schedules.uniform(20.0, 9),
                         timeout_s=0.2, serial=False)
    assert [m["index"] for m in result.misses] == [0, 3, 6]
    assert all("timeout" in m["reason"] for m in result.misses)
    assert [math.isinf(x) for x in result.latencies_s] == [i % 3 == 0 for i in range(9)]
    slo = stats.slo_summary(result.latencies_s, 0.2, result.duration_s)
    assert slo["goodput_fraction"] == pytest.approx(6 / 9) and slo["slo_misses"] == 3
    assert math.isinf(stats.percentile(result.latencies_s, 99))


def test_late_sends_past_the_timeout_are_misses():
    """The server answers every request, but one client worker cannot keep a 50 ms schedule with
    100 ms service: from its scheduled time, request k is ~k x 50 ms late, so later ones time out."""
    result, _ = run_open(lambda i: (200, 0.1), schedules.uniform(20.0, 12), timeout_s=0.3, workers=1)
    assert result.misses and all("scheduled send" in m["reason"] for m in result.misses)
    assert result.misses[-1]["index"] == 11 and math.isinf(result.latencies_s[-1])


def test_rate_limit_rejections_are_misses():
    result, _ = run_open(lambda i: (429, 0.0) if i % 2 else (200, 0.0), schedules.uniform(50.0, 10), serial=False)
    assert len(result.misses) == 5 and all(m["reason"] == "HTTP 429" for m in result.misses)
    assert sum(math.isinf(x) for x in result.latencies_s) == 5


# --- open vs closed loop ------------------------------------------------------------------------

def test_closed_loop_holds_concurrency():
    with StubServer(lambda i: (200, 0.05)) as stub:
        result = load.closed_loop(load.http_sender(stub.url, WORK_PATH, 5.0), 24, 4, 5.0)
    assert stub.max_in_flight == 4 and stub.arrivals == 24 and not result.misses
    assert result.offered_rate_rps is None and all(lag < 0.05 for lag in result.lags_s)


def test_offered_rate_is_the_schedules():
    with StubServer(lambda i: (200, 0.0)) as stub:
        result = load.open_loop(load.http_sender(stub.url, NOOP_PATH, 5.0), schedules.uniform(100.0, 50), 5.0, 8)
    assert result.offered_rate_rps == pytest.approx(100.0) and result.achieved_rate_rps > 0
    assert all(0 < x < 5.0 for x in result.latencies_s)


def test_open_loop_rejects_an_unsorted_schedule():
    with pytest.raises(ValueError, match="sorted"):
        load.open_loop(lambda i, t: "", [0.0, 1.0, 0.5], 1.0, 4)


# --- schedules ----------------------------------------------------------------------------------

def test_poisson_schedule_is_seeded_and_exponential():
    scipy_stats = pytest.importorskip("scipy.stats")
    a, b = schedules.poisson(50.0, 20000, seed=1), schedules.poisson(50.0, 20000, seed=1)
    assert a == b and a != schedules.poisson(50.0, 20000, seed=2)
    gaps = [y - x for x, y in zip([0.0, *a], a)]
    assert scipy_stats.kstest(gaps, "expon", args=(0, 1 / 50.0)).pvalue > 0.001
    assert schedules.offered_rate_rps(a) == pytest.approx(50.0, rel=0.03)


def test_gamma_bursts_keep_the_rate_and_raise_the_variance():
    offsets = schedules.gamma_bursts(50.0, 20000, cv=3.0, seed=0)
    gaps = [y - x for x, y in zip([0.0, *offsets], offsets)]
    mean = sum(gaps) / len(gaps)
    cv = math.sqrt(sum((x - mean) ** 2 for x in gaps) / len(gaps)) / mean
    assert mean == pytest.approx(1 / 50.0, rel=0.06) and cv == pytest.approx(3.0, rel=0.1)


def test_trace_replay():
    assert schedules.trace([100.0, 100.5, 100.5, 102.0]) == [0.0, 0.5, 0.5, 2.0]
    assert schedules.trace([10.0, 12.0], speedup=4.0) == [0.0, 0.5]
    with pytest.raises(ValueError, match=r"\[2\] = 1.0 is earlier"):
        schedules.trace([0.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="rate_rps"):
        schedules.poisson(0.0, 10, seed=0)
    assert schedules.uniform(4.0, 3) == [0.0, 0.25, 0.5]


# --- figures ------------------------------------------------------------------------------------

def test_slo_summary_counts_every_miss_against_the_claim():
    sample = [0.1] * 95 + [2.0] * 4 + [math.inf]
    s = stats.slo_summary(sample, 1.0, duration_s=10.0)
    assert s["slo_misses"] == 5 and s["goodput_fraction"] == 0.95 and s["goodput_rps"] == 9.5
    assert s["p95_meets_slo"] is True and s["p99_meets_slo"] is False
    assert s["p95_min_requests"] == stats.min_requests(95, 5) and s["p95_claimable"] is False
    assert stats.slo_summary([0.1] * 90, 1.0, 1.0)["p95_claimable"] is True


def test_cdf_rows_keep_misses_out_of_the_curve():
    rows = curves.cdf_rows({"m": {"per_request_s": [0.2, None, 0.1, 0.3]}})
    assert [(r["latency_s"], r["cumulative_fraction"]) for r in rows] == [(0.1, 0.25), (0.2, 0.5), (0.3, 0.75)]
    assert curves.to_csv(rows, curves.CDF_COLUMNS).splitlines()[0] == "model,latency_s,cumulative_fraction"


@pytest.mark.parametrize("change, key", [
    ({"arrival": "zipf"}, "latency.arrival"), ({"search_fractions": (2.0, 1.0)}, "latency.search_fractions"),
    ({"slo_s": 0.0}, "latency.slo_s"), ({"slo_s_by_model": {"tiny-sd": -1.0}}, "latency.slo_s_by_model.tiny-sd"),
    ({"target_utilisation": 0.0}, "latency.target_utilisation"), ({"host": "10.0.0.1"}, "loopback"),
    ({"min_replicas": 2}, "latency.max_replicas"), ({"max_replicas": 4}, "latency.max_replicas"),
    ({"slo_s_by_model": {"tiny-sdd": 1.0}}, "latency.slo_s_by_model.tiny-sdd: unknown model"),
    ({"test04_pairs": 5}, "latency.test04_pairs: must be >= 6"), ({"in_flight_headroom": 0.0}, "latency.in_flight_headroom"),
])
def test_bad_latency_config_names_the_key(change, key):
    cfg = config.build(config.LatencyConfig, yaml.safe_load(SMOKE.read_text()), "latency")
    serving.validate(cfg)
    for arrival in ("trace", "poisson", "gamma"):  # the workload's own trace is a valid arrival
        serving.validate(replace(cfg, arrival=arrival))
    with pytest.raises(ValueError, match=key):
        serving.validate(replace(cfg, **change))
