"""params.yaml's `video` section -> frozen, validated config objects (issue 18).

    sec = load_video_section("params.yaml")     # ConfigError naming `video.<key>` for every problem
    sec.models["tiny-wan"].flow_shift, sec.workload.jobs, sec.paths.clips

The section is composed by Hydra from conf/video/<profile>.yaml (package `video`) and the model group
conf/video_model/<name>.yaml (package `video.models`). Keys and types are checked with
sentinel.config.build (unknown and missing keys name `video.<key>` / `video.models.<m>.<key>`), then
the ranges and cross-field rules below; every problem of the section is reported at once.
`score`, `latency` and `cost` belong to the score, latency and report stages: they are kept here as
plain mappings, validated by those stages' own parsers (sentinel.video.stage_params calls this loader
first, then parses its blocks; importing it from here would make an import cycle).
A model's `api:` block is parsed by sentinel.video.api.config (the vendor adapter's own rules).
Pure Python: no torch, no numpy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentinel import config
from sentinel.config import SchedulerConfig, build, choices
from sentinel.errors import ConfigError

SOURCES = ("tiny-random", "pretrained", "api")
PIPELINES = ("WanPipeline",)  # self-hosted pipeline classes this package can build or load
DTYPES = ("auto", "float32", "float16", "bfloat16")
SECTION_KEYS = ("models", "report", "workload", "score", "latency", "cost", "paths")
REPORTS = ("video",)  # `video.report: [video]` turns the family's one-off stages on


@dataclass(frozen=True)
class VideoModelConfig:
    """One video model (conf/video_model/<name>.yaml; docs/models/<name>.md is its card).

    `source: tiny-random` builds diffusers' WanPipeline from tiny seeded-random components
    (sentinel.video.tiny_wan); `pretrained` loads `repo_id` at the pinned `revision` from local files
    only; `api` is a vendor behind sentinel.video.api. `steps`/`guidance` null: each job's own."""
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
    repo_id: str | None = None  # pretrained: the hub repo (Diffusers layout)
    revision: str | None = None  # pretrained: the 40-hex commit sha
    init_seed: int = 0  # tiny-random: the weights' seed
    scheduler: SchedulerConfig | None = None  # null (pretrained): the checkpoint's own scheduler class
    flow_shift: float | None = None  # the flow-matching sigma shift (UniPC `flow_shift`, FlowMatchEuler `shift`)
    cpu_threads: int = 1  # torch intra-op threads on CPU: the frames' bytes depend on it, so it is pinned
    api: Any = None  # sentinel.video.api.config.VideoApiConfig for `source: api`, else None


@dataclass(frozen=True)
class VideoWorkloadConfig:
    name: str
    jobs: str  # the workload CSV (sentinel.video.jobs)
    categories: tuple[str, ...]
    reference_photos: str  # <this>/<category>/*.png: the stills the reference clips are made from
    # category -> folder of the user's own reference strips (workloads/VIDEO-DATACARD.md); a category
    # named here is copied (validated, re-encoded) instead of synthesised from its photos.
    reference_clips: dict[str, str] = field(default_factory=dict)
    reference_seed: int = 0  # seeds the reference clips' camera motion (sentinel.video.reference)


@dataclass(frozen=True)
class VideoPathsConfig:
    reference: str
    clips: str
    records: str
    timings: str
    scores: str
    latency: str
    leaderboard: str
    metrics: str
    report: str
    report_html: str
    previews: str


@dataclass(frozen=True)
class VideoSection:
    path: Path  # the params file it was read from
    models: dict[str, VideoModelConfig]
    report: tuple[str, ...]
    workload: VideoWorkloadConfig
    score: dict[str, Any]  # the score stage's keys (parsed by sentinel.video.stage_params.parse_score)
    latency: dict[str, Any]  # the latency stage's keys
    cost: dict[str, Any]  # the report stage's price keys (sentinel.video.stage_params.parse_cost)
    paths: VideoPathsConfig

    def model(self, name: str) -> VideoModelConfig:
        """One model's config; a clear error before any work when it was not composed."""
        if name not in self.models:
            raise ConfigError(f"video model {name!r}: not in video.models (composed: "
                              f"{', '.join(self.models) or 'none'}; add it with video_model=[{name}])",
                              path=self.path)
        return self.models[name]


