"""One leaderboard entry per model, from the score, cost and latency outputs.

Anything a stage did not measure becomes `null` with a reason under `not_measured`, never a guess.
Composite anchors are fixed (rubrics/composite.md), so adding a model never moves another's score.
"""
from __future__ import annotations

from . import composite, ranking
from .config import ModelConfig, ReportConfig

LATENCY_KEYS = ("latency_p50_s", "latency_p95_s", "latency_p99_s", "cold_start_s")
ANCHORS = {"fid": ("fid_best", "fid_worst"), "clip": ("clip_best", "clip_worst"), "human": ("human_best", "human_worst")}


def _ci(block: dict, key: str) -> list[float] | None:
    """A metric's 95 % CI from the score stage, under `<key>_ci95` or `ci95.<key>`."""
    ci = block.get(f"{key}_ci95")
    if ci is None and isinstance(block.get("ci95"), dict):
        ci = block["ci95"].get(key)
    return list(ci) if ci is not None else None


def _quality(score: dict, rcfg: ReportConfig, missing: dict) -> dict:
    o, h = score["overall"], score["human"]
    parts = composite.components(o["fid"], o["clip_score"], h["likert_mean"], rcfg.normalisation)
    n = rcfg.normalisation
    cis = {"fid": _ci(o, "fid"), "clip": _ci(o, "clip_score"), "human": h.get("likert_ci95") or _ci(h, "likert")}
    for comp, ci in cis.items():
        if ci is None:
            missing[f"{comp}_ci95"] = "the score stage reported no confidence interval for this metric"
    se = {c: ranking.component_se(cis[c], *(getattr(n, a) for a in ANCHORS[c])) for c in composite.COMPONENTS}
    human_ci = sorted(composite.normalise(x, n.human_best, n.human_worst) for x in cis["human"]) if cis["human"] else None
    return {"composite": composite.composite(parts, rcfg), "components": parts, "component_se": se,
            "fid": o["fid"], "fid_ci95": cis["fid"], "kid": o["kid_mean"], "kid_std": o["kid_std"],
            "kid_ci95": _ci(o, "kid"), "clip_score": o["clip_score"], "clip_score_ci95": cis["clip"],
            "cmmd": o.get("cmmd"), "human": parts["human"], "human_ci95": human_ci,
            "human_likert_mean": h["likert_mean"], "human_simulated": h.get("simulated", False),
            "human_n_raters": h.get("n_raters"), "human_krippendorff_alpha": h.get("krippendorff_alpha"),
            "n_generated": o["n_generated"], "n_reference": o["n_reference"],
            "n_failed": score.get("n_failed", 0),
            "categories": {c: {"fid": v["fid"], "fid_ci95": _ci(v, "fid"), "kid": v["kid_mean"],
                               "clip_score": v["clip_score"], "clip_score_ci95": _ci(v, "clip_score"),
                               "n_generated": v["n_generated"], "n_reference": v.get("n_reference")}
                           for c, v in score["categories"].items()}}


def _cost(cost: dict | None, missing: dict) -> dict:
    if cost is None:
        missing["cost_usd_per_image"] = "the cost stage has no entry for this model"
        return {"cost_usd_per_image": None, "cost_breakdown": None}
    keys = ("compute_usd_per_image", "orchestration_usd_per_image", "platform_fee_usd_per_image")
    return {"cost_usd_per_image": cost["cost_usd_per_image"], "cost_usd_per_1000_images": cost["cost_usd_per_1000_images"],
            "cost_breakdown": {k: cost[k] for k in keys}, "cost_billing": cost.get("billing"),
            "cost_sensitivity": cost.get("sensitivity", []), "cost_priced_as_measured": cost.get("priced_as_measured")}


def _latency(lat: dict | None, missing: dict) -> dict:
    if lat is None:
        for k in LATENCY_KEYS:
            missing[k] = "the latency stage has no entry for this model"
        return {k: None for k in LATENCY_KEYS}
    out = {k: lat.get(k) for k in LATENCY_KEYS}
    for k, v in out.items():
        if v is None:
            missing[k] = "a miss (error or timeout) landed on this percentile, or it was not measured"
    n, failed = lat.get("n_requests", 0), lat.get("n_failed", 0)
    return {**out, "latency_n_requests": n, "latency_n_failed": failed,
            "latency_failure_rate": failed / n if n else None,
            "latency_p95_claimable": lat.get("p95_claimable"), "latency_p99_claimable": lat.get("p99_claimable"),
            **{k: lat[k] for k in ("slo_s", "goodput_rps", "max_rate_meeting_slo_rps") if k in lat}}


def entry(name: str, mcfg: ModelConfig, score: dict, cost: dict | None, lat: dict | None, rcfg: ReportConfig) -> dict:
    missing: dict[str, str] = {}
    row = {"model": name, "display_name": mcfg.display_name, "plumbing": score.get("plumbing", mcfg.plumbing),
           "source": mcfg.source, "pipeline": mcfg.pipeline, "licence": mcfg.licence,
           **_quality(score, rcfg, missing), **_cost(cost, missing), **_latency(lat, missing)}
    n_jobs = row["n_generated"] + row["n_failed"]
    row["failure_rate"] = row["n_failed"] / n_jobs if n_jobs else None
    row["not_measured"] = missing
    return row


def rank(rows: list[dict], rcfg: ReportConfig, seed: int = 0) -> list[dict]:
    """Sort by composite, attach CIs and P(holds rank)."""
    rows = sorted(rows, key=lambda r: (-r["composite"], r["model"]))
    unc = ranking.uncertainty(rows, rcfg, seed=seed)
    for r in rows:
        r.update(unc[r["model"]])
    return rows
