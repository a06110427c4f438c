"""Render the leaderboard as Markdown: banner, leaderboard, per-category table, conventions, samples."""
from __future__ import annotations


def _f(x, digits: int = 3) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.{digits}g}" if abs(x) < 1e-3 and x != 0 else f"{x:.{digits}f}"
    return str(x)


def _banner(board: dict) -> list[str]:
    if not board["plumbing"]:
        return []
    return [f"> **{board['note']}**", ""]


def _leaderboard(board: dict) -> list[str]:
    lines = ["## Leaderboard", "",
             "| model | composite | FID | KID | CLIP score | human (0-100) | $/image | p50 s | p95 s | p99 s | cold start s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in board["models"]:
        lines.append(f"| {r['model']} | {_f(r['composite'], 1)} | {_f(r['fid'])} | {_f(r['kid'])} ± {_f(r['kid_std'])} "
                     f"| {_f(r['clip_score'])} | {_f(r['human'], 1)}{' (simulated)' if r['human_simulated'] else ''} "
                     f"| {_f(r['cost_usd_per_image'], 3)} | {_f(r['latency_p50_s'])} | {_f(r['latency_p95_s'])} "
                     f"| {_f(r['latency_p99_s'])} | {_f(r['cold_start_s'])} |")
    lines += ["", "Sample sizes: " + "; ".join(
        f"{r['model']}: {r['n_generated']} generated vs {r['n_reference']} reference images, "
        f"{r['latency_n_requests']} latency requests ({r['latency_n_failed']} failed; p95 "
        f"{'claimable' if r['latency_p95_claimable'] else 'NOT claimable at 99 % confidence'})" for r in board["models"]), ""]
    return lines


def _categories(board: dict) -> list[str]:
    cats = sorted({c for r in board["models"] for c in r["categories"]})
    lines = ["## Per category (FID / CLIP score, n)", "", "| model | " + " | ".join(cats) + " |",
             "|---|" + "---|" * len(cats)]
    for r in board["models"]:
        cells = [f"{_f(r['categories'][c]['fid'])} / {_f(r['categories'][c]['clip_score'])}, n={r['categories'][c]['n_generated']}"
                 if c in r["categories"] else "n/a" for c in cats]
        lines.append(f"| {r['model']} | " + " | ".join(cells) + " |")
    return lines + [""]


def _conventions(board: dict) -> list[str]:
    w = board["weights"]
    lines = ["## How these numbers were made", "",
             f"- Composite {board['composite_version']}: FID {w['fid']:.0%}, CLIP {w['clip']:.0%}, human {w['human']:.0%}; "
             f"anchors {board['normalisation']} (see rubrics/composite.md).",
             f"- Price card: {board['price_card']['card']} ({board['price_card']['gpu']}, "
             f"${board['price_card']['price_usd_per_hour']}/h, as of {board['price_card']['as_of']}; {board['price_card']['source']})."]
    for metric, conv in sorted(board["convention"].items()):
        items = conv.items() if isinstance(conv, dict) else [("", conv)]
        lines.append(f"- `{metric}`: " + "; ".join(f"{k} = {v}" if k else str(v) for k, v in sorted(items)))
    return lines + [""]


def _samples(records: list[dict]) -> list[str]:
    lines = ["## Samples", ""]
    seen = set()
    for rec in records:
        key = (rec["model"], rec["category"])
        if key not in seen:
            seen.add(key)
            lines.append(f"- {rec['model']} / {rec['category']} / `{rec['job_id']}`: "
                         f"![{rec['job_id']}](../outputs/generate/images/{rec['image']}) \"{rec['prompt']}\"")
    return lines + [""]


def render(board: dict, records: list[dict]) -> str:
    lines = [f"# Sentinel report: suite `{board['suite']}`", "", *_banner(board), *_leaderboard(board),
             *_categories(board), *_conventions(board), *_samples(records)]
    return "\n".join(lines)
