"""Cost per delivered video and per second of delivered video, priced through sentinel.cost.pricing.

One pricing rule for the whole project (sentinel.cost.pricing, the image cost stage's), applied to
a video as one "image" of that formula, then divided by the video's length:

  self-hosted (GPU time)
    compute_s_per_video = sum of compute_s over EVERY job's timings row / delivered videos
                          (a failed attempt's GPU time is paid for, so the delivered videos carry it)
    cost_usd_per_video  = pricing.cost_per_image(compute_s_per_video, card, load_s)
                        = (billed_s / 3600 * price_usd_per_hour + orchestration overhead) * (1 + fee),
                          billed_s = compute_s_per_video / utilisation + load_s / images_per_cold_start
  API (list price, billing unit `video-second`)
    price_usd_per_second = video.cost.list_price_usd_per_second[model] (a dated override), else the
                           model's api.list_price_usd_per_second
    cost_usd_per_video   = pricing.with_fees(price_usd_per_second * seconds_per_video, card)
                           (vendors are assumed not to bill failed jobs; no GPU time is rented)
  both
    seconds_per_video         = mean `seconds` of the delivered clips (their records)
    cost_usd_per_video_second = cost_usd_per_video / seconds_per_video
                              = total cost / total seconds of delivered video

The figure is for the stated output (fps, width x height, seconds per clip: `output`), measured on
the device that ran generate; when that is not the card's GPU (the smoke suite runs on the CPU) the
result says `priced_as_measured: false`. Unknown inputs give null costs and a `not_priced` reason,
never a guessed number. Pure Python: no torch, no numpy.
"""
from __future__ import annotations

import math
import statistics

from sentinel.config import CostConfig
from sentinel.cost.pricing import cost_per_image, validate_card, with_fees
from sentinel.records import is_ok

FORMULA = ("self-hosted: sentinel.cost.pricing.cost_per_image(sum of every job's compute_s / delivered videos, "
           "card, load_s); API: with_fees(list_price_usd_per_second * seconds per video, card); per video-second: "
           "cost per video / mean delivered seconds")


def _number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def output_spec(ok_records: list[dict]) -> dict:
    """What was delivered: the distinct fps, sizes and lengths of the delivered clips."""
    return {"fps": sorted({float(r["fps"]) for r in ok_records if _number(r.get("fps"))}),
            "resolutions": sorted({f"{r['width']}x{r['height']}" for r in ok_records if "width" in r}),
            "seconds": sorted({float(r["seconds"]) for r in ok_records if _number(r.get("seconds"))}),
            "n_frames": sorted({int(r["n_frames"]) for r in ok_records if _number(r.get("n_frames"))})}


def _unpriced(base: dict, why: str, billing: str) -> dict:
    return {**base, "billing": billing, "cost_usd_per_video": None, "cost_usd_per_video_second": None,
            "not_priced": why}


def price_model(model: str, records: list[dict], timings: list[dict], card: CostConfig, *, api: bool,
                list_price_usd_per_second: float | None = None, price_source: str | None = None,
                billing_unit: str = "video-second") -> dict:
    """One model's cost per delivered video and per video-second (module docstring), with its inputs."""
    validate_card(card)
    ok = [r for r in records if r.get("model", model) == model and is_ok(r)]
    seconds = [float(r["seconds"]) for r in ok if _number(r.get("seconds"))]
    base = {"n_jobs": len([r for r in records if r.get("model", model) == model]), "n_videos": len(ok),
            "output": output_spec(ok), "seconds_per_video": statistics.fmean(seconds) if seconds else None}
    billing = "list price" if api else "gpu time"
    if not ok:
        return _unpriced(base, "no delivered videos", billing)
    if len(seconds) != len(ok) or not all(s > 0 for s in seconds):
        return _unpriced(base, "a delivered clip's record has no positive `seconds`", billing)
    s_per_video = base["seconds_per_video"]
    if api:
        out = {**base, "billing_unit": billing_unit, "price_source": price_source,
               "list_price_usd_per_second": list_price_usd_per_second, "billed_s_per_video": 0.0,
               "priced_as_measured": True}
        if list_price_usd_per_second is None:
            return _unpriced(out, f"no list price for API model {model!r}: set video.cost.list_price_usd_per_second."
                                  f"{model} or video.models.{model}.api.list_price_usd_per_second", billing)
        if billing_unit != "video-second":
            return _unpriced(out, f"billing unit {billing_unit!r} is not priced here (video-second only)", billing)
        fees = with_fees(list_price_usd_per_second * s_per_video, card)
        return {**out, "billing": billing, **_per_video(fees, s_per_video)}
    rows = [t for t in timings if t.get("model", model) == model]
    if not rows:
        return _unpriced(base, "no timings rows for this model", billing)
    if not all(_number(t.get("compute_s")) and t["compute_s"] >= 0 for t in rows):
        bad = next(t.get("job_id") for t in rows if not (_number(t.get("compute_s")) and t["compute_s"] >= 0))
        return _unpriced(base, f"timings row of job {bad!r} has no measured compute_s", billing)
    devices = sorted({str(t.get("device") or "unknown") for t in rows})
    load_s = next((float(t["load_s"]) for t in rows if _number(t.get("load_s"))), 0.0)
    compute = sum(float(t["compute_s"]) for t in rows) / len(ok)
    priced = cost_per_image(compute, card, load_s)
    out = {**base, "billing": billing, "billing_unit": "gpu-second", "card": card.card, "gpu": card.gpu,
           "as_of": card.as_of, "price_usd_per_hour": card.price_usd_per_hour, "utilisation": card.utilisation,
           "n_timed_jobs": len(rows), "compute_s_per_video": compute, "load_s": load_s,
           "billed_s_per_video": priced["billed_s_per_image"], "measured_on": ",".join(devices),
           "priced_as_measured": all(d.startswith("cuda") for d in devices), **_per_video(priced, s_per_video)}
    out["sensitivity"] = [{"utilisation": u, "cost_usd_per_video": (c := cost_per_image(compute, card, load_s, u)[
        "cost_usd_per_image"]), "cost_usd_per_video_second": c / s_per_video} for u in card.utilisation_sensitivity]
    return out


def _per_video(fees: dict, s_per_video: float) -> dict:
    """pricing's per-image breakdown renamed per video, and the per-second figure."""
    return {"compute_usd_per_video": fees["compute_usd_per_image"],
            "orchestration_usd_per_video": fees["orchestration_usd_per_image"],
            "platform_fee_usd_per_video": fees["platform_fee_usd_per_image"],
            "cost_usd_per_video": fees["cost_usd_per_image"],
            "cost_usd_per_video_second": fees["cost_usd_per_image"] / s_per_video}
