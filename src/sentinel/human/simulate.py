"""Simulated raters: labelled stand-ins that feed the smoke suite and test the statistics.

Every row they produce carries `"simulated": true`; every summary built from them says so.

Two simulators:

1. `simulate_votes(true_strength, ...)` — a *known-truth* pairwise simulator. Each comparison of
   models i and j is answered from the Davidson Bradley–Terry model (see stats.py) with log-strengths
   `true_strength` and tie parameter `tie_nu`. Rater noise: rater r has a lapse rate eps_r (drawn
   uniformly from [0, lapse_max]); with probability eps_r the rater ignores the images and answers
   a, b or tie uniformly at random. `careless` raters have eps = 1. Every rater also answers
   `gold_per_rater` gold items (one answer is correct), and answers them correctly unless they
   lapse (then with chance 1/3). Gold-failing raters are what `exclude_gold_failures` removes.

2. `simulate(records, images_dir, raters, seed)` — the smoke suite's rater for generated images.
   It knows nothing about prompts or quality; it only exercises the code path that real ratings
   from the rating app take. Per image, a crude "has visible structure" signal

       q       = min(1, std(luminance) / 64)               in [0, 1]
       likert  = clip(round(1 + 4*q + N(0, 0.5)), 1, 5)     (dimension "overall", labelled with the
                                                             configured rubric, score.human.rubric)

   and, for every pair of models that rendered the same job, a Davidson vote with strengths 4*q
   and tie parameter 0.5. Each rater answers 4 gold items correctly (no lapses). Noise comes from
   numpy's PCG64 seeded by (seed, rater index, image sha256 / job).
"""
from __future__ import annotations

import itertools
import zlib
from pathlib import Path

import numpy as np

from sentinel.images import decode_rgb

LIKERT_MIN, LIKERT_MAX = 1, 5
SMOKE_TIE_NU = 0.5
SMOKE_GOLD_PER_RATER = 4


def davidson_outcome(theta_a: float, theta_b: float, tie_nu: float, u: float) -> str:
    """Outcome of one comparison under the Davidson model, given a uniform draw u in [0, 1)."""
    pa, pb = np.exp(theta_a), np.exp(theta_b)
    pt = tie_nu * np.sqrt(pa * pb)
    d = pa + pb + pt
    return "a" if u < pa / d else ("b" if u < (pa + pb) / d else "tie")


def simulate_votes(true_strength: dict[str, float], n_votes: int, n_raters: int, seed: int, *,
                   tie_nu: float = 0.5, lapse_max: float = 0.1, careless: int = 0,
                   gold_per_rater: int = 10, category: str = "all") -> list[dict]:
    """`n_votes` pairwise rows (uniformly random pairs, round-robin raters) plus gold rows."""
    if n_raters < 1 or careless > n_raters:
        raise ValueError(f"simulate_votes: need 1 <= n_raters and careless <= n_raters, got {n_raters}, {careless}")
    models = sorted(true_strength)
    rng = np.random.default_rng(seed)
    lapse = np.concatenate([np.ones(careless), rng.uniform(0.0, lapse_max, n_raters - careless)])
    rows = []
    for v in range(n_votes):
        r = v % n_raters
        a, b = rng.choice(len(models), size=2, replace=False)
        if rng.random() < lapse[r]:
            outcome = ("a", "b", "tie")[rng.integers(3)]
        else:
            outcome = davidson_outcome(true_strength[models[a]], true_strength[models[b]], tie_nu, rng.random())
        rows.append({"kind": "pairwise", "rater": f"simulated-{r}", "category": category, "job_id": f"sim-{v}",
                     "model_a": models[a], "model_b": models[b], "outcome": outcome, "simulated": True})
    for r in range(n_raters):
        for g in range(gold_per_rater):
            correct = bool(rng.random() >= lapse[r] or rng.integers(3) == 0)
            rows.append({"kind": "gold", "rater": f"simulated-{r}", "category": category, "job_id": f"gold-{g}",
                         "correct": correct, "simulated": True})
    return rows


def _luma_std(path: Path) -> float:
    rgb = decode_rgb(path).astype(np.float64)
    return float((rgb @ np.array([0.299, 0.587, 0.114])).std())


def _likert_rows(records: list[dict], quality: dict[str, float], raters: int, seed: int, rubric: str) -> list[dict]:
    rows = []
    for rec in records:
        q = quality[rec["sha256"]]
        for r in range(raters):
            rng = np.random.default_rng([seed, r, int(rec["sha256"][:16], 16)])
            likert = int(np.clip(round(1 + 4 * q + rng.normal(0.0, 0.5)), LIKERT_MIN, LIKERT_MAX))
            rows.append({"kind": "likert", "rater": f"simulated-{r}", "model": rec["model"], "job_id": rec["job_id"],
                         "category": rec["category"], "image_sha256": rec["sha256"], "rubric": rubric,
                         "dimension": "overall", "likert": likert, "simulated": True})
    return rows


def _pairwise_rows(records: list[dict], quality: dict[str, float], raters: int, seed: int) -> list[dict]:
    by_job: dict[str, list[dict]] = {}
    for rec in records:
        by_job.setdefault(rec["job_id"], []).append(rec)
    rows = []
    for job_id, recs in sorted(by_job.items()):
        for x, y in itertools.combinations(sorted(recs, key=lambda r: r["model"]), 2):
            for r in range(raters):
                rng = np.random.default_rng([seed, r, zlib.crc32(job_id.encode()), 1])
                outcome = davidson_outcome(4 * quality[x["sha256"]], 4 * quality[y["sha256"]], SMOKE_TIE_NU,
                                           rng.random())
                rows.append({"kind": "pairwise", "rater": f"simulated-{r}", "category": x["category"],
                             "job_id": job_id, "model_a": x["model"], "model_b": y["model"], "outcome": outcome,
                             "simulated": True})
    return rows


def simulate(records: list[dict], images_dir: Path, raters: int, seed: int, rubric: str) -> list[dict]:
    """Likert, pairwise and gold rows from the smoke suite's simulated raters described above."""
    if raters < 1:
        raise ValueError(f"score.human.raters: must be >= 1, got {raters}")
    quality = {rec["sha256"]: min(1.0, _luma_std(images_dir / rec["image"]) / 64.0) for rec in records}
    gold = [{"kind": "gold", "rater": f"simulated-{r}", "category": "gold", "job_id": f"gold-{g}", "correct": True,
             "simulated": True} for r in range(raters) for g in range(SMOKE_GOLD_PER_RATER)]
    return _likert_rows(records, quality, raters, seed, rubric) + _pairwise_rows(records, quality, raters, seed) + gold
