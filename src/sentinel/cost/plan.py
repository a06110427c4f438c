"""Plan a suite before running it: what it would generate and roughly what it would cost.

    python -m sentinel.cost.plan suite=2026-q4                 # any Hydra overrides, as with `dvc exp run -S`
    python -m sentinel.cost.plan suite=2026-q4 model=flux2-dev

Composes conf/ in memory (params.yaml is not touched), validates it, reads the workload, and for each
model prices jobs x seconds per image with the suite's price card (sentinel.cost.stage.cost_per_image).
Seconds per image come from `paths.timings` when it holds that model (CUDA rows preferred; others are
labelled as not measured on the priced GPU), else from ASSUMED_S_PER_IMAGE below (stated, not
measured). API models use their list price when the card or model config has one. Prints a Markdown
plan; exits 2 on a bad override, config or workload.
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path

import yaml

from sentinel import config
from sentinel.cost import stage
from sentinel.compose import compose
from sentinel.workloads.jobs import WorkloadError, load_workload
from sentinel.records import is_ok

# Assumed A100 80GB seconds per image at each recipe's own resolution and steps (bf16, batch 1), for
# planning only: round figures from the models' published step counts and typical per-step times,
# not measurements. Replace them by running `generate` on the card and keeping outputs/generate/timings.jsonl.
ASSUMED_S_PER_IMAGE = {"flux2-dev": 40.0, "flux2-schnell": 4.0, "sdxl-lightning": 0.8, "sdxl-turbo": 0.15}
ASSUMED_FALLBACK_S = 10.0  # any other self-hosted model


def measured_s_per_image(timings_path: Path) -> dict[str, tuple[float, str]]:
    """model -> (mean compute seconds of its successful images, device); CUDA rows win over others."""
    if not timings_path.exists():
        return {}
    by_model: dict[str, dict[bool, list[float]]] = {}
    for line in timings_path.read_text().splitlines():
        r = json.loads(line) if line.strip() else None
        if r and is_ok(r):
            cuda = str(r.get("device", "")).startswith("cuda")
            by_model.setdefault(r["model"], {}).setdefault(cuda, []).append(float(r["compute_s"]))
    return {m: (statistics.fmean(v[True]), "measured (CUDA)") if True in v else
            (statistics.fmean(v[False]), "measured (not the priced GPU)") for m, v in by_model.items()}


def _model_row(name: str, mcfg: config.ModelConfig, n: int, card: config.CostConfig, measured: dict) -> dict:
    price = card.list_price_usd_per_image.get(name, mcfg.api.list_price_usd_per_image if mcfg.api else None)
    if mcfg.source == "api":
        per = None if price is None else stage._total(price, card)["cost_usd_per_image"]
        return {"model": name, "images": n, "s_per_image": None, "source": "vendor list price" if per is not None
                else "list price not set", "gpu_hours": 0.0, "usd_per_image": per, "usd": None if per is None else per * n}
    s, source = measured.get(name, (ASSUMED_S_PER_IMAGE.get(name, ASSUMED_FALLBACK_S), "assumed"))
    per = stage.cost_per_image(s, card)
    return {"model": name, "images": n, "s_per_image": s, "source": source,
            "gpu_hours": per["billed_s_per_image"] * n / 3600, "usd_per_image": per["cost_usd_per_image"],
            "usd": per["cost_usd_per_image"] * n}


def plan(overrides: list[str]) -> dict:
    try:
        params = compose(overrides)
    except Exception as e:  # Hydra's composition errors name the bad override and list valid options
        raise config.ConfigError(f"overrides {' '.join(overrides) or '(none)'}: {e}".splitlines()[0]) from None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "params.yaml"
        path.write_text(yaml.safe_dump(params, sort_keys=False))
        cfg = config.load(path, sections=("suite", "model", "workload", "cost", "paths"))
    wl, card = cfg["workload"], cfg["cost"]
    workload = load_workload(wl.jobs, wl.categories)
    jobs = workload.jobs
    measured = measured_s_per_image(Path(cfg["paths"].timings))
    rows = [_model_row(name, m, len(jobs), card, measured) for name, m in cfg["model"].items()]
    return {"suite": cfg["suite"].name, "overrides": list(overrides), "workload": wl.name, "jobs": len(jobs),
            "categories": {c: n for c in wl.categories if (n := sum(j.category == c for j in jobs))},
            "sizes": dict(Counter(f"{j.width}x{j.height}" for j in jobs).most_common()),
            "trace_span_s": max(workload.arrival_s.values()) if workload.arrival_s else None,
            "card": card.card, "utilisation": card.utilisation, "models": rows,
            "reference": {c: wl.reference.get(c, f"{cfg['paths'].data}/reference/{c}") for c in wl.categories}}


def _money(x: float | None) -> str:
    return "unknown" if x is None else f"${x:,.2f}" if x >= 1 else f"${x:.4f}"


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
    total_h = sum(r["gpu_hours"] for r in p["models"])
    unknown = len(p["models"]) - len(known)
    lines.append(f"| **total** | {p['jobs'] * len(p['models']):,} | | | {total_h:,.1f} | | {_money(sum(known))}"
                 f"{f' + {unknown} unpriced' if unknown else ''} |")
    lines += ["", "Generation only; scoring, latency runs and idle GPUs outside `utilisation` are extra. "
              "'assumed' seconds are stated in sentinel/plan.py (ASSUMED_S_PER_IMAGE), not measured."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        print(render(plan(argv)))
    except (config.ConfigError, WorkloadError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
