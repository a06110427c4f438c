"""Report sections for figures other stages add beside the composite: human ratings (Bradley–Terry
strengths with CIs, votes, agreement), production checks, judge agreement, latency detail and the
per-attribute summary. Each returns Markdown lines, and [] when its data is absent (no empty sections)."""
from __future__ import annotations

from sentinel.report.fmt import NM, ci, f, pct, table

PLUMBING_CHECKS = ("Real numbers on real pixels: these checks measure the images as generated, even in the "
                   "plumbing suite (where the images come from random networks, so expect them to fail).")


def human(board: dict) -> list[str]:
    rows = [[r["model"], r.get("human_source") or NM, f"{f(r['human'], 1)} {ci(r['human_ci'], 1)}",
             f"{f(r.get('human_bt_strength'), 2)} {ci(r.get('human_bt_ci'), 2)}", f(r.get("human_bt_n_votes")),
             f"{f(r.get('human_likert_mean'), 2)}", f(r.get("human_n_raters")),
             f(r.get("human_krippendorff_alpha_pairwise"), 2), f(r.get("human_krippendorff_alpha"), 2)]
            for r in board["models"] if r.get("human_bt_strength") is not None or r.get("human_likert_mean") is not None]
    if not rows:
        return []
    simulated = any(r.get("human_simulated") for r in board["models"])
    return ["## Human ratings", "", *(["> Raters are simulated: a plumbing figure, not a human judgement.", ""]
                                     if simulated else []),
            *table(["model", "source", "human 0-100 [CI]", "Bradley–Terry θ [CI]", "votes", "mean Likert (1-5)",
                    "raters", "α pairwise (ordinal)", "α Likert (interval)"], rows),
            "θ: Davidson Bradley–Terry log-strength with ties, centred on the rated models; pairwise human "
            "0-100 = 100 / (1 + e^−θ), the win probability against a model of mean strength (rubrics/composite.md).", ""]


def _check_cell(c: dict) -> str:
    value = pct(c.get("value")) if c.get("kind") == "rate" else f(c.get("value"), 3)
    lo_hi = c.get("ci")
    if lo_hi and c.get("kind") == "rate":
        band = f"[{pct(lo_hi[0])}, {pct(lo_hi[1])}]"
    else:
        band = ci(lo_hi) if lo_hi else "(no CI)"
    return f"{value} {band}, n={f(c.get('n'))}"


def checks(board: dict) -> list[str]:
    blocks = {r["model"]: r["checks"] for r in board["models"] if r.get("checks")}
    if not blocks:
        return []
    names = sorted({n for b in blocks.values() for n in b.get("checks", {})})
    rows = [[m, *(_check_cell(b["checks"][n]) if n in b.get("checks", {}) else NM for n in names),
             f"{f(b.get('n_failed'))} of {f(b.get('n_jobs'))}"] for m, b in blocks.items()]
    b0 = next(iter(blocks.values()))
    level = b0.get("checks", {}).get(names[0], {}).get("ci_level") if names else None
    method = b0.get("checks", {}).get(names[0], {}).get("ci_method") if names else None
    return ["## Production checks", "", f"> {PLUMBING_CHECKS}", "",
            *table(["model", *names, "failed jobs"], rows),
            f"{b0.get('version', '?')} (rubrics/workload-checks-v1.md); rates as % with "
            f"{pct(level, 0) if level else '?'} CI ({method or '?'}); thresholds: "
            + ", ".join(f"{k} = {v}" for k, v in sorted((b0.get("thresholds") or {}).items())) + ".", ""]


