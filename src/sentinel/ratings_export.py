"""Strict checks of a ratings export's rows, by type, so a bad export is refused when params load.

A JSON string "false" is truthy in Python: read loosely, `"correct": "false"` passed a rater's gold
item and `"likert": true` counted as a 1. Every field therefore has one JSON type here (bool is not
an int), and ratings may only name models of the run (and, given the workload, its job ids). Pure
Python, no numpy: sentinel.validate runs it while loading params, before any stage does work.
"""
from __future__ import annotations

import json
from pathlib import Path

OUTCOMES = ("a", "b", "tie")  # sentinel.human.stats.OUTCOMES
FIELDS: dict[str, dict[str, type]] = {
    "likert": {"rater": str, "model": str, "job_id": str, "category": str, "image_sha256": str,
               "dimension": str, "likert": int},
    "pairwise": {"rater": str, "category": str, "job_id": str, "model_a": str, "model_b": str, "outcome": str},
    "gold": {"rater": str, "correct": bool},
}
OPTIONAL: dict[str, type] = {"simulated": bool, "rubric": str}


def _typed(value, tp: type) -> bool:
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp)


def _type_name(tp: type) -> str:
    return {str: "a string", int: "an integer", bool: "true or false"}[tp]


def row_problem(row, models: tuple[str, ...] = (), job_ids: frozenset[str] = frozenset()) -> str | None:
    """What is wrong with one row (`<key>: <what>`), or None."""
    if not isinstance(row, dict):
        return f"expected a JSON object, got {type(row).__name__}"
    kind = row.get("kind")
    if kind not in FIELDS:
        return f"kind {kind!r}: expected one of {sorted(FIELDS)}"
    missing = [k for k in FIELDS[kind] if k not in row]
    if missing:
        return f"{kind} row lacks {missing}"
    for key, tp in {**FIELDS[kind], **OPTIONAL}.items():
        if key in row and not _typed(row[key], tp):
            return f"{key}: expected {_type_name(tp)}, got {json.dumps(row[key])}"
    if kind == "likert" and not 1 <= row["likert"] <= 5:
        return f"likert {row['likert']!r}: expected an integer 1-5"
    if kind == "pairwise" and row["outcome"] not in OUTCOMES:
        return f"outcome {row['outcome']!r}: expected one of {OUTCOMES}"
    for key in ("model", "model_a", "model_b"):
        if models and key in row and row[key] not in models:
            return f"{key}: {row[key]!r} is not a model of this run (models: {', '.join(models)})"
    if job_ids and kind != "gold" and row["job_id"] not in job_ids:
        return f"job_id: {row['job_id']!r} is not a job of the workload"
    return None


def problems(path: str | Path, models: tuple[str, ...] = (), job_ids: frozenset[str] = frozenset(),
             limit: int = 5) -> list[str]:
    """`<file>:<line>: <what>` for the first `limit` bad lines of a ratings export."""
    out = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                why = row_problem(json.loads(line), models, job_ids)
            except json.JSONDecodeError as e:
                why = f"not valid JSON ({e.msg})"
            if why:
                out.append(f"{path}:{lineno}: {why}")
                if len(out) >= limit:
                    break
    return out


def unknown_images(rows: list[dict], records: list[dict], where: str) -> str | None:
    """The first rating of an image this run did not deliver (`<file>:<row>: ...`), or None: a Likert
    row must name a delivered (model, job) and that image's sha256, a vote two delivered images."""
    delivered = {(r["model"], r["job_id"]): r.get("sha256") for r in records}
    for i, row in enumerate(rows, 1):
        if row.get("kind") == "likert":
            key = (row["model"], row["job_id"])
            if key not in delivered:
                return f"{where}:{i}: model {key[0]!r}, job_id {key[1]!r}: no delivered image of this run"
            if delivered[key] and row["image_sha256"] != delivered[key]:
                return (f"{where}:{i}: image_sha256: {row['image_sha256'][:12]}... is not the delivered image "
                        f"of {key[0]}/{key[1]} ({delivered[key][:12]}...)")
        elif row.get("kind") == "pairwise":
            for m in (row["model_a"], row["model_b"]):
                if (m, row["job_id"]) not in delivered:
                    return f"{where}:{i}: model {m!r}, job_id {row['job_id']!r}: no delivered image of this run"
    return None
