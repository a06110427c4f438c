"""Stage `report`: leaderboard.json, report.md, a self-contained report.html and plot data.

Outputs are rendered in memory, written into place atomically, and only then logged to MLflow (one
parent run, one nested run per model), so every FINISHED MLflow run has its DVC outputs; if logging
fails (MLflow down included) the outputs are removed again, so a failed run leaves no report that
looks complete.
"""
from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path

from sentinel.report import composite, leaderboard, uncertainty
from sentinel import config, tracking
from sentinel.report.data_used import data_used
from sentinel.report.breakdown import breakdown, human_rows, qualified_attributes
from sentinel.records import canonical, failure_summary, is_ok
from sentinel.models import cards
from sentinel.workloads.jobs import load_workload
from sentinel.report.plots import colours, latency_cdf, pareto
from sentinel.report import latency_plots
from sentinel.per_model import model_paths
from sentinel.provenance import (PLUMBING_NOTE, atomic_write_bytes, atomic_write_text, report_provenance, read_jsonl, to_json, staged_dir)
from sentinel.report.flat import flat_metrics, metrics_json
from sentinel.report.html import render_html
from sentinel.report.markdown import render



def _read_json(path: str) -> dict:
    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: missing; run `dvc repro` so the earlier stages produce it")
    return json.loads(Path(path).read_text(encoding="utf-8"))


def build(cfg: dict, score: dict, cost: dict, lat: dict, records: list[dict]) -> dict:
    paths, rcfg = cfg["paths"], cfg["report"]
    composite.validate(rcfg)
    rows = []
    failed_only = score.get("models_without_images", {})  # every job failed: a row, never a crash
    for name, mcfg in cfg["model"].items():
        if name not in score["models"] and name not in failed_only:
            raise ValueError(f"model {name!r} is in params.yaml but not in {paths.score}; run `dvc repro`")
        block = score["models"].get(name) or leaderboard.failed_only(failed_only[name])
        rows.append(leaderboard.entry(name, mcfg, block, cost["models"].get(name), lat["models"].get(name), rcfg))
    _add_failures(rows, records)
    rows = leaderboard.rank(rows, rcfg)
    plumbing = (cfg["suite"].plumbing or any(r["plumbing"] for r in rows)
                or score["convention"].get("profile", {}).get("plumbing", False))  # metrics/profile.py
    return {"suite": cfg["suite"].name, "plumbing": plumbing, "note": PLUMBING_NOTE if plumbing else "",
            "composite_version": rcfg.version, "weights": rcfg.weights,
            "normalisation": {k: getattr(rcfg.normalisation, k) for k in rcfg.normalisation.__dataclass_fields__},
            "weight_sensitivity": uncertainty.weight_sensitivity([r for r in rows if r["composite"] is not None], rcfg.weights),
            "convention": score["convention"], "price_card": cost["price_card"], "cost_note": cost.get("note", ""),
            "latency_note": lat.get("note", ""), "models": rows, "comparison": leaderboard.comparison(rows),
            "model_cards": {n: _card(m, records) for n, m in cfg["model"].items()}, "provenance": report_provenance()}


def attribute_breakdown(cfg: dict, records: list[dict], score: dict) -> dict:
    """Human MOS and CLIP score per subject attribute (e.g. skin-tone band), with CIs and n."""
    wl = load_workload(cfg["workload"].jobs, cfg["workload"].categories)
    rows = human_rows(read_jsonl(cfg["paths"].ratings)) if Path(cfg["paths"].ratings).exists() else []
    for model, entry in score["models"].items():
        ok = [r for r in canonical(records) if r["model"] == model and is_ok(r)]  # per-image lists' order
        per_image = (entry["overall"] or {}).get("clip_score_per_image") or []
        if len(per_image) == len(ok):
            rows += [{"model": model, "job_id": r["job_id"], "clip_score": v} for r, v in zip(ok, per_image)]
    level = leaderboard.ci_level([e["overall"] for e in score["models"].values() if e["overall"]])  # the score's level
    return breakdown(rows, {"human_mos": True, "clip_score": True}, qualified_attributes(wl), seed=0, level=level,
                     min_n=cfg["report"].attribute_min_n)


def _add_failures(rows: list[dict], records: list[dict]) -> None:
    """Failed or invalid generations count against the model: rate and causes, never dropped.
    The generate records are the one source (the score stage's n_failed counts the same rows)."""
    summary = failure_summary(records)
    for row in rows:
        s = summary.get(row["model"], {})
        row.update({"n_jobs": s.get("n_jobs"), "n_failed": s.get("n_failed", 0),
                    "failure_rate": s.get("failure_rate"), "failures_by_cause": s.get("failures_by_cause", {})})


def _card_text(name: str) -> str | None:
    try:
        return cards.card(name)
    except FileNotFoundError:
        return None


