"""Latency figures that show the autoscaler and the capacity search, as PNG bytes (plots.py's style).

    timeline({model: requests.jsonl rows}, {model: latency.json entry}, colour)  # latency_timeline.png
    latency_vs_load({model: latency.json entry}, colour)                          # latency_load.png

Timeline, per model, three panels on the run's clock (seconds from the first scheduled send of the
replayed trace): every request's latency at its scheduled time (cold ones and misses marked, the
SLO drawn), the offered rate the trace asked for, and the replicas serving. The replica count is
read from the requests themselves (X-Replica, X-Replica-Ready-Unix): a replica counts from the
moment it was ready to its last reply, so an idle gap that scaled the model to zero shows as a
drop to 0 followed by a cold request. Load: p50 and p99 of each capacity probe against its offered
rate, each model's SLO and its capacity bracket [met, failed) shaded (a censored search: a line
at "≥ met"). Both read only stage outputs DVC tracks: requests.jsonl of latency@<model> and the
gathered latency.json.
"""
from __future__ import annotations

import io
import math

import numpy as np

from sentinel.report.plots import SAVE, plt

MAX_BINS = 60


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, **SAVE)
    plt.close(fig)
    return buf.getvalue()


def replica_steps(rows: list[dict]) -> tuple[list[float], list[int]]:
    """(times, replicas serving from each time on): a replica from its ready time (its first
    request's send when the row has none) to its last reply, from the rows' replica fields."""
    spans: dict[str, list[float]] = {}
    for r in rows:
        if not r.get("replica"):
            continue
        start = r.get("replica_ready_s")
        start = r["sent_s"] if start is None else start
        end = r["done_s"]
        lo, hi = spans.get(r["replica"], (math.inf, -math.inf))
        spans[r["replica"]] = [min(lo, start), max(hi, end)]
    events = sorted([(lo, 1) for lo, _ in spans.values()] + [(hi, -1) for _, hi in spans.values()])
    times, counts, n = [0.0], [0], 0
    for t, step in events:
        n += step
        if t <= 0:
            counts[0] = n  # a replica started before the trace (calibration) serves from its start
        else:
            times.append(t)
            counts.append(n)
    return times, counts


