"""Plan a suite before running it: what it would generate, what it would cost, how long on N GPUs.

    sentinel plan suite=2026-q4                          # any Hydra overrides, as with `dvc exp run -S`
    sentinel plan suite=2026-q4 model=flux2-dev --gpus 8 32 128
    sentinel plan --assume-s-per-image 3 --jobs 12000 --gpus 8 --json
    sentinel plan --params params.yaml                   # a params file as it is (every section validated)

Composes conf/ in memory (params.yaml is not touched), validates it and reads the workload. Every
figure is priced by sentinel.cost.pricing.price_image, the cost stage's own function, so a model's
USD/image here equals the cost stage's for the same seconds (an API model with a list price: equal
to the cent, and no GPU-hours). Seconds per image come from `paths.timings` when it holds that model
(CUDA rows preferred; others are labelled as not measured on the priced GPU), else from
ASSUMED_S_PER_IMAGE below (stated, not measured), or from --assume-s-per-image.

With --gpus N..., each self-hosted model is also sharded over all N GPUs (one replica per GPU, as
`generate.executor: ray` does), models one after another:

    images_per_gpu = ceil(J / N)                       the busiest GPU sets the pace
    wall_s         = load_s + images_per_gpu * s_per_image / utilisation
    gpu_hours      = N * wall_s / 3600                 every GPU is billed until the model finishes
    cost_usd       = J * with_fees(gpu_hours * price_usd_per_hour / J)   (pricing.with_fees: overhead, fee)

Exits 2 on a bad override, config, workload or option, naming it.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from sentinel import config
from sentinel.compose import compose
from sentinel.cost.pricing import price_image, validate_card, with_fees
from sentinel.records import is_ok
from sentinel.workloads.jobs import WorkloadError, load_workload

# Assumed A100 80GB seconds per image at each recipe's own resolution and steps (bf16, batch 1), for
# planning only: round figures from the models' published step counts and typical per-step times,
# not measurements. Replace them by running `generate` on the card and keeping outputs/generate/timings.jsonl.
ASSUMED_S_PER_IMAGE = {"flux2-dev": 40.0, "flux2-schnell": 4.0, "sdxl-lightning": 0.8, "sdxl-turbo": 0.15}
ASSUMED_FALLBACK_S = 10.0  # any other self-hosted model
ASSUMED_LOAD_S = 60.0  # weight load per worker start, when not measured


@dataclass(frozen=True)
class ModelProfile:
    """What pricing needs to know about one model; seconds are None for an API model."""
    name: str
    api: bool
    config_price: float | None  # the model config's api.list_price_usd_per_image
    s_per_image: float | None
    load_s: float
    source: str  # "measured (CUDA)", "measured (not the priced GPU)", "assumed", "vendor"


def measured_seconds(timings_path: Path) -> dict[str, tuple[float, float, str]]:
    """model -> (mean compute seconds of its successful images, load seconds, source); CUDA rows win."""
    if not timings_path.exists():
        return {}
    by_model: dict[str, dict[bool, list[dict]]] = {}
    for line in timings_path.read_text().splitlines():
        r = json.loads(line) if line.strip() else None
        if r and is_ok(r) and r.get("device") != "api":
            cuda = str(r.get("device", "")).startswith("cuda")
            by_model.setdefault(r["model"], {}).setdefault(cuda, []).append(r)
    out = {}
    for model, rows in by_model.items():
        cuda = True in rows
        kept = rows[cuda]
        out[model] = (statistics.fmean(float(r["compute_s"]) for r in kept), float(kept[0].get("load_s") or 0.0),
                      "measured (CUDA)" if cuda else "measured (not the priced GPU)")
    return out


def profile(name: str, mcfg: config.ModelConfig, measured: dict, assume_s: float | None,
            assume_load_s: float = ASSUMED_LOAD_S) -> ModelProfile:
    api = mcfg.source == "api"
    price = mcfg.api.list_price_usd_per_image if mcfg.api else None
    if api:
        return ModelProfile(name, True, price, None, 0.0, "vendor")
    if assume_s is not None:
        return ModelProfile(name, False, price, assume_s, assume_load_s, "assumed")
    if name in measured:
        return ModelProfile(name, False, price, *measured[name])
    return ModelProfile(name, False, price, ASSUMED_S_PER_IMAGE.get(name, ASSUMED_FALLBACK_S), assume_load_s,
                        "assumed")


def model_row(p: ModelProfile, jobs: int, card: config.CostConfig) -> dict:
    """Cost of `jobs` images of one model, priced exactly as the cost stage prices them."""
    priced = price_image(p.name, card, api=p.api, config_price=p.config_price, compute_s=p.s_per_image or 0.0,
                         load_s=p.load_s)
    per = priced["cost_usd_per_image"]
    source = p.source if priced["billing"] == "gpu time" else (
        "vendor list price" if per is not None else "list price not set")
    return {"model": p.name, "images": jobs, "billing": priced["billing"], "s_per_image": p.s_per_image,
            "load_s": p.load_s, "source": source, "gpu_hours": priced["billed_s_per_image"] * jobs / 3600,
            "usd_per_image": per, "usd": None if per is None else per * jobs}


def capacity_row(p: ModelProfile, jobs: int, gpus: int, card: config.CostConfig) -> dict:
    """One model sharded over `gpus` GPUs (module docstring); list-priced models use no GPU."""
    row = model_row(p, jobs, card)
    if row["billing"] != "gpu time":
        return {"model": p.name, "billing": row["billing"], "wall_s": 0.0, "gpu_hours": 0.0, "cost_usd": row["usd"]}
    images_per_gpu = math.ceil(jobs / gpus)
    wall_s = p.load_s + images_per_gpu * p.s_per_image / card.utilisation
    gpu_hours = gpus * wall_s / 3600.0
    cost = jobs * with_fees(gpu_hours * card.price_usd_per_hour / jobs, card)["cost_usd_per_image"]
    return {"model": p.name, "billing": "gpu time", "images_per_gpu": images_per_gpu, "wall_s": wall_s,
            "gpu_hours": gpu_hours, "cost_usd": cost, "s_per_image": p.s_per_image, "load_s": p.load_s,
            "source": p.source}


def capacity(profiles: list[ModelProfile], jobs: int, gpu_counts: list[int], card: config.CostConfig) -> list[dict]:
    """Per GPU count: per-model rows and suite totals (unpriced models count as unknown, not as 0)."""
    if any(n < 1 for n in gpu_counts):
        raise ValueError(f"--gpus: each count must be >= 1, got {gpu_counts}")
    out = []
    for n in gpu_counts:
        models = [capacity_row(p, jobs, n, card) for p in profiles]
        known = [m["cost_usd"] for m in models if m["cost_usd"] is not None]
        cost = sum(known)
        out.append({"gpus": n, "images": jobs * len(profiles), "wall_s": sum(m["wall_s"] for m in models),
                    "wall_h": sum(m["wall_s"] for m in models) / 3600,
                    "gpu_hours": sum(m["gpu_hours"] for m in models), "cost_usd": cost,
                    "unpriced": len(models) - len(known),
                    "cost_usd_per_1000_images": 1000 * cost / (jobs * len(known)) if known else None,
                    "models": models})
    return out


def load_suite(overrides: list[str], params: str | None = None) -> dict:
    """The validated config: `params` (a params.yaml) as it is, else conf/ composed with these
    overrides in memory (params.yaml is not touched)."""
    sections = ("suite", "model", "workload", "cost", "paths")
    if params is not None:
        if overrides:
            raise config.ConfigError(f"--params {params}: plan either a params file or overrides of conf/, not both")
        return config.load(params, sections=sections)
    try:
        params = compose(overrides)
    except Exception as e:  # Hydra's composition errors name the bad override and list valid options
        raise config.ConfigError(f"overrides {' '.join(overrides) or '(none)'}: {e}".splitlines()[0]) from None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "params.yaml"
        path.write_text(yaml.safe_dump(params, sort_keys=False))
        return config.load(path, sections=sections)


def plan(overrides: list[str], gpus: list[int] = (), utilisation: float | None = None, jobs: int | None = None,
         assume_s: float | None = None, params: str | None = None, assume_load_s: float = ASSUMED_LOAD_S) -> dict:
    if jobs is not None and jobs < 1:
        raise ValueError(f"--jobs: must be >= 1, got {jobs}")
    if assume_s is not None and assume_s <= 0:
        raise ValueError(f"--assume-s-per-image: must be > 0, got {assume_s}")
    if assume_load_s < 0:
        raise ValueError(f"--assume-load-s: must be >= 0, got {assume_load_s}")
    cfg = load_suite(overrides, params)
    wl, card = cfg["workload"], cfg["cost"]
    card = card if utilisation is None else dataclasses.replace(card, utilisation=utilisation)
    validate_card(card)
    workload = load_workload(wl.jobs, wl.categories)
    n = len(workload.jobs) if jobs is None else jobs
    measured = measured_seconds(Path(cfg["paths"].timings))
    profiles = [profile(name, m, measured, assume_s, assume_load_s) for name, m in cfg["model"].items()]
    return {"suite": cfg["suite"].name, "overrides": list(overrides), "workload": wl.name, "jobs": n,
            "categories": {c: k for c in wl.categories if (k := sum(j.category == c for j in workload.jobs))},
            "sizes": dict(Counter(f"{j.width}x{j.height}" for j in workload.jobs).most_common()),
            "trace_span_s": max(workload.arrival_s.values()) if workload.arrival_s else None,
            "card": card.card, "gpu": card.gpu, "price_usd_per_hour": card.price_usd_per_hour, "as_of": card.as_of,
            "utilisation": card.utilisation, "models": [model_row(p, n, card) for p in profiles],
            "capacity": capacity(profiles, n, list(gpus), card),
            "reference": {c: wl.reference.get(c, f"{cfg['paths'].data}/reference/{c}") for c in wl.categories}}


def _money(x: float | None) -> str:
    return "unknown" if x is None else f"${x:,.2f}" if x >= 1 else f"${x:.4f}"


def _capacity_lines(p: dict) -> list[str]:
    lines = ["", f"On N GPUs ({p['gpu']}, ${p['price_usd_per_hour']:.2f}/GPU-hour as of {p['as_of']}, "
             f"utilisation {p['utilisation']:.2f}; models one after another, each sharded over all N):", "",
             "| GPUs | images | wall time (h) | GPU-hours | cost (USD) | USD per 1,000 images |",
             "|---:|---:|---:|---:|---:|---:|"]
    for r in p["capacity"]:
        per = "unknown" if r["cost_usd_per_1000_images"] is None else f"{r['cost_usd_per_1000_images']:.3f}"
        unpriced = f" + {r['unpriced']} unpriced" if r["unpriced"] else ""
        lines.append(f"| {r['gpus']} | {r['images']:,} | {r['wall_h']:,.2f} | {r['gpu_hours']:,.1f} | "
                     f"{r['cost_usd']:,.2f}{unpriced} | {per} |")
    return lines


def render(p: dict) -> str:
    known = [r["usd"] for r in p["models"] if r["usd"] is not None]
    lines = [f"- Suite `{p['suite']}`: workload `{p['workload']}`, {p['jobs']:,} jobs x {len(p['models'])} models = "
             f"{p['jobs'] * len(p['models']):,} images; price card `{p['card']}` (utilisation {p['utilisation']}).",
             "- Jobs per category: " + ", ".join(f"{c} {n:,}" for c, n in p["categories"].items()) + ".",
             "- Sizes: " + ", ".join(f"{s} {n:,}" for s, n in p["sizes"].items()) + "."]
    if p["trace_span_s"] is not None:
        lines.append(f"- Arrival trace: {p['trace_span_s']:,.0f} s span (replayable at any speed-up).")
    lines.append("- Reference sets: " + ", ".join(f"{c} <- {d}" for c, d in p["reference"].items()) + ".")
    lines += ["", "| model | images | s/image | source | GPU-hours | USD/image | USD |", "|---|---|---|---|---|---|---|"]
    for r in p["models"]:
        s = "-" if r["s_per_image"] is None else f"{r['s_per_image']:.3g}"
        lines.append(f"| {r['model']} | {r['images']:,} | {s} | {r['source']} | {r['gpu_hours']:,.1f} | "
                     f"{_money(r['usd_per_image'])} | {_money(r['usd'])} |")
    unknown = len(p["models"]) - len(known)
    lines.append(f"| **total** | {p['jobs'] * len(p['models']):,} | | | {sum(r['gpu_hours'] for r in p['models']):,.1f} | "
                 f"| {_money(sum(known))}{f' + {unknown} unpriced' if unknown else ''} |")
    if p["capacity"]:
        lines += _capacity_lines(p)
    lines += ["", "Generation only; scoring and latency runs are extra. Priced by sentinel.cost.pricing (the cost "
              "stage's formula); 'assumed' seconds are stated in sentinel/cost/planner.py (ASSUMED_S_PER_IMAGE, "
              "ASSUMED_LOAD_S), not measured."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="sentinel plan", description=__doc__.splitlines()[0])
    ap.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. suite=2026-q4 model=flux2-dev")
    ap.add_argument("--gpus", type=int, nargs="+", default=[], help="also plan wall time and cost on N GPUs")
    ap.add_argument("--jobs", type=int, help="jobs per model (default: the workload's)")
    ap.add_argument("--assume-s-per-image", type=float, help="seconds per image for every self-hosted model")
    ap.add_argument("--assume-load-s", type=float, default=ASSUMED_LOAD_S,
                    help=f"weight-load seconds per worker start when not measured (default {ASSUMED_LOAD_S:g})")
    ap.add_argument("--utilisation", type=float, help="override the price card's utilisation")
    ap.add_argument("--params", help="plan this params.yaml as it is, instead of composing conf/ with overrides")
    ap.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        result = plan(args.overrides, args.gpus, args.utilisation, args.jobs, args.assume_s_per_image, args.params,
                      args.assume_load_s)
    except (config.ConfigError, WorkloadError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, sort_keys=True) if args.json else render(result), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
