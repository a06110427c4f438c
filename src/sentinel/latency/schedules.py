"""Arrival schedules for the open-loop load generator, computed before the run.

Each function returns send offsets in seconds from the start of the run, sorted ascending.
Seeded: the same arguments give the same list, so a run can be repeated exactly.

    poisson(rate_rps=4.0, n=100, seed=0)          # exponential gaps, mean 1 / rate
    gamma_bursts(rate_rps=4.0, n=100, cv=3.0, seed=0)  # gamma gaps: same mean, burstier (cv > 1)
    trace([0.0, 0.1, 0.1, 2.5])                   # replay a workload's own timestamps
    uniform(rate_rps=200.0, n=1000)               # fixed gaps (benchmarks)
    poisson_exact(rate_rps=48.0, n=960, seed=0)   # Poisson given n arrivals in n / rate seconds
    at_rate(trace_offsets, rate_rps=12.5)         # time-scale a trace to an offered rate
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

KINDS = ("trace", "poisson", "gamma")  # latency.arrival: how the stage schedules the job set


def _check(rate_rps: float, n: int, where: str) -> None:
    if not (isinstance(rate_rps, int | float) and math.isfinite(rate_rps) and rate_rps > 0):
        raise ValueError(f"{where}: rate_rps must be a finite number > 0, got {rate_rps!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{where}: n must be an integer >= 1, got {n!r}")


def _cumulative(gaps: np.ndarray) -> list[float]:
    return [float(x) for x in np.cumsum(gaps)]


def poisson(rate_rps: float, n: int, seed: int) -> list[float]:
    """Poisson arrivals (MLPerf Server scenario): i.i.d. exponential gaps with mean 1 / rate."""
    _check(rate_rps, n, "poisson")
    return _cumulative(np.random.default_rng(seed).exponential(1.0 / rate_rps, n))


def gamma_bursts(rate_rps: float, n: int, cv: float, seed: int) -> list[float]:
    """Gamma gaps with mean 1 / rate and coefficient of variation `cv` (shape 1 / cv**2):
    cv = 1 is Poisson, cv > 1 clusters arrivals into bursts separated by lulls."""
    _check(rate_rps, n, "gamma_bursts")
    if not (math.isfinite(cv) and cv > 0):
        raise ValueError(f"gamma_bursts: cv must be a finite number > 0, got {cv!r}")
    shape = 1.0 / cv**2
    return _cumulative(np.random.default_rng(seed).gamma(shape, 1.0 / (rate_rps * shape), n))


def uniform(rate_rps: float, n: int) -> list[float]:
    """Evenly spaced arrivals, 1 / rate apart, the first at 0."""
    _check(rate_rps, n, "uniform")
    return [i / rate_rps for i in range(n)]


def trace(timestamps_s: Sequence[float], speedup: float = 1.0) -> list[float]:
    """Replay recorded arrival times (any origin, seconds), shifted to start at 0 and divided by
    `speedup`. Timestamps must be finite and non-decreasing: a trace is never reordered."""
    if not timestamps_s:
        raise ValueError("trace: no timestamps")
    if not (math.isfinite(speedup) and speedup > 0):
        raise ValueError(f"trace: speedup must be a finite number > 0, got {speedup!r}")
    for i, t in enumerate(timestamps_s):
        if not math.isfinite(t):
            raise ValueError(f"trace: timestamp [{i}] is not finite: {t!r}")
        if i and t < timestamps_s[i - 1]:
            raise ValueError(f"trace: timestamp [{i}] = {t} is earlier than [{i - 1}] = {timestamps_s[i - 1]}; "
                             "a trace must be sorted")
    t0 = timestamps_s[0]
    return [(t - t0) / speedup for t in timestamps_s]


def offered_rate_rps(offsets_s: Sequence[float]) -> float | None:
    """Requests per second the schedule asks for: n over the span from 0 to the last send
    (n - 1 gaps plus the mean gap for the last). None for a single instant."""
    n, span = len(offsets_s), offsets_s[-1] if offsets_s else 0.0
    if n < 2 or span <= 0:
        return None
    return n / (span + span / (n - 1)) if offsets_s[0] == 0 else n / span


def poisson_exact(rate_rps: float, n: int, seed: int) -> list[float]:
    """A Poisson process conditioned on n arrivals in [0, n / rate): sorted uniforms. Its offered
    rate is exactly `rate_rps`, so a capacity probe tests the rate it names (a free-running seeded
    schedule of n gaps is off by about 1 / sqrt(n): 26 % for 20 requests)."""
    _check(rate_rps, n, "poisson_exact")
    span = n / rate_rps
    return [float(x) for x in np.sort(np.random.default_rng(seed).uniform(0.0, span, n))]


def at_rate(offsets_s: Sequence[float], rate_rps: float) -> tuple[list[float], float]:
    """(offsets, speedup): a trace divided by the speedup that makes its offered rate (see
    offered_rate_rps) exactly `rate_rps`; the trace's shape (diurnal cycle, bursts, gaps) is kept."""
    _check(rate_rps, max(len(offsets_s), 1), "at_rate")
    base = trace(offsets_s)
    native = offered_rate_rps(base)
    if native is None:
        raise ValueError("at_rate: a trace needs >= 2 distinct arrival times to be time-scaled")
    speedup = rate_rps / native
    return [t / speedup for t in base], speedup
