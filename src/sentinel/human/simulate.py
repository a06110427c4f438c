"""Human-evaluation component: ratings per rubric, and the simulated rater of the smoke suite.

The smoke suite has no people. Its ratings come from a *simulated rater*, labelled as such in every
row (`"simulated": true`) and in the report. The simulated rater is a documented, deterministic
stand-in so the plumbing runs end to end:

    q       = min(1, std(luminance) / 64)          # a crude "has visible structure" signal in [0, 1]
    likert  = clip(round(1 + 4*q + N(0, 0.5)), 1, 5)

with the noise drawn from numpy's PCG64 seeded by (score.human.seed, rater index, image sha256).
It knows nothing about prompts or quality; it only exercises the code path that real ratings from
the rating app will take. The rubric it nominally answers is rubrics/human-v1.md, dimension
"overall" on the 1-5 scale.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .images import decode_rgb

RUBRIC = "human-v1"
LIKERT_MIN, LIKERT_MAX = 1, 5


def _luma_std(path: Path) -> float:
    rgb = decode_rgb(path).astype(np.float64)
    return float((rgb @ np.array([0.299, 0.587, 0.114])).std())


def simulate(records: list[dict], images_dir: Path, raters: int, seed: int) -> list[dict]:
    """One Likert rating per (rater, image) from the simulated rater described above."""
    if raters < 1:
        raise ValueError(f"score.human.raters: must be >= 1, got {raters}")
    rows = []
    for rec in records:
        q = min(1.0, _luma_std(images_dir / rec["image"]) / 64.0)
        for r in range(raters):
            rng = np.random.default_rng([seed, r, int(rec["sha256"][:16], 16)])
            likert = int(np.clip(round(1 + 4 * q + rng.normal(0.0, 0.5)), LIKERT_MIN, LIKERT_MAX))
            rows.append({"rater": f"simulated-{r}", "model": rec["model"], "job_id": rec["job_id"],
                         "category": rec["category"], "image_sha256": rec["sha256"], "rubric": RUBRIC,
                         "dimension": "overall", "likert": likert, "simulated": True})
    return rows


def summarise(ratings: list[dict], seed: int, n_boot: int = 1000) -> dict:
    """Mean Likert with a seeded percentile-bootstrap 95 % CI over images (raters averaged per image)."""
    per_image: dict[str, list[int]] = {}
    for row in ratings:
        per_image.setdefault(row["image_sha256"] + row["job_id"], []).append(row["likert"])
    means = np.array([np.mean(v) for _, v in sorted(per_image.items())], dtype=np.float64)
    if means.size == 0:
        raise ValueError("no ratings to summarise")
    rng = np.random.default_rng(seed)
    boot = means[rng.integers(0, means.size, size=(n_boot, means.size))].mean(axis=1)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return {"likert_mean": float(means.mean()), "likert_ci95": [float(lo), float(hi)],
            "n_images": int(means.size), "n_ratings": len(ratings),
            "simulated": all(r.get("simulated", False) for r in ratings), "rubric": RUBRIC}
