"""Stage `gather` (every model): the per-model outputs combined into the all-model files.

Per-model stages (`generate@<model>`, `score@<model>`, `latency@<model>`) are what a change pays
for; this stage only reads their files, in params.yaml's model order, and writes the files that
cost, report and releases read (paths.records, timings, score, ratings, latency and its plot CSVs).
Its one computation is the human component: pairwise votes compare models, so it needs them all,
and it is cheap. The combined files hold exactly what the all-model stages (model=None) write.
"""
from __future__ import annotations

import json
from pathlib import Path

from sentinel import config, human
from sentinel.per_model import model_paths
from sentinel.provenance import PLUMBING_NOTE, atomic_write_text, read_jsonl, write_json, write_jsonl
from sentinel.records import canonical, is_ok

SECTIONS = ("model", "score", "paths")


def _read(path: Path, model: str, stage: str) -> str:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; run `dvc repro {stage}@{model}` (or `dvc repro`)")
    return path.read_text(encoding="utf-8")


def combine(sc: config.ScoreConfig, all_records: list[dict], entries: dict[str, dict | None],
            convention: dict, env: dict, images_dir: Path) -> tuple[dict, list[dict]]:
    """The all-model quality file and the ratings: per-model blocks (in `entries` order) plus each
    model's human component, computed over every model's images (pairwise votes need them all)."""
    records = [r for r in canonical(all_records) if is_ok(r)]
    ratings = human.ratings(sc.human, records, images_dir)
    result = {"models": {}, "convention": convention, "environment": env}
    for model, entry in entries.items():
        if entry is None:
            continue
        entry = {**entry, "human": human.summarise(ratings, model, sc.human.seed, sc.bootstrap_samples,
                                                   sc.human.gold_min_accuracy, level=sc.ci_level)}
        result["models"][model] = entry
    result["judge_agreement"] = judge_agreement(ratings, result["models"], records, sc.ci_level)
    result["judge_agreement_simulated_raters"] = any(r.get("simulated") for r in ratings)
    failed_only = {m: sum(1 for r in all_records if r["model"] == m) for m, e in entries.items() if e is None}
    if failed_only:
        result["models_without_images"] = failed_only  # every record failed: nothing to score
    if any(m["plumbing"] for m in result["models"].values()) or convention.get("profile", {}).get("plumbing"):
        result["note"] = PLUMBING_NOTE
    return result, ratings


def judge_agreement(ratings: list[dict], models: dict[str, dict], records: list[dict], level: float) -> dict:
    """Per automatic metric, how often it agrees with the human pairwise votes (human/agreement.py):
    per-image CLIP scores where they exist, model-level values for set metrics (FID, KID, CMMD)."""
    from sentinel.human.agreement import agreement
    from sentinel.metrics.registry import REGISTRY

    votes = [r for r in ratings if r.get("kind") == "pairwise"]
    metrics = {}
    for name, metric in REGISTRY.items():
        overall = {m: e["overall"] or {} for m, e in models.items()}  # None: too few images to claim
        values = {m: o.get(name) for m, o in overall.items() if o.get(name) is not None}
        per_image = {}
        for m, e in models.items():
            scores = overall[m].get(f"{name}_per_image")
            ok = [r for r in records if r["model"] == m]
            if scores and len(scores) == len(ok):
                per_image.update({(m, r["job_id"]): v for r, v in zip(ok, scores)})
        if values or per_image or metric.enabled is None:  # an optional metric that is off has no row
            metrics[name] = {"higher_is_better": metric.higher_is_better, "models": values, "per_image": per_image}
    return agreement(votes, metrics, level)


def _quality(mps: dict, sc: config.ScoreConfig, records: list[dict], images: Path) -> tuple[dict, list[dict]]:
    docs = {m: json.loads(_read(mp.score, m, "score")) for m, mp in mps.items()}
    conventions = {json.dumps(d["convention"], sort_keys=True) for d in docs.values()}
    if len(conventions) > 1:
        raise ValueError("per-model quality files were made with different conventions (weights, resize or "
                         f"precision): {', '.join(str(mp.score) for mp in mps.values())}; run `dvc repro`")
    first = next(iter(docs.values()))
    entries = {m: d["quality"] for m, d in docs.items()}
    return combine(sc, records, entries, first["convention"], first["environment"], images)


def _latency(mps: dict) -> tuple[dict, str, str]:
    docs = {m: json.loads(_read(mp.latency_json, m, "latency")) for m, mp in mps.items()}
    first = next(iter(docs.values()))
    doc = {**first, "models": {m: d["models"][m] for m, d in docs.items()},
           "config": {**first["config"], "models": list(docs)}}
    csvs = []
    for attr in ("latency_cdf", "latency_load"):
        texts = [_read(getattr(mp, attr), m, "latency").splitlines(keepends=True) for m, mp in mps.items()]
        csvs.append("".join([texts[0][0], *(line for t in texts for line in t[1:])]))
    return doc, csvs[0], csvs[1]


def run(params_path: str | Path = "params.yaml") -> dict:
    cfg = config.load(params_path, sections=SECTIONS)
    paths, sc = cfg["paths"], cfg["score"]
    mps = {m: model_paths(paths, m) for m in cfg["model"]}
    records, timings = [], []
    for m, mp in mps.items():
        _read(mp.records, m, "generate")
        records += read_jsonl(mp.records)
        timings += read_jsonl(mp.timings)
    quality, ratings = _quality(mps, sc, records, Path(paths.images))
    lat, cdf, load = _latency(mps)
    write_jsonl(paths.records, records)
    write_jsonl(paths.timings, timings)
    write_jsonl(paths.ratings, ratings)
    write_json(paths.score, quality)
    atomic_write_text(paths.latency_cdf, cdf)
    atomic_write_text(paths.latency_load, load)
    write_json(paths.latency, lat)
    return {"records": len(records), "models": list(mps)}
