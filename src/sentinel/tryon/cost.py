"""Cost per try-on: measured compute seconds priced by the top-level price card (sentinel.cost.pricing).

One try-on is one result image, so it is priced exactly as an image is (`pricing.price_image`, the
cost stage's and the planner's one formula), with the names saying try-on:

    self-hosted  compute_s = mean measured compute seconds of the model's successful try-ons
                 (tryon.paths.timings/<model>.jsonl, joined with the records: a failure's seconds
                 are not a try-on's), load_s = the timings' load_s when recorded (else 0),
                 billed by GPU time at the card's price, utilisation and cold-start amortisation;
    API          the vendor's list price per image: the card's `list_price_usd_per_image[model]`,
                 else `tryon.cost.list_price_usd_per_tryon[model]`, else the model config's
                 `api.list_price_usd_per_image`; without one the cost is unknown (null, with the key
                 to set), never GPU time.

When the seconds were not measured on the card's GPU (the smoke suite runs on CPU) the result says
so (`priced_as_measured: false`): a plumbing figure, not a cost estimate.
"""
from __future__ import annotations

import statistics

from sentinel.config import CostConfig
from sentinel.cost.pricing import FORMULA, cost_per_image, price_image


def _per_tryon(priced: dict) -> dict:
    """pricing's `*_per_image` / `*_1000_images` keys, renamed for try-ons (same numbers)."""
    return {k.replace("_per_image", "_per_tryon").replace("_1000_images", "_1000_tryons"): v for k, v in priced.items()}


def tryon_cost(model: str, mcfg: dict, timings: list[dict], records: dict[str, dict], card: CostConfig,
               list_prices: dict[str, float]) -> dict:
    """Cost of one try-on of `model`. `records`: job id -> record; `timings`: the model's timing rows."""
    api = mcfg.get("source") == "api"
    config_price = list_prices.get(model, (mcfg.get("api") or {}).get("list_price_usd_per_image"))
    ok = {j for j, r in records.items() if r.get("status") == "ok"}
    rows = sorted((t for t in timings if t.get("job_id") in ok and t.get("compute_s") is not None),
                  key=lambda t: str(t["job_id"]))
    devices = sorted({str(t.get("device") or mcfg.get("device") or "unknown") for t in rows}) or (
        ["api"] if api else [])
    base = {"n_tryons": len(rows), "compute_s_mean": statistics.fmean(float(t["compute_s"]) for t in rows) if rows
            else None, "load_s": float(rows[0].get("load_s") or 0.0) if rows else 0.0,
            "measured_on": ",".join(devices) or None, "formula": FORMULA}
    if not rows and not api and card.list_price_usd_per_image.get(model, config_price) is None:
        return {**base, "billing": "gpu time", "cost_usd_per_tryon": None, "cost_usd_per_1000_tryons": None,
                "priced_as_measured": False, "not_measured": f"no successful try-on of {model!r} has compute_s"}
    priced = price_image(model, card, api=api, config_price=config_price, compute_s=base["compute_s_mean"] or 0.0,
                         load_s=base["load_s"])
    if priced["billing"] == "list price":
        return {**base, **_per_tryon(priced), "priced_as_measured": True}
    out = {**base, **_per_tryon(priced), "priced_as_measured": all(d.startswith("cuda") for d in devices)}
    out["sensitivity"] = [{"utilisation": u, "cost_usd_per_tryon": cost_per_image(
        base["compute_s_mean"], card, base["load_s"], u)["cost_usd_per_image"]} for u in card.utilisation_sensitivity]
    if not out["priced_as_measured"]:
        out["note"] = (f"seconds measured on {base['measured_on']} but priced as {card.gpu}: a plumbing figure, "
                       "not a cost estimate for this GPU")
    return out