def offered_rate(scheduled_s: list[float], bins: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(bin edges, requests per second scheduled in each bin)."""
    n = len(scheduled_s)
    bins = bins or max(1, min(MAX_BINS, n // 4))
    span = max(scheduled_s) if n else 0.0
    edges = np.linspace(0.0, span if span > 0 else 1.0, bins + 1)
    counts, _ = np.histogram(scheduled_s, bins=edges)
    return edges, counts / np.diff(edges)


def _latency_panel(ax, rows: list[dict], entry: dict, colour: str) -> None:
    ok = [r for r in rows if r.get("latency_s") is not None]
    warm = [r for r in ok if not r.get("cold")]
    cold = [r for r in ok if r.get("cold")]
    ax.plot([r["scheduled_s"] for r in warm], [r["latency_s"] for r in warm], ".", color=colour, label="warm")
    if cold:
        ax.plot([r["scheduled_s"] for r in cold], [r["latency_s"] for r in cold], "^", color="black",
                label=f"cold ({len(cold)})")
    top = max([r["latency_s"] for r in ok] + [entry.get("slo_s") or 0.0, 1e-3])
    missed = [r["scheduled_s"] for r in rows if r.get("latency_s") is None]
    if missed:
        ax.plot(missed, [top * 1.2] * len(missed), "x", color="red", label=f"miss ({len(missed)})")
    if entry.get("slo_s"):
        ax.axhline(entry["slo_s"], color="red", linewidth=0.8, linestyle="--", label=f"SLO {entry['slo_s']:g} s")
    lows = [r["latency_s"] for r in ok if r["latency_s"] > 0]
    if lows and top / min(lows) > 20:
        ax.set_yscale("log")
    ax.set_ylabel("latency (s)")
    ax.legend(fontsize=7, loc="upper right")


def _model_panels(axes, name: str, rows: list[dict], entry: dict, colour: str) -> None:
    lat_ax, rate_ax, rep_ax = axes
    _latency_panel(lat_ax, rows, entry, colour)
    speedup = (entry.get("schedule") or {}).get("trace_speedup")
    lat_ax.set_title(f"{name}: every request on the replayed trace" + (f" (trace time / {speedup:.3g})" if speedup else ""),
                     fontsize=9)
    edges, rate = offered_rate([r["scheduled_s"] for r in rows])
    rate_ax.stairs(rate, edges, color=colour, fill=True, alpha=0.4)
    rate_ax.set_ylabel("offered\nreq/s", fontsize=8)
    times, counts = replica_steps(rows)
    end = max([r["done_s"] for r in rows] + [edges[-1]])
    rep_ax.step([*times, end], [*counts, counts[-1]], where="post", color=colour)
    rep_ax.set_ylim(-0.2, max(counts) + 0.8)
    rep_ax.yaxis.set_major_locator(plt.MaxNLocator(integer=True))
    rep_ax.set_ylabel("replicas\nserving", fontsize=8)
    rep_ax.set_xlabel("seconds from the first scheduled send")
    rep_ax.set_xlim(0, end)


def timeline(requests: dict[str, list[dict]], models: dict[str, dict], colour: dict[str, str]) -> bytes:
    """Latency, offered rate and replicas over the run, one block of three panels per model."""
    names = [n for n in models if requests.get(n)]
    fig = plt.figure(figsize=(7, 4.4 * max(1, len(names))))
    if not names:
        fig.text(0.5, 0.5, "no per-request rows", ha="center")
        return _png(fig)
    for sub, name in zip(np.atleast_1d(fig.subfigures(len(names), 1)), names):
        axes = sub.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1, 1], "hspace": 0.12})
        sub.subplots_adjust(top=0.92, bottom=0.12)
        _model_panels(axes, name, requests[name], models[name], colour[name])
    return _png(fig)


def _bracket(ax, name: str, entry: dict, colour: str) -> None:
    met, failed = (entry.get("capacity_bracket_rps") or [None, None])[:2]
    if met is not None and failed is not None:
        ax.axvspan(met, failed, color=colour, alpha=0.15, label=f"{name} capacity [{met:.4g}, {failed:.4g})")
    elif met is not None:
        ax.axvline(met, color=colour, linestyle=":", label=f"{name} capacity ≥ {met:.4g} (censored)")
    elif failed is not None:
        ax.axvline(failed, color=colour, linestyle=":", label=f"{name} capacity < {failed:.4g}")


def latency_vs_load(models: dict[str, dict], colour: dict[str, str]) -> bytes:
    """p50 / p99 of each capacity probe against its offered rate, with each model's SLO and bracket;
    a void probe (the client fell > 3 % short of the rate) is drawn hollow: it tested nothing."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for name, entry in models.items():
        probes = sorted((p for p in entry.get("load") or [] if p.get("offered_rate_rps") is not None),
                        key=lambda p: p["offered_rate_rps"])
        if not probes:
            continue
        rate = [p["offered_rate_rps"] for p in probes]
        for key, style in (("latency_p50_s", "o-"), ("latency_p99_s", "s--")):
            ys = [np.nan if p.get(key) is None else p[key] for p in probes]
            ax.plot(rate, ys, style, color=colour[name], label=f"{name} {key.split('_')[1]}")
        void = [(p["offered_rate_rps"], p.get("latency_p99_s")) for p in probes if p.get("verdict") == "void"]
        if void:
            ax.plot([v[0] for v in void], [np.nan if v[1] is None else v[1] for v in void], "o", mfc="white",
                    color=colour[name], markersize=10, label=f"{name} void probe")
        if entry.get("slo_s"):
            ax.axhline(entry["slo_s"], color=colour[name], linewidth=0.9, linestyle="-.",
                       label=f"{name} SLO {(entry.get('rate_search') or {}).get('criterion') or entry['slo_s']}")
        _bracket(ax, name, entry, colour[name])
    ax.set_xlabel("offered load (requests/s)")
    ax.set_ylabel("end-to-end latency (s)")
    ax.set_title("Latency under load (a missing point = a miss at that percentile)", fontsize=9)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=6)
    return _png(fig)
