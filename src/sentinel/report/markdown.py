"""Render the leaderboard as Markdown, answer first: title (suite and workload), the data used, a
headline, the leaderboard with units and CIs; then human ratings, production checks, judge agreement,
latency, categories, a per-attribute summary, cost per 1,000 images, sensitivity, model cards,
conventions, samples and a provenance footer. Unmeasured figures say "not measured"; a section with
no data is left out. `sections()` is what report.html lays out around its plots."""
from __future__ import annotations

import re

from sentinel.metrics.registry import shown
from sentinel.records import is_ok
from sentinel.report import sections as sec
from sentinel.report.leaderboard import why_not_claimable
from sentinel.report.fmt import NM, ci, f, per_1000, pct, table

__all__ = ["NM", "ci", "f", "render", "sections", "title"]


def title(board: dict) -> str:
    wl = (board.get("data") or {}).get("workload")
    return f"Sentinel report: suite {board['suite']}" + (f", workload {wl}" if wl else "")


def _metric_cells(r: dict, metrics) -> list[str]:
    """One cell per registered metric (metrics/registry.py): value [CI]."""
    return [f"{f(r.get(m.column))} {ci(r.get(f'{m.column}_ci'))}" for m in metrics]


def level(board: dict) -> str:
    levels = {r.get("ci_level") for r in board["models"] if r.get("ci_level") is not None}
    return f"{levels.pop() * 100:g} %" if len(levels) == 1 else "?"


def data_lines(board: dict) -> list[str]:
    d = board.get("data")
    if not d:
        return []
    lines = [f"Data: workload `{d['workload']}`, jobs `{d['jobs']}` (sha256 `{d['jobs_sha256'] or NM}`); reference sets:", ""]
    lines += [f"- {cat}: `{r['folder']}`, {r['n_images']} images, sha256 `{r['sha256'] or NM}`"
              for cat, r in d["reference"].items()]
    return lines + [""]


def headline(board: dict) -> str:
    scored = [r for r in board["models"] if r["composite"] is not None]
    if not scored:
        return "No model has a composite yet (see the reasons under the leaderboard)."
    top = scored[0]
    holds = f", holds rank 1 in {top['p_holds_rank']:.0%} of draws" if top.get("p_holds_rank") is not None else ""
    p95 = f", p95 {f(top['latency_p95_s'], 2)} s" if top.get("latency_p95_s") is not None else ""
    return (f"**{top['model']}** leads with composite {f(top['composite'], 1)} {ci(top['composite_ci'], 1)}{holds}; "
            f"{per_1000(top['cost_usd_per_image'])} per 1,000 images{p95}.")


def _latency_claim(r: dict) -> str:
    if r.get("latency_n_requests") is None:
        return "latency not measured"
    return (f"{r['latency_n_requests']} latency requests, {r['latency_n_failed']} missed; p95 "
            f"{'claimable' if r['latency_p95_claimable'] else 'NOT claimable at 99 % confidence (run too short)'}")


def leaderboard_rows(board: dict) -> list[list[str]]:
    return [[f(r["rank"]), r["model"], f"{f(r['composite'], 1)} {ci(r['composite_ci'], 1)}",
             f"{r['p_holds_rank']:.0%}" if r["p_holds_rank"] is not None else NM, *_metric_cells(r, shown(board["models"])),
             f"{f(r['human'], 1)} {ci(r['human_ci'], 1)} ({r.get('human_source') or NM}"
             f"{', simulated' if r['human_simulated'] else ''})",
             per_1000(r["cost_usd_per_image"]), f(r["latency_p50_s"]), f(r["latency_p95_s"]), f(r["latency_p99_s"]),
             f(r["cold_start_s"]), pct(r.get("failure_rate"))] for r in board["models"]]


