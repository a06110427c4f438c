"""Capacity planner: wall time and cost of a suite on N GPUs, from measured seconds and a price card.

    python -m sentinel.cost.planner --jobs 12000 --gpus 8 32 128                  # seconds from outputs/cost/cost.json
    python -m sentinel.cost.planner --jobs 12000 --gpus 8 32 128 --assume-s-per-image 3 --assume-models 8

The models run one after another, each sharded over all N GPUs (one pipeline replica per GPU, as
`generate.executor: ray` does). For each self-hosted model m with J jobs:

    images_per_gpu = ceil(J / N)                       the busiest GPU sets the pace
    wall_s         = load_s + images_per_gpu * s_per_image / utilisation
    gpu_hours      = N * wall_s / 3600                 every GPU is billed until the model finishes
    cost_usd       = (gpu_hours * price_usd_per_hour + J * orchestration_overhead_usd_per_image)
                     * (1 + platform_fee_fraction)

`utilisation` is the card's share of billed time spent generating (scheduling gaps, retries); pass
--utilisation to use, e.g., the scaling efficiency measured by benchmarks/ray_scaling.py. API models
named in the card's `list_price_usd_per_image` cost J * (list price + orchestration) * (1 + fee) and
use no GPU. Seconds measured on another device than the card's GPU (the smoke suite runs on CPU)
are flagged: the plan is then arithmetic, not an estimate.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from sentinel import config
from sentinel.config import CONF_DIR, ConfigError, CostConfig


@dataclass(frozen=True)
class ModelProfile:
    name: str
    s_per_image: float  # pipeline seconds per image on one GPU
    load_s: float  # weight load, paid once per GPU per model
    measured_on: str  # device the seconds came from, or "assumed"


def load_card(name: str) -> CostConfig:
    """A price card from conf/cost/<name>.yaml, validated as the cost stage validates it."""
    from sentinel.cost.stage import validate_card

    valid = config.choices("cost")
    if name not in valid:
        raise ConfigError(f"--card: unknown price card {name!r} (valid: {', '.join(valid)})")
    card = config.build(CostConfig, yaml.safe_load((CONF_DIR / "cost" / f"{name}.yaml").read_text()), "cost")
    validate_card(card)
    return card


def measured_profiles(cost_json: str | Path) -> list[ModelProfile]:
    """Per-model seconds from the cost stage's output (compute_s_mean, load_s, measured_on)."""
    path = Path(cost_json)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no measured seconds; run `dvc repro cost` first, "
                                "or plan with --assume-s-per-image")
    models = json.loads(path.read_text()).get("models")
    if not isinstance(models, dict) or not models:
        raise ValueError(f"{path}: models: expected a mapping of model name -> measured cost")
    try:
        return [ModelProfile(name, float(m["compute_s_mean"]), float(m["load_s"]), str(m["measured_on"]))
                for name, m in models.items()]
    except KeyError as e:
        raise ValueError(f"{path}: models: missing key {e.args[0]!r}") from None


def plan_model(p: ModelProfile, jobs: int, gpus: int, card: CostConfig, utilisation: float) -> dict:
    fee = 1.0 + card.platform_fee_fraction
    if p.name in card.list_price_usd_per_image:
        per_image = card.list_price_usd_per_image[p.name] + card.orchestration_overhead_usd_per_image
        return {"model": p.name, "billing": "list price", "wall_s": 0.0, "gpu_hours": 0.0,
                "cost_usd": jobs * per_image * fee}
    images_per_gpu = math.ceil(jobs / gpus)
    wall_s = p.load_s + images_per_gpu * p.s_per_image / utilisation
    gpu_hours = gpus * wall_s / 3600.0
    cost = (gpu_hours * card.price_usd_per_hour + jobs * card.orchestration_overhead_usd_per_image) * fee
    return {"model": p.name, "billing": "gpu time", "images_per_gpu": images_per_gpu, "wall_s": wall_s,
            "gpu_hours": gpu_hours, "cost_usd": cost, "s_per_image": p.s_per_image, "load_s": p.load_s,
            "measured_on": p.measured_on}


