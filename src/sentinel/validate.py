"""Range and cross-field rules on the loaded config, checked once, at load, all reported together.

`sentinel.config.load` builds each section's dataclass (types, unknown and missing keys), then calls
`problems(sections)` here and raises one ConfigError listing everything wrong, naming the file and
each key. A value that would only fail deep inside a stage (weights summing to 1.1, `ci_level: 1.5`,
`arrival: poison`, `utilisation: 0`, a misspelled reference category) therefore fails before any
stage does work, and a config with five mistakes takes one run to fix, not five.

Rules only look at sections that were loaded; cross-section rules need both sections. A section
whose keys or types are wrong is reported for those first (its ranges are checked once it builds).

The name lists below are the registries' names, restated so that loading a config imports no torch
and no stage code (this module imports nothing of the project); tests/test_config.py checks that
they equal the registries themselves (tiny.BUILDERS, loader.DTYPES, api.PROTOCOLS,
executors.EXECUTORS, composite.COMPONENTS, human.rubric). Preference models are the one
exception: they can be registered at run time, so `_score` reads sentinel.metrics.preference_registry.REGISTRY
itself (a dataclass and a dict; importing it loads no torch).
"""
from __future__ import annotations

import datetime
import functools
import hashlib
import ipaddress
import math
import os
import re
from pathlib import Path
from typing import Any

SOURCES = ("tiny-random", "pretrained", "local", "api")
DTYPES = ("auto", "float32", "float16", "bfloat16")
TINY_PIPELINES = ("StableDiffusionPipeline", "StableDiffusionXLPipeline", "Flux2Pipeline", "Flux2KleinPipeline")
API_PROTOCOLS = ("openai-images", "submit-poll")
EXECUTORS = ("local", "ray")
ARRIVALS = ("trace", "poisson", "gamma")  # sentinel.latency: the workload's own trace, or a drawn schedule
PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")  # sentinel.workloads.references.IMAGE_SUFFIXES
COMPONENTS = ("fid", "clip", "human")  # sentinel.report.composite: the parts report.weights weighs
COMPOSITE_VERSIONS = ("composite-v1", "composite-v2", "composite-v3")  # rubrics/composite.md
DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
SCORE_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")  # score.device (sentinel.metrics.extract.resolve_device)
PIPELINE_CLASS = re.compile(r"^[A-Z][A-Za-z0-9]*Pipeline$")  # a diffusers pipeline class name
RUBRICS_DIR = Path(__file__).resolve().parents[2] / "rubrics"  # sentinel.human.rubric: rubrics/human-*.md
CARDS_DIR = Path(__file__).resolve().parents[2] / "docs" / "models"  # sentinel.models.cards: <model>.md
SMOKE_PROFILE = "smoke"  # conf/score/smoke.yaml: always plumbing
# sha256 -> what it is: `sentinel weights --out weights/` at seed 0 writes byte-identical files (the smoke
# suite's); the one record of them (sentinel.metrics.profile reads it; tests/test_score_release_profile.py
# regenerates the files and checks these values).
DINOV2_ARCHS = ("vits14", "vitb14", "vitl14", "tiny14")  # FD-DINOv2's encoders: sentinel.metrics.dinov2_net.ARCHS
SMOKE_SHA256 = {
    "4bc50a0fa2b90cc9a4072a8714f54e5c8ffa8129b2399694a55d180a14b6d033":
        "the seeded smoke InceptionV3 (inception-smoke.pt, seed 0)",
    "d44939f3d2c0e856d903b84ec3f4807f89db2471a7d463e9c74662637cb5ce40":
        "the seeded smoke CLIP ViT-B-32 (clip-ViT-B-32-smoke.pt, seed 0)",
    "ccddc40ae3d173f9f7b21662671503e5f99fe09d864cb17104fd4b497c423a91":
        "the seeded smoke DINOv2 tiny14 (dinov2-tiny14-smoke.pt, seed 0; plumbing)",
    # The media families' smoke files (sentinel.smoke_weights writes them with the ones above).
    "fef6787a20d3868927b564184fb65fdf7516fda5941fa598dedd5cef6167465b":
        "the seeded smoke tiny video encoder (video-tiny-smoke.pt, seed 0; plumbing)",
    "9284558a9d2fa6a29460d63493b2696c4a3213912e41d354190eae76fc77c4a9":
        "the seeded smoke LPIPS AlexNet backbone (lpips-alex-backbone-smoke.pt, seed 0; plumbing)",
    "74e476a9a29beb8e010b694eb6b685a6b0968443d8c5f34af98df0eafc487335":
        "the seeded smoke LPIPS linear layers (lpips-alex-lin-smoke.pt, seed 0; plumbing)",
}