def _card(m: config.ModelConfig, records: list[dict]) -> dict:
    """A `source: local` model shows its folder and content hash (from its generate records) where a
    hub model shows repo@revision; no scheduler configured: the checkpoint's own."""
    revision, where = m.revision, m.repo_id
    if m.source == "local":
        where = m.folder
        revision = next((r["content_sha256"] for r in records if r["model"] == m.name and r.get("content_sha256")),
                        revision)
    return {"display_name": m.display_name, "pipeline": m.pipeline, "source": m.source, "repo_id": where,
            "revision": revision, "scheduler": m.scheduler.cls if m.scheduler else "(the checkpoint's own)",
            "steps": m.steps, "guidance": m.guidance,
            "dtype": m.dtype, "licence": m.licence, "plumbing": m.plumbing, "text": _card_text(m.name)}


def read_requests(paths, lat: dict) -> dict[str, list[dict]]:
    """Each latency model's requests.jsonl (an output of DVC's latency@<model>): the timeline plot's rows.
    A missing file (a release re-scored by `verify --rescore` carries latency.json, not the per-request
    rows) draws no timeline for that model, with a warning; no number depends on these rows."""
    import logging

    out = {}
    for name in lat["models"]:
        path = model_paths(paths, name).latency / "requests.jsonl"
        if not path.exists():
            logging.getLogger("sentinel.report").warning(
                "%s: missing, so no latency timeline for %s (`dvc repro latency@%s` or `dvc pull` makes it)",
                path, name, name)
            out[name] = []
            continue
        out[name] = read_jsonl(path)
    return out


def plot_data(board: dict, lat: dict, requests: dict[str, list[dict]] | None = None) -> dict[str, object]:
    """Rows for DVC plots (`dvc plots diff`) and the PNGs embedded in the HTML report; every row and
    figure uses one colour per model (plots.colours), recorded in the rows as `colour`. With the
    per-request rows, also the latency timeline (latency, offered rate and replicas over the run)."""
    rows = board["models"]
    colour = defaultdict(lambda: "#7f7f7f", colours([r["model"] for r in rows]))  # grey: a model not on the board
    samples = {name: m.get("per_request_s", []) for name, m in lat["models"].items()}
    cdf = [{"model": n, "latency_s": v, "fraction": (i + 1) / len(vals), "colour": colour[n]}
           for n, vals in samples.items() for i, v in enumerate(sorted(x for x in vals if x is not None))]
    priced = [r for r in rows if r["cost_usd_per_image"] is not None and r["composite"] is not None]
    return {"pareto.json": [{"model": r["model"], "cost_usd_per_image": r["cost_usd_per_image"],
                             "cost_usd_per_1000_images": r["cost_usd_per_image"] * 1000,
                             "composite": r["composite"], "colour": colour[r["model"]]} for r in priced],
            "latency_cdf.json": cdf,
            "pareto.png": pareto(priced, colour),
            "latency_cdf.png": latency_cdf(samples, colour),
            "latency_load.png": latency_plots.latency_vs_load(lat["models"], colour),
            **({"latency_timeline.png": latency_plots.timeline(requests, lat["models"], colour)} if requests else {})}


def _write_all(out: dict[Path, str | bytes]) -> None:
    for path, data in out.items():
        (atomic_write_bytes if isinstance(data, bytes) else atomic_write_text)(path, data)


def run(params_path: str | Path = "params.yaml") -> dict:
    cfg = config.load(params_path)
    paths, track = cfg["paths"], cfg["tracking"]
    score, cost, lat = _read_json(paths.score), _read_json(paths.cost), _read_json(paths.latency)
    records = read_jsonl(paths.records)
    board = build(cfg, score, cost, lat, records)
    board["attribute_breakdown"] = attribute_breakdown(cfg, records, score)
    board["data"] = data_used(cfg)  # workload, jobs file and reference folders with their sha256
    board["judge_agreement"] = score.get("judge_agreement")  # which automatic judge agrees with people
    plots = plot_data(board, lat, read_requests(paths, lat))
    markdown = render(board, records=records)
    html = render_html(board, records, Path(paths.images), plots)
    flat = flat_metrics(board)
    files = {Path(paths.leaderboard): to_json(board), Path(paths.report): markdown, Path(paths.report_html): html}
    if paths.metrics is not None:
        files[Path(paths.metrics)] = metrics_json(flat)
    with staged_dir(paths.plots) as tmp:
        for name, data in plots.items():
            target = tmp / name
            target.write_bytes(data) if isinstance(data, bytes) else target.write_text(to_json(data))
    _write_all(files)
    if track.enabled:  # only once the DVC outputs exist: a FINISHED run always has its files
        _log_or_withdraw(cfg, board, flat, params_path, [*files, Path(paths.plots)])
    return board


def _log_or_withdraw(cfg: dict, board: dict, flat: dict, params_path, outputs: list[Path]) -> None:
    """Log the written outputs to MLflow; if logging fails, remove them again, so a failed stage
    (MLflow down included) leaves no report that looks complete. A SIGKILL here leaves the files
    without a dvc.lock entry (DVC re-runs the stage) and a RUNNING run the next log marks FAILED."""
    track = cfg["tracking"]
    try:
        tracking.log_run(track.experiment, config.read_params(params_path), {},
                         [p for p in outputs if p.is_file()] + [Path(params_path)], tracking.run_tags(cfg, board),
                         children=flat)
    except BaseException:
        for p in outputs:
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        raise
