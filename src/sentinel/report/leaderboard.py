"""One leaderboard entry per model, from the score, cost and latency outputs.

Anything a stage did not measure becomes `null` with a reason under `not_measured`, never a guess.
Composite anchors are fixed (rubrics/composite.md), so adding a model never moves another's score.
Every registered metric (metrics/registry.py) gets `<column>` and `<column>_ci`; intervals are at the
score stage's `ci_level`, recorded beside them.
"""
from __future__ import annotations

from sentinel.config import ModelConfig, ReportConfig
from sentinel.metrics.registry import REGISTRY
from sentinel.report import composite, uncertainty

LATENCY_KEYS = ("latency_p50_s", "latency_p95_s", "latency_p99_s", "cold_start_s")
LATENCY_EXTRA = ("latency_p90_s", "latency_max_s", "process_start_s", "weight_load_s", "first_inference_s",
                 "slo_s", "goodput_fraction", "goodput_rps", "max_rate_meeting_slo_rps", "cold_start_rate",
                 "blended_latency_p95_s", "blended_latency_p99_s", "warm_capacity_rps", "p95_min_requests",
                 "p99_min_requests", "capacity_display", "capacity_bracket_rps", "n_cold", "n_success",
                 "latency_p50_ci95_s", "latency_p95_ci95_s", "latency_p99_ci95_s", "success_latency_p50_s",
                 "success_latency_p95_s", "success_latency_p99_s", "success_latency_p95_ci95_s",
                 "latency_p95_warm_only_s", "cold_start_source", "compliance", "client_bound",
                 "schedule_lag_p99_s", "client_lag_bound_s")
LEGACY_CI_LEVEL = 0.95  # score outputs written before intervals recorded their level were all at 95 %
ANCHORS = {"fid": ("fid_best", "fid_worst"), "clip": ("clip_best", "clip_worst"), "human": ("human_best", "human_worst")}


def _ci(block: dict, key: str) -> list[float] | None:
    """A metric's CI from the score stage: `ci.<key>` = {low, high, n...}, or a `<key>_ci` pair
    (`<key>_ci95` in score files written before the level was carried)."""
    ci = (block.get("ci") or {}).get(key)
    if isinstance(ci, dict):
        return None if ci.get("low") is None else [ci["low"], ci["high"]]
    ci = block.get(f"{key}_ci", block.get(f"{key}_ci95"))
    return list(ci) if ci is not None else None


LEGACY_NAMES = {"kid": "kid_full", "kid_subsets_mean": "kid_mean", "kid_subsets_std": "kid_std"}  # before 2026-12


def _get(block: dict, name: str):
    """`block[name]`, or its pre-2026-12 name in score files written before KID was renamed."""
    return block.get(name, block.get(LEGACY_NAMES.get(name, name)))


def _metrics(block: dict) -> dict:
    """`<column>` and `<column>_ci` for every registered metric (metrics/registry.py)."""
    out = {}
    for m in REGISTRY.values():
        name = m.name if m.name in block or m.name not in LEGACY_NAMES else LEGACY_NAMES[m.name]
        out[m.column], out[f"{m.column}_ci"] = block.get(name), _ci(block, name)
    return out


def _human(h: dict, likert, human_ci) -> dict:
    return {"human_ci": human_ci, "human_likert_mean": likert, "human_simulated": h.get("simulated", False),
            "human_n_raters": h.get("n_raters"), "human_n_excluded_raters": h.get("n_excluded_raters"),
            "human_krippendorff_alpha": h.get("krippendorff_alpha"),
            "human_krippendorff_alpha_pairwise": h.get("krippendorff_alpha_pairwise"),
            "human_bt_strength": h.get("bt_strength"), "human_bt_ci": h.get("bt_ci", h.get("bt_ci95")),
            "human_bt_n_votes": h.get("bt_n_votes"), "human_bt_tie_nu": h.get("bt_tie_nu"),
            "human_rubric": h.get("rubric"), "human_ci_level": h.get("ci_level")}


