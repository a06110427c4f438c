"""Render the leaderboard as Markdown: banner, leaderboard with CIs, categories, cost, sensitivity,
model cards, conventions, samples and a provenance footer. Unmeasured figures say "not measured"."""
from __future__ import annotations

import re

from sentinel.metrics.registry import REGISTRY
from sentinel.records import is_ok

NM = "not measured"


def f(x, digits: int = 3) -> str:
    if x is None:
        return NM
    if isinstance(x, float):
        return f"{x:.{digits}g}" if x != 0 and abs(x) < 1e-3 else f"{x:.{digits}f}"
    return str(x)


def ci(values, digits: int = 3) -> str:
    return f"[{f(values[0], digits)}, {f(values[1], digits)}]" if values else "(CI not measured)"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows), ""]


def _metric_cells(r: dict) -> list[str]:
    """One cell per registered metric (metrics/registry.py): value [CI]."""
    return [f"{f(r.get(m.column))} {ci(r.get(f'{m.column}_ci'))}" for m in REGISTRY.values()]


def _level(board: dict) -> str:
    levels = {r.get("ci_level") for r in board["models"] if r.get("ci_level") is not None}
    return f"{levels.pop() * 100:g} %" if len(levels) == 1 else "?"


def _latency_claim(r: dict) -> str:
    if r.get("latency_n_requests") is None:
        return "latency not measured"
    return (f"{r['latency_n_requests']} latency requests, {r['latency_n_failed']} missed; p95 "
            f"{'claimable' if r['latency_p95_claimable'] else 'NOT claimable at 99 % confidence (run too short)'}")


def _leaderboard(board: dict) -> list[str]:
    rows = [[f(r["rank"]), r["model"], f"{f(r['composite'], 1)} {ci(r['composite_ci'], 1)}",
             f"{r['p_holds_rank']:.0%}" if r["p_holds_rank"] is not None else NM, *_metric_cells(r),
             f"{f(r['human'], 1)} {ci(r['human_ci'], 1)}{' simulated' if r['human_simulated'] else ''}; "
             f"raters {f(r['human_n_raters'])}, α {f(r['human_krippendorff_alpha'], 2)}",
             f(r["cost_usd_per_image"], 3), f(r["latency_p50_s"]), f(r["latency_p95_s"]), f(r["latency_p99_s"]),
             f(r["cold_start_s"]), f(r["failure_rate"], 2)] for r in board["models"]]
    metric_cols = [f"{m.label} {'↑' if m.higher_is_better else '↓'}" for m in REGISTRY.values()]
    lines = ["## Leaderboard", "", *_table(["#", "model", f"composite [{_level(board)} CI]", "P(holds rank)",
                                            *metric_cols, "human 0-100", "$/image", "p50 s", "p95 s", "p99 s",
                                            "cold start s", "failure rate"], rows)]
    lines.append(f"Intervals: seeded percentile bootstrap at the {_level(board)} level (score.ci_level); "
                 "↑ higher is better, ↓ lower is better.")
    lines.append("")
    for r in board["models"]:
        lines.append(f"- **{r['model']}**: n = {r['n_generated']} generated vs {r['n_reference']} reference images; "
                     + _latency_claim(r)
                     + (f"; CI omits {', '.join(r['ci_missing'])} uncertainty" if r["ci_missing"] else ""))
        lines += [f"    - {k}: not measured ({why})" for k, why in sorted(r["not_measured"].items())]
    return lines + [""]


def _latency(board: dict) -> list[str]:
    rows = [[r["model"], f(r["cold_start_s"]), f(r.get("process_start_s")), f(r.get("weight_load_s")),
             f(r.get("first_inference_s")), f(r.get("latency_p90_s")), f(r.get("blended_latency_p95_s")),
             f(r.get("goodput_fraction"), 2), f(r.get("max_rate_meeting_slo_rps"), 2), f(r.get("slo_s"))]
            for r in board["models"]]
    return ["## Latency detail", "", *_table(["model", "cold start s", "process start s", "weight load s",
                                               "first inference s", "warm p90 s", "blended p95 s", "goodput",
                                               "max rate meeting SLO (req/s)", "SLO s"], rows)]


