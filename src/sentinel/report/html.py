"""A self-contained static HTML report (Jinja2 template templates/report.html.j2): leaderboard and
headline first, then the plots, one prompt's images from every model side by side, the remaining
sections (rendered from the Markdown report's sections), the full per-attribute tables collapsed,
and sample grids with their prompts. Every image is a data URI, so the single file can be mailed or
archived; every model has one colour (plots.colours) in the table, the plots and the grids."""
from __future__ import annotations

import base64
from pathlib import Path

import jinja2
import markdown

from sentinel.records import is_ok
from sentinel.report import markdown as md
from sentinel.report.plots import colours, sample_grid

TEMPLATES = Path(__file__).with_name("templates")
BODY = ("human", "checks", "judges", "latency", "categories", "attributes", "cost", "sensitivity", "cards", "conventions")
PLOTS = (("pareto.png", "Quality vs cost per 1,000 images (composite with its CI)"),
         ("latency_cdf.png", "End-to-end latency CDF per model"),
         ("latency_timeline.png", "Every request on the replayed trace: latency (cold starts and misses marked), "
                                  "offered rate and replicas serving"),
         ("latency_load.png", "Latency under load: capacity probes (open loop, Poisson arrivals), SLO and capacity "
                              "bracket"))


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def side_by_side(records: list[dict], images_dir: Path, models: list[str], per_category: int = 1) -> list[dict]:
    """Per category, the first `per_category` jobs every model generated successfully: prompt + one image each."""
    ok = {(r["model"], r["job_id"]): r for r in records if is_ok(r)}
    out, seen = [], {}
    for r in records:
        job, cat = r["job_id"], r["category"]
        if seen.get(cat, 0) >= per_category or any(g["job_id"] == job for g in out):
            continue
        if models and all((m, job) in ok for m in models):
            seen[cat] = seen.get(cat, 0) + 1
            out.append({"category": cat, "job_id": job, "prompt": r["prompt"],
                        "cells": [{"model": m, "src": data_uri((images_dir / ok[(m, job)]["image"]).read_bytes())}
                                  for m in models]})
    return out


def _samples(records: list[dict], images_dir: Path) -> list[dict]:
    out = []
    for model, cat in dict.fromkeys((r["model"], r["category"]) for r in records if is_ok(r)):
        picks = [r for r in records if r["model"] == model and r["category"] == cat and is_ok(r)][:4]
        out.append({"src": data_uri(sample_grid([(r["job_id"], images_dir / r["image"]) for r in picks])),
                    "caption": f"{model} / {cat}", "prompts": [(r["job_id"], r["prompt"]) for r in picks]})
    return out


def _attribute_details(board: dict) -> str:
    from sentinel.report.breakdown import breakdown_markdown

    ab = board.get("attribute_breakdown") or {}
    if not any(res.get("attributes") for m in (ab.get("models") or {}).values() for res in m.values()):
        return ""
    return markdown.markdown(breakdown_markdown(ab), extensions=["tables"])


def render_html(board: dict, records: list[dict], images_dir: Path, plots: dict[str, object]) -> str:
    models = [r["model"] for r in board["models"]]
    parts = md.sections(board, records)
    body = "\n".join(line for key in BODY for line in parts[key])
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.get_template("report.html.j2").render(
        title=md.title(board), note=board["note"] if board["plumbing"] else "", headline=markdown.markdown(md.headline(board)),
        header=md.leaderboard_header(board), rows=md.leaderboard_rows(board), colours=colours(models),
        ci_note=f"Intervals: seeded percentile bootstrap at the {md.level(board)} level; ↑ higher is better, "
                "↓ lower is better. Reasons for anything not measured are listed in report.md.",
        data=board.get("data"), plots=[{"src": data_uri(plots[k]), "caption": c} for k, c in PLOTS if k in plots],
        side_by_side=side_by_side(records, images_dir, models), body=markdown.markdown(body, extensions=["tables"]),
        attribute_details=_attribute_details(board), samples=_samples(records, images_dir),
        footer=" ".join(md.footer(board)[1:]).strip())
