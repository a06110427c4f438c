"""The latency stage for a media family (video: issue 18, try-on: issue 19), on the image stage's machinery.

    run(VIDEO, "params.yaml", "wan-tiny")   # sentinel.video.latency_stage / sentinel.tryon.latency_stage

Per model: `<family>.paths.latency/<model>/latency.json` and `requests.jsonl` (one row per job).
Same measurement as the image stage (serving.measure_model: Ray Serve on loopback, calibration,
the open-loop run of every job, TEST01 / TEST04, the capacity bracket, order-statistic CIs), with
the family's kind (kinds.py: its loader, payload and encoding). The latency config is the
top-level `latency` section with the family's own `<family>.latency` block over it (a video takes
seconds where an image takes a fraction: its own slo_s, probe sizes...); `latency_keys_from` in
latency.json says where each key came from. A vendor model whose base_url is the fake loopback
vendor gets that vendor started for the run (sentinel.video.api.fake_vendor).

Outputs are written only after every model measured, through a staged folder per model
(requests.jsonl, then latency.json), so a failure leaves no output; stale ones go first.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentinel import config
from sentinel.config import LatencyConfig
from sentinel.errors import ConfigError
from sentinel.latency import stats
from sentinel.latency.kinds import SPLIT_HEADERS
from sentinel.latency.summary import json_s
from sentinel.provenance import environment, read_jsonl, staged_dir, write_json, write_jsonl
from sentinel.records import is_ok

NOTE = "timings; machine-dependent; plumbing models on CPU"
SPLIT_KEYS = ("queue_s", "compute_s", *SPLIT_HEADERS)  # requests.jsonl columns the breakdown summarises


@dataclass(frozen=True)
class Family:
    """What differs between video and try-on (the family's latency_stage.py fills it in)."""
    name: str  # the params section: "video" | "tryon"
    kind: str  # kinds.get: "video" | "tryon"
    model_group: str  # conf group of its models: "video_model" | "tryon_model"
    unit: str  # what one request delivers, for latency.json's text: "clip strip PNG", "try-on result PNG"
    load_section: Callable[[str | Path], Any]  # params path -> the section (models, workload, latency, paths)
    load_jobs: Callable[[Any], list]  # section -> jobs
    payload: Callable[[Any], Any] = lambda section: None  # section -> the client's payload function (or None)
    sizes: Callable[[Any, list], dict] = lambda section, jobs: {}  # job id -> (width, height), for jobs without


def field_of(obj: Any, key: str, default: Any = None) -> Any:
    """`obj.key` or `obj[key]`: family sections may be attribute objects or plain mappings."""
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def latency_config(top: LatencyConfig, block: Any, family: str) -> tuple[LatencyConfig, dict[str, str]]:
    """The top-level latency section with `<family>.latency` over it; keys are LatencyConfig's
    (an unknown key fails naming `<family>.latency.<key>`). Also says where each key came from."""
    if dataclasses.is_dataclass(block):
        block = dataclasses.asdict(block)
    if block is not None and not isinstance(block, Mapping):
        raise ConfigError(f"{family}.latency: expected a mapping, got {block!r}")
    block = dict(block or {})
    base = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(top).items()}
    merged = config.build(LatencyConfig, {**base, **block}, f"{family}.latency")
    return merged, {k: f"{family}.latency" if k in block else "latency" for k in base}


def check_latency(cfg: LatencyConfig, family: str, model_group: str) -> None:
    """serving.validate, its message naming the family's block (the merged value is what failed)."""
    from sentinel.latency.serving import validate

    try:
        validate(cfg, model_group)
    except ValueError as e:
        raise ConfigError(f"{family}.{e} (the {family}.latency block over the top-level latency section)") from None


def expected_sha256(records: list[dict], model: str, records_path: Path) -> dict[str, str]:
    """The generate stage's sha256 per job (the clip strip's / the result PNG's)."""
    expected = {r["job_id"]: r["sha256"] for r in records
                if r.get("model") == model and is_ok(r) and r.get("sha256")}
    if not expected:
        raise ValueError(f"{records_path}: no ok generate records with a sha256 for model {model!r}; "
                         "run its generate stage first")
    return expected


