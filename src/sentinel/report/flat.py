"""reports/metrics.json: the leaderboard's headline scalars keyed by model, the only DVC metrics file.

DVC's `exp show` and `metrics diff` skip lists, so a leaderboard stored as `{"models": [...]}` never
shows its composite; this file holds `{model: {metric: number}}` and nothing else (prose, conventions
and raw timings live in files that are not metrics). The MLflow runs log the same scalars.
Pure Python, so the unit lane can test it.
"""
from __future__ import annotations

import json

from sentinel.metrics.registry import REGISTRY

# The headline scalars per model: reports/metrics.json (the only DVC metrics file, so `dvc exp show`
# and `dvc metrics diff` give one column per model and metric) and the MLflow runs. A `<key>_ci`
# pair becomes `<key>_ci_low` / `<key>_ci_high`; a key a row lacks or holds as null is left out.
# Every registered metric (metrics/registry.py) adds `<column>` and `<column>_ci` after "rank".
HEAD = ("composite", "composite_ci", "rank")
TAIL = ("kid_subsets_mean", "human", "human_ci", "ci_level", "n_generated", "n_reference",
        "cost_usd_per_1000_images", "latency_p50_s", "latency_p95_s", "latency_p99_s", "cold_start_p95_s",
        "cold_start_s", "latency_n_requests", "failure_rate", "human_bt_strength", "human_bt_ci", "human_bt_n_votes")


def headline() -> tuple[str, ...]:
    return (*HEAD, *(k for m in REGISTRY.values() for k in (m.column, f"{m.column}_ci")), *TAIL)


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def flat_metrics(board: dict) -> dict[str, dict[str, float]]:
    """{model: {metric: scalar}} from the leaderboard rows, in headline() order: scalars only, because
    DVC skips lists (a leaderboard stored as a list of rows never shows its composite)."""
    out = {}
    for row in board["models"]:
        flat = {}
        for key in headline():
            value = row.get(key)
            if key.endswith("_ci") and isinstance(value, list | tuple) and len(value) == 2:
                base = key[: -len("_ci")]
                flat.update({f"{base}_ci_low": value[0], f"{base}_ci_high": value[1]})
            elif _is_number(value):
                flat[key] = value
        out[row["model"]] = {k: v for k, v in flat.items() if _is_number(v)}
    return out


def metrics_json(flat: dict) -> str:
    """Canonical bytes, keys in headline() order (not sorted), so the columns read composite first."""
    return json.dumps(flat, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