def _categories(board: dict) -> list[str]:
    cats = sorted({c for r in board["models"] for c in r["categories"]})
    rows = [[r["model"], *(f"{f(r['categories'][c]['fid'])} {ci(r['categories'][c]['fid_ci'])} / "
                           f"{f(r['categories'][c]['clip_score'])}, n={r['categories'][c]['n_generated']}"
                           if c in r["categories"] else NM for c in cats)] for r in board["models"]]
    return ["## Per category (FID [CI] / CLIP score, n)", "", *_table(["model", *cats], rows)]


def _attributes(board: dict) -> list[str]:
    if not board.get("attribute_breakdown"):
        return []
    from sentinel.report.breakdown import breakdown_markdown

    return ["## Per subject attribute", "", breakdown_markdown(board["attribute_breakdown"]), ""]


def _cost(board: dict) -> list[str]:
    rows = [[r["model"], f(r["cost_usd_per_image"], 3), *(f((r["cost_breakdown"] or {}).get(k), 3) for k in
            ("compute_usd_per_image", "orchestration_usd_per_image", "platform_fee_usd_per_image")),
             str(r.get("cost_billing") or NM)] for r in board["models"]]
    lines = ["## Cost per image", "", *_table(["model", "total $", "compute $", "orchestration $", "platform fee $",
                                                "billing"], rows)]
    utils = sorted({s["utilisation"] for r in board["models"] for s in r.get("cost_sensitivity", [])})
    if utils:
        sens = [[r["model"], *(f(next((s["cost_usd_per_image"] for s in r["cost_sensitivity"] if s["utilisation"] == u),
                                      None), 3) for u in utils)] for r in board["models"]]
        lines += ["Sensitivity to GPU utilisation ($/image):", "", *_table(["model", *(f"{u:.0%}" for u in utils)], sens)]
    return lines + ([f"> {board['cost_note']}", ""] if board.get("cost_note") else [])


def _sensitivity(board: dict) -> list[str]:
    rows = [[s["weights"], f"{s['w_fid']:.2f} / {s['w_clip']:.2f} / {s['w_human']:.2f}", " > ".join(s["ranking"]),
             ", ".join(s["flipped"]) or "none"] for s in board["weight_sensitivity"]]
    return ["## Weight sensitivity", "", *_table(["weights", "FID / CLIP / human", "ranking", "models that move"], rows)]


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
             f"- Composite {board['composite_version']}: FID {w['fid']:.0%}, CLIP {w['clip']:.0%}, human {w['human']:.0%}; "
             f"fixed anchors {board['normalisation']} (rubrics/composite.md).",
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
    return lines + [""]


def _footer(board: dict) -> list[str]:
    p = board["provenance"]
    libs = ", ".join(f"{k} {v}" for k, v in sorted(p["libraries"].items()))
    hw = ", ".join(f"{k} {v}" for k, v in sorted(p["hardware"].items()))
    return ["---", f"Provenance: git {p['git_commit']}{' (dirty tree)' if p['git_dirty'] else ''}; "
            f"dvc.lock sha256 {p['dvc_lock_sha256']}; {libs}; hardware: {hw}.", ""]


def render(board: dict, records: list[dict]) -> str:
    banner = [f"> **{board['note']}**", ""] if board["plumbing"] else []
    lines = [f"# Sentinel report: suite `{board['suite']}`", "", *banner, *_leaderboard(board), *_latency(board), *_categories(board), *_attributes(board),
             *_cost(board), *_sensitivity(board), *_cards(board), *_conventions(board), *_samples(records), *_footer(board)]
    return "\n".join(lines)