class _Problems(list):
    """Problem lines, each `<dotted key>: <what is wrong>`."""

    def check(self, ok: bool, key: str, what: str, value: Any) -> None:
        if not ok:
            self.append(f"{key}: {what}, got {value!r}")

    def number(self, key: str, value: Any, lo: float | None = None, hi: float | None = None,
               lo_open: bool = False, hi_open: bool = False) -> None:
        """value is finite and within [lo, hi] (an open end excludes the bound)."""
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if ok and lo is not None:
            ok = value > lo if lo_open else value >= lo
        if ok and hi is not None:
            ok = value < hi if hi_open else value <= hi
        if not ok:
            span = f"{'(' if lo_open else '['}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}" \
                   f"{')' if hi_open or hi is None else ']'}"
            self.append(f"{key}: must be a finite number in {span}, got {value!r}")

    def one_of(self, key: str, value: Any, valid: tuple[str, ...]) -> None:
        if value not in valid:
            self.append(f"{key}: unknown {value!r} (valid: {', '.join(valid)})")


def _model(p: _Problems, name: str, m: Any) -> None:
    where = f"model.{name}"
    p.one_of(f"{where}.source", m.source, SOURCES)
    if not (CARDS_DIR / f"{name}.md").is_file():  # the rule tests/test_models_cards.py holds every model to
        p.append(f"{where}: no model card; add docs/models/{name}.md (what it is, recipe, licence): the report embeds it")
    p.check(bool(m.display_name.strip()), f"{where}.display_name", "must not be empty", m.display_name)
    p.check(m.cpu_threads >= 1, f"{where}.cpu_threads", "must be >= 1", m.cpu_threads)
    p.check(m.batch_size >= 1, f"{where}.batch_size", "must be >= 1", m.batch_size)
    p.check(m.init_seed >= 0, f"{where}.init_seed", "must be >= 0", m.init_seed)
    if m.steps is not None:
        p.check(m.steps >= 1, f"{where}.steps", "must be >= 1 (or null: the pipeline's default)", m.steps)
    if m.guidance is not None:
        p.number(f"{where}.guidance", m.guidance, 0)
    if m.resolution_px is not None:
        p.check(m.resolution_px >= 8 and m.resolution_px % 8 == 0, f"{where}.resolution_px",
                "must be a multiple of 8, >= 8 (or null: each job's size)", m.resolution_px)
    if m.source == "api":
        _api(p, where, m)
        return
    p.one_of(f"{where}.dtype", m.dtype, DTYPES)
    p.check(bool(DEVICE.match(m.device)), f"{where}.device", "must be auto, cpu, mps, cuda or cuda:<n>", m.device)
    if m.scheduler is not None:
        p.check(bool(m.scheduler.cls.strip()), f"{where}.scheduler.class", "must name a diffusers scheduler",
                m.scheduler.cls)
    if m.source == "tiny-random":
        p.one_of(f"{where}.pipeline", m.pipeline, TINY_PIPELINES)
        if m.scheduler is None:
            p.append(f"{where}.scheduler: missing; source 'tiny-random' builds its scheduler from it")
    elif m.source in ("pretrained", "local"):
        p.check(bool(PIPELINE_CLASS.match(m.pipeline)), f"{where}.pipeline",
                "must be a diffusers pipeline class (e.g. StableDiffusionXLPipeline)", m.pipeline)
    if m.source == "pretrained":
        p.check(bool(m.repo_id), f"{where}.repo_id", "source 'pretrained' needs a hub repo id", m.repo_id)
    _local(p, where, m)


