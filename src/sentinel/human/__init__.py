"""Human evaluation: rubric `human-v2`, simulated raters, statistics and the blind rating app.

- simulate.py  labelled simulated raters (smoke suite, statistics tests)
- stats.py     Bradley–Terry with ties (Davidson), MOS, Krippendorff's alpha, bootstrap CIs
- summary.py   ratings rows -> the `human` block of outputs/score/metrics.json
- app/         the blind rating web app (`python -m sentinel.human.app --help`)
"""
from __future__ import annotations

from pathlib import Path

from sentinel.human.simulate import RUBRIC, simulate
from sentinel.human.summary import load, summarise, summarise_all

__all__ = ["RUBRIC", "simulate", "load", "ratings", "summarise", "summarise_all"]


def ratings(cfg, records: list[dict], images_dir: Path) -> list[dict]:
    """score.human.source: `simulated` -> the smoke suite's simulated raters; else a ratings export path."""
    if not 0.0 <= getattr(cfg, "gold_min_accuracy", 0.0) <= 1.0:
        raise ValueError(f"score.human.gold_min_accuracy: must be in [0, 1], got {cfg.gold_min_accuracy}")
    if cfg.source == "simulated":
        return simulate(records, images_dir, cfg.raters, cfg.seed)
    return load(cfg.source)