# Keys with a default that one source still needs written out (so a card states them explicitly).
SOURCE_KEYS = {"pretrained": ("repo_id", "revision"), "tiny-random": ("init_seed", "scheduler", "flow_shift"),
               "api": ("api",)}


def _model_problems(m: VideoModelConfig, where: str) -> list[str]:
    out = []
    if m.source not in SOURCES:
        out.append(f"{where}.source: {m.source!r} is not one of {', '.join(SOURCES)}")
    if m.source != "api" and m.pipeline not in PIPELINES:
        out.append(f"{where}.pipeline: {m.pipeline!r} is not one of {', '.join(PIPELINES)}")
    if m.source != "api" and m.dtype not in DTYPES:  # an API model's dtype and device are the vendor's (n/a)
        out.append(f"{where}.dtype: {m.dtype!r} is not one of {', '.join(DTYPES)}")
    if m.source != "api" and not (m.device in ("cpu", "cuda", "auto") or m.device.startswith("cuda:")):
        out.append(f"{where}.device: {m.device!r} is not cpu, cuda, cuda:<n> or auto")
    if m.steps is not None and not 1 <= m.steps <= 1000:
        out.append(f"{where}.steps: must be in [1, 1000] or null, got {m.steps}")
    if m.guidance is not None and not (math.isfinite(m.guidance) and m.guidance >= 0):
        out.append(f"{where}.guidance: must be a finite number >= 0 or null, got {m.guidance}")
    if m.flow_shift is not None and not (math.isfinite(m.flow_shift) and m.flow_shift > 0):
        out.append(f"{where}.flow_shift: must be a finite number > 0 or null, got {m.flow_shift}")
    if m.cpu_threads < 1:
        out.append(f"{where}.cpu_threads: must be >= 1, got {m.cpu_threads}")
    if m.init_seed < 0:
        out.append(f"{where}.init_seed: must be >= 0, got {m.init_seed}")
    if m.scheduler is not None and not m.scheduler.cls.strip():
        out.append(f"{where}.scheduler.class: must name a diffusers scheduler")
    if m.source == "tiny-random" and m.scheduler is None:
        out.append(f"{where}.scheduler: missing; source 'tiny-random' builds its scheduler from it")
    if m.source == "pretrained" and not m.repo_id:
        out.append(f"{where}.repo_id: source 'pretrained' needs the hub repo")
    if m.source == "api" and m.api is None:
        out.append(f"{where}.api: source 'api' needs the vendor block")
    if m.source != "api" and m.api is not None:
        out.append(f"{where}.api: only `source: api` models have an api block")
    return out


def parse_model(name: str, data: Any, where: str) -> VideoModelConfig:
    """One `video.models.<name>` mapping -> VideoModelConfig (ConfigError with every problem)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {data!r}")
    problems = [f"{where}.{k}: missing key (source {data.get('source')!r} needs it)"
                for k in SOURCE_KEYS.get(data.get("source"), ()) if k not in data]
    raw = {k: v for k, v in data.items() if k != "api"}
    api = None
    if data.get("api") is not None:
        try:
            from sentinel.video.api.config import parse_video_api
        except ImportError as e:  # the vendor adapter package is not installed
            problems.append(f"{where}.api: cannot be validated (sentinel.video.api.config: {e})")
        else:
            try:
                api = parse_video_api(data["api"], f"{where}.api")
            except ConfigError as e:
                problems += e.problems
    try:
        m = build(VideoModelConfig, {"name": name, **raw, "api": api}, where)
    except ConfigError as e:
        raise ConfigError(*e.problems, *problems) from None
    problems += _model_problems(m, where)
    if problems:
        raise ConfigError(*problems)
    return m


def parse_models(data: Any, where: str = "video.models") -> dict[str, VideoModelConfig]:
    """`video.models` (may be empty: the default suite composes no video model)."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of model name -> config, got {data!r}")
    valid = choices("video_model")
    out, problems = {}, []
    for name, cfg in data.items():
        if name not in valid:
            problems.append(f"{where}.{name}: unknown video model (valid: {', '.join(valid) or 'none'}; "
                            f"each is conf/video_model/<name>.yaml)")
            continue
        try:
            out[name] = parse_model(name, cfg, f"{where}.{name}")
        except ConfigError as e:
            problems += e.problems
    if problems:
        raise ConfigError(*problems)
    return out


