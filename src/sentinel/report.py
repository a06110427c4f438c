"""Stage `report`: leaderboard.json and report.md from the score, cost and latency outputs.

Outputs are rendered in memory, logged to MLflow from a temporary folder, and only then written
into place, so a failed run (MLflow down included) leaves no report that looks complete.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from . import composite, config, tracking
from .provenance import PLUMBING_NOTE, read_jsonl, to_json, write_json, atomic_write_text
from .report_md import render

LATENCY_KEYS = ("latency_p50_s", "latency_p95_s", "latency_p99_s", "cold_start_s")


def _read_json(path: str) -> dict:
    import json

    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: missing; run `dvc repro` so the earlier stages produce it")
    return json.loads(Path(path).read_text(encoding="utf-8"))


def entry(name: str, mcfg: config.ModelConfig, score: dict, cost: dict, lat: dict, rcfg: config.ReportConfig) -> dict:
    o = score["overall"]
    parts = composite.components(o["fid"], o["clip_score"], score["human"]["likert_mean"], rcfg.normalisation)
    return {"model": name, "display_name": mcfg.display_name, "plumbing": score["plumbing"],
            "composite": composite.composite(parts, rcfg), "components": parts,
            "fid": o["fid"], "kid": o["kid_mean"], "kid_std": o["kid_std"], "clip_score": o["clip_score"],
            "human": parts["human"], "human_likert_mean": score["human"]["likert_mean"],
            "human_likert_ci95": score["human"]["likert_ci95"], "human_simulated": score["human"]["simulated"],
            "n_generated": o["n_generated"], "n_reference": o["n_reference"],
            "cost_usd_per_image": cost["cost_usd_per_image"],
            **{k: lat[k] for k in LATENCY_KEYS}, "latency_n_requests": lat["n_requests"],
            "latency_n_failed": lat["n_failed"], "latency_p95_claimable": lat["p95_claimable"],
            "latency_p99_claimable": lat["p99_claimable"],
            "categories": {c: {"fid": v["fid"], "kid": v["kid_mean"], "clip_score": v["clip_score"],
                               "n_generated": v["n_generated"]} for c, v in score["categories"].items()}}


def build(cfg: dict) -> dict:
    paths, rcfg = cfg["paths"], cfg["report"]
    composite.validate(rcfg)
    score, cost, lat = _read_json(paths.score), _read_json(paths.cost), _read_json(paths.latency)
    rows = []
    for name, mcfg in cfg["model"].items():
        for what, src in (("score", score), ("cost", cost), ("latency", lat)):
            if name not in src["models"]:
                raise ValueError(f"model {name!r} is in params.yaml but not in the {what} output; run `dvc repro`")
        rows.append(entry(name, mcfg, score["models"][name], cost["models"][name], lat["models"][name], rcfg))
    rows.sort(key=lambda r: (-r["composite"], r["model"]))
    plumbing = cfg["suite"].plumbing or any(r["plumbing"] for r in rows)
    return {"suite": cfg["suite"].name, "plumbing": plumbing, "note": PLUMBING_NOTE if plumbing else "",
            "composite_version": rcfg.version, "weights": rcfg.weights,
            "normalisation": {k: getattr(rcfg.normalisation, k) for k in rcfg.normalisation.__dataclass_fields__},
            "convention": score["convention"], "price_card": cost["price_card"], "models": rows}


def metrics_for_tracking(board: dict) -> dict[str, float]:
    keys = ("composite", "fid", "kid", "clip_score", "human", "cost_usd_per_image", *LATENCY_KEYS)
    return {f"{r['model']}.{k}": r[k] for r in board["models"] for k in keys}


def run(params_path: str | Path = "params.yaml") -> dict:
    cfg = config.load(params_path)
    paths, track = cfg["paths"], cfg["tracking"]
    board = build(cfg)
    markdown = render(board, records=read_jsonl(paths.records))
    if track.enabled:
        with tempfile.TemporaryDirectory() as tmp:
            lb, md = Path(tmp) / Path(paths.leaderboard).name, Path(tmp) / Path(paths.report).name
            lb.write_text(to_json(board), encoding="utf-8")
            md.write_text(markdown, encoding="utf-8")
            tracking.log_run(track.experiment, config.read_params(params_path), metrics_for_tracking(board),
                             [lb, md, Path(params_path)], {"suite": board["suite"], "plumbing": str(board["plumbing"])})
    write_json(paths.leaderboard, board)
    atomic_write_text(paths.report, markdown)
    return board
