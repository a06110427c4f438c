"""params.yaml -> frozen, validated config objects.

Config flows one way: conf/ (Hydra groups) -> params.yaml (composed by `dvc exp run`) ->
the dataclasses below -> plain functions. Unknown and missing keys are errors that name the key.
Units live in names (`price_usd_per_hour`, `timeout_s`).
"""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sentinel.errors import ConfigError  # noqa: F401 (re-exported: `from sentinel.config import ConfigError`)

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


@dataclass(frozen=True)
class SuiteConfig:
    name: str
    description: str
    plumbing: bool


@dataclass(frozen=True)
class SchedulerConfig:
    cls: str
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UnetWeightsConfig:
    """A UNet checkpoint file loaded into the base pipeline (SDXL-Lightning's 4-step UNet)."""
    repo_id: str
    revision: str | None
    filename: str


@dataclass(frozen=True)
class ApiConfig:
    """A vendor API. The key is read from the environment variable named by `key_env`; it never
    appears in params.yaml, MLflow, logs or reports."""
    protocol: str  # "openai-images" or "submit-poll"
    base_url: str
    key_env: str
    vendor_model: str
    list_price_usd_per_image: float | None  # the vendor's published list price; null: not yet known
    price_source: str
    timeout_s: float = 60.0
    max_retries: int = 4
    backoff_s: float = 1.0  # first retry wait; doubles each retry unless Retry-After says otherwise
    max_backoff_s: float = 60.0
    poll_interval_s: float = 1.0
    poll_timeout_s: float = 600.0
    # Hostile-vendor limits (src/sentinel/api/urls.py, transport.py): every wait ends, every size is capped.
    deadline_s: float | None = None  # whole job (all attempts, waits, polls); null: sentinel.api.job_deadline_s
    max_response_bytes: int = 64_000_000  # any one response body; larger is refused without reading it
    max_image_pixels_ratio: float = 4.0  # decoded pixels allowed, as a multiple of the requested width x height
    image_origins: tuple[str, ...] = ()  # origins besides base_url's that response URLs may name (no key sent)
    allow_loopback: bool = False  # tests only: admit http image origins on 127.0.0.0/8 and ::1


@dataclass(frozen=True)
class ModelConfig:
    """One model. `source: tiny-random` builds the pipeline class from seeded random components;
    `source: pretrained` loads `repo_id` at `revision` (from the local HF cache when offline);
    `source: local` loads a `save_pretrained` folder, pinned by its content hash (models/local.py)."""
    name: str
    display_name: str
    pipeline: str
    source: str
    steps: int | None
    guidance: float | None
    dtype: str
    device: str
    licence: str
    plumbing: bool
    # Keys that mean nothing for some sources default (validate.py requires them where they matter).
    repo_id: str | None = None  # pretrained: the hub repo
    revision: str | None = None  # pretrained: the 40-hex commit; local: optional sha256 the folder must hash to
    init_seed: int = 0  # tiny-random: the weights' seed
    scheduler: SchedulerConfig | None = None  # null (pretrained, local): the checkpoint's own scheduler
    cpu_threads: int = 1  # torch intra-op threads on CPU: pixels depend on it, so it is pinned
    folder: str | None = None  # local: the save_pretrained folder
    load_kwargs: dict[str, Any] = field(default_factory=dict)  # passed to from_pretrained (models/local.py)
    # Optional (defaults keep older configs valid); see conf/model/*.yaml and docs/models/.
    resolution_px: int | None = None  # square output size pinned by the recipe; null: each job's size
    batch_size: int = 1  # jobs per pipeline call; part of the image key: batched kernels can move a pixel by one level
    compile: bool = False  # torch.compile the denoiser (CUDA only)
    cpu_offload: bool = False  # diffusers model CPU offload, for models larger than the card
    pipeline_kwargs: dict[str, Any] = field(default_factory=dict)  # extra constructor args (tiny builds)
    unet: UnetWeightsConfig | None = None  # a distilled UNet loaded into the base pipeline
    api: ApiConfig | None = None  # `source: api`: a closed model behind a vendor API


@dataclass(frozen=True)
class WorkloadConfig:
    name: str
    jobs: str
    categories: tuple[str, ...]
    # category -> folder of reference PNGs; a category not named uses <paths.data>/reference/<category>
    # (see sentinel.workloads.references.reference_dir).
    reference: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HumanConfig:
    source: str  # "simulated" or a path to a ratings export
    raters: int  # simulated raters (source: simulated only)
    seed: int
    gold_min_accuracy: float  # raters below this share of correct gold/attention items are excluded
    # The rubric raters follow: rubrics/<rubric>.md (sentinel.human.rubric). Stored on every rating row;
    # the default is what params.yaml files written before the key existed were rated under.
    rubric: str = "human-v2"


