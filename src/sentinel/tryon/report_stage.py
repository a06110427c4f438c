"""Stage `tryon_report` (foreach over tryon.report): every try-on model on one leaderboard, with cost.

Reads params.yaml and, for every model in `tryon.models`:

    tryon.paths.scores/<m>.json          the score stage's document (both protocols)
    tryon.paths.records/<m>.jsonl        the generate records (statuses, failures, result files)
    tryon.paths.timings/<m>.jsonl        measured seconds, priced here (sentinel.tryon.cost)
    tryon.paths.latency/<m>/latency.json p95 end-to-end latency and its CI (tryon_latency@<m>)
    the job CSV and its images           the person and garment panels of the triptychs

and writes, each atomically (a missing input fails first, naming the file; nothing is written then):

    tryon.paths.leaderboard   leaderboard.json: one row per model (sentinel.tryon.leaderboard)
    tryon.paths.metrics       metrics.json: flat scalars keyed by model (the DVC metrics file)
    tryon.paths.report        report.md: both protocols' tables with n and CIs, cost, latency, failures,
                              and every triptych (`tryon.score.triptychs_per_protocol`: 0 = every job)
    tryon.paths.report_html   report.html: the same, self-contained
    tryon.paths.triptychs     <m>/<job>.png: person | garment | result (sentinel.tryon.triptych)

Outputs hold no timestamps or seconds of this run, so the same inputs give the same bytes.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from sentinel import config
from sentinel.cost.pricing import validate_card
from sentinel.provenance import (PLUMBING_NOTE, atomic_write_text, read_jsonl, staged_dir, to_json)
from sentinel.tryon import cost as cost_mod
from sentinel.tryon import leaderboard, report_html, report_md, score_config
from sentinel.tryon.score_config import TryOnInputError

PATH_KEYS = ("results", "records", "timings", "scores", "latency", "leaderboard", "metrics", "report",
             "report_html", "triptychs")


def _json(path: Path, what: str) -> dict:
    if not path.is_file():
        raise TryOnInputError(f"{path}: {what} not found; run `dvc repro` (or the stage named) first")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise TryOnInputError(f"{path}: not valid JSON ({e.msg}, line {e.lineno})") from None


def _jsonl(path: Path, what: str) -> list[dict]:
    if not path.is_file():
        raise TryOnInputError(f"{path}: {what} not found; run `dvc repro` (or the stage named) first")
    return read_jsonl(path)


def inputs(paths: dict, model: str) -> dict:
    """Every file the report needs for `model`, read and checked (all before any output is written)."""
    score = _json(paths["scores"] / f"{model}.json", f"scores of {model!r} (tryon_score@{model})")
    lat = _json(paths["latency"] / model / "latency.json", f"latency of {model!r} (tryon_latency@{model})")
    if isinstance(lat.get("models"), dict) and model not in lat["models"]:
        raise TryOnInputError(f"{paths['latency'] / model / 'latency.json'}: has no figures for {model!r}")
    records = {r["job_id"]: r for r in _jsonl(paths["records"] / f"{model}.jsonl",
                                               f"records of {model!r} (tryon_generate@{model})")}
    timings = _jsonl(paths["timings"] / f"{model}.jsonl", f"timings of {model!r} (tryon_generate@{model})")
    if score.get("model") != model:
        raise TryOnInputError(f"{paths['scores'] / f'{model}.json'}: is for model {score.get('model')!r}")
    if sorted(records) != sorted(score["jobs"]):
        raise TryOnInputError(f"{paths['records'] / f'{model}.jsonl'}: its jobs differ from "
                              f"{paths['scores'] / f'{model}.json'}; run tryon_score@{model} again")
    return {"score": score, "latency": lat, "records": records, "timings": timings}


def pick(score: dict, per_protocol: int) -> list[str]:
    """Job ids to draw: every job (0), else the first `per_protocol` of each protocol in id order."""
    jobs = sorted(score["jobs"])
    if per_protocol == 0:
        return jobs
    out = []
    for protocol in ("paired", "unpaired"):
        out += [j for j in jobs if score["jobs"][j]["protocol"] == protocol][:per_protocol]
    return sorted(out)


def build_triptychs(paths: dict, wl: dict, jobs: dict, data: dict[str, dict], per_protocol: int,
                    report_dir: Path) -> list[dict]:
    from sentinel.tryon.triptych import triptych

    out = []
    for model, d in data.items():
        score = d["score"]
        for job_id in pick(score, per_protocol):
            job, s = jobs[job_id], score["jobs"][job_id]
            result = paths["results"] / s["result"] if s["status"] == "ok" else None
            png = triptych(wl["root"] / job.person, wl["root"] / job.garment, result)
            rel = f"{model}/{job_id}.png"
            out.append({"model": model, "job_id": job_id, "protocol": s["protocol"], "status": s["status"],
                        "failure": s.get("failure"), "metrics": s.get("metrics"), "file": rel, "png": png,
                        "href": Path(os.path.relpath(paths["triptychs"] / rel, report_dir)).as_posix()})
    return out


def run(params_path: str | Path = "params.yaml", model: str | None = None) -> dict:
    """`model` is the foreach item of tryon.report (`tryon`) and selects nothing: every model is reported."""
    from sentinel.tryon.jobs import load_tryon_jobs

    section = score_config.read_section(params_path)
    models = score_config.models(section, params_path)
    if not models:
        raise config.ConfigError("tryon.models: empty; the try-on report needs at least one model", path=params_path)
    cfg = score_config.parse_score(section.get("score"), params_path)
    tcost = score_config.parse_cost(section.get("cost"), params_path)
    paths = score_config.stage_paths(section, PATH_KEYS, params_path)
    wl = score_config.workload(section, params_path)
    top = config.load(params_path, sections=("cost", "suite"))
    card = top["cost"]
    validate_card(card)
    jobs = {j.id: j for j in load_tryon_jobs(wl["jobs"], wl["root"], pairs=wl["pairs"])}
    data = {m: inputs(paths, m) for m in sorted(models)}

    rows = []
    for m, d in data.items():
        priced = cost_mod.tryon_cost(m, models[m], d["timings"], d["records"], card, tcost.list_price_usd_per_tryon)
        rows.append(leaderboard.entry(m, d["score"], priced, d["latency"]))
    plumbing = bool(top["suite"].plumbing) or any(r["plumbing"] for r in rows)
    board = {"family": "tryon", "workload": wl["name"], "plumbing": plumbing, "ci_level": cfg.ci_level,
             "price_card": card.card, "models": rows,
             "failed_jobs_rule": next(iter(data.values()))["score"]["failed_jobs_rule"],
             "rubric": "rubrics/tryon-metrics.md"}
    if plumbing:
        board["note"] = "plumbing only: " + PLUMBING_NOTE
    report_dir = paths["report"].parent
    trips = build_triptychs(paths, wl, jobs, data, cfg.triptychs_per_protocol, report_dir)
    md = report_md.render(rows, trips, plumbing=plumbing, workload=wl["name"], ci_level=cfg.ci_level)
    page = report_html.render(md, [{**t, "href": Path(os.path.relpath(paths["triptychs"] / t["file"],
                                                                     paths["report_html"].parent)).as_posix()}
                                   for t in trips])
    board["triptychs"] = [{k: t[k] for k in ("model", "job_id", "protocol", "status", "file")} for t in trips]

    with staged_dir(paths["triptychs"]) as tmp:
        for t in trips:
            (tmp / t["model"]).mkdir(parents=True, exist_ok=True)
            (tmp / t["file"]).write_bytes(t["png"])
    atomic_write_text(paths["leaderboard"], to_json(board))
    atomic_write_text(paths["metrics"], to_json(leaderboard.flat_metrics(rows)))
    atomic_write_text(paths["report"], md)
    atomic_write_text(paths["report_html"], page)
    return board
