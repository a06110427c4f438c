"""The video leaderboard (reports/video/leaderboard.json) and its flat DVC metrics (reports/video/metrics.json).

One row per video model, from its own files only: quality per dimension (value, CI, n; FVD with its
reference n) from video-score, the composite (sentinel.video.composite, rubrics/video-composite.md),
cost per video and per video-second (sentinel.video.cost), p95 end-to-end latency with its CI from
video-latency, failures by cause, and the plumbing flag with its reasons. Rows are ranked by the
composite, highest first; a model without one is listed last with the reason, never ranked above a
scored model; ties go to the model name. Pure Python (plus composite's numpy/scipy): no torch.
"""
from __future__ import annotations

import json

from sentinel.video import composite as vcomposite

QUALITY = ("fvd", "clip_score", "subject_consistency", "temporal_flickering", "motion_smoothness", "dynamic_degree",
           "frozen", "looping")
LATENCY_KEYS = ("latency_p50_s", "latency_p50_ci95_s", "latency_p95_s", "latency_p95_ci95_s", "latency_p99_s",
                "latency_p99_ci95_s", "latency_mean_s", "cold_start_s", "n_requests", "n_failed", "failure_rate",
                "failures_by_cause", "goodput_fraction", "slo_s")
# reports/video/metrics.json: these scalars per model, in this order; a `<key>_ci` pair becomes
# `<key>_ci_low` / `<key>_ci_high`, a null or missing value is left out (DVC skips lists and nulls).
FLAT = ("composite", "composite_ci", "rank", *(k for q in QUALITY for k in (q, f"{q}_ci")), "n_jobs", "n_ok",
        "failure_rate", "cost_usd_per_video", "cost_usd_per_video_second", "latency_p95_s", "latency_p95_ci")


def quality(scores: dict) -> dict:
    """{dimension: {"value", "ci", "n", "ci_level", ...}} over the delivered clips, FVD included."""
    out = {}
    for name in QUALITY:
        entry = scores["fvd"] if name == "fvd" else scores["dimensions"].get(name)
        if entry is None:
            continue
        out[name] = {k: entry.get(k) for k in ("value", "ci", "n", "ci_level", "ci_method", "kind")}
        if name == "fvd":
            out[name].update(n_reference=entry.get("n_reference"), encoder=entry.get("encoder"),
                             **({"why": entry["why"]} if entry.get("why") else {}))
    return out


def latency_entry(doc: dict, model: str, where: str = "latency.json") -> dict:
    """The model's scalars from its latency.json ({"models": {model: ...}} or the model's block itself).
    A null percentile means +inf (misses are kept as +inf, sentinel.latency), not unknown."""
    if isinstance(doc.get("models"), dict):
        if model not in doc["models"]:
            raise ValueError(f"{where}: no entry for video model {model!r} under `models` "
                             f"(has: {', '.join(doc['models']) or 'none'})")
        doc = doc["models"][model]
    if "latency_p95_s" not in doc:
        raise ValueError(f"{where}: no latency_p95_s for video model {model!r}")
    return {k: doc[k] for k in LATENCY_KEYS if k in doc}


def row(model: str, scores: dict, cost: dict, latency: dict, level: float, draws: int = 1000) -> dict:
    if scores.get("model") != model:
        raise ValueError(f"the scores file given for {model!r} is {scores.get('model')!r}'s")
    comp = vcomposite.composite(scores, level, draws)
    q = quality(scores)
    r = {"model": model, "display_name": scores.get("display_name", model),
         "composite": comp["value"], "composite_ci": comp["ci"], "composite_version": comp["version"],
         "composite_detail": comp, "quality": q,
         **{name: e["value"] for name, e in q.items()}, **{f"{name}_ci": e["ci"] for name, e in q.items()},
         "n_jobs": scores["n_jobs"], "n_ok": scores["n_ok"], "n_failed": scores["n_failed"],
         "failure_rate": scores["failure_rate"], "failures_by_cause": scores["failures_by_cause"],
         "n_frozen": comp["n_frozen"], "cost": cost, "cost_usd_per_video": cost.get("cost_usd_per_video"),
         "cost_usd_per_video_second": cost.get("cost_usd_per_video_second"), "latency": latency,
         "latency_p95_s": latency.get("latency_p95_s"), "latency_p95_ci": latency.get("latency_p95_ci95_s"),
         "plumbing": bool(scores.get("plumbing")), "plumbing_reasons": scores.get("plumbing_reasons", [])}
    if comp.get("why"):
        r["why_no_composite"] = comp["why"]
    return r


def rank(rows: list[dict]) -> list[dict]:
    """Composite, highest first; models without a composite last (rank null); ties by model name."""
    scored = sorted((r for r in rows if r["composite"] is not None), key=lambda r: (-r["composite"], r["model"]))
    unscored = sorted((r for r in rows if r["composite"] is None), key=lambda r: r["model"])
    for i, r in enumerate(scored, 1):
        r["rank"] = i
    for r in unscored:
        r["rank"] = None
    return scored + unscored


def comparison(rows: list[dict]) -> dict:
    n_jobs, n_ok = {r["model"]: r["n_jobs"] for r in rows}, {r["model"]: r["n_ok"] for r in rows}
    equal = len(set(n_jobs.values())) <= 1 and len(set(n_ok.values())) <= 1
    return {"equal_n": equal, "n_jobs": n_jobs, "n_delivered": n_ok,
            "note": "every model delivered the same number of clips of the same number of jobs" if equal else
            "models differ in jobs or delivered clips: failures are priced into the composite, but FVD is "
            "biased upward at small n; compare FVD at equal n"}


def _number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def flat_metrics(board: dict) -> dict[str, dict[str, float]]:
    out = {}
    for r in board["models"]:
        flat = {}
        for key in FLAT:
            v = r.get(key)
            if key.endswith("_ci"):
                if isinstance(v, list | tuple) and len(v) == 2:
                    base = key[:-len("_ci")]
                    flat.update({f"{base}_ci_low": v[0], f"{base}_ci_high": v[1]})
            elif _number(v):
                flat[key] = v
        out[r["model"]] = {k: v for k, v in flat.items() if _number(v)}
    return out


def metrics_json(flat: dict) -> str:
    """Canonical bytes in FLAT order (not sorted), so the columns read composite first."""
    return json.dumps(flat, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