def leaderboard_header(board: dict) -> list[str]:
    metric_cols = [f"{m.label} {'↑' if m.higher_is_better else '↓'}" for m in shown(board["models"])]
    return ["#", "model", f"composite 0-100 [{level(board)} CI]", "P(holds rank)", *metric_cols,
            "human 0-100 [CI] (source)", "$ per 1,000 images", "p50 s", "p95 s", "p99 s", "cold start s", "failure rate"]


def _leaderboard(board: dict) -> list[str]:
    lines = ["## Leaderboard", "", headline(board), "", *table(leaderboard_header(board), leaderboard_rows(board)),
             f"Intervals: seeded percentile bootstrap at the {level(board)} level (score.ci_level); "
             "↑ higher is better, ↓ lower is better.", ""]
    note = (board.get("comparison") or {}).get("note")
    lines += [f"**Comparison:** {note}.", ""] if note else []
    for r in board["models"]:
        lines.append(f"- **{r['model']}**: n = {r['n_generated']} generated vs {r['n_reference']} reference images; "
                     + _failures(r) + _latency_claim(r)
                     + (f"; CI omits {', '.join(r['ci_missing'])} uncertainty" if r["ci_missing"] else ""))
        lines += [f"    - {k}: not measured ({why})" for k, why in sorted(r["not_measured"].items())]
        lines += [f"    - {k}: not claimable ({why_not_claimable(v)})"
                  for k, v in sorted((r.get("not_claimable") or {}).items())]
    return lines + [""]


def _failures(r: dict) -> str:
    """Failed jobs and what they cost (rubrics/composite.md, composite-v3: each counts as the worst value)."""
    if not r.get("n_failed"):
        return ""
    causes = ", ".join(f"{k} {v}" for k, v in sorted((r.get("failures_by_cause") or {}).items()))
    return (f"{r['n_failed']} of {r['n_jobs']} jobs failed (failure rate {pct(r.get('failure_rate'))}"
            f"{': ' + causes if causes else ''}), counted in the composite at delivered fraction "
            f"{f(r.get('delivered_fraction'), 2)}; ")


def _categories(board: dict) -> list[str]:
    cats = sorted({c for r in board["models"] for c in r["categories"]})
    rows = [[r["model"], *(f"{f(r['categories'][c]['fid'])} {ci(r['categories'][c]['fid_ci'])} / "
                           f"{f(r['categories'][c]['clip_score'])}, n={r['categories'][c]['n_generated']}"
                           if c in r["categories"] else NM for c in cats)] for r in board["models"]]
    return ["## Per category (FID [CI] / CLIP score, n)", "", *table(["model", *cats], rows)] if cats else []


def _cost(board: dict) -> list[str]:
    keys = ("compute_usd_per_image", "orchestration_usd_per_image", "platform_fee_usd_per_image")
    rows = [[r["model"], per_1000(r["cost_usd_per_image"]), *(per_1000((r["cost_breakdown"] or {}).get(k)) for k in keys),
             str(r.get("cost_billing") or NM)] for r in board["models"]]
    lines = ["## Cost per 1,000 images", "", *table(["model", "total", "compute", "orchestration", "platform fee",
                                                      "billing"], rows)]
    utils = sorted({s["utilisation"] for r in board["models"] for s in r.get("cost_sensitivity", [])})
    if utils:
        sens = [[r["model"], *(per_1000(next((s["cost_usd_per_image"] for s in r["cost_sensitivity"]
                                               if s["utilisation"] == u), None)) for u in utils)] for r in board["models"]]
        lines += ["Sensitivity to GPU utilisation ($ per 1,000 images):", "",
                  *table(["model", *(f"{u:.0%}" for u in utils)], sens)]
    return lines + ([f"> {board['cost_note']}", ""] if board.get("cost_note") else [])


def _sensitivity(board: dict) -> list[str]:
    rows = [[s["weights"], f"{s['w_fid']:.2f} / {s['w_clip']:.2f} / {s['w_human']:.2f}", " > ".join(s["ranking"]),
             ", ".join(s["flipped"]) or "none"] for s in board["weight_sensitivity"]]
    return ["## Weight sensitivity", "", *table(["weights", "FID / CLIP / human", "ranking", "models that move"], rows)]


