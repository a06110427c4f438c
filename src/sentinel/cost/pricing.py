"""The one pricing rule: what one image costs under a dated price card (conf/cost/<card>.yaml).

The cost stage (stage.py) and the planner (planner.py) both price through `price_image`, so a model
is priced identically, to the cent, wherever it appears:

    list price         = card.list_price_usd_per_image[model], else the model config's api.list_price_usd_per_image
    billed_s           = compute_s / utilisation + load_s / images_per_cold_start      (no list price: GPU time)
    base_usd           = list price                        if there is one (billed_s = 0: no GPU is rented)
                       = billed_s / 3600 * price_usd_per_hour   otherwise
    cost_usd_per_image = (base_usd + orchestration_overhead_usd_per_image) * (1 + platform_fee_fraction)

An API model without a list price is unpriced (cost None with the key to set), never billed GPU time:
the vendor's seconds are not seconds of our GPU.
"""
from __future__ import annotations

import math

from sentinel.config import CostConfig

PRICE_KEYS = ("price_usd_per_hour", "orchestration_overhead_usd_per_image", "platform_fee_fraction")
# Recorded in outputs/cost/cost.json; worded as published releases have it (release verify compares it).
FORMULA = ("billed_s = compute_s/utilisation + load_s/images_per_cold_start; "
           "(billed_s/3600*price_usd_per_hour + orchestration_overhead_usd_per_image)"
           " * (1 + platform_fee_fraction); API models: list price instead of GPU time")


def validate_card(card: CostConfig) -> None:
    """Refuse a price card the formula cannot use; the message names the key."""
    for key in PRICE_KEYS:  # NaN compares false with everything: check finiteness, not just the sign
        if not _finite_at_least_0(getattr(card, key)):
            raise ValueError(f"cost.{key}: must be >= 0 and finite, got {getattr(card, key)!r}")
    if not card.platform_fee_fraction < 1:
        raise ValueError(f"cost.platform_fee_fraction: must be < 1 (a fraction), got {card.platform_fee_fraction!r}")
    for model, price in card.list_price_usd_per_image.items():
        if not _finite_at_least_0(price):
            raise ValueError(f"cost.list_price_usd_per_image.{model}: must be a number >= 0 and finite, got {price!r}")
    for u in (card.utilisation, *card.utilisation_sensitivity):
        if not 0 < u <= 1:
            raise ValueError(f"cost.utilisation: must be in (0, 1], got {u}")
    if card.images_per_cold_start < 1:
        raise ValueError(f"cost.images_per_cold_start: must be >= 1, got {card.images_per_cold_start}")


def _finite_at_least_0(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x >= 0


def with_fees(base_usd: float, card: CostConfig) -> dict[str, float]:
    """Orchestration overhead and the platform fee on top of a per-image base price."""
    subtotal = base_usd + card.orchestration_overhead_usd_per_image
    fee = subtotal * card.platform_fee_fraction
    return {"compute_usd_per_image": base_usd, "orchestration_usd_per_image": card.orchestration_overhead_usd_per_image,
            "platform_fee_usd_per_image": fee, "cost_usd_per_image": subtotal + fee,
            "cost_usd_per_1000_images": 1000.0 * (subtotal + fee)}


def cost_per_image(compute_s: float, card: CostConfig, load_s: float = 0.0, utilisation: float | None = None) -> dict:
    """GPU-time billing: idle time (1 / utilisation) and the amortised cold start are billed too."""
    if compute_s < 0 or load_s < 0:
        raise ValueError(f"compute_s and load_s must be >= 0, got {compute_s}, {load_s}")
    u = card.utilisation if utilisation is None else utilisation
    billed_s = compute_s / u + load_s / card.images_per_cold_start
    return {"billed_s_per_image": billed_s, **with_fees(billed_s / 3600.0 * card.price_usd_per_hour, card)}


def list_price(model: str, card: CostConfig, config_price: float | None) -> float | None:
    """The dated price card wins over the model config's vendor price."""
    return card.list_price_usd_per_image.get(model, config_price)


def price_image(model: str, card: CostConfig, *, api: bool, config_price: float | None, compute_s: float,
                load_s: float = 0.0) -> dict:
    """One image of `model`: billing kind, billed GPU seconds, cost and its breakdown (module docstring)."""
    price = list_price(model, card, config_price)
    if price is not None:
        return {"billing": "list price", "billed_s_per_image": 0.0, **with_fees(price, card)}
    if api:
        return {"billing": "list price", "billed_s_per_image": 0.0, "cost_usd_per_image": None,
                "cost_usd_per_1000_images": None,
                "not_measured": f"no list price for API model {model!r}: set cost.list_price_usd_per_image.{model}"}
    return {"billing": "gpu time", **cost_per_image(compute_s, card, load_s)}
