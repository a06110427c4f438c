"""Uncertainty on the composite: CIs, the probability that each model holds its rank, and weight sensitivity.

Each component's CI at level L (score.ci_level, from the score stage's seeded bootstraps) is turned
into a standard error on the 0-100 scale, se = (hi - lo) / (2 * z(L)) * 100 / |best - worst| with
z(L) = scipy.stats.norm.ppf((1 + L) / 2) (1.96 at 0.95, 1.645 at 0.90), and components are drawn
independently from N(point, se), clipped to [0, 100], with numpy's PCG64 seeded by `seed`. The
composite's CI is the (1-L)/2, (1+L)/2 percentile interval of its draws, recorded with `ci_level`
(sentinel.metrics.bootstrap.interval); P(holds rank) is the share of draws in
which the model keeps the rank it has at the point estimates. A component without a CI counts as
exact (se = 0) and the entry lists it under `ci_missing`, so the interval is marked incomplete.
"""
from __future__ import annotations

import numpy as np

from sentinel.config import ReportConfig
from sentinel.metrics.bootstrap import interval, z
from sentinel.report.composite import COMPONENTS

SENSITIVITY_WEIGHTS = {
    "equal thirds": {"fid": 1 / 3, "clip": 1 / 3, "human": 1 / 3},
    "FID-heavy": {"fid": 0.6, "clip": 0.2, "human": 0.2},
    "CLIP-heavy": {"fid": 0.2, "clip": 0.6, "human": 0.2},
    "human-heavy": {"fid": 0.2, "clip": 0.2, "human": 0.6},
    "no human": {"fid": 4 / 7, "clip": 3 / 7, "human": 0.0},
}


def component_se(ci: list[float] | None, best: float, worst: float, level: float) -> float | None:
    """The standard error, on the 0-100 scale, of a component whose interval `ci` is at `level`."""
    if ci is None or None in ci:
        return None
    return (ci[1] - ci[0]) / (2 * z(level)) * 100.0 / abs(best - worst)


def _ranks(composites: np.ndarray) -> np.ndarray:
    """Rank 1 = best, per row; ties broken by column order (as the leaderboard's stable sort by name)."""
    order = np.argsort(-composites, axis=-1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, composites.shape[-1] + 1), axis=-1)
    return ranks


def draws(points: np.ndarray, ses: np.ndarray, weights: dict[str, float], n: int, seed: int) -> np.ndarray:
    """points, ses: (models, components) on the 0-100 scale -> (n, models) composite draws."""
    rng = np.random.default_rng(seed)
    comp = np.clip(points + ses * rng.standard_normal((n, *points.shape)), 0.0, 100.0)
    w = np.array([weights[c] for c in COMPONENTS])
    return comp @ w


def uncertainty(rows: list[dict], rcfg: ReportConfig, n: int = 2000, seed: int = 0,
                level: float = 0.95) -> dict[str, dict]:
    """rows: leaderboard entries with `components` (0-100) and `component_se` (None = missing)."""
    if not rows:
        return {}
    points = np.array([[r["components"][c] for c in COMPONENTS] for r in rows], dtype=np.float64)
    ses = np.array([[r["component_se"][c] or 0.0 for c in COMPONENTS] for r in rows], dtype=np.float64)
    sims = draws(points, ses, rcfg.weights, n, seed)
    point_rank = _ranks(points @ np.array([rcfg.weights[c] for c in COMPONENTS]))
    sim_ranks = _ranks(sims)
    out = {}
    for i, r in enumerate(rows):
        lo, hi = interval(sims[:, i], level)
        out[r["model"]] = {"composite_ci": [lo, hi], "composite_ci_level": level, "rank": int(point_rank[i]),
                           "p_holds_rank": float(np.mean(sim_ranks[:, i] == point_rank[i])),
                           "ci_missing": [c for c in COMPONENTS if r["component_se"][c] is None],
                           "ci_draws": n, "ci_seed": seed}
    return out


def weight_sensitivity(rows: list[dict], base: dict[str, float]) -> list[dict]:
    """The ranking under each alternative weighting, and which models change place vs `base`."""
    def ranking(w: dict[str, float]) -> list[str]:
        scored = [(-sum(w[c] * r["components"][c] for c in COMPONENTS), r["model"]) for r in rows]
        return [m for _, m in sorted(scored)]

    baseline = ranking(base)
    table = []
    for name, w in {"published": base, **SENSITIVITY_WEIGHTS}.items():
        order = ranking(w)
        moved = [m for m in order if order.index(m) != baseline.index(m)]
        table.append({"weights": name, **{f"w_{c}": w[c] for c in COMPONENTS}, "ranking": order, "flipped": moved})
    return table
