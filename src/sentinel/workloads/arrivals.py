"""Seeded arrival timestamps for trace replay: a diurnal cycle with bursts.

The intensity over [0, duration_s) is piecewise constant on a grid of `resolution_s` bins:

    rate(t) ∝ 1 + amplitude * cos(2π (t / day_s - 1/2))        (trough at t = 0, peak at mid-day)
            + burst_factor                                     inside each burst window

Given n arrivals, a non-homogeneous Poisson process places them as n i.i.d. draws from
rate(t) / ∫rate, sorted. Each draw is an exact inverse of the cumulative intensity (uniform within a bin).
Times are rounded to the millisecond, so the written file is the same bytes on every machine.
The latency stage replays them with `sentinel.latency.schedules.trace(times, speedup)`.
"""
from __future__ import annotations

import numpy as np


def intensity(duration_s: float, day_s: float, amplitude: float, bursts: list[tuple[float, float]],
              burst_factor: float, resolution_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(bin edges, relative rate per bin). `bursts` are (start_s, length_s) windows."""
    if not 0 <= amplitude < 1:
        raise ValueError(f"amplitude: must be in [0, 1), got {amplitude}")
    if duration_s <= 0 or day_s <= 0 or resolution_s <= 0:
        raise ValueError(f"duration_s, day_s and resolution_s must be > 0, got {duration_s}, {day_s}, {resolution_s}")
    n_bins = max(1, int(np.ceil(duration_s / resolution_s)))
    edges = np.minimum(np.arange(n_bins + 1) * resolution_s, duration_s)
    mid = (edges[:-1] + edges[1:]) / 2
    rate = 1.0 + amplitude * np.cos(2 * np.pi * (mid / day_s - 0.5))
    for start, length in bursts:
        rate[(mid >= start) & (mid < start + length)] += burst_factor
    return edges, rate


def burst_windows(rng: np.random.Generator, duration_s: float, bursts: int, burst_s: float) -> list[tuple[float, float]]:
    starts = np.sort(rng.uniform(0.0, max(duration_s - burst_s, 0.0), bursts))
    return [(round(float(s), 3), float(burst_s)) for s in starts]


def sample_arrivals(rng: np.random.Generator, n: int, edges: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """n sorted arrival times (s, rounded to ms) with density proportional to `rate` on `edges`."""
    mass = rate * np.diff(edges)
    cum = np.concatenate([[0.0], np.cumsum(mass)])
    u = np.sort(rng.uniform(0.0, cum[-1], n))
    times = np.interp(u, cum, edges)  # linear within a bin = uniform within a constant-rate bin
    return np.round(times, 3)


def arrivals(seed: int, n: int, *, duration_s: float, day_s: float, amplitude: float, bursts: int, burst_s: float,
             burst_factor: float, resolution_s: float = 1.0) -> tuple[list[float], list[tuple[float, float]]]:
    """Sorted arrival times for n jobs and the burst windows used. Same arguments, same list."""
    rng = np.random.default_rng([seed, 1])  # a stream apart from the job attributes' stream
    windows = burst_windows(rng, duration_s, bursts, burst_s)
    edges, rate = intensity(duration_s, day_s, amplitude, windows, burst_factor, min(resolution_s, duration_s))
    return [float(t) for t in sample_arrivals(rng, n, edges, rate)], windows
