"""reports/video/report.html: the video section as one static HTML page that links its previews.

The page holds the banner (plumbing runs), the leaderboard table (the Markdown report's numbers),
then per model its failures and cost, and one card per shown clip with the animated GIF and the
frame strip, linked by paths relative to the page (the previews folder travels beside it). Every
text is HTML-escaped; nothing is fetched from the network. Deterministic: same board, same bytes.
"""
from __future__ import annotations

from html import escape

from sentinel.video import report_markdown as md

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:right}
td:nth-child(2),th:nth-child(2){text-align:left}.banner{background:#fff3cd;border:1px solid #e0b000;padding:1em}
.clips{display:flex;flex-wrap:wrap;gap:1em}.clip{border:1px solid #ddd;padding:.5em}
.clip img{image-rendering:pixelated;display:block;margin:.25em 0}.failed{color:#a00}"""


def _row(r: dict) -> str:
    comp = "–" if r["composite"] is None else f"{md.num(r['composite'], 1)}{md.ci(r['composite_ci'], 1)}"
    cells = [str(r["rank"] or "–"), r["model"] + (" (plumbing)" if r["plumbing"] else ""), comp,
             *(md.cell(r["quality"].get(k), d) for k, _, d in md.COLUMNS),
             md.money(r["cost_usd_per_video"]), md.money(r["cost_usd_per_video_second"]),
             md.latency_cell(r), f"{r['n_failed']} of {r['n_jobs']}"]
    return "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>"


def _model(r: dict, previews: dict, rel: str, failed: dict[str, str]) -> list[str]:
    out = [f'<section id="model-{escape(r["model"], quote=True)}">',
           f"<h3>{escape(r['display_name'])} (<code>{escape(r['model'])}</code>)</h3>"]
    causes = ", ".join(f"{c} {n}" for c, n in r["failures_by_cause"].items()) or "none"
    out.append(f"<p>Jobs {r['n_jobs']}, delivered {r['n_ok']}, failed {r['n_failed']} (by cause: {escape(causes)});"
               f" frozen clips {r['n_frozen']}.</p>")
    if r.get("why_no_composite"):
        out.append(f"<p>No composite: {escape(r['why_no_composite'])}.</p>")
    if r["plumbing_reasons"]:
        out.append("<p>Plumbing: " + escape("; ".join(r["plumbing_reasons"])) + ".</p>")
    out.append('<div class="clips">')
    for job, p in sorted(previews.get(r["model"], {}).items()):
        gif, strip = escape(f"{rel}/{p['gif']}", quote=True), escape(f"{rel}/{p['strip']}", quote=True)
        out.append(f'<figure class="clip"><figcaption>{escape(job)}</figcaption>'
                   f'<img src="{gif}" alt="{escape(job, quote=True)} (animated)" width="192">'
                   f'<img src="{strip}" alt="{escape(job, quote=True)} (frames)" height="48"></figure>')
    for job, why in sorted(failed.items()):
        out.append(f'<figure class="clip failed"><figcaption>{escape(job)}</figcaption>'
                   f"<p>failed: {escape(why)}</p></figure>")
    out += ["</div>", "</section>"]
    return out


def render(board: dict, previews: dict, previews_rel: str, failed_jobs: dict[str, dict[str, str]]) -> str:
    head = ["rank", "model", "composite", *(c[1] for c in md.COLUMNS), "USD/video", "USD/video-s",
            "p95 latency (s)", "failed"]
    lines = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             "<title>Video benchmark</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
             "<h1>Video benchmark</h1>"]
    if board["plumbing"]:
        lines.append('<p class="banner"><strong>Plumbing only, numbers mean nothing.</strong> Made with random '
                     "networks and/or tiny random models (the smoke-media suite); it checks the pipeline, not the "
                     "models.</p>")
    lines += [f"<p>Composite <code>{escape(board['composite_version'])}</code> (rubrics/video-composite.md); "
              f"metrics: rubrics/video-metrics.md; intervals at level {board['ci_level']}.</p>",
              '<table id="leaderboard"><thead><tr>' + "".join(f"<th>{escape(h)}</th>" for h in head)
              + "</tr></thead><tbody>", *(_row(r) for r in board["models"]), "</tbody></table>",
              f"<p>Comparison: {escape(board['comparison']['note'])}.</p>", "<h2>Models</h2>"]
    for r in board["models"]:
        lines += _model(r, previews, previews_rel, failed_jobs.get(r["model"], {}))
    lines += ["</body>", "</html>"]
    return "\n".join(lines) + "\n"
