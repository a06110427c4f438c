"""The `tryon` section of params.yaml -> frozen, validated config objects (no torch at import).

    tryon:                                   # conf/tryon/smoke.yaml (+ conf/tryon_model/<name>.yaml)
      models: {tiny-tryon: {...}}            # TryOnModelConfig per model; {}: no try-on stages
      report: [tryon]                        # [] : no try-on report stage
      workload: {name, jobs, root, pairs}    # the jobs CSV (sentinel.tryon.jobs), the folder its image
                                             # paths are relative to, the pair-list manifest (or null)
      score: {...}  latency: {...}  cost: {...}   # opaque here: their stages validate them
      paths: {results, records, timings, scores, latency, leaderboard, metrics, report,
              report_html, triptychs}

`load_tryon_section(params_path)` reads the file and raises one ConfigError naming the file and
every bad key as `tryon.<key>` (all problems at once, as sentinel.config does).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentinel.config import ConfigError, SchedulerConfig, build, choices, read_params

SOURCES = ("tiny-random", "pretrained", "api")
PIPELINES = ("StableDiffusionInpaintPipeline",)
CONDITIONINGS = ("garment-init",)
DTYPES = ("auto", "float32", "float16", "bfloat16")
REPORTS = ("tryon",)
SOURCE_KEYS = {"pretrained": ("repo_id", "revision"), "tiny-random": ("init_seed", "scheduler"), "api": ("api",)}


@dataclass(frozen=True)
class TryOnModelConfig:
    """One try-on model (conf/tryon_model/<name>.yaml). See docs/models/tiny-tryon.md for the recipe.

    `source: api` is a vendor behind sentinel.tryon.api (its `api:` block is parsed by
    sentinel.tryon.api.config); the pipeline keys (pipeline, steps, strength, dtype, ...) are then
    the vendor's and not checked here."""
    name: str
    display_name: str
    pipeline: str  # a diffusers inpainting pipeline class (PIPELINES)
    source: str  # tiny-random | pretrained
    licence: str
    plumbing: bool
    repo_id: str | None = None
    revision: str | None = None  # pretrained: the full 40-hex commit
    init_seed: int = 0  # tiny-random: torch.manual_seed base of the components
    scheduler: SchedulerConfig | None = None  # null: the checkpoint's own scheduler (pretrained)
    steps: int = 4  # num_inference_steps; int(steps * strength) of them run
    guidance: float = 1.0  # classifier-free guidance scale; <= 1 disables CFG
    strength: float = 0.6  # how far the init image (person + pasted garment) is noised; must be < 1
    conditioning: str = "garment-init"  # how the garment enters the pipeline (CONDITIONINGS)
    prompt: str = "a photo of a person wearing a {category} garment"  # {category}: the job's
    negative_prompt: str = ""
    composite: bool = False  # True: paste the person back outside the mask after decoding
    work_size_px: tuple[int, ...] | None = None  # (width, height) the pipeline runs at; null: the person's
    dtype: str = "float32"
    device: str = "cpu"
    cpu_threads: int = 1  # CPU float reductions, hence result bytes, depend on the thread count
    api: Any = None  # sentinel.tryon.api.config.TryOnApiConfig for `source: api`, else None


@dataclass(frozen=True)
class TryOnWorkload:
    name: str
    jobs: str
    root: str = "."
    pairs: str | None = None  # pair-list manifest (sentinel.tryon.pairs); null: no pair check


@dataclass(frozen=True)
class TryOnPaths:
    results: str
    records: str
    timings: str
    scores: str
    latency: str
    leaderboard: str
    metrics: str
    report: str
    report_html: str
    triptychs: str

    def result_dir(self, model: str) -> Path:
        return Path(self.results) / model

    def records_file(self, model: str) -> Path:
        return Path(self.records) / f"{model}.jsonl"

    def timings_file(self, model: str) -> Path:
        return Path(self.timings) / f"{model}.jsonl"


@dataclass(frozen=True)
class TryOnSection:
    models: dict[str, TryOnModelConfig]
    report: tuple[str, ...]
    workload: TryOnWorkload
    paths: TryOnPaths
    score: dict[str, Any] = field(default_factory=dict)
    latency: dict[str, Any] = field(default_factory=dict)
    cost: dict[str, Any] = field(default_factory=dict)