def _workload_problems(w: VideoWorkloadConfig, where: str) -> list[str]:
    out = []
    if not w.categories:
        out.append(f"{where}.categories: must name at least one category")
    twice = sorted({c for c in w.categories if w.categories.count(c) > 1})
    if twice:
        out.append(f"{where}.categories: {', '.join(twice)} appear(s) twice")
    out += [f"{where}.reference_clips.{c}: not one of video.workload.categories ({', '.join(w.categories)})"
            for c in w.reference_clips if c not in w.categories]
    if w.reference_seed < 0:
        out.append(f"{where}.reference_seed: must be >= 0, got {w.reference_seed}")
    return out


def _opaque(data: Any, where: str) -> tuple[dict, list[str]]:
    if data is None:
        return {}, []
    if not isinstance(data, dict):
        return {}, [f"{where}: expected a mapping, got {data!r}"]
    return dict(data), []


def parse_section(data: Any, path: str | Path = "params.yaml") -> VideoSection:
    """The whole `video` mapping -> VideoSection; one ConfigError naming `path` and every bad key."""
    path = Path(path)
    if not isinstance(data, dict):
        raise ConfigError("video: expected a mapping (conf/video/<profile>.yaml)", path=path)
    problems = []
    unknown = sorted(set(data) - set(SECTION_KEYS))
    if unknown:
        problems += [f"video.{k}: unknown key" for k in unknown]
        problems[0] += f" (valid keys: {', '.join(SECTION_KEYS)})"
    problems += [f"video.{k}: missing key" for k in ("models", "report", "workload", "paths") if k not in data]
    models, workload, paths, report = {}, None, None, ()
    try:
        models = parse_models(data.get("models"))
    except ConfigError as e:
        problems += e.problems
    raw_report = data.get("report") if data.get("report") is not None else []
    if not isinstance(raw_report, list | tuple):
        problems.append(f"video.report: expected a list ([] or [video]), got {raw_report!r}")
    else:
        report = tuple(raw_report)
        problems += [f"video.report[{i}]: {r!r} is not one of {', '.join(REPORTS)}"
                     for i, r in enumerate(report) if r not in REPORTS]
    if "workload" in data:
        try:
            workload = build(VideoWorkloadConfig, data["workload"], "video.workload")
            problems += _workload_problems(workload, "video.workload")
        except ConfigError as e:
            problems += e.problems
    if "paths" in data:
        try:
            paths = build(VideoPathsConfig, data["paths"], "video.paths")
        except ConfigError as e:
            problems += e.problems
    blocks = {}
    for key in ("score", "latency", "cost"):
        blocks[key], bad = _opaque(data.get(key), f"video.{key}")
        problems += bad
    if problems:
        raise ConfigError(*problems, path=path)
    return VideoSection(path=path, models=models, report=report, workload=workload, score=blocks["score"],
                        latency=blocks["latency"], cost=blocks["cost"], paths=paths)


def load_video_section(params_path: str | Path = "params.yaml") -> VideoSection:
    """Read params.yaml and validate its `video` section (composed by `dvc exp run -S suite=smoke-media`)."""
    params = config.read_params(params_path)
    if "video" not in params:
        raise ConfigError("video: missing section (compose conf/video/smoke.yaml: the `- video: smoke` "
                          "default of conf/config.yaml)", path=params_path)
    return parse_section(params["video"], params_path)