LOAD_COMPONENT_KEYS = ("class", "folder", "subfolder")  # a load_kwargs mapping that builds one component


def _local(p: _Problems, where: str, m: Any) -> None:
    """`source: local` and `load_kwargs` (sentinel.models.local): the folder is a save_pretrained
    pipeline, a pinned revision is a sha256, and each component names a class and an existing folder."""
    if m.source == "local":
        if not m.folder:
            p.append(f"{where}.folder: missing; source 'local' needs the save_pretrained folder")
        elif not (Path(m.folder) / "model_index.json").is_file():
            p.append(f"{where}.folder: {m.folder!r} has no model_index.json (not a save_pretrained pipeline folder)")
        if m.revision is not None:
            p.check(bool(re.fullmatch(r"[0-9a-f]{64}", m.revision)), f"{where}.revision",
                    "with source 'local', null or the folder's content sha256 (64 lowercase hex)", m.revision)
    if m.load_kwargs and m.source not in ("pretrained", "local"):
        p.append(f"{where}.load_kwargs: only for source pretrained or local, got source {m.source!r}")
    for key, value in m.load_kwargs.items():
        if not isinstance(value, dict):
            continue
        at = f"{where}.load_kwargs.{key}"
        p.extend(f"{at}.{k}: unknown key (valid: {', '.join(LOAD_COMPONENT_KEYS)})"
                 for k in value if k not in LOAD_COMPONENT_KEYS)
        for k in ("class", "folder"):
            if not isinstance(value.get(k), str) or not value[k]:
                p.append(f"{at}.{k}: missing; a component is {{class: <diffusers or transformers class>, folder: <path>}}")
        if isinstance(value.get("folder"), str) and value["folder"] and not Path(value["folder"]).is_dir():
            p.append(f"{at}.folder: folder {value['folder']!r} does not exist")


def _api(p: _Problems, where: str, m: Any) -> None:
    if m.api is None:
        p.append(f"{where}.api: missing; `source: api` needs an api block (protocol, base_url, key_env, ...)")
        return
    a = f"{where}.api"
    p.one_of(f"{a}.protocol", m.api.protocol, API_PROTOCOLS)
    p.check(m.api.base_url.startswith(("http://", "https://")), f"{a}.base_url", "must be an http(s) URL",
            m.api.base_url)
    p.check(bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", m.api.key_env)), f"{a}.key_env",
            "must name an environment variable", m.api.key_env)
    if m.api.list_price_usd_per_image is not None:
        p.number(f"{a}.list_price_usd_per_image", m.api.list_price_usd_per_image, 0)
    for key in ("timeout_s", "poll_interval_s", "poll_timeout_s"):
        p.number(f"{a}.{key}", getattr(m.api, key), 0, lo_open=True)
    for key in ("backoff_s", "max_backoff_s"):
        p.number(f"{a}.{key}", getattr(m.api, key), 0)
    p.check(m.api.max_retries >= 0, f"{a}.max_retries", "must be >= 0", m.api.max_retries)
    for key in ("deadline_s", "max_image_pixels_ratio", "max_response_bytes"):  # hostile-vendor limits
        if getattr(m.api, key, None) is not None:
            p.number(f"{a}.{key}", getattr(m.api, key), 0, lo_open=True)


def _workload(p: _Problems, w: Any) -> None:
    p.check(len(w.categories) >= 1, "workload.categories", "must list at least one category", list(w.categories))
    dupes = sorted({c for c in w.categories if w.categories.count(c) > 1})
    p.check(not dupes, "workload.categories", "must not repeat a category", dupes)
    for cat, folder in w.reference.items():
        if cat not in w.categories:
            p.append(f"workload.reference.{cat}: not a workload category (valid: {', '.join(w.categories)})")
        elif not Path(folder).is_dir():
            p.append(f"workload.reference.{cat}: folder {folder!r} does not exist")
        elif not any(f.suffix.lower() in PHOTO_SUFFIXES for f in Path(folder).iterdir()):
            p.append(f"workload.reference.{cat}: folder {folder!r} holds no reference photos (PNG, JPEG or WebP)")


