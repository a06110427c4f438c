"""Stage `cost`: cost per image from a dated price card and the measured compute seconds.

    compute_usd      = compute_s / 3600 * price_usd_per_hour
    cost_usd_per_image = (compute_usd + orchestration_overhead_usd_per_image) * (1 + platform_fee_fraction)

compute_s is the mean measured pipeline time per image from the generate stage (model load is
reported apart: it is paid once per worker, not per image). The seconds are measured on whatever
device ran `generate`; the price card names the GPU it prices. When those differ (the smoke suite
runs on CPU), the output says so.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path

from . import config
from .config import CostConfig
from .provenance import read_jsonl, write_json


def cost_per_image(compute_s: float, card: CostConfig) -> dict[str, float]:
    if compute_s < 0:
        raise ValueError(f"compute_s must be >= 0, got {compute_s}")
    compute_usd = compute_s / 3600.0 * card.price_usd_per_hour
    subtotal = compute_usd + card.orchestration_overhead_usd_per_image
    fee = subtotal * card.platform_fee_fraction
    return {"compute_usd_per_image": compute_usd,
            "orchestration_usd_per_image": card.orchestration_overhead_usd_per_image,
            "platform_fee_usd_per_image": fee, "cost_usd_per_image": subtotal + fee,
            "cost_usd_per_1000_images": 1000.0 * (subtotal + fee)}


def validate_card(card: CostConfig) -> None:
    for key in ("price_usd_per_hour", "orchestration_overhead_usd_per_image", "platform_fee_fraction"):
        if getattr(card, key) < 0:
            raise ValueError(f"cost.{key}: must be >= 0, got {getattr(card, key)}")


def summarise(timings: list[dict], card: CostConfig) -> dict[str, dict]:
    by_model: dict[str, list[dict]] = defaultdict(list)
    for row in timings:
        by_model[row["model"]].append(row)
    out = {}
    for model, rows in by_model.items():
        compute = [r["compute_s"] for r in rows]
        devices = sorted({r["device"] for r in rows})
        out[model] = {"n_images": len(rows), "compute_s_mean": statistics.fmean(compute),
                      "compute_s_median": statistics.median(compute), "load_s": rows[0].get("load_s"),
                      "measured_on": ",".join(devices),
                      "priced_as_measured": all(d.startswith("cuda") for d in devices),
                      **cost_per_image(statistics.fmean(compute), card)}
    return out


def run(params_path: str | Path = "params.yaml") -> dict:
    cfg = config.load(params_path, sections=("cost", "paths"))
    card, paths = cfg["cost"], cfg["paths"]
    validate_card(card)
    timings = read_jsonl(paths.timings)
    if not timings:
        raise ValueError(f"{paths.timings}: no timings; run the generate stage first")
    result = {"price_card": {k: getattr(card, k) for k in card.__dataclass_fields__},
              "formula": "(compute_s/3600*price_usd_per_hour + orchestration_overhead_usd_per_image)"
                         " * (1 + platform_fee_fraction)",
              "models": summarise(timings, card)}
    if not all(m["priced_as_measured"] for m in result["models"].values()):
        result["note"] = (f"seconds measured on CPU but priced as {card.gpu}: a plumbing figure, "
                          "not a cost estimate for this GPU")
    write_json(paths.cost, result)
    return result
