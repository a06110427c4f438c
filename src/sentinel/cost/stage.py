"""Stage `cost`: cost per image from a dated price card and measured seconds.

Self-hosted models are billed by GPU time, idle time included:

    billed_s           = compute_s / utilisation + load_s / images_per_cold_start
    compute_usd        = billed_s / 3600 * price_usd_per_hour
    cost_usd_per_image = (compute_usd + orchestration_overhead_usd_per_image) * (1 + platform_fee_fraction)

API models (named in `list_price_usd_per_image`) pay the vendor's list price instead of compute_usd.
compute_s is the mean measured pipeline time per image (generate stage); load_s is the model's
measured load time, paid once per worker start. The seconds are measured on whatever device ran
`generate`; when that is not the priced GPU (the smoke suite runs on CPU) the output says so.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path

from sentinel import config
from sentinel.config import CostConfig
from sentinel.provenance import read_jsonl, write_json

PRICE_KEYS = ("price_usd_per_hour", "orchestration_overhead_usd_per_image", "platform_fee_fraction")


def validate_card(card: CostConfig) -> None:
    for key in PRICE_KEYS:
        if getattr(card, key) < 0:
            raise ValueError(f"cost.{key}: must be >= 0, got {getattr(card, key)}")
    for model, price in card.list_price_usd_per_image.items():
        if not isinstance(price, int | float) or isinstance(price, bool) or price < 0:
            raise ValueError(f"cost.list_price_usd_per_image.{model}: must be a number >= 0, got {price!r}")
    for u in (card.utilisation, *card.utilisation_sensitivity):
        if not 0 < u <= 1:
            raise ValueError(f"cost.utilisation: must be in (0, 1], got {u}")
    if card.images_per_cold_start < 1:
        raise ValueError(f"cost.images_per_cold_start: must be >= 1, got {card.images_per_cold_start}")


def _total(compute_usd: float, card: CostConfig) -> dict[str, float]:
    subtotal = compute_usd + card.orchestration_overhead_usd_per_image
    fee = subtotal * card.platform_fee_fraction
    return {"compute_usd_per_image": compute_usd, "orchestration_usd_per_image": card.orchestration_overhead_usd_per_image,
            "platform_fee_usd_per_image": fee, "cost_usd_per_image": subtotal + fee,
            "cost_usd_per_1000_images": 1000.0 * (subtotal + fee)}


def cost_per_image(compute_s: float, card: CostConfig, load_s: float = 0.0, utilisation: float | None = None) -> dict:
    if compute_s < 0 or load_s < 0:
        raise ValueError(f"compute_s and load_s must be >= 0, got {compute_s}, {load_s}")
    u = card.utilisation if utilisation is None else utilisation
    billed_s = compute_s / u + load_s / card.images_per_cold_start
    return {"billed_s_per_image": billed_s, **_total(billed_s / 3600.0 * card.price_usd_per_hour, card)}


def model_cost(model: str, rows: list[dict], card: CostConfig) -> dict:
    compute = [r["compute_s"] for r in rows]
    devices = sorted({r["device"] for r in rows})
    base = {"n_images": len(rows), "compute_s_mean": statistics.fmean(compute),
            "compute_s_median": statistics.median(compute), "load_s": rows[0].get("load_s") or 0.0,
            "measured_on": ",".join(devices)}
    price = card.list_price_usd_per_image.get(model, rows[0].get("list_price_usd_per_image"))
    if price is not None:  # the dated price card wins over the model config's vendor price
        return {**base, "billing": "list price", "priced_as_measured": True, **_total(price, card), "sensitivity": []}
    if "api" in devices:
        return {**base, "billing": "list price", "priced_as_measured": True, "cost_usd_per_image": None,
                "not_measured": f"no list price for API model {model!r}: set cost.list_price_usd_per_image.{model}",
                "sensitivity": []}
    out = {**base, "billing": "gpu time", "priced_as_measured": all(d.startswith("cuda") for d in devices),
           **cost_per_image(base["compute_s_mean"], card, base["load_s"])}
    out["sensitivity"] = [{"utilisation": u, "cost_usd_per_image":
                           cost_per_image(base["compute_s_mean"], card, base["load_s"], u)["cost_usd_per_image"]}
                          for u in card.utilisation_sensitivity]
    return out


def summarise(timings: list[dict], card: CostConfig) -> dict[str, dict]:
    by_model: dict[str, list[dict]] = defaultdict(list)
    for row in timings:
        by_model[row["model"]].append(row)
    return {model: model_cost(model, rows, card) for model, rows in by_model.items()}


def run(params_path: str | Path = "params.yaml") -> dict:
    cfg = config.load(params_path, sections=("cost", "paths"))
    card, paths = cfg["cost"], cfg["paths"]
    validate_card(card)
    timings = read_jsonl(paths.timings)
    if not timings:
        raise ValueError(f"{paths.timings}: no timings; run the generate stage first")
    result = {"price_card": {k: getattr(card, k) for k in card.__dataclass_fields__},
              "formula": "billed_s = compute_s/utilisation + load_s/images_per_cold_start; "
                         "(billed_s/3600*price_usd_per_hour + orchestration_overhead_usd_per_image)"
                         " * (1 + platform_fee_fraction); API models: list price instead of GPU time",
              "models": summarise(timings, card)}
    if not all(m["priced_as_measured"] for m in result["models"].values()):
        result["note"] = (f"seconds measured on CPU but priced as {card.gpu}: a plumbing figure, "
                          "not a cost estimate for this GPU")
    write_json(paths.cost, result)
    return result