def _cards(board: dict) -> list[str]:
    lines = ["## Model cards", ""]
    for name, c in board["model_cards"].items():
        where = f", {c['repo_id']}@{c['revision']}" if c["repo_id"] else ""
        steps = c["steps"] if c["steps"] is not None else "per job"
        guidance = c["guidance"] if c["guidance"] is not None else "per job"
        lines.append(f"- **{name}** ({c['display_name']}): `{c['pipeline']}`, source {c['source']}{where}, "
                     f"scheduler {c['scheduler']}, steps {steps}, guidance {guidance}, {c['dtype']}; licence: {c['licence']}")
    for name, c in board["model_cards"].items():
        if c.get("text"):  # docs/models/<name>.md, headings demoted under this section
            lines += ["", f"### {name}", "", re.sub(r"(?m)^(#+) ", lambda m: "#" * min(6, len(m.group(1)) + 3) + " ",
                                                    c["text"]).strip()]
    return lines + [""]


def _conventions(board: dict) -> list[str]:
    w, pc = board["weights"], board["price_card"]
    lines = ["## How these numbers were made", "",
             f"- Composite {board['composite_version']}: FID {w['fid']:.0%}, CLIP {w['clip']:.0%}, human {w['human']:.0%}, "
             "each mapped linearly between fixed anchors (rubrics/composite.md):", "", *sec.anchors(board),
             f"- Price card: {pc['card']} ({pc['gpu']}, ${pc['price_usd_per_hour']}/h, utilisation {pc['utilisation']:.0%}, "
             f"as of {pc['as_of']}; source: {pc['source']})."]
    for metric, conv in sorted(board["convention"].items()):
        items = conv.items() if isinstance(conv, dict) else [("", conv)]
        lines.append(f"- `{metric}`: " + "; ".join(f"{k} = {v}" if k else str(v) for k, v in sorted(items)))
    return lines + [""]


def _samples(records: list[dict]) -> list[str]:
    lines, seen = ["## Samples", ""], set()
    for rec in records:
        if (rec["model"], rec["category"]) not in seen and is_ok(rec):
            seen.add((rec["model"], rec["category"]))
            lines.append(f"- {rec['model']} / {rec['category']} / `{rec['job_id']}`: "
                         f"![{rec['job_id']}](../outputs/generate/images/{rec['image']}) \"{rec['prompt']}\"")
    return lines + [""] if seen else []


def footer(board: dict) -> list[str]:
    p = board["provenance"]
    libs = ", ".join(f"{k} {v}" for k, v in sorted(p["libraries"].items()))
    hw = ", ".join(f"{k} {v}" for k, v in sorted(p["hardware"].items()))
    return ["---", f"Provenance: git {p['git_commit']}{' (dirty tree)' if p['git_dirty'] else ''}; "
            f"dvc.lock sha256 {p['dvc_lock_sha256']}; {libs}; hardware: {hw}.", ""]


def sections(board: dict, records: list[dict]) -> dict[str, list[str]]:
    """Every section's Markdown lines, in report order (empty lists for sections without data)."""
    return {"leaderboard": _leaderboard(board), "human": sec.human(board), "checks": sec.checks(board),
            "judges": sec.judges(board), "latency": sec.latency(board), "categories": _categories(board),
            "attributes": sec.attributes(board), "cost": _cost(board), "sensitivity": _sensitivity(board),
            "cards": _cards(board), "conventions": _conventions(board), "samples": _samples(records)}


def render(board: dict, records: list[dict]) -> str:
    banner = [f"> **{board['note']}**", ""] if board["plumbing"] else []
    body = [line for lines in sections(board, records).values() for line in lines]
    return "\n".join([f"# {title(board)}", "", *banner, *data_lines(board), *body, *footer(board)])
