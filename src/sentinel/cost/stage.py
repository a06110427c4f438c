"""Stage `cost`: cost per image from a dated price card and measured seconds.

The formula is sentinel.cost.pricing's (one place, shared with the planner): self-hosted models are
billed by GPU time, idle time and amortised cold starts included; API models pay their list price
(the card's, else the model config's) and no GPU time. compute_s is the mean measured pipeline time
per image (generate stage); load_s is the model's measured load time, paid once per worker start.
The seconds are measured on whatever device ran `generate`; when that is not the priced GPU (the
smoke suite runs on CPU) the output says so.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path

from sentinel import config
from sentinel.config import CostConfig
from sentinel.cost.pricing import FORMULA, cost_per_image, price_image, validate_card
from sentinel.provenance import read_jsonl, write_json


def model_cost(model: str, rows: list[dict], card: CostConfig) -> dict:
    compute = [r["compute_s"] for r in rows]
    devices = sorted({r["device"] for r in rows})
    base = {"n_images": len(rows), "compute_s_mean": statistics.fmean(compute),
            "compute_s_median": statistics.median(compute), "load_s": rows[0].get("load_s") or 0.0,
            "measured_on": ",".join(devices)}
    priced = price_image(model, card, api="api" in devices, config_price=rows[0].get("list_price_usd_per_image"),
                         compute_s=base["compute_s_mean"], load_s=base["load_s"])
    if priced["billing"] == "list price":
        return {**base, "priced_as_measured": True, **priced, "sensitivity": []}
    out = {**base, "priced_as_measured": all(d.startswith("cuda") for d in devices), **priced}
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
              "formula": FORMULA, "models": summarise(timings, card)}
    if not all(m["priced_as_measured"] for m in result["models"].values()):
        result["note"] = (f"seconds measured on CPU but priced as {card.gpu}: a plumbing figure, "
                          "not a cost estimate for this GPU")
    write_json(paths.cost, result)
    return result