@dataclass(frozen=True)
class ScoreConfig:
    inception_weights: str
    clip_arch: str
    clip_weights: str
    batch_size: int
    kid_subset_size: int
    kid_subsets: int
    seed: int
    human: HumanConfig
    # Optional (defaults keep older configs valid); see rubrics/metrics-convention.md.
    cache_dir: str = ".cache/sentinel"  # on-disk feature cache; never changes a number ("" = memory only)
    bootstrap_samples: int = 200  # generated-image resamples for every metric's CI
    ci_level: float = 0.95
    preference_models: tuple[str, ...] = ()  # human-preference scorers (imagereward, hpsv2, pickscore): off
    preference_weights_dir: str = "weights/preference"
    # FD-DINOv2 (metrics/dinov2.py, dgm-eval's convention): on when dinov2_weights is set ("" = off).
    dinov2_arch: str = "vitl14"  # vits14 | vitb14 | vitl14 (the official files) | tiny14 (smoke, plumbing)
    dinov2_weights: str = ""
    # CMMD's own CLIP encoder ("" = CLIP score's score.clip_arch); the paper's is ViT-L-14-336.
    cmmd_clip_arch: str = ""
    cmmd_clip_weights: str = ""
    # The score profile (conf/score/<profile>.yaml) and what makes a run plumbing: sentinel.metrics.profile.
    profile: str = "smoke"  # "smoke" is always plumbing
    weights_manifest: str | None = None  # `sentinel fetch` manifest pinning the metric weights by sha256
    reference_min_n: int = 0  # fewer reference PNGs in any category: the run is plumbing
    reference_min_px: int = 0  # any reference PNG's shorter side below this: the run is plumbing
    device: str = "cpu"  # where the metric networks run: cpu | cuda | cuda:<n> | auto; recorded in the convention


@dataclass(frozen=True)
class CostConfig:
    card: str
    source: str
    as_of: str
    gpu: str
    price_usd_per_hour: float
    orchestration_overhead_usd_per_image: float
    platform_fee_fraction: float
    utilisation: float  # share of billed GPU time spent generating; idle time is billed too
    images_per_cold_start: int  # a worker's weight load is amortised over this many images
    utilisation_sensitivity: tuple[float, ...]
    list_price_usd_per_image: dict[str, float]  # API models: the vendor's per-image list price


@dataclass(frozen=True)
class LatencyConfig:
    """The latency stage (sentinel.latency): every job of the workload on its own arrival trace,
    through Ray Serve, then a capacity search. Validated in sentinel.latency.serving.validate."""
    timeout_s: float  # a request slower than this from its scheduled send (cold starts included) is a miss
    startup_timeout_s: float  # deploying a model / waiting for it to scale to zero
    host: str  # loopback address of Serve's HTTP ingress
    slo_s: float  # a request is good when it succeeded within this (models without an entry below)
    slo_s_by_model: dict[str, float]  # per-model SLO, overriding slo_s
    slo_percentile: float  # the SLO is "this percentile <= the model's SLO" (rate search criterion)
    arrival: str  # trace (the workload's arrival_s) | poisson | gamma, time-scaled to target_utilisation
    burst_cv: float  # gamma arrivals: coefficient of variation of the gaps
    seed: int
    target_utilisation: float  # offered rate = this x max_replicas / the measured warm service time
    sample_per_category: int  # 0: every job; else a seeded sample of this many jobs per category
    requests: int  # calibration: warm closed-loop requests that measure the service time
    workers: int  # client: most requests in flight at once
    num_cpus: int  # local Ray instance: logical CPUs (replicas cannot take more)
    replica_cpus: float  # CPUs each self-hosted replica reserves
    min_replicas: int  # autoscaling floor; 0: an idle gap scales to zero and the next request is cold
    max_replicas: int
    downscale_delay_s: float  # idle this long before Serve removes a replica
    idle_start: bool  # wait for zero replicas before the trace, so its first request is cold
    search_fractions: tuple[float, ...]  # [low, high] of warm capacity: the rate search's bracket
    search_steps: int  # bisection steps (0: just the two ends)
    probe_min_requests: int  # every capacity probe sends at least this many requests
    probe_min_duration_s: float  # ... and lasts at least this long after its warm-up
    probe_warmup_s: float  # requests scheduled in a probe's first seconds are excluded from its verdict
    client_lag_bound_s: float  # schedule lag p99 above this flags the run client_bound
    in_flight_headroom: float  # client in-flight limit = this x the requests due in the busiest SLO-long window
    #                            (Little's law: rate x SLO x headroom), at most `workers`
    test04_pairs: int  # TEST04 (no response cache): pairs of repeated / fresh requests after the run (>= 6)