def judges(board: dict) -> list[str]:
    ja = board.get("judge_agreement")
    if not ja:
        return []
    rows = [[metric, f"{pct(a.get('vote_agreement'))} {_pct_ci(a.get('vote_agreement_ci'))}", f(a.get("n_votes")),
             f(a.get("n_left_out")), f"{f(a.get('rank_tau'), 2)} {ci(a.get('rank_tau_ci'), 2)}"]
            for metric, a in sorted(ja.items())]
    level = next((a.get("ci_level") for a in ja.values() if a.get("ci_level")), None)
    simulated = any(r.get("human_simulated") for r in board["models"])
    return ["## Which automatic judge agrees with people", "",
            *(["> Raters are simulated: this agreement is a plumbing figure.", ""] if simulated else []),
            *table(["metric", "agrees with the vote [CI]", "votes", "left out", "Kendall τ of ranks [CI]"], rows),
            f"Intervals at the {pct(level, 0) if level else '?'} level (sentinel.human.agreement).", ""]


def _p95(r: dict) -> str:
    """p95 with its CI; an upper end the run is too short to bound is said so, not printed as a number."""
    band = r.get("latency_p95_ci95_s")
    if band and band[1] is None:
        return f"{f(r.get('latency_p95_s'))} [{f(band[0])}, unbounded at this n]"
    return f"{f(r.get('latency_p95_s'))} {ci(band)}"


def _pct_ci(band) -> str:
    return f"[{pct(band[0])}, {pct(band[1])}]" if band else "(CI not measured)"


def latency(board: dict) -> list[str]:
    rows = [[r["model"], _p95(r), f(r.get("success_latency_p95_s")), f(r["cold_start_s"]), f(r.get("n_cold")),
             f(r.get("process_start_s")), f(r.get("weight_load_s")), f(r.get("first_inference_s")),
             pct(r.get("goodput_fraction")), r.get("capacity_display") or f(r.get("max_rate_meeting_slo_rps"), 2),
             f(r.get("slo_s"))] for r in board["models"] if r.get("latency_n_requests") is not None]
    return (["## Latency detail", "", *table(["model", "p95 s [CI]", "p95 s, successes only", "cold start s",
                                               "cold requests", "process start s", "weight load s",
                                               "first inference s", "goodput", "capacity meeting SLO", "SLO s"], rows),
             *_latency_checks(board)]
            if rows else [])


def _verdicts(c: dict) -> str:
    """TEST01 and TEST04 (sentinel.latency.compliance) in one line, figures and any reason included."""
    t1, t4 = c.get("test01") or {}, c.get("test04") or {}
    one = f"TEST01 (delivered images = generate stage's) **{t1.get('verdict', NM)}**"
    if t1.get("n_checked"):
        one += f", {t1['n_checked'] - t1.get('n_mismatched', 0)} of {t1['n_checked']} identical"
    four = f"TEST04 (no response cache) **{t4.get('verdict', NM)}**"
    if t4.get("ratio") is not None:
        lo, hi = t4["ratio_ci95"]
        four += (f", repeated / fresh median latency {f(t4['ratio'], 3)} [{f(lo, 3) if lo is not None else '-inf'}, "
                 f"{f(hi, 3)}] over {t4['n']} pairs (fails when the whole CI is below {t4['bound']:g})")
    why = [x["reason"] for x in (t1, t4) if x.get("verdict") in ("fail", "void") and x.get("reason")]
    return "; ".join([one, four, *why])


def _latency_checks(board: dict) -> list[str]:
    """Per model: the compliance verdicts, and a client-bound warning when the client's own
    schedule lag p99 exceeded its stated bound (the latencies may then be the client's)."""
    lines = []
    for r in board["models"]:
        if r.get("compliance"):
            lines.append(f"- **{r['model']}**: {_verdicts(r['compliance'])}.")
        if r.get("client_bound"):
            lines.append(f"- **{r['model']}: client_bound**: schedule lag p99 {f(r.get('schedule_lag_p99_s'), 4)} s > "
                         f"bound {f(r.get('client_lag_bound_s'), 4)} s; the load generator, not the server, may "
                         "have set these latencies.")
    return [*lines, ""] if lines else []


