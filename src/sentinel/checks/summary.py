"""Intervals for the production checks: Wilson for pass rates, a job-keyed bootstrap for means.

Both are independent of row order: values are sorted by job id before any resampling, and the
bootstrap's generator is seeded from the job ids themselves, so shuffling the workload changes no
number.
"""
from __future__ import annotations

import hashlib
import math

import numpy as np


def wilson(k: int, n: int, level: float) -> tuple[float, float] | None:
    """Wilson score interval for k successes in n (Wilson 1927); None when n == 0."""
    from scipy.stats import norm

    if n == 0:
        return None
    z = float(norm.ppf(0.5 + level / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def rate(passed: dict[str, bool], level: float) -> dict:
    k, n = sum(passed.values()), len(passed)
    ci = wilson(k, n, level)
    return {"kind": "rate", "value": k / n if n else None, "ci": list(ci) if ci else None, "ci_level": level,
            "ci_method": "wilson", "n": n}


def mean(values: dict[str, float], level: float, draws: int = 1000) -> dict:
    ids = sorted(values)
    x = np.array([values[i] for i in ids], dtype=np.float64)
    out = {"kind": "mean", "value": float(x.mean()) if len(x) else None, "ci": None, "ci_level": level,
           "ci_method": "percentile bootstrap over jobs (seed: sha256 of the sorted job ids)", "n": len(x)}
    if len(x) >= 2:
        seed = int.from_bytes(hashlib.sha256("\n".join(ids).encode()).digest()[:8], "big")
        idx = np.random.default_rng(seed).integers(0, len(x), size=(draws, len(x)))
        reps = x[idx].mean(axis=1)
        out["ci"] = [float(np.quantile(reps, (1 - level) / 2)), float(np.quantile(reps, (1 + level) / 2))]
    return out