@dataclass(frozen=True)
class NormalisationConfig:
    fid_best: float
    fid_worst: float
    clip_best: float
    clip_worst: float
    human_best: float
    human_worst: float


@dataclass(frozen=True)
class ReportConfig:
    version: str
    weights: dict[str, float]
    normalisation: NormalisationConfig
    human_source: str = "auto"  # likert | pairwise | auto (Likert when rated, else Bradley-Terry; composite-v2)
    attribute_min_n: int = 5  # per-attribute cells and "largest gap" lines need n >= this on each side


@dataclass(frozen=True)
class GenerateConfig:
    """How the generate stage runs its jobs (sentinel.executors): in this process or on Ray."""
    executor: str  # "local" or "ray" (connects to RAY_ADDRESS, else starts a local Ray instance)
    actors_per_model: int  # ray: pipeline replicas per model; 0: one per GPU, or per CPU slot on CPU
    cpus_per_actor: float  # ray: CPUs each actor reserves; keep the sum below the node's CPUs (ray#44687)
    gpus_per_actor: float  # ray: GPUs each actor of a CUDA model reserves (ignored for CPU models)
    max_retries: int  # ray: re-submissions of a chunk of jobs whose worker died, before the run fails
    resume: bool  # keep valid outputs in paths.generate_work from an interrupted run (keyed by config + job,
    #               not by code: never resume across a code change)
    task_timeout_s: float = 600.0  # ray: a chunk's deadline before any job of the model has finished
    #                               (actor start and weight load included); a hung actor is killed
    task_timeout_factor: float = 10.0  # ray: then factor x slowest measured s/job x jobs in the chunk


@dataclass(frozen=True)
class TrackingConfig:
    enabled: bool
    experiment: str


@dataclass(frozen=True)
class PathsConfig:
    data: str
    images: str
    generate_work: str  # executors' resumable work folder (not a DVC out: `dvc repro` would delete it)
    records: str
    timings: str
    score: str
    ratings: str
    cost: str
    latency: str
    latency_cdf: str  # CSV for DVC plots: per-model warm latency CDF
    latency_load: str  # CSV for DVC plots: latency and goodput against offered load
    leaderboard: str
    report: str
    report_html: str
    plots: str
    # Per-model stages (dvc.yaml `foreach: ${model}`); one entry per model under each folder, laid out
    # by sentinel.per_model. Optional so that params.yaml files frozen before them stay readable.
    recipes: str | None = None  # <model>.json: everything that keys that model's images
    model_records: str | None = None  # <model>.jsonl
    model_timings: str | None = None  # <model>.jsonl
    model_scores: str | None = None  # <model>.json: quality metrics of one model
    model_latency: str | None = None  # <model>/{latency.json, cdf.csv, load.csv}
    metrics: str | None = None  # the flat DVC metrics file: scalars keyed by model


SECTIONS: dict[str, type] = {
    "suite": SuiteConfig, "workload": WorkloadConfig, "score": ScoreConfig, "cost": CostConfig,
    "latency": LatencyConfig, "report": ReportConfig, "tracking": TrackingConfig, "paths": PathsConfig,
    "generate": GenerateConfig,
}  # plus "model": a mapping of model name -> ModelConfig

# Media families beside the still-image benchmark, each one top-level section validated by its own
# package (sentinel.video.config, sentinel.tryon.config): its models, workload, metrics, price card
# and paths. Empty `models` (the default suite) means the family's DVC stages do not exist.
MEDIA_SECTIONS = ("video", "tryon")


