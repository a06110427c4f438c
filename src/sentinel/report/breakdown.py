"""Every quality metric per subject attribute (e.g. per Monk skin-tone band), with bootstrap CIs and n,
and the largest gap per model.

    attrs = qualified_attributes(load_workload(path))             # job id -> {"corporate_headshot.age_band": "25-34", ...}
    rows = [{"model": "m", "job_id": "hs-001", "clip_score": 27.1, "human_mos": 3.4}, ...]  # per image
    result = breakdown(rows, {"clip_score": True, "human_mos": True}, attrs, seed=0)
    print(breakdown_markdown(result))

Per-image metrics (CLIP score, a human mean opinion score) are averaged within each attribute value;
set-level metrics (FID, KID) go through `set_statistic_breakdown` with a statistic of a set of rows.
Bootstrap: for the group (attribute, value), its rows in job-id order,
rng = numpy.random.default_rng([seed, crc32("attribute=value")]), indices rng.integers(0, n, (samples, n)),
percentile interval numpy.quantile(..., [(1-level)/2, (1+level)/2]).
A group's interval therefore does not depend on which other groups exist. Groups with n < min_n get a
mean and no interval; a largest gap involving one has no interval either. The largest gap is the
attribute whose highest and lowest values differ most; picking the largest of several gaps favours noise, so read its interval
(bootstrap of the difference of the two groups' replicates) and n before concluding anything.
"""
from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from sentinel.metrics.bootstrap import interval

VERSION = "breakdown-v1"


def qualified_attributes(workload) -> dict[str, dict[str, str]]:
    """job id -> {"<category>.<attribute>": value}: attribute names are only unique within a category."""
    return {j.id: {f"{j.category}.{k}": v for k, v in workload.attributes.get(j.id, {}).items()} for j in workload.jobs}


def human_rows(ratings: Sequence[Mapping], dimension: str = "overall") -> list[dict]:
    """Per (model, job): the mean Likert rating of `dimension` as "human_mos", from ratings.jsonl rows."""
    sums: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in ratings:  # Likert rows only (pairwise and gold rows carry no single model's rating)
        if r.get("kind", "likert") == "likert" and "likert" in r and r.get("dimension", dimension) == dimension:
            sums[(r["model"], r["job_id"])].append(float(r["likert"]))
    return [{"model": m, "job_id": j, "human_mos": float(np.mean(v))} for (m, j), v in sorted(sums.items())]


def group_rows(job_ids: Sequence[str], attributes: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, np.ndarray]]:
    """attribute -> value -> positions in `job_ids` (attributes and values sorted; positions in job-id order)."""
    groups: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for pos, job_id in enumerate(job_ids):
        if job_id not in attributes:
            raise KeyError(f"job {job_id!r}: no attributes in the workload (is it the same workload file?)")
        for attr, value in attributes[job_id].items():
            groups[attr][value].append(pos)
    by_id = lambda pos: job_ids[pos]  # noqa: E731 - within a group, rows in job-id order: row order never matters
    return {a: {v: np.array(sorted(groups[a][v], key=by_id)) for v in sorted(groups[a])} for a in sorted(groups)}


def _rng(seed: int, attr: str, value: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(f"{attr}={value}".encode())])


def _interval(reps: np.ndarray, level: float) -> tuple[float, float]:
    return interval(reps, level)  # the project's one percentile-interval rule (metrics/bootstrap.py)


def _group_stats(point: float, reps: np.ndarray | None, n: int, level: float) -> dict:
    low, high = _interval(reps, level) if reps is not None else (None, None)
    return {"mean": point, "low": low, "high": high, "n": n}


def _largest_gap(stats: dict, reps: dict, higher_is_better: bool, level: float) -> dict | None:
    best = None
    for attr, values in stats.items():
        ok = list(values)
        if len(ok) < 2:
            continue
        hi_v = max(ok, key=lambda v: (values[v]["mean"], v))
        lo_v = min(ok, key=lambda v: (values[v]["mean"], v))
        gap = values[hi_v]["mean"] - values[lo_v]["mean"]
        if best is None or gap > best["gap"]:
            r_hi, r_lo = reps[attr][hi_v], reps[attr][lo_v]
            low, high = _interval(r_hi - r_lo, level) if r_hi is not None and r_lo is not None else (None, None)
            best = {"attribute": attr, "value_high": hi_v, "value_low": lo_v, "mean_high": values[hi_v]["mean"],
                    "mean_low": values[lo_v]["mean"], "n_high": values[hi_v]["n"], "n_low": values[lo_v]["n"],
                    "gap": gap, "gap_low": low, "gap_high": high,
                    "worst_value": lo_v if higher_is_better else hi_v}
    return best


