"""Plot data from the latency results, as CSV for `dvc plots` (and for the report to draw).

cdf.csv:  model, latency_s, cumulative_fraction  -- latency CDF per model over the whole job set
          (cold starts included); a miss never appears as a point, so a model with misses tops out
          below 1.0.
load.csv: model, target_rate_rps, offered_rate_rps, achieved_rate_rps, latency_p50_s, latency_p99_s,
          goodput_fraction, failure_rate  -- the capacity probes: latency against offered load
          (achieved = the client's actual send rate; empty cell: +inf)
"""
from __future__ import annotations

import csv
import io

CDF_COLUMNS = ("model", "latency_s", "cumulative_fraction")
LOAD_COLUMNS = ("model", "target_rate_rps", "offered_rate_rps", "achieved_rate_rps", "latency_p50_s", "latency_p99_s",
                "goodput_fraction", "failure_rate")


def cdf_rows(models: dict[str, dict]) -> list[dict]:
    rows = []
    for name, result in models.items():
        sample = result["per_request_s"]
        done = sorted(x for x in sample if x is not None)
        rows += [{"model": name, "latency_s": x, "cumulative_fraction": round((i + 1) / len(sample), 6)}
                 for i, x in enumerate(done)]
    return rows


def load_rows(models: dict[str, dict]) -> list[dict]:
    return [{"model": name, **{k: run[k] for k in LOAD_COLUMNS[1:]}}
            for name, result in models.items() for run in result["load"]]


def to_csv(rows: list[dict], columns: tuple[str, ...]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: ("" if row[k] is None else row[k]) for k in columns} for row in rows)
    return buf.getvalue()