def _coerce(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], value, key)
    if dataclasses.is_dataclass(tp):
        return build(tp, value, key)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        return tuple(_coerce(typing.get_args(tp)[0], v, f"{key}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        vt = typing.get_args(tp)[1]
        return {k: (v if vt is Any else _coerce(vt, v, f"{key}.{k}")) for k, v in value.items()}
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float, str, bool) and (type(value) is not tp):
        raise ConfigError(f"{key}: expected {tp.__name__}, got {value!r}")
    return value


def build(cls: type, data: Any, where: str) -> Any:
    """Build dataclass `cls` from a mapping; `where` is the dotted key used in error messages."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    aliases = {"cls": "class"}  # YAML says `class:`; Python can't
    unknown = sorted(set(data) - {aliases.get(n, n) for n in names})
    problems = [f"{where}.{k}: unknown key" for k in unknown]  # the valid keys once, on the first
    if problems:
        problems[0] += f" (valid keys: {', '.join(sorted(aliases.get(n, n) for n in names))})"
    kwargs = {}
    for f in dataclasses.fields(cls):  # every problem of the section at once, not one per run
        yaml_key = aliases.get(f.name, f.name)
        if yaml_key not in data:
            has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
            if not has_default:
                problems.append(f"{where}.{yaml_key}: missing key")
            continue
        try:
            kwargs[f.name] = _coerce(hints[f.name], data[yaml_key], f"{where}.{yaml_key}")
        except ConfigError as e:
            problems += e.problems
    if problems:
        raise ConfigError(*problems)
    return cls(**kwargs)


def choices(group: str) -> list[str]:
    """Valid option names of a Hydra config group, from the files in conf/<group>/."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def read_params(path: str | Path = "params.yaml") -> dict:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: not found; run from the repository root, or compose it with `dvc exp run`")
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as e:  # one line: file, line and column, what the parser expected
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        ctx, cm = getattr(e, "context", None), getattr(e, "context_mark", None)
        started = f" ({ctx} that starts at line {cm.line + 1})" if ctx and cm else ""
        raise ConfigError(f"{where}: YAML syntax error: {getattr(e, 'problem', None) or e}{started}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (byte offset {e.start})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections")
    unknown = sorted(set(data) - set(SECTIONS) - {"model"} - set(MEDIA_SECTIONS))
    if unknown:
        valid = sorted([*SECTIONS, "model", *MEDIA_SECTIONS])
        raise ConfigError(f"{path}: {unknown[0]}: unknown section (valid: {', '.join(valid)})")
    return data


def section(params: dict, name: str, path: str | Path = "params.yaml") -> Any:
    """Validate one section of params.yaml into its config object."""
    if name not in params:
        raise ConfigError(f"{name}: missing section")
    if name == "model":
        return models(params["model"], path)
    obj = build(SECTIONS[name], params[name], name)
    if name == "suite" and obj.name not in choices("suite"):
        raise ConfigError(f"suite.name: unknown suite {obj.name!r} (valid: {', '.join(choices('suite'))})")
    return obj


def models(data: Any, path: str | Path = "params.yaml") -> dict[str, ModelConfig]:
    if not isinstance(data, dict) or not data:
        raise ConfigError("model: expected a mapping of model name -> config with at least one model")
    valid = choices("model")
    out, problems = {}, []
    for name, cfg in data.items():
        if name not in valid:
            problems.append(f"model.{name}: unknown model (valid: {', '.join(valid)})")
            continue
        keys = [f"model.{name}.{k}: missing key (source {cfg.get('source')!r} needs it)"
                for k in SOURCE_KEYS.get((cfg or {}).get("source"), ()) if k not in (cfg or {})]
        try:
            out[name] = build(ModelConfig, {"name": name, **(cfg or {})}, f"model.{name}")
        except ConfigError as e:
            problems += e.problems
        problems += keys
    if problems:
        raise ConfigError(*problems)
    return out


# Model keys with a default that one source still needs written out (`revision: null` is written out too).
SOURCE_KEYS = {"pretrained": ("repo_id", "revision"), "local": ("folder",), "tiny-random": ("init_seed", "scheduler")}


def load(path: str | Path = "params.yaml", sections: tuple[str, ...] = ()) -> dict[str, Any]:
    """Read params.yaml and validate the named sections (all of them when none are named).

    Keys and types come first (build), then every range and cross-field rule (sentinel.validate);
    all problems are raised together in one ConfigError that names `path` and each key."""
    from sentinel import validate

    params = read_params(path)
    wanted = sections or (*SECTIONS, "model")
    out, problems = {}, []
    for name in wanted:
        try:
            out[name] = section(params, name, path)
        except ConfigError as e:
            problems += e.problems
    problems += validate.problems(out)
    if problems:
        raise ConfigError(*problems, path=path)
    return out
