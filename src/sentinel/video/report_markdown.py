"""reports/video/report.md: the video section as Markdown, from the leaderboard and the preview index.

A banner first when any model is plumbing ("plumbing only, numbers mean nothing"), the leaderboard
table (composite, FVD, CLIP, the VBench-style dimensions, frozen/looping rates, cost per video and
per video-second, p95 end-to-end latency with its CI, failures), then one section per model with its
failures by cause, cost inputs, conventions and its previews (linked relative to the report).
Pure Python.
"""
from __future__ import annotations

import math

PLUMBING_BANNER = ("> **Plumbing only, numbers mean nothing.** This report was made with random networks and/or "
                   "tiny random models (the smoke-media suite); it checks the pipeline, not the models.")
COLUMNS = (("fvd", "FVD", 3), ("clip_score", "CLIP", 2), ("subject_consistency", "subj. cons.", 3),
           ("temporal_flickering", "flicker", 3), ("motion_smoothness", "smooth", 3),
           ("dynamic_degree", "dynamic", 2), ("frozen", "frozen", 2), ("looping", "looping", 2))


def num(x, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, float) and not math.isfinite(x):
        return "∞"
    return f"{x:.{digits}f}"


def ci(c, digits: int = 3) -> str:
    if not c:
        return ""
    lo, hi = c
    return f" [{num(lo, digits)}, {'∞' if hi is None else num(hi, digits)}]"


def money(x) -> str:
    if x is None:
        return "unknown"
    return f"${x:,.2f}" if x >= 1 else f"${x:.5f}"


def cell(entry: dict | None, digits: int) -> str:
    if not entry:
        return "–"
    return f"{num(entry.get('value'), digits)}{ci(entry.get('ci'), digits)} (n={entry.get('n')})"


def latency_cell(r: dict) -> str:
    """p95 with its CI; null p95 is +inf (misses count as +inf in the latency summaries)."""
    p95 = r["latency_p95_s"]
    return f"{'∞' if p95 is None else num(p95, 3)}{ci(r['latency_p95_ci'], 3)}"


def table(board: dict) -> list[str]:
    head = ["rank", "model", "composite", *(c[1] for c in COLUMNS), "USD/video", "USD/video-s", "p95 latency (s)",
            "failed"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in board["models"]:
        comp = "–" if r["composite"] is None else f"{num(r['composite'], 1)}{ci(r['composite_ci'], 1)}"
        lat = latency_cell(r)
        cells = [str(r["rank"] or "–"), r["model"] + (" (plumbing)" if r["plumbing"] else ""), comp,
                 *(cell(r["quality"].get(k), d) for k, _, d in COLUMNS),
                 money(r["cost_usd_per_video"]), money(r["cost_usd_per_video_second"]), lat,
                 f"{r['n_failed']} of {r['n_jobs']}"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def model_section(r: dict, previews: dict, rel: str) -> list[str]:
    lines = ["", f"### {r['display_name']} (`{r['model']}`)", ""]
    if r.get("why_no_composite"):
        lines.append(f"- No composite: {r['why_no_composite']}.")
    causes = ", ".join(f"{c} {n}" for c, n in r["failures_by_cause"].items()) or "none"
    lines.append(f"- Jobs: {r['n_jobs']}, delivered {r['n_ok']}, failed {r['n_failed']} (by cause: {causes}); "
                 f"frozen clips {r['n_frozen']}.")
    c = r["cost"]
    if c.get("cost_usd_per_video") is None:
        lines.append(f"- Cost: unknown ({c.get('not_priced')}).")
    elif c["billing"] == "gpu time":
        lines.append(f"- Cost: {money(c['cost_usd_per_video'])} per video, {money(c['cost_usd_per_video_second'])} "
                     f"per video-second ({c['compute_s_per_video']:.3f} s compute per video on {c['measured_on']}, "
                     f"priced as {c['gpu']} at ${c['price_usd_per_hour']:.2f}/h, utilisation {c['utilisation']}"
                     + ("" if c["priced_as_measured"] else "; measured on another device: a plumbing figure") + ").")
    else:
        lines.append(f"- Cost: {money(c['cost_usd_per_video'])} per video, {money(c['cost_usd_per_video_second'])} "
                     f"per video-second (list price ${c['list_price_usd_per_second']}/video-second; "
                     f"{c.get('price_source') or 'source not given'}).")
    out = c.get("output", {})
    lines.append(f"- Output: {', '.join(out.get('resolutions', [])) or '?'} at "
                 f"{', '.join(f'{f:g}' for f in out.get('fps', [])) or '?'} fps, "
                 f"{', '.join(f'{s:g}' for s in out.get('seconds', [])) or '?'} s per clip.")
    if r["plumbing_reasons"]:
        lines.append("- Plumbing: " + "; ".join(r["plumbing_reasons"]) + ".")
    shown = previews.get(r["model"], {})
    if shown:
        lines += ["", "| job | preview | frames |", "|---|---|---|"]
        for job, p in sorted(shown.items()):
            lines.append(f"| {job} | ![{job}]({rel}/{p['gif']}) | ![{job} frames]({rel}/{p['strip']}) |")
    return lines


def render(board: dict, previews: dict, previews_rel: str) -> str:
    lines = ["# Video benchmark", ""]
    if board["plumbing"]:
        lines += [PLUMBING_BANNER, ""]
    lines += [f"Composite: `{board['composite_version']}` (rubrics/video-composite.md); metrics: "
              "rubrics/video-metrics.md. Intervals at level "
              f"{board['ci_level']}; n is the number of delivered clips (FVD: generated clips).", "",
              *table(board), "", f"Comparison: {board['comparison']['note']}."]
    for r in board["models"]:
        lines += model_section(r, previews, previews_rel)
    return "\n".join(lines) + "\n"
