"""Generate a production-like workload CSV (and its .meta.json), seeded and versioned.

    sentinel workload generate --profile 2026-q4      # -> workloads/2026-q4.csv + .meta.json
    sentinel workload generate --profile smoke        # -> workloads/smoke.csv (12 jobs, 64 px)
    sentinel workload check                           # committed files == a fresh generation?
    sentinel workload card                            # refresh the tables in workloads/DATACARD.md
(the command line lives in sentinel/workloads/__main__.py: `python -m sentinel.workloads` works too)

The distributions live in sentinel.workloads.spec (stated in workloads/DATACARD.md). Everything is drawn
from numpy.random.default_rng(profile seed), so the same version and seed give the same bytes.
Rows are in arrival order (`arrival_s`, see workload_arrivals); each row's `attributes` column records
what was sampled for it.
"""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np

from sentinel.workloads import spec
from sentinel.provenance import atomic_write_bytes, sha256_bytes
from sentinel.workloads.jobs import COLUMNS, EXTRA_COLUMNS, WorkloadError, format_attributes
from sentinel.workloads.arrivals import arrivals

ROOT = Path(__file__).resolve().parents[3]
AN = re.compile(r"\b([Aa]) (?=[aeiouAEIOU])")  # "a oak wood armchair" -> "an oak wood armchair"
PREFIX = {"corporate_headshot": "hs", "ecommerce_product": "ep", "creative_portrait": "cp"}


def _draw(rng: np.random.Generator, table: dict, n: int) -> list:
    values = list(table)
    p = np.array([table[v] for v in values], np.float64)
    return [values[i] for i in rng.choice(len(values), size=n, p=p / p.sum())]


def category_counts(profile: dict) -> dict[str, int]:
    """Exact counts per category: the profile's, or largest-remainder quotas of CATEGORY_SHARES."""
    if profile["category_counts"]:
        return dict(profile["category_counts"])
    n, shares = profile["n_jobs"], spec.CATEGORY_SHARES
    counts = {c: int(n * s) for c, s in shares.items()}
    by_remainder = sorted(shares, key=lambda c: (-(n * shares[c] - counts[c]), c))
    for c in by_remainder[: n - sum(counts.values())]:
        counts[c] += 1
    return counts


def _prompt(rng: np.random.Generator, category: str, attrs: dict[str, str], n_details: int) -> str:
    words = {k: spec.PHRASES.get(k, {}).get(v, v) for k, v in attrs.items()}
    opener = spec.OPENERS[category][rng.integers(len(spec.OPENERS[category]))]
    subject = spec.SUBJECTS[rng.integers(len(spec.SUBJECTS))]
    text = AN.sub(r"\1n ", spec.TEMPLATES[category].format(opener=opener, subject=subject, **words))
    pool = spec.DETAILS[category]
    details = [pool[i] for i in rng.choice(len(pool), size=min(n_details, len(pool)), replace=False)]
    return ", ".join([text[0].upper() + text[1:], *details])


def _negative(rng: np.random.Generator, category: str, n_terms: int) -> str:
    pool = spec.NEGATIVE_TERMS[category]
    return ", ".join(pool[i] for i in rng.choice(len(pool), size=n_terms, replace=False))


def _category_rows(rng: np.random.Generator, category: str, n: int, profile: dict) -> list[dict]:
    """n jobs of one category: attributes, prompt, negative prompt and size (no id, seed or time yet)."""
    table = spec.ATTRIBUTES[category]
    drawn = {a: _draw(rng, dist, n) for a, dist in table.items()}
    for attr, (given, tables) in spec.CONDITIONAL.get(category, {}).items():
        drawn[attr] = [None] * n
        for value, dist in tables.items():  # one vectorised draw per given value, in spec order
            idx = [i for i in range(n) if drawn[given][i] == value]
            for i, v in zip(idx, _draw(rng, dist, len(idx)), strict=True):
                drawn[attr][i] = v
    sizes = _draw(rng, spec.SIZES[category], n)
    n_details, n_negative = _draw(rng, spec.DETAIL_COUNTS, n), _draw(rng, spec.NEGATIVE_COUNTS, n)
    rows = []
    for i in range(n):
        attrs = {a: drawn[a][i] for a in drawn}
        for name, (source, bands) in spec.DERIVED.get(category, {}).items():
            attrs[name] = bands[attrs[source]]
        width, height = (profile["size_px"],) * 2 if profile["size_px"] else map(int, sizes[i].split("x"))
        rows.append({"category": category, "prompt": _prompt(rng, category, attrs, n_details[i]),
                     "negative_prompt": _negative(rng, category, n_negative[i]), "width": width, "height": height,
                     "steps": profile["steps"], "guidance": profile["guidance"], "attributes": attrs})
    return rows


