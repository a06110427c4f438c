"""reports/tryon/report.html: the Markdown report's tables as HTML, then every triptych as a figure.

Self-contained like the image report (sentinel.report.html): each triptych is embedded as a data
URI, and its figure names the PNG file under tryon.paths.triptychs (`data-file`) that the Markdown
report links, so both show the same images. Same inputs, same bytes.
"""
from __future__ import annotations

import html

import markdown

from sentinel.tryon.report_md import caption

STYLE = ("body{font-family:system-ui,sans-serif;max-width:1200px;margin:1.5em auto;padding:0 1em;color:#222}"
         "table{border-collapse:collapse;margin:0.8em 0;font-size:0.9em}th,td{border:1px solid #ccc;padding:4px 8px;"
         "text-align:left}th{background:#f3f3f3}blockquote,.banner{background:#fff3cd;border-left:4px solid #e0a800;"
         "margin:0.8em 0;padding:0.5em 1em}figure{display:inline-block;margin:0.5em;vertical-align:top}"
         "figure img{height:192px;image-rendering:pixelated}figcaption{font-size:0.85em;color:#555;max-width:40em}")


def data_uri(png: bytes) -> str:
    import base64

    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render(md_text: str, triptychs: list[dict]) -> str:
    """`md_text`: report_md.render's output (its plumbing banner, if any, shows as the highlighted quote;
    its triptych section is replaced by the figures)."""
    tables = md_text.split("\n## Triptychs", 1)[0]
    tables = tables.split("\n", 1)[1] if tables.startswith("# ") else tables  # the title is the page's own
    figures = []
    for t in triptychs:
        cap = html.escape(caption(t))
        figures.append(f'<figure data-file="{html.escape(t["href"])}" data-model="{html.escape(t["model"])}" '
                       f'data-job="{html.escape(t["job_id"])}" data-protocol="{t["protocol"]}">'
                       f'<img src="{data_uri(t["png"])}" alt="{cap}"><figcaption>{cap}</figcaption></figure>')
    body = markdown.markdown(tables, extensions=["tables"])
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Try-on report</title>"
            f"<style>{STYLE}</style></head><body>\n<h1>Try-on report</h1>\n{body}\n"
            "<section id=\"triptychs\"><h2>Triptychs (person | garment | result)</h2>\n"
            + "\n".join(figures) + "\n</section>\n</body></html>\n")
