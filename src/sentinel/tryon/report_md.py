"""reports/tryon/report.md: both protocols' tables (every number with its interval and n), cost,
latency and failures, then every triptych (person | garment | result) with its caption.

A cell reads `value [low, high] (n=…)`; FID/KID add m (reference images). A metric that could not
be computed says why in a footnote. Pure Python: the same rows give the same text.
"""
from __future__ import annotations

from sentinel.tryon.leaderboard import LABELS, METRIC_ORDER
from sentinel.tryon.protocols import JOB_METRICS, PROTOCOLS

PLUMBING_BANNER = ("PLUMBING ONLY: tiny try-on models with seeded random weights (in the smoke suite scored with "
                   "seeded-random LPIPS and InceptionV3 weights too). These numbers exercise the pipeline; they "
                   "say nothing about any model's quality.")
PROTOCOL_TEXT = {
    "paired": "The person photo is the ground truth (the person already wears the garment): SSIM and LPIPS "
              "against it, FID/KID against the ground-truth photos of every paired job",
    "unpaired": "Another garment, no ground truth: FID/KID against the reference set; no SSIM or LPIPS",
}


def num(x) -> str:
    if x is None:
        return "–"
    if isinstance(x, int) and not isinstance(x, bool):
        return str(x)
    return f"{x:.4g}"


def cell(m: dict | None) -> str:
    if m is None:
        return "–"
    ci = m.get("ci")
    text = num(m.get("value"))
    if ci:
        text += f" [{num(ci[0])}, {num(ci[1])}]"
    sizes = f"n={m.get('n', 0)}" + (f", m={m['m_reference']}" if "m_reference" in m else "")
    return f"{text} ({sizes})"


def _arrow(name: str) -> str:
    higher = JOB_METRICS[name][0] if name in JOB_METRICS else False
    return "↑" if higher else "↓"


def protocol_metrics(protocol: str) -> list[str]:
    return [m for m in METRIC_ORDER if m in ("fid", "kid") or protocol in JOB_METRICS[m][1]]


def protocol_table(rows: list[dict], protocol: str) -> list[str]:
    names = protocol_metrics(protocol)
    lines = ["| model | jobs (ok / failed) | " + " | ".join(f"{LABELS[n]} {_arrow(n)}" for n in names) + " |",
             "|---|---|" + "---|" * len(names)]
    notes = []
    for r in rows:
        b = r["protocols"][protocol]
        cells = [cell(b["metrics"].get(n)) for n in names]
        lines.append(f"| {r['model']} | {b['n_jobs']} ({b['n_ok']} / {b['n_failed']}) | " + " | ".join(cells) + " |")
        for n in names:
            m = b["metrics"].get(n) or {}
            if m.get("not_computed") or m.get("ci_note"):
                notes.append(f"{r['model']}, {LABELS[n]}: {m.get('not_computed') or m.get('ci_note')}")
    return lines + ([""] + [f"- {n}" for n in dict.fromkeys(notes)] if notes else [])


def _causes(c: dict) -> str:
    parts = [f"{stage}: " + ", ".join(f"{k} {v}" for k, v in sorted(d.items())) for stage, d in c.items() if d]
    return "; ".join(parts) or "none"


def ops_table(rows: list[dict]) -> list[str]:
    lines = ["| model | cost per try-on (USD) | billing | p95 end-to-end latency (s) [95 % CI] | failure rate [95 % CI] "
             "| failures by cause |", "|---|---|---|---|---|---|"]
    for r in rows:
        c = r["cost"]
        cost = num(r["cost_usd_per_tryon"]) + ("" if c.get("priced_as_measured", True) else " (seconds not measured "
                                               "on the priced GPU)")
        ci = r["latency_p95_ci"]
        lat = num(r["latency_p95_s"]) + (f" [{num(ci[0])}, {num(ci[1])}]" if ci else "")
        fci = r["failure_rate_ci"]
        fail = num(r["failure_rate"]) + (f" [{num(fci[0])}, {num(fci[1])}]" if fci else "") + f" (n={r['n_jobs']})"
        lines.append(f"| {r['model']} | {cost} | {c.get('billing', '–')} | {lat} | {fail} | "
                     f"{_causes(r['failures_by_cause'])} |")
    return lines


def caption(t: dict) -> str:
    head = f"{t['model']} / {t['job_id']} ({t['protocol']})"
    if t["status"] != "ok":
        return f"{head}: failed ({t.get('failure') or 'unknown'})"
    m = t.get("metrics") or {}
    shown = ", ".join(f"{LABELS[k]} {num(m[k])}" for k in METRIC_ORDER if m.get(k) is not None)
    return f"{head}: {shown}"


def render(rows: list[dict], triptychs: list[dict], *, plumbing: bool, workload: str, ci_level: float) -> str:
    lines = ["# Try-on report", ""]
    if plumbing:
        lines += [f"> **{PLUMBING_BANNER}**", ""]
    lines += [f"Workload `{workload}`; {len(rows)} model{'' if len(rows) == 1 else 's'}. Every number: mean or set distance, "
              f"[{ci_level:.0%} interval], n = successful jobs where it is defined (m = reference images). "
              "Per-job metrics: percentile bootstrap over jobs; FID/KID: half-sampling of both sets. "
              "Failed jobs enter no quality metric and are counted under failures. Definitions: "
              "rubrics/tryon-metrics.md.", ""]
    for protocol in PROTOCOLS:
        lines += [f"## {protocol.capitalize()} protocol", "", f"{PROTOCOL_TEXT[protocol]}.", "",
                  *protocol_table(rows, protocol), ""]
    lines += ["## Cost, latency and failures", "", *ops_table(rows), ""]
    for r in rows:
        if r["cost"].get("note"):
            lines.append(f"- {r['model']}: {r['cost']['note']}")
    lines += ["", "## Triptychs (person | garment | result)", ""]
    for t in triptychs:
        lines += [f"![{t['model']} {t['job_id']}]({t['href']})", "", caption(t), ""]
    return "\n".join(lines).rstrip() + "\n"
