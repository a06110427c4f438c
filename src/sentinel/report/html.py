"""A self-contained static HTML report: the Markdown report rendered to HTML, with every image
(sample grids and plots) embedded as a data URI, so the single file can be mailed or archived."""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import markdown

from sentinel.report.plots import sample_grid
from sentinel.report.markdown import render
from sentinel.records import is_ok

CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}th,td{border:1px solid #ccc;padding:4px 8px}
th{background:#f3f3f3}blockquote{background:#fff3cd;border-left:4px solid #e0a800;margin:1em 0;padding:0.5em 1em}
img{max-width:100%}figure{display:inline-block;margin:0.5em}figcaption{font-size:0.85em;color:#555}"""


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _figure(png: bytes, caption: str) -> str:
    return f'<figure><img src="{data_uri(png)}" alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}</figcaption></figure>'


def _grids(records: list[dict], images_dir: Path) -> str:
    parts = ["<h2>Sample images</h2>"]
    keys = dict.fromkeys((r["model"], r["category"]) for r in records if is_ok(r))
    for model, cat in keys:
        picks = [(r["job_id"], images_dir / r["image"]) for r in records
                 if r["model"] == model and r["category"] == cat and is_ok(r)][:4]
        parts.append(_figure(sample_grid(picks), f"{model} / {cat}"))
    return "\n".join(parts)


def render_html(board: dict, records: list[dict], images_dir: Path, plots: dict[str, object]) -> str:
    md = render(board, records)
    md = re.sub(r"(?ms)^## Samples\n.*?(?=^---)", "", md)  # replaced by embedded grids below
    body = markdown.markdown(md, extensions=["tables"])
    figures = "<h2>Plots</h2>" + _figure(plots["pareto.png"], "Quality vs cost (composite with 95 % CI)") + \
        _figure(plots["latency_cdf.png"], "End-to-end latency CDF per model") + \
        _figure(plots["latency_load.png"], "Latency under load (open loop, Poisson arrivals)")
    footer_at = body.rfind("<hr")
    body = body[:footer_at] + figures + _grids(records, images_dir) + body[footer_at:]
    title = html.escape(f"Sentinel report: suite {board['suite']}")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{CSS}</style></head><body>\n{body}\n</body></html>\n")