def arrival_of(jobs: list) -> dict[str, float] | None:
    """Job id -> arrival_s when every job has one (a video job's column), else None."""
    times = {j.id: getattr(j, "arrival_s", None) for j in jobs}
    return None if any(t is None for t in times.values()) else {k: float(v) for k, v in times.items()}


def breakdown(rows: list[dict]) -> dict:
    """p50 / p95 (nearest rank, with the 95 % CI) of each part of the latency over the successful
    requests, where the server said: queue_s (Serve's queue and transport: first byte - send -
    compute), compute_s (generation + encoding in the replica), generation_s, encoding_s and the
    vendor's own vendor_queue_s."""
    out = {}
    for key in SPLIT_KEYS:
        xs = [r[key] for r in rows if r.get("ok") and isinstance(r.get(key), int | float) and math.isfinite(r[key])]
        if not xs:
            out[key] = None
            continue
        out[key] = {"n": len(xs), **{f"p{q}_s": json_s(stats.percentile(xs, q)) for q in (50, 95)},
                    "p95_ci95_s": [json_s(x) for x in stats.percentile_ci(xs, 95)],
                    "mean_s": json_s(math.fsum(xs) / len(xs))}
    return out


@contextlib.contextmanager
def vendor_for(model_cfg: Any):
    """The model config to deploy: a fake-loopback vendor model gets the fake vendor started for
    the block (sentinel.video.api.fake_vendor.serving_fake_vendor) and its config pointing at it;
    any other model as it is."""
    api = getattr(model_cfg, "api", None)
    if getattr(model_cfg, "source", None) != "api" or api is None:
        yield model_cfg
        return
    from sentinel.video.api.config import FAKE_BASE_URL

    if getattr(api, "base_url", None) != FAKE_BASE_URL:
        yield model_cfg
        return
    from sentinel.video.api.fake_vendor import serving_fake_vendor

    with serving_fake_vendor(model_cfg) as served:
        yield served


def run(family: Family, params_path: str | Path = "params.yaml", model: str | None = None, *,
        serve=None) -> dict[str, dict]:
    """Measure one model (or every model of the family, in params order); returns {model: latency.json doc}.
    Starts and stops its own Serve instance unless `serve` (a started serve.ServeInstance) is given."""
    from sentinel.latency.serve import ServeInstance
    from sentinel.latency.serving import measure_model

    section = family.load_section(params_path)
    models, paths = field_of(section, "models") or {}, field_of(section, "paths")
    if model is not None and model not in models:
        raise ConfigError(f"{family.name}.models.{model}: not in {params_path}'s {family.name} section "
                          f"(composed: {', '.join(models) or 'none'})")
    names = list(models) if model is None else [model]
    if not names:
        raise ConfigError(f"{family.name}.models: empty; nothing to measure")
    out_dirs = {n: Path(field_of(paths, "latency")) / n for n in names}
    for d in out_dirs.values():  # a stale result must not outlive a failed run
        for f in ("latency.json", "requests.jsonl"):
            (d / f).unlink(missing_ok=True)
    top = config.load(params_path, sections=("latency",))["latency"]
    lat, sources = latency_config(top, field_of(section, "latency"), family.name)
    check_latency(lat, family.name, family.model_group)
    jobs = family.load_jobs(section)
    arrival_s = arrival_of(jobs)
    if lat.arrival == "trace" and arrival_s is None:  # before Ray starts
        raise ConfigError(f"{family.name}.latency.arrival: trace replays the jobs' arrival_s, and "
                          f"{field_of(field_of(section, 'workload'), 'jobs')} has none for some job; set "
                          f"{family.name}.latency.arrival: poisson (or gamma)")
    expected = {}
    for n in names:  # vendor outputs are not byte-reproducible: no sha256 to check (TEST01 not applicable)
        rec_path = Path(field_of(paths, "records")) / f"{n}.jsonl"
        if field_of(models[n], "source") == "api":
            expected[n] = None
            continue
        if not rec_path.is_file():
            raise ConfigError(f"{rec_path}: not found; run {family.name}-generate for {n} first")
        expected[n] = expected_sha256(read_jsonl(rec_path), n, rec_path)
    payload, sizes = family.payload(section), family.sizes(section, jobs)
    results, rows = {}, {}
    with contextlib.ExitStack() as stack:
        deployed = {n: stack.enter_context(vendor_for(models[n])) for n in names}  # before Ray: env inherited
        if serve is None:  # one Ray + Serve for the whole run
            serve = stack.enter_context(ServeInstance(lat.host, lat.num_cpus))
        for n in names:
            results[n], rows[n] = measure_model(
                str(params_path), n, jobs, lat, expected[n], arrival_s=arrival_s, serve=serve,
                model_cfg=deployed[n], kind=family.kind, payload=payload, model_group=family.model_group,
                sizes=sizes)
    docs = {}
    for n in names:
        results[n]["breakdown"] = breakdown(rows[n])
        docs[n] = document(family, n, results[n], lat, sources, section, len(jobs))
    for n in names:
        with staged_dir(out_dirs[n]) as tmp:
            write_jsonl(tmp / "requests.jsonl", rows[n])
            write_json(tmp / "latency.json", docs[n])  # last: its presence means the stage completed
    return docs