def _score(p: _Problems, s: Any) -> None:
    p.number("score.ci_level", s.ci_level, 0, 1, lo_open=True, hi_open=True)
    for key in ("batch_size", "kid_subset_size", "kid_subsets", "bootstrap_samples"):
        p.check(getattr(s, key) >= 1, f"score.{key}", "must be >= 1", getattr(s, key))
    p.check(s.seed >= 0, "score.seed", "must be >= 0", s.seed)
    p.check(bool(SCORE_DEVICE.match(str(s.device))), "score.device", "must be cpu, cuda, cuda:<n> or auto", s.device)
    for key in ("reference_min_n", "reference_min_px"):
        p.check(getattr(s, key) >= 0, f"score.{key}", "must be >= 0", getattr(s, key))
    if s.weights_manifest is not None:
        p.check(Path(s.weights_manifest).is_file(), "score.weights_manifest", "must be a manifest file",
                s.weights_manifest)
    p.number("score.human.gold_min_accuracy", s.human.gold_min_accuracy, 0, 1)
    p.check(s.human.seed >= 0, "score.human.seed", "must be >= 0", s.human.seed)
    if s.human.source == "simulated":
        p.check(s.human.raters >= 1, "score.human.raters", "must be >= 1 with source: simulated", s.human.raters)
    else:
        p.check(s.human.source.endswith(".jsonl"), "score.human.source",
                "must be `simulated` or a ratings export (.jsonl)", s.human.source)
    p.one_of("score.dinov2_arch", s.dinov2_arch, DINOV2_ARCHS)  # sentinel.metrics.dinov2_net.ARCHS
    p.check(bool(s.cmmd_clip_arch) == bool(s.cmmd_clip_weights), "score.cmmd_clip_weights",
            "must be set together with score.cmmd_clip_arch (both \"\" = CMMD uses score.clip_arch)", s.cmmd_clip_weights)
    if s.preference_models:  # the live registry: a scorer registered at run time is valid (no torch here)
        from sentinel.metrics import preference_registry

        for name in s.preference_models:
            p.one_of("score.preference_models", name, tuple(sorted(preference_registry.REGISTRY)))
    if getattr(s.human, "rubric", None) is not None:
        p.one_of("score.human.rubric", s.human.rubric, tuple(sorted(x.stem for x in RUBRICS_DIR.glob("human-*.md"))))


def _cost(p: _Problems, c: Any) -> None:
    p.number("cost.price_usd_per_hour", c.price_usd_per_hour, 0)
    p.number("cost.orchestration_overhead_usd_per_image", c.orchestration_overhead_usd_per_image, 0)
    p.number("cost.platform_fee_fraction", c.platform_fee_fraction, 0, 1, hi_open=True)
    p.number("cost.utilisation", c.utilisation, 0, 1, lo_open=True)
    for i, u in enumerate(c.utilisation_sensitivity):
        p.number(f"cost.utilisation_sensitivity[{i}]", u, 0, 1, lo_open=True)
    p.check(c.images_per_cold_start >= 1, "cost.images_per_cold_start", "must be >= 1", c.images_per_cold_start)
    for model, price in c.list_price_usd_per_image.items():
        p.number(f"cost.list_price_usd_per_image.{model}", price, 0)
    try:
        datetime.date.fromisoformat(c.as_of)
    except ValueError:
        p.append(f"cost.as_of: must be an ISO date (YYYY-MM-DD), got {c.as_of!r}")
    p.check(bool(c.source.strip()), "cost.source", "must cite where the price comes from", c.source)


LATENCY_POSITIVE = ("requests", "timeout_s", "startup_timeout_s", "concurrency", "slo_s", "workers", "load_requests",
                    "burst_cv", "target_utilisation", "num_cpus", "replica_cpus", "max_replicas", "probe_min_requests",
                    "in_flight_headroom", "test04_pairs")
LATENCY_NON_NEGATIVE = ("search_steps", "sample_per_category", "min_replicas", "downscale_delay_s",
                        "probe_min_duration_s", "probe_warmup_s", "client_lag_bound_s")


