"""Report figures as PNG bytes (matplotlib, Agg backend): quality vs cost, latency CDFs, sample grids.
Every figure takes the same `colours(models)` map, so a model has one colour throughout a report.

Figures are rendered deterministically (fixed size, dpi and no timestamps in metadata) so the
same inputs give the same bytes; they are embedded in the HTML report and written beside it.
"""
from __future__ import annotations

import io
from pathlib import Path

import matplotlib
import matplotlib.colors

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sentinel.images import decode_rgb  # noqa: E402

SAVE = {"format": "png", "dpi": 100, "metadata": {"Software": None}}


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, **SAVE)
    plt.close(fig)
    return buf.getvalue()


def colours(models: list[str]) -> dict[str, str]:
    """One colour per model for every plot and the HTML: tab10 in sorted-name order, so a model keeps
    its colour in every figure of a report (and across reports of the same model set)."""
    cmap = plt.get_cmap("tab10")
    return {m: matplotlib.colors.to_hex(cmap(i % 10)) for i, m in enumerate(sorted(models))}


def front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The Pareto front of (cost, quality): points no other point beats on both, in cost order."""
    out, best = [], -np.inf
    for cost, comp in sorted(points, key=lambda p: (p[0], -p[1])):
        if comp > best:
            out.append((cost, comp))
            best = comp
    return out


def pareto(rows: list[dict], colour: dict[str, str]) -> bytes:
    """Composite (with its CI) against $ per 1,000 images; the front is drawn, and named in the
    legend, only when it joins two or more models."""
    fig, ax = plt.subplots(figsize=(6, 4))
    pts = sorted((r["cost_usd_per_image"] * 1000, r["composite"], r["model"], r.get("composite_ci")) for r in rows)
    for cost, comp, name, ci in pts:
        yerr = [[comp - ci[0]], [ci[1] - comp]] if ci else None
        ax.errorbar(cost, comp, yerr=yerr, fmt="o", capsize=3, color=colour[name], label=name)
    line = front([(c, q) for c, q, _, _ in pts])
    if len(line) > 1:
        ax.step(*zip(*line), where="post", linestyle="--", color="grey", label="Pareto front")
    if pts:
        ax.legend(fontsize=8)
    ax.set_xlabel("cost per 1,000 images (USD)")
    ax.set_ylabel("composite quality (0-100)")
    ax.set_title("Quality vs cost")
    return _png(fig)


def latency_cdf(samples: dict[str, list[float | None]], colour: dict[str, str]) -> bytes:
    """Empirical CDF of end-to-end latency per model; misses (None) sit at the top, never dropped."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in samples.items():
        ok = np.sort([v for v in values if v is not None])
        if ok.size:
            ax.step(ok, np.arange(1, ok.size + 1) / len(values), where="post", label=f"{name} (n={len(values)})",
                    color=colour[name])
    ax.set_xlabel("end-to-end latency (s)")
    ax.set_ylabel("fraction of requests")
    ax.set_ylim(0, 1.02)
    ax.set_title("Latency CDF (misses count as never finishing)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    return _png(fig)


def sample_grid(images: list[tuple[str, Path]], columns: int = 4) -> bytes:
    """A grid of generated images with their job ids."""
    rows = max(1, -(-len(images) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(2 * columns, 2.2 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (label, path) in zip(axes.flat, images):
        ax.imshow(decode_rgb(path))
        ax.set_title(label, fontsize=7)
    fig.tight_layout()
    return _png(fig)