def document(family: Family, name: str, result: dict, lat: LatencyConfig, sources: dict, section: Any,
             n_jobs: int) -> dict:
    """latency.json: the image stage's shape ({models: {name: figures}, config, provenance, note})."""
    workload = field_of(section, "workload")
    return {
        "models": {name: result},
        "config": {
            "family": family.name, "kind": family.kind,
            "latency": {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(lat).items()},
            "latency_keys_from": sources,
            "workload": {"name": field_of(workload, "name"), "jobs": str(field_of(workload, "jobs")), "n_jobs": n_jobs},
            "models": [name],
            "schedule": f"every job (latency.sample_per_category=0) open loop on latency.arrival={lat.arrival}, "
                        "time-scaled to latency.target_utilisation of max_replicas / warm service time; "
                        "capacity: steady-state probes of exact-rate Poisson arrivals (capacity.py)",
            "serving": f"Ray Serve, one deployment per model ({family.kind} kind: sentinel.latency.kinds), "
                       "autoscaling [min_replicas, max_replicas]; cold = sent before the replica that served "
                       "it was ready",
            "latency_from": f"scheduled send time to the last byte of the {family.unit}",
            "breakdown": "per model: p50/p95 over successful requests of queue_s (Serve queue + transport), "
                         "compute_s (in the replica), generation_s (the model's generate), encoding_s (PNG "
                         "encoding; a vendor's own when it says) and vendor_queue_s (the vendor's queue, when it "
                         "says); null where no server said",
            "percentile_method": stats.PERCENTILE_METHOD,
            "percentile_ci": f"distribution-free {stats.CI_LEVEL:.0%} CI from order statistics: [lower, upper]; "
                             "lower null = unbounded below, upper null = +inf (too few requests, or a miss)",
            "confidence": stats.CONFIDENCE,
            "miss_policy": "HTTP error (429 included), timeout or wrong bytes = miss: kept in the sample as +inf "
                           "(null in JSON), counted in n_failed and failures_by_cause",
            "requests": "requests.jsonl beside this file",
            "compliance": f"test01 (every delivered {family.unit}'s sha256 equals the generate record's), test04 "
                          "(median repeated / fresh latency over interleaved pairs at concurrency 1, fresh = same "
                          "job with an unused seed: fail when its 95 % CI lies below 0.9); compliance.py",
        },
        "provenance": environment(),
        "note": NOTE,
    }