def plan(profiles: list[ModelProfile], jobs: int, gpu_counts: list[int], card: CostConfig,
         utilisation: float | None = None) -> dict:
    """The plan for each GPU count: per-model rows and suite totals."""
    u = card.utilisation if utilisation is None else utilisation
    if jobs < 1 or not profiles:
        raise ValueError(f"--jobs must be >= 1 and at least one model is needed, got {jobs} jobs, {len(profiles)} models")
    if not 0 < u <= 1:
        raise ValueError(f"--utilisation: must be in (0, 1], got {u}")
    if any(n < 1 for n in gpu_counts):
        raise ValueError(f"--gpus: each count must be >= 1, got {gpu_counts}")
    rows = []
    for n in gpu_counts:
        models = [plan_model(p, jobs, n, card, u) for p in profiles]
        wall_s = sum(m["wall_s"] for m in models)
        cost = sum(m["cost_usd"] for m in models)
        rows.append({"gpus": n, "images": jobs * len(profiles), "wall_s": wall_s, "wall_h": wall_s / 3600,
                     "gpu_hours": sum(m["gpu_hours"] for m in models), "cost_usd": cost,
                     "cost_usd_per_1000_images": 1000 * cost / (jobs * len(profiles)), "models": models})
    off_device = sorted({p.measured_on for p in profiles} - {"assumed", "cuda"} - {card.gpu})
    return {"card": card.card, "gpu": card.gpu, "price_usd_per_hour": card.price_usd_per_hour,
            "as_of": card.as_of, "utilisation": u, "jobs_per_model": jobs, "n_models": len(profiles),
            "seconds_from": sorted({p.measured_on for p in profiles}),
            "note": (f"seconds measured on {', '.join(off_device)}, priced as {card.gpu}: arithmetic, not an estimate"
                     if off_device else ""), "plans": rows}


def to_markdown(result: dict) -> str:
    head = (f"{result['jobs_per_model']:,} jobs x {result['n_models']} models on {result['gpu']} "
            f"(card {result['card']}, ${result['price_usd_per_hour']:.2f}/GPU-hour as of {result['as_of']}, "
            f"utilisation {result['utilisation']:.2f}; seconds from: {', '.join(result['seconds_from'])})")
    lines = [head, "", "| GPUs | images | wall time (h) | GPU-hours | cost (USD) | USD per 1,000 images |",
             "|---:|---:|---:|---:|---:|---:|"]
    for r in result["plans"]:
        lines.append(f"| {r['gpus']} | {r['images']:,} | {r['wall_h']:,.2f} | {r['gpu_hours']:,.1f} | "
                     f"{r['cost_usd']:,.2f} | {r['cost_usd_per_1000_images']:.3f} |")
    if result["note"]:
        lines += ["", f"Note: {result['note']}."]
    return "\n".join(lines) + "\n"


def _profiles(args) -> list[ModelProfile]:
    if args.assume_s_per_image is None:
        return measured_profiles(args.measured)
    if args.assume_s_per_image <= 0 or args.assume_models < 1 or args.assume_load_s < 0:
        raise ValueError("--assume-s-per-image must be > 0, --assume-models >= 1 and --assume-load-s >= 0")
    return [ModelProfile(f"model-{i + 1}", args.assume_s_per_image, args.assume_load_s, "assumed")
            for i in range(args.assume_models)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sentinel.cost.planner", description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, required=True, help="jobs per model")
    ap.add_argument("--gpus", type=int, nargs="+", required=True, help="GPU counts to plan for")
    ap.add_argument("--card", help="price card in conf/cost/ (default: params.yaml's cost.card)")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--measured", help="cost stage output with measured seconds (default: params.yaml's paths.cost)")
    ap.add_argument("--assume-s-per-image", type=float, help="plan with assumed seconds instead of measured")
    ap.add_argument("--assume-models", type=int, default=1)
    ap.add_argument("--assume-load-s", type=float, default=60.0)
    ap.add_argument("--utilisation", type=float, help="override the card's utilisation")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    args = ap.parse_args(argv)
    try:
        if args.card is None or args.measured is None:
            params = config.load(args.params, sections=("cost", "paths"))
            args.card = args.card or params["cost"].card
            args.measured = args.measured or params["paths"].cost
        result = plan(_profiles(args), args.jobs, args.gpus, load_card(args.card), args.utilisation)
    except (ConfigError, ValueError, FileNotFoundError) as e:
        print(f"planner: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, sort_keys=True) if args.json else to_markdown(result), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