def _human_se(hp: dict, h: dict, n, level: float) -> float | None:
    """Likert: from the raw MOS CI on its anchors (composite-v1 arithmetic, unchanged); pairwise: from
    the 0-100 CI of the win probability."""
    if hp["source"] == "likert":
        return uncertainty.component_se(_ci(h, "likert"), n.human_best, n.human_worst, level=level)
    return uncertainty.component_se(hp["ci"], 100.0, 0.0, level=level)


def _delivered(score: dict) -> tuple[int, int]:
    """(n_ok, n_jobs) of the model's own jobs: the score stage's n_generated and n_failed."""
    n_failed = score.get("n_failed", 0)
    if "n_jobs" in score:  # written by the score stage from the generate records
        return score["n_jobs"] - n_failed, score["n_jobs"]
    n_ok = (score["overall"] or {}).get("n_generated") or 0  # score files from before n_jobs
    return n_ok, n_ok + n_failed


def _parts(o: dict, hp: dict, se: dict, d: float, rcfg: ReportConfig) -> tuple[dict, dict]:
    """Components and their SEs: over delivered images (composite-v1/v2), or over every job with a
    failed job at the worst delivered value (composite-v3, rubrics/composite.md)."""
    n = rcfg.normalisation
    if rcfg.version in composite.FAILURE_VERSIONS:
        return (composite.delivered(o["fid"], o["clip_score"], hp["value"], d, n),
                composite.delivered_se(se, o["clip_score"], d, n))
    return {**composite.components(o["fid"], o["clip_score"], n.human_worst, n), "human": hp["value"]}, se


def why_not_claimable(v) -> str:
    """The reason of one `not_claimable` entry (a {n_generated, min_n, why} block, or a sentence)."""
    return v.get("why", str(v)) if isinstance(v, dict) else str(v)


def _not_claimable(score: dict, missing: dict) -> None:
    """A model whose whole delivered set is too small has no composite; say why."""
    overall = (score.get("not_claimable") or {}).get("overall")
    if score["overall"] is None and overall is not None:
        missing["composite"] = f"not claimable: {why_not_claimable(overall)}"


def _quality(score: dict, rcfg: ReportConfig, missing: dict) -> dict:
    o, h = score["overall"] or {}, score["human"]
    n = rcfg.normalisation
    likert = h.get("likert_mean")
    hp = composite.human_part(h, rcfg) if o else {"value": None, "ci": None, "source": None, "why": None}
    if o and hp["value"] is None:  # e.g. Likert-only scoring of a pairwise-only export: no human component
        missing["human"] = missing["composite"] = hp["why"]
    _not_claimable(score, missing)
    cis = {"fid": _ci(o, "fid"), "clip": _ci(o, "clip_score"), "human": hp["ci"]}
    level = o.get("ci_level", LEGACY_CI_LEVEL)
    levels = {"fid": level, "clip": level, "human": h.get("ci_level", LEGACY_CI_LEVEL)}
    for comp, ci in cis.items():
        if ci is None and o:
            missing[f"{comp}_ci"] = "the score stage reported no confidence interval for this metric"
    se = {c: uncertainty.component_se(cis[c], *(getattr(n, a) for a in ANCHORS[c]), level=levels[c])
          for c in ("fid", "clip")}
    se["human"] = _human_se(hp, h, n, levels["human"]) if hp["value"] is not None else None
    n_ok, n_jobs = _delivered(score)
    d = n_ok / n_jobs if n_jobs else 0.0
    parts, se = _parts(o, hp, se, d, rcfg) if o else ({c: None for c in composite.COMPONENTS}, se)
    value = composite.composite(parts, rcfg) if parts["human"] is not None else None
    return {"composite": value, "components": parts, "component_se": se, **_metrics(o),
            "kid_subsets_mean": _get(o, "kid_subsets_mean"), "kid_subsets_std": _get(o, "kid_subsets_std"), "ci_level": level if o else None,
            "human": parts["human"], "human_source": hp["source"] if hp["value"] is not None else None,
            **_human(h, likert, hp["ci"]), "n_generated": n_ok, "n_reference": o.get("n_reference"),
            "delivered_fraction": d, "not_claimable": score.get("not_claimable") or {},
            "categories": {c: {**_metrics(v), "kid_subsets_mean": _get(v, "kid_subsets_mean"), "n_generated": v["n_generated"],
                               "n_reference": v.get("n_reference")} for c, v in score["categories"].items()}}