def _model_problems(m: TryOnModelConfig, api_invalid: bool = False) -> list[str]:
    w = f"tryon.models.{m.name}"
    out = []
    if m.source not in SOURCES:
        out.append(f"{w}.source: {m.source!r} is not one of {', '.join(SOURCES)}")
    if m.source == "api":
        return out + ([f"{w}.api: source 'api' needs the vendor block"] if m.api is None and not api_invalid else [])
    if m.api is not None:
        out.append(f"{w}.api: only `source: api` models have an api block")
    if m.pipeline not in PIPELINES:
        out.append(f"{w}.pipeline: {m.pipeline!r} is not one of {', '.join(PIPELINES)}")
    if m.conditioning not in CONDITIONINGS:
        out.append(f"{w}.conditioning: {m.conditioning!r} is not one of {', '.join(CONDITIONINGS)}")
    if m.source == "tiny-random" and m.scheduler is None:
        out.append(f"{w}.scheduler: tiny-random needs a scheduler")
    if m.source == "pretrained" and not m.repo_id:
        out.append(f"{w}.repo_id: source 'pretrained' needs repo_id")
    if not 0.0 < m.strength < 1.0:
        out.append(f"{w}.strength: must be in (0, 1), got {m.strength}; at 1 the pipeline starts from pure noise "
                   "and discards the init image, the garment's only route in (conditioning garment-init)")
    if m.steps < 1:
        out.append(f"{w}.steps: must be >= 1, got {m.steps}")
    elif 0.0 < m.strength < 1.0 and int(m.steps * m.strength) < 1:
        out.append(f"{w}.steps: int(steps * strength) = 0 denoising steps; raise steps or strength")
    if m.guidance < 0:
        out.append(f"{w}.guidance: must be >= 0, got {m.guidance}")
    if m.dtype not in DTYPES:
        out.append(f"{w}.dtype: {m.dtype!r} is not one of {', '.join(DTYPES)}")
    if m.cpu_threads < 1:
        out.append(f"{w}.cpu_threads: must be >= 1, got {m.cpu_threads}")
    if m.work_size_px is not None and (len(m.work_size_px) != 2 or any(s < 8 or s % 8 for s in m.work_size_px)):
        out.append(f"{w}.work_size_px: expected [width, height], multiples of 8 and >= 8, got {list(m.work_size_px)}")
    try:
        m.prompt.format(category="upper")
    except (KeyError, IndexError, ValueError) as e:
        out.append(f"{w}.prompt: only the placeholder {{category}} is allowed ({type(e).__name__}: {e})")
    return out


def _parse_api(data: Any, where: str) -> tuple[Any, list[str]]:
    """A model's `api:` block (sentinel.tryon.api.config's rules), or None; with its problems."""
    if data is None:
        return None, []
    from sentinel.tryon.api.config import parse_tryon_api

    try:
        return parse_tryon_api(data, where), []
    except ConfigError as e:
        return None, list(e.problems)


def parse_models(data: Any) -> tuple[dict[str, TryOnModelConfig], list[str]]:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return {}, [f"tryon.models: expected a mapping of model name -> config, got {data!r}"]
    valid = choices("tryon_model")
    out, problems = {}, []
    for name, cfg in data.items():
        if name not in valid:
            problems.append(f"tryon.models.{name}: unknown try-on model (valid: {', '.join(valid) or 'none'}; "
                            "one file per model in conf/tryon_model/)")
            continue
        cfg = cfg or {}
        problems += [f"tryon.models.{name}.{k}: missing key (source {cfg.get('source')!r} needs it)"
                     for k in SOURCE_KEYS.get(cfg.get("source"), ()) if k not in cfg]
        api, api_problems = _parse_api(cfg.get("api"), f"tryon.models.{name}.api")
        problems += api_problems
        try:
            m = build(TryOnModelConfig, {"name": name, **cfg, "api": api}, f"tryon.models.{name}")
        except ConfigError as e:
            problems += e.problems
            continue
        problems += _model_problems(m, api_invalid=bool(api_problems))
        out[name] = m
    return out, problems


def parse_section(data: Any) -> TryOnSection:
    """Validate a `tryon` mapping; raises ConfigError with every problem."""
    if not isinstance(data, dict):
        raise ConfigError(f"tryon: expected a mapping, got {data!r}")
    known = {"models", "report", "workload", "score", "latency", "cost", "paths"}
    problems = [f"tryon.{k}: unknown key (valid keys: {', '.join(sorted(known))})" for k in sorted(set(data) - known)]
    problems += [f"tryon.{k}: missing key" for k in ("workload", "paths") if k not in data]
    models, model_problems = parse_models(data.get("models"))
    problems += model_problems
    report = data.get("report") or []
    if not isinstance(report, list) or any(r not in REPORTS for r in report):
        problems.append(f"tryon.report: expected [] or [tryon], got {report!r}")
    parts = {}
    for key, cls in (("workload", TryOnWorkload), ("paths", TryOnPaths)):
        if key in data:
            try:
                parts[key] = build(cls, data[key], f"tryon.{key}")
            except ConfigError as e:
                problems += e.problems
    opaque = {}
    for key in ("score", "latency", "cost"):
        value = data.get(key) or {}
        if not isinstance(value, dict):
            problems.append(f"tryon.{key}: expected a mapping, got {value!r}")
        opaque[key] = value
    if problems:
        raise ConfigError(*problems)
    return TryOnSection(models=models, report=tuple(report), workload=parts["workload"], paths=parts["paths"],
                        **opaque)


def load_tryon_section(params_path: str | Path = "params.yaml") -> TryOnSection:
    """The validated `tryon` section of params.yaml; every problem in one ConfigError naming the file."""
    params = read_params(params_path)
    if "tryon" not in params:
        raise ConfigError("tryon: missing section (conf/config.yaml composes it from conf/tryon/)", path=params_path)
    try:
        return parse_section(params["tryon"])
    except ConfigError as e:
        raise ConfigError(*e.problems, path=params_path) from None


def check_model(section: TryOnSection, model: str) -> TryOnModelConfig:
    """One clear error before any work when a stage is asked for a model the section does not hold."""
    if model not in section.models:
        raise ConfigError(f"tryon.models.{model}: not in params.yaml's tryon.models "
                          f"(composed: {', '.join(section.models) or 'none'})")
    return section.models[model]