def _latency(p: _Problems, lat: Any) -> None:
    """Checks each key the latency config has (its keys change with the latency stage's design)."""
    has = lambda key: hasattr(lat, key)  # noqa: E731
    for key in filter(has, LATENCY_POSITIVE):
        p.number(f"latency.{key}", getattr(lat, key), 0, lo_open=True)
    for key in filter(has, LATENCY_NON_NEGATIVE):
        p.number(f"latency.{key}", getattr(lat, key), 0)
    for model, slo in getattr(lat, "slo_s_by_model", {}).items():
        p.number(f"latency.slo_s_by_model.{model}", slo, 0, lo_open=True)
    p.number("latency.slo_percentile", lat.slo_percentile, 0, 100, lo_open=True)
    if has("cold_start_rate"):
        p.number("latency.cold_start_rate", lat.cold_start_rate, 0, 1)
    p.one_of("latency.arrival", lat.arrival, ARRIVALS)
    for i, f in enumerate(getattr(lat, "load_fractions", ())):
        p.number(f"latency.load_fractions[{i}]", f, 0, lo_open=True)
    lo_hi = list(lat.search_fractions)
    p.check(len(lo_hi) == 2 and 0 < lo_hi[0] < lo_hi[1], "latency.search_fractions",
            "must be [low, high] with 0 < low < high", lo_hi)
    if has("min_replicas") and has("max_replicas"):
        p.check(lat.min_replicas <= lat.max_replicas, "latency.min_replicas", "must be <= max_replicas",
                lat.min_replicas)
    try:
        loopback = lat.host == "localhost" or ipaddress.ip_address(lat.host).is_loopback
    except ValueError:
        loopback = False
    p.check(loopback, "latency.host", "must be a loopback address (the model server binds loopback only)",
            lat.host)


def _report(p: _Problems, r: Any) -> None:
    for key in sorted(set(r.weights) ^ set(COMPONENTS)):
        p.append(f"report.weights.{key}: " + ("unknown component" if key in r.weights else "missing")
                 + f" (components: {', '.join(COMPONENTS)})")
    for key, w in r.weights.items():
        p.number(f"report.weights.{key}", w, 0, 1)
    total = sum(w for w in r.weights.values() if isinstance(w, int | float))
    p.check(abs(total - 1.0) <= 1e-9, "report.weights", f"must sum to 1 (sum {total:g})", dict(r.weights))
    n = r.normalisation
    for part in ("fid", "clip", "human"):
        best, worst = getattr(n, f"{part}_best"), getattr(n, f"{part}_worst")
        p.number(f"report.normalisation.{part}_best", best)
        p.number(f"report.normalisation.{part}_worst", worst)
        p.check(best != worst, f"report.normalisation.{part}_best", f"must differ from {part}_worst", best)
    p.one_of("report.human_source", r.human_source, ("auto", "likert", "pairwise"))  # sentinel.report.composite
    p.one_of("report.version", r.version, COMPOSITE_VERSIONS)  # rubrics/composite.md
    p.check(r.human_source != "pairwise" or r.version in COMPOSITE_VERSIONS[1:], "report.human_source",
            "pairwise needs report.version composite-v2 or composite-v3 (rubrics/composite.md)", r.version)
    p.number("report.attribute_min_n", r.attribute_min_n, 1)


def _generate(p: _Problems, g: Any) -> None:
    p.one_of("generate.executor", g.executor, EXECUTORS)
    for key in ("cpus_per_actor", "gpus_per_actor"):
        p.number(f"generate.{key}", getattr(g, key), 0)
    for key in ("actors_per_model", "max_retries"):
        p.check(getattr(g, key) >= 0, f"generate.{key}", "must be >= 0", getattr(g, key))
    for key in ("task_timeout_s", "task_timeout_factor"):  # Ray deadlines (absent from older configs)
        if hasattr(g, key):
            p.number(f"generate.{key}", getattr(g, key), 0, lo_open=True)