def anchors(board: dict) -> list[str]:
    n = board["normalisation"]
    rows = [[c, f"{n[f'{c}_best']:g}", f"{n[f'{c}_worst']:g}", f"{board['weights'][c]:.0%}"] for c in ("fid", "clip", "human")]
    return table(["component", "best (→ 100)", "worst (→ 0)", "weight"], rows)


def _qualified(res: dict, min_n: int) -> list[list[str]]:
    return [[a, v, str(s["n"]), f"{s['mean']:.2f} [{s['low']:.2f}, {s['high']:.2f}]"]
            for a, vals in res["attributes"].items() for v, s in vals.items()
            if s["n"] >= min_n and s.get("low") is not None]


def _gap(res: dict, min_n: int) -> str:
    """The breakdown's largest gap when both its groups reach min_n (it carries the gap's own CI); else the
    largest gap among groups that do, each side with its CI; else none."""
    g = res.get("largest_gap")
    if g and min(g["n_high"], g["n_low"]) >= min_n:
        band = f" [{g['gap_low']:.2f}, {g['gap_high']:.2f}]" if g.get("gap_low") is not None else ""
        return (f"largest gap {g['attribute']}: {g['value_high']} {g['mean_high']:.2f} (n={g['n_high']}) vs "
                f"{g['value_low']} {g['mean_low']:.2f} (n={g['n_low']}) = {g['gap']:.2f}{band}")
    best = None
    for a, vals in res["attributes"].items():
        ok = [(s["mean"], v, s) for v, s in vals.items() if s["n"] >= min_n and s.get("low") is not None]
        if len(ok) >= 2:
            (lo_m, lo_v, lo_s), (hi_m, hi_v, hi_s) = min(ok, key=lambda t: t[0]), max(ok, key=lambda t: t[0])
            if best is None or hi_m - lo_m > best[0]:
                best = (hi_m - lo_m, a, hi_v, hi_s, lo_v, lo_s)
    if best is None:
        return f"no gap stated (no attribute has two values with n >= {min_n})"
    gap, a, hv, hs, lv, ls = best
    return (f"largest gap among groups with n >= {min_n}: {a}: {hv} {hs['mean']:.2f} [{hs['low']:.2f}, {hs['high']:.2f}] "
            f"(n={hs['n']}) vs {lv} {ls['mean']:.2f} [{ls['low']:.2f}, {ls['high']:.2f}] (n={ls['n']}) = {gap:.2f}")


def attributes(board: dict) -> list[str]:
    """Summary only: groups with n >= min_n (with their CI) and a largest gap only when both sides reach it."""
    ab = board.get("attribute_breakdown") or {}
    min_n = (ab.get("convention") or {}).get("min_n", 2)
    blocks = [(m, metric, res) for m, metrics in (ab.get("models") or {}).items() for metric, res in metrics.items()
              if res.get("attributes")]
    if not blocks:
        return []
    lines = ["## Per subject attribute (summary)", "",
             f"Only groups with n >= {min_n} images (report.attribute_min_n) are shown, with their "
             f"{pct(ab['convention'].get('ci_level'), 0)} CI; the full tables are in report.html (collapsed) "
             "and leaderboard.json.", ""]
    if not any(_qualified(res, min_n) for _, _, res in blocks):
        return lines[:2] + [f"No attribute group reaches n >= {min_n} images for any model, so no per-attribute "
                            "figure or gap is stated; the full tables are in report.html (collapsed) and "
                            "leaderboard.json.", ""]
    for m, metric, res in blocks:
        rows = _qualified(res, min_n)
        lines.append(f"- **{m}**, {metric}: {_gap(res, min_n)}; "
                     f"{len(rows)} group(s) reach n >= {min_n}")
    lines.append("")
    for m, metric, res in blocks:
        rows = _qualified(res, min_n)
        if rows:
            lines += [f"#### {m}: {metric}", "", *table(["attribute", "value", "n", "mean [CI]"], rows)]
    return lines
