"""Order-statistic confidence intervals and capacity brackets: pure functions, closed forms."""
from __future__ import annotations

import math

import numpy as np
import pytest

from sentinel.latency import capacity, schedules, stats


def test_median_ci_ranks_match_the_published_table():
    """n = 100, 95 %: the 40th and 61st order statistics (e.g. Conover, Practical Nonparametric
    Statistics, table A3; coverage 0.9648)."""
    assert stats.ci_ranks(100, 50) == (40, 61)


def test_ci_coverage_is_at_least_the_level_by_exact_binomial_sum():
    from scipy.stats import binom

    for n, q in [(50, 90), (459, 99), (1000, 95), (12000, 99)]:
        lo, hi = stats.ci_ranks(n, q)
        p = q / 100
        assert binom.cdf(hi - 1, n, p) - binom.cdf(lo - 1, n, p) >= 0.95
        # tightest on each side: moving either rank inward loses the tail bound
        assert binom.cdf(lo, n, p) > 0.025 and binom.cdf(hi - 2, n, p) < 0.975


def test_small_samples_have_open_bounds():
    assert stats.ci_ranks(20, 99) == (stats.ci_ranks(20, 99)[0], None)
    lo, hi = stats.percentile_ci([1.0, 2.0, 3.0], 50)
    assert lo is None and math.isinf(hi)  # 3 requests cannot bound a median at 95 %


def test_percentile_table_reports_all_and_successes():
    sample = [0.1 * i for i in range(1, 91)] + [math.inf] * 10
    table = stats.percentile_table(sample)
    assert table["latency_p50_s"] == pytest.approx(5.0) and math.isinf(table["latency_p95_s"])
    assert table["success_latency_p95_s"] == pytest.approx(8.6) and table["n_success"] == 90
    lo, hi = table["latency_p50_ci95_s"]
    assert lo <= table["latency_p50_s"] <= hi


def test_poisson_exact_offers_exactly_its_rate():
    offs = schedules.poisson_exact(48.0, 960, seed=3)
    assert len(offs) == 960 and offs == sorted(offs) and offs[-1] < 20.0
    gaps = np.diff(offs)
    assert np.mean(gaps) == pytest.approx(1 / 48.0, rel=0.05) and np.std(gaps) / np.mean(gaps) == pytest.approx(1, abs=0.1)


def test_at_rate_keeps_the_trace_shape():
    trace = [10.0, 10.0, 11.0, 20.0, 40.0]
    offs, speedup = schedules.at_rate(trace, 2.0)
    assert schedules.offered_rate_rps(offs) == pytest.approx(2.0)
    assert offs == pytest.approx([(t - 10.0) / speedup for t in trace])


def fake_probe(edge: float):
    return lambda rate: {"offered_rate_rps": rate, "verdict": "met" if rate <= edge else "failed"}


def test_search_brackets_the_edge_and_censors():
    r = capacity.search(fake_probe(47.9), 30.0, 70.0, steps=3)
    met, failed = r["bracket_rps"]
    assert met <= 47.9 < failed and failed - met == pytest.approx(5.0)
    r = capacity.search(fake_probe(100.0), 30.0, 70.0, steps=3)
    assert r["censored"] and r["bracket_rps"] == [70.0, None] and r["display"] == ">= 70 req/s"
    r = capacity.search(fake_probe(10.0), 30.0, 70.0, steps=3)
    assert r["bracket_rps"] == [None, 30.0] and r["display"] == "< 30 req/s"


def test_a_void_probe_ends_the_search_without_a_verdict():
    def probe(rate):
        return {"offered_rate_rps": rate, "verdict": "void" if rate > 40 else "met"}

    r = capacity.search(probe, 30.0, 70.0, steps=3)
    assert r["void"] and r["bracket_rps"] == [30.0, None] and not r["censored"]


def test_void_rule_uses_the_achieved_send_rate():
    rows = [{"sent_s": i / 10.0} for i in range(11)]  # 10 req/s actually sent
    assert capacity.achieved_send_rate(rows) == pytest.approx(10.0)


def test_vendor_rate_limits_stay_429_and_causes_are_classed():
    from sentinel.latency.server import failure_status
    from sentinel.latency.summary import cause

    assert failure_status(RuntimeError("HTTP 429 from https://v/x: slow down")) == 429
    assert failure_status(RuntimeError("HTTP 503 from https://v/x")) == 502
    assert failure_status(ValueError("NaN in latents")) == 500
    assert cause("HTTP 429: {...}") == "HTTP 429" and cause("timeout after 5 s") == "timeout after 5 s"
    assert cause("sha256 mismatch for job hs-001: got a, expected b") == "sha256 mismatch"


def test_summary_counts_cold_requests_and_p95_without_them():
    from sentinel.latency.summary import summarize_rows

    rows = [{"job": f"j{i}", "category": "a" if i % 2 else "b", "width": 64, "height": 64, "scheduled_s": i * 0.1,
             "sent_s": i * 0.1, "latency_s": 5.0 if i < 3 else 0.1 + i / 1000, "ok": True, "reason": "",
             "cold": i < 3, "compute_s": 0.1, "weight_load_s": 1.0} for i in range(40)]
    rows[7] = {**rows[7], "latency_s": math.inf, "ok": False, "reason": "HTTP 500: boom"}
    s = summarize_rows(rows, slo_s=1.0, duration_s=4.0, lag_bound_s=0.05)
    assert s["n_cold"] == 3 and s["cold_latencies_s"] == [5.0] * 3 and s["cold_start_s"] == 5.0
    assert s["process_start_s"] == pytest.approx(3.9) and s["failures_by_cause"] == {"HTTP 500": 1}
    assert s["latency_p95_s"] == 5.0 and s["latency_p95_warm_only_s"] < 1.0  # with and without the cold ones
    assert s["latency_max_s"] is None and s["success_latency_p99_s"] == 5.0  # +inf -> null; success-only
    assert s["by_category"]["a"]["n_failed"] == 1 and not s["client_bound"]
