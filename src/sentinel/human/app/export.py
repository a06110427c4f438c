"""Rating-app database -> ratings JSONL that `score` reads (score.human.source: <that path>).

Rows follow src/sentinel/human/summary.py: pairwise and likert rows for real comparisons, gold
rows (with `check: gold | attention`) for the quality-control items. Every row carries the rubric
its vote was cast under (ratings.rubric). Order: by rating id.
"""
from __future__ import annotations

import sqlalchemy as sa

from sentinel.human.app import db


def rows(eng: sa.Engine) -> list[dict]:
    a, b = db.ITEMS.alias("a"), db.ITEMS.alias("b")
    query = (sa.select(db.RATINGS, db.TASKS.c.kind, db.TASKS.c.category, db.TASKS.c.job_id, db.TASKS.c.expected,
                       a.c.model.label("model_a"), b.c.model.label("model_b"),
                       a.c.sha256.label("sha_a"), b.c.sha256.label("sha_b"))
             .join(db.TASKS, db.TASKS.c.id == db.RATINGS.c.task_id)
             .join(a, a.c.id == db.TASKS.c.item_a).join(b, b.c.id == db.TASKS.c.item_b)
             .order_by(db.RATINGS.c.id))
    out = []
    with eng.connect() as conn:
        for r in conn.execute(query):
            base = {"rater": r.rater_id, "category": r.category, "job_id": r.job_id, "rubric": r.rubric,
                    "simulated": False}
            if r.kind != "compare":
                out.append({"kind": "gold", **base, "check": r.kind, "correct": r.outcome == r.expected})
                continue
            out.append({"kind": "pairwise", **base, "model_a": r.model_a, "model_b": r.model_b,
                        "outcome": r.outcome})
            for model, sha, likert in ((r.model_a, r.sha_a, r.likert_a), (r.model_b, r.sha_b, r.likert_b)):
                for dim, value in sorted(likert.items()):
                    out.append({"kind": "likert", **base, "model": model, "image_sha256": sha,
                                "dimension": dim, "likert": value})
    return out
