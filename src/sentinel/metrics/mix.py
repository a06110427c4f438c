"""The overall set metrics (FID, KID, CMMD) that the category mix cannot move.

Pooling every category's generated images against the pooled reference adds a between-category
term to FID that depends on how the two mixes compare, not on quality: 2026-q4 declares 50 / 30 / 20
headshots / products / portraits, a reference set of equal category sizes would charge every model
for that difference, and a model whose failed jobs fall in one category would move by it too. So the
overall value of every set metric (a registry metric whose interval counts sets, `ci_counts: sets`)
is the per-category values combined by the workload's **declared** mix:

    overall_M = Σ_c w_c · M_c,    w_c = (jobs of category c in the workload CSV) / (all its jobs)

each M_c computed against its own category's reference set. The categories' images are disjoint on
both sides, so the M_c are independent and the interval is point ± z · √(Σ w_c² se_c²) (se_c: the
category's half-sample standard error, metrics/halfsample.py). The pooled value stays beside it as
`<metric>_pooled` with its own interval, labelled, never the headline. The CLIP score is a mean over
image-prompt pairs, not a set distance, and stays the pooled mean.

A declared category with no claimable per-category value (too few delivered images) leaves the
mix-weighted overall undefined: the model's overall block is then not claimable, with the reason.
Pure numpy and the workload reader: no torch.
"""
from __future__ import annotations

import math
from collections import Counter

from sentinel.metrics.registry import REGISTRY

METHOD = ("per-category values combined by the workload's declared category mix (job shares); "
          "point ± z·√(Σ w_c² se_c²) from the categories' half-sample standard errors")


def declared_counts(jobs_path: str, categories: tuple[str, ...]) -> dict[str, int]:
    """Jobs per category in the workload CSV: the mix the workload declares (its .meta.json's
    `category_counts`, written from the same rows). Row order and failed jobs cannot change it."""
    from sentinel.workloads.jobs import load_jobs

    counts = Counter(j.category for j in load_jobs(jobs_path, categories))
    return {c: counts[c] for c in categories if counts[c]}


def set_metrics() -> list[str]:
    """The registered metrics that compare two image sets (their CIs count n_generated, n_reference)."""
    return [m.name for m in REGISTRY.values() if m.ci_counts == "sets"]


def _se(ci: dict | None, z: float) -> float | None:
    if not ci or ci.get("low") is None:
        return None
    return float(ci["se"]) if ci.get("se") is not None else (ci["high"] - ci["low"]) / (2.0 * z)


def _combined_ci(name: str, per_cat: dict, shares: dict, value: float, z: float) -> dict:
    cis = {c: per_cat[c]["ci"].get(name) for c in shares}
    ses = {c: _se(ci, z) for c, ci in cis.items()}
    n_gen = sum(per_cat[c]["n_generated"] for c in shares)
    n_ref = sum(per_cat[c]["n_reference"] for c in shares)
    base = {"n_generated": n_gen, "n_reference": n_ref, "category_mix": dict(shares)}
    missing = [c for c, s in ses.items() if s is None]
    if missing:
        return {**base, "low": None, "high": None,
                "ci_method": f"none: category {missing[0]} has no interval ({cis[missing[0]].get('ci_method')})"}
    se = math.sqrt(sum(shares[c] ** 2 * ses[c] ** 2 for c in shares))
    low = value - z * se
    if all(cis[c]["low"] >= 0 for c in shares):  # every category's interval is non-negative (FID, CMMD)
        low = max(low, 0.0)
    return {**base, "low": low, "high": value + z * se, "se": se, "ci_method": METHOD}


def combine(pooled: dict, per_cat: dict, counts: dict[str, int], need: int) -> tuple[dict | None, dict | None]:
    """(overall block, None), or (None, not-claimable reason) when a declared category has no value.

    The overall block is `pooled` with every set metric replaced by its mix-weighted value and
    interval, the pooled ones kept as `<metric>_pooled`, and the mix recorded (`category_mix`)."""
    from sentinel.metrics.bootstrap import z as z_of

    total = sum(counts.values())
    shares = {c: k / total for c, k in counts.items()}
    absent = [c for c in counts if c not in per_cat]
    if absent:
        return None, {"n_generated": pooled.get("n_generated", 0), "min_n": need,
                      "why": f"category {absent[0]} has fewer than {need} delivered image(s), so the overall "
                             "value combined by the declared category mix is undefined (rubrics/metrics-convention.md)"}
    z = z_of(pooled["ci_level"])
    out = {**pooled, "ci": dict(pooled["ci"]), "category_mix": shares, "category_mix_jobs": dict(counts),
           "overall_method": f"FID, KID, CMMD: {METHOD}; CLIP score: pooled mean over pairs"}
    for name in set_metrics():
        if pooled.get(name) is None or any(per_cat[c].get(name) is None for c in shares):
            continue  # not computed in this run (an optional metric that is off)
        value = float(sum(shares[c] * per_cat[c][name] for c in shares))
        out[f"{name}_pooled"], out["ci"][f"{name}_pooled"] = pooled[name], pooled["ci"][name]
        out[name], out["ci"][name] = value, _combined_ci(name, per_cat, shares, value, z)
    return out, None
