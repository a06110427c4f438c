"""Compliance checks after MLPerf's TEST01 and TEST04, on the latency run's own endpoint.

    run_test01(model, rows, checked=True)                 # every delivered image = the generate stage's?
    run_test04(model, http_post(url, 60, None), job, 6, taken_seeds, seed=0)  # a response cache?

TEST01 (accuracy in performance mode): every image the serving engine delivered in the run is
compared with the generate stage's image for the same job (client.check: sha256); one mismatch
fails the model, naming the jobs. A faster serving setting that changes the output cannot pass.

TEST04 (no caching): a response cache serves a repeated request without doing the work. After
the main run we send `pairs` pairs at concurrency 1 on the warm deployment, one request of each
kind per pair, alternating which goes first: the *repeated* request is one workload job sent
unchanged every time (primed once, uncounted, so a cache holds it), the *fresh* one is the same
job with a seed never sent before (same prompt, resolution and steps: the same work, and no cache
can hold it). The statistic is the median over pairs of repeated / fresh latency, with its
distribution-free 95 % CI (stats.percentile_ci). The model FAILS when the CI's upper bound is
below 1 - MAX_SPEEDUP: repeated requests are faster by more than 10 % with 95 % confidence.
Pairing cancels drift in the machine's load; needing the whole CI below 0.9 keeps an honest
server on a noisy 2-core box from failing by chance (6 pairs: all six ratios must be < 0.9).
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from sentinel.latency import stats
from sentinel.latency.client import Payload, check, post_job
from sentinel.workloads.jobs import Job

MAX_SPEEDUP = 0.10  # MLPerf TEST04: repeated samples may be at most 10 % faster than fresh ones
MIN_PAIRS = 6  # the fewest pairs whose median has a two-sided 95 % order-statistic CI
SEED_SPACE = 2**63  # fresh seeds: drawn from here, never one of the workload's


def run_test01(model: str, rows: Sequence[dict], checked: bool) -> dict:
    """TEST01 verdict from the run's rows: pass, fail (naming the model and the jobs) or
    not_applicable (a vendor model: its images are not byte-reproducible, nothing was compared)."""
    if not checked:
        return {"verdict": "not_applicable", "reason": f"{model}: vendor (source: api) images are not "
                                                       "byte-reproducible; no sha256 to compare", "n_checked": 0}
    bad = [r for r in rows if (r.get("reason") or "").startswith("sha256 mismatch")]
    compared = sum(1 for r in rows if r.get("ok")) + len(bad)
    out = {"verdict": "fail" if bad else "pass", "n_checked": compared, "n_mismatched": len(bad),
           "mismatched_jobs": sorted({r["job"] for r in bad})[:50],
           "rule": "every delivered image's sha256 equals the generate stage's for the same job"}
    if bad:
        out["reason"] = (f"{model}: {len(bad)} of {compared} delivered images differ from the generate stage's "
                         f"(jobs: {', '.join(out['mismatched_jobs'][:5])})")
    elif compared == 0:
        out.update(verdict="void", reason=f"{model}: no image was delivered, so none was compared")
    return out


def fresh_jobs(job: Job, n: int, taken: set[int], seed: int) -> list[Job]:
    """`n` copies of `job` with new seeds, none in `taken` (the workload's own) nor repeated. Any
    job dataclass with `id` and `seed` (image, video, try-on: the same work, a new seed; a try-on
    copy keeps the same person/garment/mask files, so its inlined images are the same too)."""
    if not dataclasses.is_dataclass(job) or not {"id", "seed"} <= {f.name for f in dataclasses.fields(job)}:
        raise TypeError(f"TEST04 needs a job dataclass with id and seed fields, got {type(job).__name__}")
    rng, seeds = np.random.default_rng([seed, 4]), []
    while len(seeds) < n:
        s = int(rng.integers(0, SEED_SPACE))
        if s not in taken and s not in seeds:
            seeds.append(s)
    return [dataclasses.replace(job, id=f"{job.id}~test04-{i}", seed=s) for i, s in enumerate(seeds)]


Post = Callable[[Job], tuple[float, str]]  # one request -> (seconds send to last byte, "" or why it missed)


def http_post(url: str, timeout_s: float, expected: Mapping[str, str] | None,
              payload: Payload | None = None) -> Post:
    """A Post on the stage's own client (keep-alive, the PNG read to its last byte); `payload`
    builds a media job's body (client.post_job)."""
    def post(job: Job) -> tuple[float, str]:
        t0 = time.perf_counter()
        resp = post_job(url, job, timeout_s, payload)
        return time.perf_counter() - t0, check(resp, job, expected)
    return post


def paired_ratios(post: Post, repeated: Job, fresh: Sequence[Job]) -> tuple[list[float], list[dict]]:
    """Prime the repeated job once, then pair i sends (repeated, fresh[i]) or (fresh[i], repeated)
    alternately; ratios of the pairs where both succeeded, and every request as a row."""
    _, why = post(repeated)
    rows, ratios = [{"kind": "prime", "job": repeated.id, "latency_s": None, "reason": why}], []
    for i, job in enumerate(fresh):
        order = (("repeated", repeated), ("fresh", job)) if i % 2 == 0 else (("fresh", job), ("repeated", repeated))
        got = {}
        for kind, j in order:
            latency, why = post(j)
            got[kind] = None if why else latency
            rows.append({"kind": kind, "pair": i, "job": j.id, "latency_s": round(latency, 6), "reason": why})
        if got["repeated"] is not None and got["fresh"]:
            ratios.append(got["repeated"] / got["fresh"])
    return ratios, rows


def verdict(model: str, ratios: list[float], n_pairs: int) -> dict:
    """pass / fail / void from the paired ratios (see the module docstring)."""
    bound = 1 - MAX_SPEEDUP
    out = {"n_pairs": n_pairs, "n": len(ratios), "bound": bound,
           "rule": f"fail when the 95 % CI of median(repeated / fresh latency) lies below {bound:g}"}
    if len(ratios) < MIN_PAIRS:
        return {**out, "verdict": "void", "ratio": None, "ratio_ci95": None,
                "reason": f"{model}: {len(ratios)} complete pairs < {MIN_PAIRS}: TEST04 not decided"}
    lo, hi = stats.percentile_ci(ratios, 50)
    ratio = float(np.median(ratios))
    out.update(ratio=round(ratio, 6), ratio_ci95=[None if lo is None else round(lo, 6), round(hi, 6)])
    if hi < bound:
        return {**out, "verdict": "fail", "reason": f"{model}: repeated identical requests are {1 - ratio:.0%} "
                                                    f"faster than fresh ones (median ratio {ratio:.3f}, 95 % CI "
                                                    f"upper {hi:.3f} < {bound:g}): a response cache?"}
    return {**out, "verdict": "pass"}


def run_test04(model: str, post: Post, job: Job, pairs: int, taken_seeds: set[int], seed: int) -> dict:
    """TEST04 on a warm endpoint: `pairs` interleaved pairs of (repeated, fresh) requests."""
    if pairs < MIN_PAIRS:
        raise ValueError(f"latency.test04_pairs: must be >= {MIN_PAIRS} (the fewest with a 95 % CI on the median), "
                         f"got {pairs}")
    ratios, rows = paired_ratios(post, job, fresh_jobs(job, pairs, taken_seeds, seed))
    return {**verdict(model, ratios, pairs), "job": job.id,
            "median_repeated_s": _median([r["latency_s"] for r in rows if r["kind"] == "repeated" and not r["reason"]]),
            "median_fresh_s": _median([r["latency_s"] for r in rows if r["kind"] == "fresh" and not r["reason"]]),
            "misses": [{"job": r["job"], "kind": r["kind"], "reason": r["reason"]} for r in rows if r["reason"]][:10]}


def _median(xs: list[float]) -> float | None:
    return round(float(np.median(xs)), 6) if xs else None