def generate(name: str, seed: int | None = None) -> tuple[list[dict], dict]:
    """The rows (arrival order) and the metadata of workload profile `name`."""
    if name not in spec.PROFILES:
        raise WorkloadError(f"profile: unknown workload profile {name!r} (valid: {', '.join(spec.PROFILES)})")
    profile = {**spec.PROFILES[name], **({"seed": seed} if seed is not None else {})}
    rng = np.random.default_rng([profile["seed"], 0])
    counts = category_counts(profile)
    per_cat = {c: _category_rows(rng, c, k, profile) for c, k in counts.items()}
    order = rng.permutation([c for c, k in counts.items() for _ in range(k)])  # categories interleaved in time
    seeds = rng.choice(2**31 - 1, size=profile["n_jobs"], replace=False)
    times, windows = arrivals(profile["seed"], profile["n_jobs"], **{k: profile[k] for k in (
        "duration_s", "day_s", "amplitude", "bursts", "burst_s", "burst_factor")})
    taken, width = dict.fromkeys(counts, 0), max(3, len(str(profile["n_jobs"])))
    rows = []
    for i, cat in enumerate(order):
        row = per_cat[cat][taken[cat]]
        taken[cat] += 1
        rows.append({"id": f"{PREFIX[cat]}-{taken[cat]:0{width}d}", **row, "seed": int(seeds[i]), "arrival_s": times[i]})
    meta = {"generator": "sentinel.workloads.generator", "version": spec.VERSION, "profile": name, "seed": profile["seed"],
            "n_jobs": profile["n_jobs"], "category_counts": counts,
            "arrivals": {k: profile[k] for k in ("duration_s", "day_s", "amplitude", "burst_s", "burst_factor")}
            | {"burst_windows_s": windows, "resolution_s": 1.0}}
    return rows, meta


def to_csv_bytes(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS + EXTRA_COLUMNS)
    for r in rows:
        writer.writerow([r["id"], r["category"], r["prompt"], r["negative_prompt"], r["seed"], r["width"], r["height"],
                         r["steps"], f"{r['guidance']:.1f}", f"{r['arrival_s']:.3f}", format_attributes(r["attributes"])])
    return buf.getvalue().encode("utf-8")


def write(name: str, out: Path, seed: int | None = None) -> dict:
    """Write `out` (CSV) and `out` with .meta.json atomically; return the metadata."""
    rows, meta = generate(name, seed)
    data = to_csv_bytes(rows)
    meta["csv_sha256"] = sha256_bytes(data)
    atomic_write_bytes(out, data)
    atomic_write_bytes(meta_path(out), (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())
    return meta


def meta_path(csv_path: Path) -> Path:
    return csv_path.with_name(csv_path.stem + ".meta.json")


def check(root: Path = ROOT) -> list[str]:
    """Names of committed workloads that differ from a fresh generation (empty: all match)."""
    stale = []
    for name in spec.PROFILES:
        path = root / "workloads" / f"{name}.csv"
        meta = json.loads(meta_path(path).read_text()) if meta_path(path).exists() else {}
        rows, _ = generate(name, meta.get("seed"))
        if not path.exists() or path.read_bytes() != to_csv_bytes(rows):
            stale.append(name)
    return stale

