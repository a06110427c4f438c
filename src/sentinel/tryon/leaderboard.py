"""The try-on leaderboard: one row per model from its score file, cost and latency; and its flat scalars.

A row holds both protocols' numbers (each with n, its interval and direction), garment fidelity and
preservation (per protocol), the cost per try-on, the p95 end-to-end latency with its CI, failures
by cause (generation and latency) and the plumbing flag. Rows are in model-name order: the smoke
suite ranks nothing (its numbers are plumbing), and no composite of try-on metrics is defined yet.

`flat_metrics` gives reports/tryon/metrics.json: {model: {key: number}} with keys
`<protocol>_<metric>`, `<protocol>_<metric>_ci_low|_ci_high`, `<protocol>_<metric>_n`, then
cost_usd_per_tryon, latency_p95_s (+ latency_p95_ci_low/_ci_high), failure_rate (+ _ci_low/_ci_high),
n_failed: scalars only (DVC skips
lists); a missing or null value is left out. Pure Python.
"""
from __future__ import annotations

from sentinel.tryon.protocols import PROTOCOLS

METRIC_ORDER = ("ssim", "lpips", "fid", "kid", "garment_delta_e00", "garment_texture", "preserved_ssim",
                "preserved_mae")
LABELS = {"ssim": "SSIM", "lpips": "LPIPS", "fid": "FID", "kid": "KID", "garment_delta_e00": "garment ΔE00",
          "garment_texture": "garment texture", "preserved_ssim": "preserved SSIM", "preserved_mae": "preserved MAE"}
KEEP = ("value", "ci", "n", "m_reference", "higher_is_better", "ci_note", "not_computed")


def _latency(model: str, lat: dict) -> dict:
    """The figures of `model` from its latency.json (the image latency stage's layout: {models: {m: {...}}},
    or the model's figures at the top level)."""
    models = lat.get("models")
    figs = models[model] if isinstance(models, dict) and model in models else lat
    keys = ("latency_p95_s", "latency_p95_ci95_s", "latency_p50_s", "n_requests", "n_failed", "failures_by_cause",
            "slo_s", "p95_meets_slo", "p95_claimable")
    return {k: figs.get(k) for k in keys if k in figs}


def entry(model: str, score: dict, cost: dict, lat: dict) -> dict:
    protocols = {}
    for protocol in PROTOCOLS:
        block = score["protocols"][protocol]
        protocols[protocol] = {
            "n_jobs": block["n_jobs"], "n_ok": block["n_ok"], "n_failed": block["n_failed"],
            "set_reference": block.get("set_reference"),
            "metrics": {name: {k: m[k] for k in KEEP if k in m} for name in METRIC_ORDER
                        if (m := block["metrics"].get(name)) is not None}}
    latency = _latency(model, lat)
    return {"model": model, "display_name": score.get("display_name", model), "plumbing": bool(score.get("plumbing")),
            "n_jobs": score["n_jobs"], "n_ok": score["n_ok"], "n_failed": score["n_failed"],
            "failure_rate": score["failure_rate"]["value"], "failure_rate_ci": score["failure_rate"]["ci"],
            "failures_by_cause": {"generate": score["failures_by_cause"],
                                  "latency": latency.get("failures_by_cause") or {}},
            "protocols": protocols,
            "cost_usd_per_tryon": cost.get("cost_usd_per_tryon"), "cost": cost,
            "latency_p95_s": latency.get("latency_p95_s"), "latency_p95_ci": latency.get("latency_p95_ci95_s"),
            "latency": latency}


def _number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _put(flat: dict, key: str, value, ci=None, n=None) -> None:
    if _number(value):
        flat[key] = value
    base = key.removesuffix("_s")  # latency_p95_s -> latency_p95_ci_low
    if isinstance(ci, list | tuple) and len(ci) == 2:
        for side, v in zip(("low", "high"), ci):
            if _number(v):
                flat[f"{base}_ci_{side}"] = v
    if _number(n):
        flat[f"{key}_n"] = n


def flat_metrics(rows: list[dict]) -> dict[str, dict]:
    out = {}
    for row in rows:
        flat: dict = {}
        for protocol, block in row["protocols"].items():
            for name, m in block["metrics"].items():
                _put(flat, f"{protocol}_{name}", m.get("value"), m.get("ci"), m.get("n"))
        _put(flat, "cost_usd_per_tryon", row["cost_usd_per_tryon"])
        _put(flat, "latency_p95_s", row["latency_p95_s"], row["latency_p95_ci"])
        _put(flat, "failure_rate", row["failure_rate"], row["failure_rate_ci"])
        _put(flat, "n_failed", row["n_failed"])
        out[row["model"]] = flat
    return out
