"""The human component of `score`: ratings rows -> one summary block per model.

Rows (JSONL, from the simulator or `python -m sentinel.human.app export`) have a `kind`:
  likert    rater, model, job_id, category, image_sha256, dimension, likert (1-5), rubric, simulated
  pairwise  rater, category, job_id, model_a, model_b, outcome (a | b | tie), rubric, simulated
  gold      rater, category, job_id, correct (bool), simulated    (gold and attention-check items)
Raters whose gold accuracy is below `gold_min_accuracy` are excluded from everything, and counted.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from sentinel.provenance import read_jsonl
from sentinel import ratings_export as export_rows
from sentinel.human import stats

REQUIRED = {"likert": ("rater", "model", "job_id", "category", "image_sha256", "dimension", "likert"),
            "pairwise": ("rater", "category", "job_id", "model_a", "model_b", "outcome"),
            "gold": ("rater", "correct")}


def validate(rows: list[dict], where: str, models: tuple[str, ...] = (),
             job_ids: frozenset[str] = frozenset()) -> list[dict]:
    """Refuse rows that are not ratings, strictly by type (sentinel/ratings_export.py); names file and line."""
    for i, row in enumerate(rows, 1):
        why = export_rows.row_problem(row, models, job_ids)
        if why:
            raise ValueError(f"{where}:{i}: {why}")
    return rows


def load(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"score.human.source: ratings file {path} not found (export one with "
                                "`python -m sentinel.human.app export --db ... --out {path}`)")
    return validate(read_jsonl(path), str(path))


def excluded_raters(rows: list[dict], gold_min_accuracy: float) -> set[str]:
    """Raters whose share of correct gold/attention answers is below the threshold (or who saw none)."""
    seen, correct = {}, {}
    for row in rows:
        seen.setdefault(row["rater"], 0)
        if row["kind"] == "gold":
            seen[row["rater"]] += 1
            correct[row["rater"]] = correct.get(row["rater"], 0) + bool(row["correct"])
    return {r for r, n in seen.items() if n == 0 or correct.get(r, 0) / n < gold_min_accuracy}


def _alpha(likert: list[dict]) -> float | None:
    raters = sorted({r["rater"] for r in likert})
    items = sorted({(r["image_sha256"], r["job_id"], r["model"]) for r in likert})
    if len(raters) < 2 or not items:
        return None
    ri, ii = {r: i for i, r in enumerate(raters)}, {u: i for i, u in enumerate(items)}
    data = np.full((len(raters), len(items)), np.nan)
    for r in likert:
        data[ri[r["rater"]], ii[(r["image_sha256"], r["job_id"], r["model"])]] = r["likert"]
    try:
        return round(stats.krippendorff_alpha(data, "interval"), 6)
    except ValueError:  # no pairable units or a single distinct value: alpha undefined
        return None


def _alpha_pairwise(pairwise: list[dict]) -> float | None:
    """Ordinal alpha on votes coded +1 (first model by name wins), 0 (tie), -1, per (job, model pair)."""
    def coded(r: dict) -> tuple[tuple, float]:
        x, y = sorted((r["model_a"], r["model_b"]))
        sign = 1.0 if r["model_a"] == x else -1.0
        return (r["job_id"], x, y), {"a": sign, "b": -sign, "tie": 0.0}[r["outcome"]]
    votes = [(r["rater"], *coded(r)) for r in pairwise]
    raters, units = sorted({v[0] for v in votes}), sorted({v[1] for v in votes})
    if len(raters) < 2:
        return None
    ri, ui = {r: i for i, r in enumerate(raters)}, {u: i for i, u in enumerate(units)}
    data = np.full((len(raters), len(units)), np.nan)
    for rater, unit, value in votes:
        data[ri[rater], ui[unit]] = value
    try:
        return round(stats.krippendorff_alpha(data, "ordinal"), 6)
    except ValueError:
        return None


def _block(rows: list[dict], models: list[str], seed: int, n_boot: int, level: float) -> dict:
    """MOS per model, BT per model and alpha, for one slice (overall or a category)."""
    likert = [r for r in rows if r["kind"] == "likert" and r["dimension"] == "overall"]
    votes = [(models.index(r["model_a"]), models.index(r["model_b"]), r["outcome"])
             for r in rows if r["kind"] == "pairwise"]
    bt = stats.bradley_terry(votes, len(models), seed, n_boot, level) if votes and len(models) > 1 else None
    out = {"krippendorff_alpha": _alpha(likert),
           "krippendorff_alpha_pairwise": _alpha_pairwise([r for r in rows if r["kind"] == "pairwise"]),
           "models": {}}
    for i, m in enumerate(models):
        per_item: dict[tuple, list[int]] = {}
        for r in likert:
            if r["model"] == m:
                per_item.setdefault((r["image_sha256"], r["job_id"]), []).append(r["likert"])
        block = {"n_ratings": sum(map(len, per_item.values()))}
        if per_item:
            mos = stats.mos([v for _, v in sorted(per_item.items())], seed, n_boot, level)
            block.update(likert_mean=round(mos["mean"], 6), likert_ci=[round(x, 6) for x in mos["ci"]],
                         n_images=mos["n_items"])
        if bt is not None:
            block.update(bt_strength=round(float(bt["strength"][i]), 6),
                         bt_ci=[round(float(x), 6) for x in bt["ci"][i]],
                         bt_n_votes=sum(1 for a, b, _ in votes if i in (a, b)), bt_tie_nu=round(bt["tie_nu"], 6))
        out["models"][m] = block
    return out


@lru_cache(maxsize=4)
def _summarise_cached(rows_json: str, seed: int, n_boot: int, gold_min_accuracy: float, level: float) -> dict:
    rows = json.loads(rows_json)
    excluded = excluded_raters(rows, gold_min_accuracy)
    kept = [r for r in rows if r["rater"] not in excluded]
    if not kept:
        raise ValueError(f"all {len(excluded)} raters fall below gold_min_accuracy={gold_min_accuracy} on gold and "
                         "attention-check items; no ratings left to summarise")
    models = sorted({r["model"] for r in kept if r["kind"] == "likert"}
                    | {r[k] for r in kept if r["kind"] == "pairwise" for k in ("model_a", "model_b")})
    categories = sorted({r["category"] for r in kept if r["kind"] != "gold"})
    return {"overall": _block(kept, models, seed, n_boot, level),
            "categories": {c: _block([r for r in kept if r.get("category") == c], models, seed, n_boot, level)
                           for c in categories},
            "n_raters": len({r["rater"] for r in kept}), "n_excluded_raters": len(excluded),
            "simulated": bool(rows) and all(r.get("simulated", False) for r in rows)}


def summarise_all(rows: list[dict], seed: int, n_boot: int = 1000, gold_min_accuracy: float = 0.8,
                  level: float = 0.95) -> dict:
    if not rows:
        raise ValueError("no ratings to summarise")
    key = json.dumps(rows, sort_keys=True)
    return _summarise_cached(key, seed, n_boot, gold_min_accuracy, level)


def rubric_of(rows: list[dict]) -> str | None:
    """The one rubric the ratings were collected under (None for rows that predate per-row rubrics)."""
    found = sorted({r["rubric"] for r in rows if r.get("rubric") is not None})
    if len(found) > 1:
        raise ValueError(f"ratings mix rubrics {found}: summarise one rubric version at a time")
    return found[0] if found else None


def summarise(rows: list[dict], model: str, seed: int, n_boot: int = 1000, gold_min_accuracy: float = 0.8,
              level: float = 0.95) -> dict:
    """The `human` block of one model in outputs/score/metrics.json; intervals at `level` (score.ci_level)."""
    s = summarise_all(rows, seed, n_boot, gold_min_accuracy, level)
    if model not in s["overall"]["models"]:
        raise ValueError(f"no ratings for model {model!r} (rated: {sorted(s['overall']['models'])})")
    block = dict(s["overall"]["models"][model])
    block["categories"] = {c: {**v["models"][model], "krippendorff_alpha": v["krippendorff_alpha"],
                               "krippendorff_alpha_pairwise": v["krippendorff_alpha_pairwise"]}
                           for c, v in s["categories"].items() if model in v["models"]}
    block.update(krippendorff_alpha=s["overall"]["krippendorff_alpha"], krippendorff_level="interval",
                 krippendorff_scope="likert overall, all models",
                 krippendorff_alpha_pairwise=s["overall"]["krippendorff_alpha_pairwise"],
                 krippendorff_pairwise_level="ordinal (+1 / tie 0 / -1)", n_raters=s["n_raters"],
                 n_excluded_raters=s["n_excluded_raters"], gold_min_accuracy=gold_min_accuracy,
                 bt_tie_model="davidson", simulated=s["simulated"], rubric=rubric_of(rows), ci_level=level,
                 ratings_sha256=hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest())
    return block