def failed_only(n_jobs: int) -> dict:
    """The score block of a model every one of whose jobs failed (the score stage has none)."""
    return {"overall": None, "human": {}, "categories": {}, "n_failed": n_jobs, "n_jobs": n_jobs,
            "not_claimable": {"overall": {"n_generated": 0, "min_n": None, "why": f"all {n_jobs} jobs failed"}}}


def _cost(cost: dict | None, missing: dict) -> dict:
    if cost is None or cost.get("cost_usd_per_image") is None:
        missing["cost_usd_per_image"] = (cost or {}).get("not_measured", "the cost stage has no entry for this model")
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
            **{k: lat.get(k) for k in LATENCY_EXTRA}}


def entry(name: str, mcfg: ModelConfig, score: dict, cost: dict | None, lat: dict | None, rcfg: ReportConfig) -> dict:
    missing: dict[str, str] = {}
    row = {"model": name, "display_name": mcfg.display_name, "plumbing": score.get("plumbing", mcfg.plumbing),
           "source": mcfg.source, "pipeline": mcfg.pipeline, "licence": mcfg.licence,
           **_quality(score, rcfg, missing), **_cost(cost, missing), **_latency(lat, missing),
           "checks": score.get("checks")}  # production checks on real pixels (sentinel.checks), if scored
    row["not_measured"] = missing
    return row


def comparison(rows: list[dict]) -> dict:
    """The one rule for unequal n (rubrics/composite.md): models that delivered different numbers of
    images, or were given different numbers of jobs, are ranked, but the comparison says so."""
    delivered = {r["model"]: r.get("n_generated") or 0 for r in rows}
    jobs = {r["model"]: r.get("n_jobs") for r in rows}
    equal = len(set(delivered.values())) <= 1 and len(set(jobs.values())) <= 1
    note = "" if equal else ("unequal n: models delivered " + ", ".join(
        f"{m} {delivered[m]} of {jobs[m]}" for m in delivered) + " images; their metrics are on different "
        "sets (FID is biased upward at small n), and failed jobs count as the worst value (composite-v3)")
    return {"equal_n": equal, "n_delivered": delivered, "n_jobs": jobs, "note": note}


def ci_level(rows: list[dict]) -> float:
    """The one CI level of the score stage's intervals (score.ci_level), which the composite's CI uses too."""
    levels = {r["ci_level"] for r in rows if r.get("ci_level") is not None}
    if len(levels) > 1:
        raise ValueError(f"models were scored at different CI levels {sorted(levels)}; re-run `score` for all")
    return levels.pop() if levels else LEGACY_CI_LEVEL


def rank(rows: list[dict], rcfg: ReportConfig, seed: int = 0) -> list[dict]:
    """Sort by composite (unscored models last), attach CIs (at the score's level) and P(holds rank)."""
    scored = sorted((r for r in rows if r["composite"] is not None), key=lambda r: (-r["composite"], r["model"]))
    unscored = sorted((r for r in rows if r["composite"] is None), key=lambda r: r["model"])
    unc = uncertainty.uncertainty(scored, rcfg, seed=seed, level=ci_level(rows))
    for r in scored:
        r.update(unc[r["model"]])
    for r in unscored:
        r.update({"composite_ci": None, "rank": None, "p_holds_rank": None, "ci_missing": ["composite"]})
    return scored + unscored
