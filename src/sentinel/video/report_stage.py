"""Stage `video-report`: every video model's scores, records, timings and latency -> the video report.

    run("params.yaml")     # DVC's video_report (foreach over video.report, i.e. [video] in smoke-media)

Reads, per model in video.models: video.paths.scores/<m>.json (video-score), records/<m>.jsonl and
timings/<m>.jsonl (video-generate), latency/<m>/latency.json (video-latency), the top-level `cost`
price card and the model's per-second list price (video.cost overrides the model's api block).
Every input is checked before anything is written: a missing file is an error naming it.
Writes, each atomically (previews as one staged folder, the leaderboard last):
  video.paths.previews/<m>/<job>.{gif,png}   video.score.previews_per_model delivered clips, categories in turn
  video.paths.report (Markdown), video.paths.report_html (links the previews)
  video.paths.metrics                        flat scalars keyed by model (`dvc metrics diff`)
  video.paths.leaderboard                    every row with its CI, n, cost, latency, failures, plumbing
The smoke suite's outputs say "plumbing only, numbers mean nothing". Same inputs, same bytes.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from sentinel.provenance import atomic_write_text, read_jsonl, write_json
from sentinel.records import is_ok
from sentinel.video import composite as vcomposite
from sentinel.video import cost as vcost
from sentinel.video import leaderboard as lb
from sentinel.video import previews as vpreviews
from sentinel.video import report_html, report_markdown
from sentinel.video.stage_params import VideoParams, load

NOTE = "plumbing only, numbers mean nothing"


def _json(path: Path, stage: str) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; the video report needs it (run {stage} first)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e.msg})") from None


def _jsonl(path: Path, stage: str) -> list[dict]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; the video report needs it (run {stage} first)")
    return read_jsonl(path)


def inputs(p: VideoParams) -> dict[str, dict]:
    """Every model's four inputs, read and checked before any output is touched."""
    if not p.models:
        raise ValueError(f"{p.path}: video.models is empty: no video model to report")
    out = {}
    for m in p.models:
        latency_path = p.paths["latency"] / m / "latency.json"
        out[m] = {"scores": _json(p.paths["scores"] / f"{m}.json", f"video-score@{m}"),
                  "records": _jsonl(p.paths["records"] / f"{m}.jsonl", f"video-generate@{m}"),
                  "timings": _jsonl(p.paths["timings"] / f"{m}.jsonl", f"video-generate@{m}"),
                  "latency": lb.latency_entry(_json(latency_path, f"video-latency@{m}"), m, str(latency_path))}
    return out


def build(p: VideoParams, data: dict[str, dict]) -> dict:
    """The leaderboard document from the inputs (no file is written)."""
    sc = p.score
    rows = []
    for m, d in data.items():
        info = p.model(m)
        price, source = p.price_per_second(m)
        cost = vcost.price_model(m, d["records"], d["timings"], p.card, api=info.api,
                                 list_price_usd_per_second=price, price_source=source,
                                 billing_unit=info.billing_unit)
        rows.append(lb.row(m, d["scores"], cost, d["latency"], sc.ci_level, sc.bootstrap_samples))
    rows = lb.rank(rows)
    plumbing = any(r["plumbing"] for r in rows)
    board = {"composite_version": vcomposite.VERSION, "ci_level": sc.ci_level, "models": rows,
             "comparison": lb.comparison(rows), "plumbing": plumbing, "cost_formula": vcost.FORMULA,
             "price_card": {k: getattr(p.card, k) for k in ("card", "source", "as_of", "gpu", "price_usd_per_hour")}}
    if plumbing:
        board["note"] = NOTE
    return board


def preview_order(records: list[dict]) -> list[dict]:
    """Delivered records, categories taken in turn (each category's first job, then each one's second,
    ...), job ids in order within a category: a few previews still show every category."""
    ok = sorted((r for r in records if is_ok(r)), key=lambda r: str(r["job_id"]))
    seen: dict[str, int] = {}
    keyed = []
    for r in ok:
        seen[r["category"]] = seen.get(r["category"], -1) + 1
        keyed.append((seen[r["category"]], str(r["category"]), str(r["job_id"]), r))
    return [k[-1] for k in sorted(keyed, key=lambda k: k[:3])]


def shown_clips(p: VideoParams, data: dict[str, dict]) -> dict[str, list[dict]]:
    """The first previews_per_model delivered clips per model (preview_order), decoded."""
    from sentinel.video.score_stage import read_clip

    return {m: [{"job_id": r["job_id"], "fps": float(r["fps"]),
                 "frames": read_clip(p.paths["clips"] / r["clip"], r["n_frames"], r.get("sha256"),
                                     where=f"{m}: job {r['job_id']}")}
                for r in preview_order(d["records"])[:p.score.previews_per_model]]
            for m, d in data.items()}


def failed_jobs(data: dict[str, dict]) -> dict[str, dict[str, str]]:
    return {m: {r["job_id"]: str(r.get("failure", "unknown")) for r in d["records"] if not is_ok(r)}
            for m, d in data.items()}


def run(params_path: str | Path = "params.yaml", model: str | None = None) -> dict:
    p = load(params_path)
    data = inputs(p)
    board = build(p, data)
    index = vpreviews.write_previews(p.paths["previews"], shown_clips(p, data), p.score.preview_max_frames)
    md_rel = os.path.relpath(p.paths["previews"], p.paths["report"].parent).replace(os.sep, "/")
    html_rel = os.path.relpath(p.paths["previews"], p.paths["report_html"].parent).replace(os.sep, "/")
    atomic_write_text(p.paths["report"], report_markdown.render(board, index, md_rel))
    atomic_write_text(p.paths["report_html"], report_html.render(board, index, html_rel, failed_jobs(data)))
    atomic_write_text(p.paths["metrics"], lb.metrics_json(lb.flat_metrics(board)))
    write_json(p.paths["leaderboard"], board)  # last: its presence means the stage completed
    return board
