"""Human evaluation: the configured rubric (score.human.rubric), simulated raters, statistics, the rating app.

- rubric.py    the rubric version in force, checked against rubrics/<name>.md
- simulate.py  labelled simulated raters (smoke suite, statistics tests)
- stats.py     Bradley–Terry with ties (Davidson), MOS, Krippendorff's alpha, bootstrap CIs
- summary.py   ratings rows -> the `human` block of outputs/score/metrics.json
- app/         the blind rating web app (`python -m sentinel.human.app --help`)
"""
from __future__ import annotations

from pathlib import Path

from sentinel import ratings_export as export_rows
from sentinel.human import rubric
from sentinel.human.simulate import simulate
from sentinel.human.summary import load, summarise, summarise_all

__all__ = ["simulate", "load", "ratings", "summarise", "summarise_all"]


def ratings(cfg, records: list[dict], images_dir: Path) -> list[dict]:
    """score.human.source: `simulated` -> the smoke suite's simulated raters; else a ratings export path.
    Either way the rows are under the configured rubric (score.human.rubric), or this refuses them."""
    if not 0.0 <= getattr(cfg, "gold_min_accuracy", 0.0) <= 1.0:
        raise ValueError(f"score.human.gold_min_accuracy: must be in [0, 1], got {cfg.gold_min_accuracy}")
    name = rubric.check(cfg.rubric)
    if cfg.source == "simulated":
        return simulate(records, images_dir, cfg.raters, cfg.seed, name)
    rows = load(cfg.source)
    rubric.check_rows(rows, name, str(cfg.source))
    bad = export_rows.unknown_images(rows, records, str(cfg.source))  # ratings of images not in this run
    if bad:
        raise ValueError(bad)
    return rows
