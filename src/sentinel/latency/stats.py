"""Latency statistics: nearest-rank percentiles and MLPerf-style early stopping.

Conventions (the known latency pitfalls: dropped failures, percentile arithmetic, MLPerf early stopping):
- A miss (HTTP error, timeout, wrong image) stays in the sample as `math.inf`; it is never dropped.
- Percentiles are nearest-rank on the raw sample: every percentile is a value of the sample, so
  p50 <= p95 <= p99 <= max always holds and nothing is interpolated or averaged across runs.
- A percentile is *claimable* at 99 % confidence only when the sample is large enough for the
  binomial early-stopping rule (MLPerf LoadGen): with n requests and k misses, the claim "the true
  miss rate is below 1 - q" holds when P(Bin(n, 1 - q) <= k) <= 1 - confidence.
"""
from __future__ import annotations

import math
from fractions import Fraction

PERCENTILE_METHOD = "nearest-rank"
CONFIDENCE = 0.99
REPORTED = (50, 90, 95, 99)


def _fraction(x: float | int | str) -> Fraction:
    """Exact decimal value of a percentile such as 95 or 99.9 (no binary-float rounding)."""
    return Fraction(str(x))


def percentile(sample: list[float], q: float) -> float:
    """Nearest-rank q-th percentile (0 < q <= 100): the smallest value with at least q % of the
    sample at or below it, i.e. sorted(sample)[ceil(q / 100 * n) - 1]."""
    if not sample:
        raise ValueError("percentile: empty sample")
    qf = _fraction(q)
    if not 0 < qf <= 100:
        raise ValueError(f"percentile: q must be in (0, 100], got {q}")
    if any(math.isnan(x) for x in sample):
        raise ValueError("percentile: sample contains NaN; record a miss as math.inf instead")
    ordered = sorted(sample)
    rank = math.ceil(qf * len(ordered) / 100)
    return ordered[max(rank, 1) - 1]


def summarize(sample: list[float]) -> dict[str, float]:
    """p50/p95/p99/max/mean of a latency sample (seconds); misses are math.inf and stay in."""
    out = {f"latency_p{q}_s": percentile(sample, q) for q in REPORTED}
    out["latency_max_s"] = max(sample)
    out["latency_mean_s"] = math.fsum(sample) / len(sample)  # a miss makes the mean +inf
    return out


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), summed in log space so large n does not overflow."""
    if k < 0:
        return 0.0
    if k >= n or p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    base = math.lgamma(n + 1)
    terms = (base - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
             for i in range(k + 1))
    return math.fsum(math.exp(t) for t in terms)


def claimable(n: int, misses: int, q: float, confidence: float = CONFIDENCE) -> bool:
    """Early stopping: can n requests with `misses` misses support a q-th percentile claim?"""
    if n < 0 or not 0 <= misses <= max(n, 0):
        raise ValueError(f"claimable: need 0 <= misses <= n, got n={n}, misses={misses}")
    if n == 0:
        return False
    tail = float(1 - _fraction(q) / 100)
    return binom_cdf(misses, n, tail) <= 1 - confidence


def min_requests(q: float, misses: int, confidence: float = CONFIDENCE) -> int:
    """Smallest n for which `claimable(n, misses, q, confidence)` holds (the CDF falls with n)."""
    lo, hi = misses, max(misses + 1, 1)
    while not claimable(hi, misses, q, confidence):
        lo, hi = hi, hi * 2
    while hi - lo > 1:  # invariant: not claimable(lo) (or lo == misses), claimable(hi)
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if claimable(mid, misses, q, confidence) else (mid, hi)
    return hi


def slo_summary(sample: list[float], slo_s: float, duration_s: float) -> dict:
    """Goodput at an SLO: a request is good when it succeeded within `slo_s` (a miss is +inf, so
    never good). For each claim "p95/p99 <= SLO" it states whether the run is long enough
    (early stopping, counting every request over the SLO as a miss) and how many requests the
    claim needs given the misses seen."""
    if not (math.isfinite(slo_s) and slo_s > 0):
        raise ValueError(f"slo_s: must be a finite number > 0, got {slo_s!r}")
    n = len(sample)
    over = sum(1 for x in sample if not x <= slo_s)
    out = {"slo_s": slo_s, "slo_misses": over, "goodput_fraction": (n - over) / n,
           "goodput_rps": (n - over) / duration_s}
    for q in (95, 99):
        out[f"p{q}_meets_slo"] = percentile(sample, q) <= slo_s
        out[f"p{q}_min_requests"] = min_requests(q, over)
        out[f"p{q}_claimable"] = claimable(n, over, q)
    return out


CI_LEVEL = 0.95  # two-sided level of the order-statistic interval around each percentile


def _binom_cdfs(n: int, p: float) -> list[float]:
    """[P(B <= k) for k = 0..n], B ~ Binomial(n, p): one O(n) pass over the pmf in log space."""
    if p <= 0.0 or p >= 1.0:
        return [1.0 if p <= 0.0 or k == n else 0.0 for k in range(n + 1)]
    log_p, log_q, base = math.log(p), math.log1p(-p), math.lgamma(n + 1)
    out, acc = [], 0.0
    for k in range(n + 1):
        acc += math.exp(base - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * log_p + (n - k) * log_q)
        out.append(min(acc, 1.0))
    return out


def ci_ranks(n: int, q: float, level: float = CI_LEVEL) -> tuple[int | None, int | None]:
    """1-based ranks (l, u) with P(x_(l) <= true q-th percentile < x_(u)) >= level for any
    continuous distribution (B ~ Bin(n, q/100) counts the sample below the true percentile).
    None where the sample is too small for that side: l None = no lower bound, u None = the
    upper bound lies beyond the largest observation."""
    if n < 1 or not 0 < level < 1:
        raise ValueError(f"ci_ranks: need n >= 1 and 0 < level < 1, got n={n}, level={level}")
    tail = (1 - level) / 2
    cdf = _binom_cdfs(n, float(_fraction(q) / 100))
    lower = [k for k in range(n) if cdf[k] <= tail]  # l - 1 = k: P(B <= l - 1) <= tail
    upper = next((k for k in range(n) if cdf[k] >= 1 - tail), None)  # P(B <= u - 1) >= 1 - tail
    return (lower[-1] + 1 if lower else None), (None if upper is None else upper + 1)


def percentile_ci(sample: list[float], q: float, level: float = CI_LEVEL) -> tuple[float | None, float]:
    """(lower, upper) distribution-free confidence bounds on the q-th percentile from order
    statistics; lower None = unbounded below (sample too small), upper +inf = unbounded above
    (too small, or the bound is a miss)."""
    ordered = sorted(sample)
    lo, hi = ci_ranks(len(ordered), q, level)
    return (None if lo is None else ordered[lo - 1]), (math.inf if hi is None else ordered[hi - 1])


def percentile_table(sample: list[float], prefix: str = "latency") -> dict:
    """pXX and its 95 % CI for REPORTED, over all requests (misses +inf) and over successes only:
    {prefix_p50_s, prefix_p50_ci95_s: [lo, hi], success_prefix_p50_s, ...}. Success-only figures
    are None when nothing succeeded; they flatter a failing model, so both are always reported."""
    ok = [x for x in sample if math.isfinite(x)]
    out: dict = {}
    for scope, data in (("", sample), ("success_", ok)):
        for q in REPORTED:
            key = f"{scope}{prefix}_p{q}"
            out[f"{key}_s"] = percentile(data, q) if data else None
            out[f"{key}_ci95_s"] = list(percentile_ci(data, q)) if data else None
    out["n_success"] = len(ok)
    return out