def _paths(p: _Problems, paths: Any) -> None:
    values = {k: v for k, v in vars(paths).items() if v is not None}  # None: an optional path not in use
    for key, value in values.items():
        p.check(bool(value.strip()), f"paths.{key}", "must not be empty", value)
    seen: dict[str, str] = {}
    for key, value in values.items():
        if value in seen:
            p.append(f"paths.{key}: same path as paths.{seen[value]} ({value!r}); each output needs its own")
        seen.setdefault(value, key)


@functools.lru_cache(maxsize=16)
def _sha256_cached(path: str, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def file_sha256(path: str | Path) -> str:
    """sha256 of a file, hashed once per (path, mtime, size) in this process (weights are 0.1-0.6 GB)."""
    st = os.stat(path)
    return _sha256_cached(str(Path(path).resolve()), st.st_mtime_ns, st.st_size)


def smoke_weight_reasons(sc: Any) -> list[str]:
    """The smoke profile, or a present metric weights file whose sha256 is a known smoke file's
    (sentinel.metrics.profile adds the reasons that need the manifest or the reference data)."""
    out = [f"score.profile: {sc.profile!r} is the smoke profile (seeded random metric networks)"] \
        if sc.profile == SMOKE_PROFILE else []
    for key in ("inception_weights", "clip_weights", "dinov2_weights", "cmmd_clip_weights"):
        if not getattr(sc, key, ""):
            continue  # an optional metric that is off ("")
        path = Path(getattr(sc, key))
        if path.is_file() and (digest := file_sha256(path)) in SMOKE_SHA256:
            out.append(f"score.{key}: {path} has sha256 {digest}, {SMOKE_SHA256[digest]}")
    return out


def _non_plumbing_weights(p: _Problems, suite: Any, sc: Any) -> None:
    """A suite that declares `plumbing: false` refuses smoke metric weights before any stage runs."""
    p.extend(f"suite.plumbing: false (suite {suite.name}) refuses plumbing metric weights: {r}"
             for r in smoke_weight_reasons(sc))


def _cross(p: _Problems, cfg: dict[str, Any]) -> None:
    """Rules that need two sections."""
    if "suite" in cfg and "score" in cfg and not cfg["suite"].plumbing:
        _non_plumbing_weights(p, cfg["suite"], cfg["score"])
    if "model" in cfg and "cost" in cfg:
        for name, m in cfg["model"].items():
            if m.source != "api" and name in cfg["cost"].list_price_usd_per_image:
                p.append(f"cost.list_price_usd_per_image.{name}: model {name} is self-hosted "
                         f"(source {m.source!r}), billed by GPU time, not by list price")


def _ratings_export(p: _Problems, cfg: dict[str, Any]) -> None:
    """A ratings export is checked row by row when params load (types, models of this run, workload
    job ids), not after a scoring pass; sentinel.ratings_export is pure Python."""
    source = cfg["score"].human.source
    if source == "simulated" or not source.endswith(".jsonl"):
        return
    if not Path(source).is_file():
        p.append(f"score.human.source: ratings export {source} not found")
        return
    from sentinel import ratings_export as export_rows

    job_ids = frozenset()
    if "workload" in cfg and Path(cfg["workload"].jobs).is_file():
        from sentinel.workloads.jobs import WorkloadError, load_jobs
        try:
            job_ids = frozenset(j.id for j in load_jobs(cfg["workload"].jobs))
        except WorkloadError:
            pass  # the workload's own loader reports it, with its line
    models = tuple(cfg["model"]) if "model" in cfg else ()
    p.extend(f"score.human.source: {x}" for x in export_rows.problems(source, models, job_ids))


RULES = {"workload": _workload, "score": _score, "cost": _cost, "latency": _latency, "report": _report,
         "generate": _generate, "paths": _paths}


def problems(cfg: dict[str, Any]) -> list[str]:
    """Every rule broken by the loaded sections `cfg` (section name -> config object)."""
    p = _Problems()
    for name, rule in RULES.items():
        if name in cfg:
            rule(p, cfg[name])
    for name, m in cfg.get("model", {}).items():
        _model(p, name, m)
    _cross(p, cfg)
    if "score" in cfg:
        _ratings_export(p, cfg)
    return list(p)