def set_statistic_breakdown(job_ids: Sequence[str], attributes: Mapping[str, Mapping[str, str]],
                            statistic: Callable[[np.ndarray], float], *, higher_is_better: bool, seed: int = 0,
                            samples: int = 1000, level: float = 0.95, min_n: int = 2,
                            vectorised: Callable[[np.ndarray], np.ndarray] | None = None) -> dict:
    """One metric per attribute value. `statistic(positions)` is the metric of the rows at `positions`
    (positions may repeat: a bootstrap resample); `vectorised(index matrix)` may compute all replicates at once."""
    if not 0 < level < 1 or samples < 1 or min_n < 2:
        raise ValueError(f"level must be in (0, 1), samples >= 1 and min_n >= 2; got {level}, {samples}, {min_n}")
    stats: dict[str, dict[str, dict]] = {}
    reps: dict[str, dict[str, np.ndarray | None]] = {}
    for attr, values in group_rows(job_ids, attributes).items():
        stats[attr], reps[attr] = {}, {}
        for value, pos in values.items():
            r = None
            if len(pos) >= min_n:
                idx = pos[_rng(seed, attr, value).integers(0, len(pos), (samples, len(pos)))]
                r = vectorised(idx) if vectorised else np.array([statistic(row) for row in idx])
            reps[attr][value] = r
            stats[attr][value] = _group_stats(float(statistic(pos)), r, len(pos), level)
    return {"attributes": stats, "largest_gap": _largest_gap(stats, reps, higher_is_better, level)}


def mean_breakdown(values: Mapping[str, float], attributes: Mapping[str, Mapping[str, str]], *,
                   higher_is_better: bool, **kwargs) -> dict:
    """A per-image metric (job id -> value) averaged per attribute value, with CIs and n."""
    job_ids = list(values)
    x = np.asarray([values[j] for j in job_ids], np.float64)
    if not np.all(np.isfinite(x)):
        bad = job_ids[int(np.flatnonzero(~np.isfinite(x))[0])]
        raise ValueError(f"job {bad!r}: metric value is not finite ({values[bad]!r})")
    return set_statistic_breakdown(job_ids, attributes, lambda pos: float(x[pos].mean()),
                                   higher_is_better=higher_is_better, vectorised=lambda idx: x[idx].mean(axis=1),
                                   **kwargs)


def breakdown(rows: Sequence[Mapping], metrics: Mapping[str, bool], attributes: Mapping[str, Mapping[str, str]], *,
              seed: int = 0, samples: int = 1000, level: float = 0.95, min_n: int = 2) -> dict:
    """Per model and metric (name -> higher_is_better): each attribute value's mean, CI and n, and the
    largest gap. `rows` are per-image dicts with "model", "job_id" and the metric keys (a missing or
    None metric value leaves that image out of that metric)."""
    by_model: dict[str, list[Mapping]] = defaultdict(list)
    for row in rows:
        by_model[row["model"]].append(row)
    out: dict = {"models": {}, "convention": {
        "version": VERSION, "interval": f"percentile bootstrap, {samples} resamples within each attribute value",
        "ci_level": level, "seed": seed, "min_n": min_n}}
    for model, mrows in by_model.items():
        out["models"][model] = {}
        for metric, hib in metrics.items():
            values = {r["job_id"]: r[metric] for r in mrows if r.get(metric) is not None}
            if values:
                out["models"][model][metric] = mean_breakdown(values, attributes, higher_is_better=hib, seed=seed,
                                                              samples=samples, level=level, min_n=min_n)
    return out


def _gap_line(g: Mapping | None, d: int) -> str:
    if not g:
        return "Largest gap: none (no attribute has two values)."
    ci = f"[{g['gap_low']:.{d}f}, {g['gap_high']:.{d}f}]" if g["gap_low"] is not None else "(no CI: n too small)"
    return (f"Largest gap: **{g['attribute']}**, {g['value_high']} {g['mean_high']:.{d}f} (n={g['n_high']}) vs "
            f"{g['value_low']} {g['mean_low']:.{d}f} (n={g['n_low']}): {g['gap']:.{d}f} {ci}; "
            f"worse: {g['worst_value']}.")


def breakdown_markdown(result: Mapping, digits: int = 2, attributes: Sequence[str] | None = None) -> str:
    """Per model and metric: a table of attribute values (mean [CI], n), then the largest gap (over all
    attributes). `attributes` limits the table's rows, e.g. ["corporate_headshot.skin_tone_band"]."""
    def cell(s: Mapping) -> str:
        ci = f" [{s['low']:.{digits}f}, {s['high']:.{digits}f}]" if s["low"] is not None else " (no CI: n too small)"
        return f"{s['mean']:.{digits}f}{ci}"

    lines = []
    for model, metrics in result["models"].items():
        for metric, res in metrics.items():
            lines += [f"#### {model}: {metric} by attribute", "", "| attribute | value | n | mean [CI] |",
                      "|---|---|---|---|"]
            lines += [f"| {a} | {v} | {s['n']} | {cell(s)} |" for a, vals in res["attributes"].items()
                      if attributes is None or a in attributes for v, s in vals.items()]
            lines += ["", _gap_line(res["largest_gap"], digits), ""]
    return "\n".join(lines)
