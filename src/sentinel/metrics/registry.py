"""The metric registry: metric name -> `Metric`. A new metric is one module plus one line in REGISTRY.

The score stage (metrics/compute.py `score_set`) computes every registered metric's point estimate
and its seeded bootstrap CI; the leaderboard (report/leaderboard.py) gives each a `<column>` and a
`<column>_ci` key, and the report's leaderboard table a column headed by its label. Nothing else
names a metric: adding one touches no other file (CONTRIBUTING.md, "Add a metric").

Functions are named as "module:function" and imported only when scoring, so the report, which
iterates this registry for its columns, never imports torch. A metric's functions receive
`Inputs` (features of one image set) and, for replicates, the bootstrap counts matrix (samples, n):
row b says how often each generated image was drawn in resample b (metrics/bootstrap.py), and a
row of ones is the point estimate's own set.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Feature extractor ids a metric may consume (built in metrics/compute.py, cached per image sha256).
EXTRACTORS = {
    "inception": "InceptionV3 pool features of each image (metrics/fid.py, extract.py)",
    "clip": "CLIP image embeddings of each image, plus the prompts' text embeddings (metrics/clip_score.py)",
    "dinov2": "DINOv2 CLS features of each image, dgm-eval's preprocessing (metrics/dinov2.py)",
    "cmmd_clip": "CLIP image embeddings from CMMD's own encoder, score.cmmd_clip_arch (e.g. the paper's ViT-L-14-336)",
    "pairs": "none: a plug-in scorer reads each (image, prompt) pair itself (metrics/plugins)",
}
# Extractors built from `options` (score_options below) rather than by compute.py itself:
# "module:function" (options, batch_size, device) -> extract.Extractor. "pairs" builds none.
EXTRACTOR_BUILDERS = {"dinov2": "sentinel.metrics.dinov2:extractor",
                      "cmmd_clip": "sentinel.metrics.builtin:cmmd_clip_extractor"}
CI_COUNTS = ("sets", "pairs")  # a CI's n: n_generated and n_reference, or n_pairs (one prompt per image)


@dataclass
class Inputs:
    """Everything a metric may read for one image set; `memo` shares work (kernels) between metrics."""
    gen: dict[str, Any]  # extractor id -> (n, d) float features of the generated images, in image order
    ref: dict[str, Any]  # extractor id -> (m, d) features of the reference images
    prompts: list[str]
    text: Any = None  # (n, d) prompt embeddings when the "clip" extractor is in use
    settings: dict[str, Any] = field(default_factory=dict)  # kid_subset_size, kid_subsets, seed, clip_arch
    memo: dict[str, Any] = field(default_factory=dict)

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]


@dataclass(frozen=True)
class Metric:
    name: str  # key in the score output: overall.<name> and overall.ci.<name>
    extractor: str  # one of EXTRACTORS
    point: str | Callable  # (Inputs) -> float
    replicates: str | Callable | None  # (Inputs, counts) -> (samples,) array: the statistic of each resample
    higher_is_better: bool
    column: str  # leaderboard keys <column> and <column>_ci
    label: str  # the report's column header
    ci_counts: str = "sets"  # one of CI_COUNTS
    extras: str | Callable | None = None  # (Inputs) -> dict of extra score fields (e.g. KID's subset mean)
    # (Inputs, level) -> {"low", "high", ...}: a metric's own interval method (e.g. half-sampling,
    # metrics/halfsample.py) instead of the percentile interval of `replicates` over the shared counts.
    interval: str | Callable | None = None
    # (options) -> bool: whether this run computes it (e.g. FD-DINOv2 when score.dinov2_weights is set, a
    # plug-in scorer when named in score.preference_models); None: always. A metric that is off reads null.
    enabled: str | Callable | None = None

    def __post_init__(self) -> None:
        if self.replicates is None and self.interval is None:
            raise ValueError(f"metric {self.name!r}: needs `replicates` or `interval` for its CI")
        if self.extractor not in EXTRACTORS:
            raise ValueError(f"metric {self.name!r}: extractor {self.extractor!r} is not one of {', '.join(EXTRACTORS)}")
        if self.ci_counts not in CI_COUNTS:
            raise ValueError(f"metric {self.name!r}: ci_counts {self.ci_counts!r} is not one of {', '.join(CI_COUNTS)}")

    def call(self, which: str, *args) -> Any:
        """Resolve and call `point`, `replicates` or `extras` (a "module:function" is imported now)."""
        fn = getattr(self, which)
        if isinstance(fn, str):
            module, _, name = fn.partition(":")
            fn = getattr(importlib.import_module(module), name)
        return fn(*args)


BUILTIN = "sentinel.metrics.builtin"
REGISTRY: dict[str, Metric] = {
    "fid": Metric("fid", "inception", f"{BUILTIN}:fid_point", f"{BUILTIN}:fid_replicates", False, "fid", "FID",
                  interval=f"{BUILTIN}:fid_interval"),
    # dgm-eval's FD-DINOv2 (metrics/dinov2.py), beside FID, with FID's half-sample interval.
    "fd_dinov2": Metric("fd_dinov2", "dinov2", f"{BUILTIN}:fd_dinov2_point", f"{BUILTIN}:fd_dinov2_replicates",
                        False, "fd_dinov2", "FD-DINOv2", interval=f"{BUILTIN}:fd_dinov2_interval",
                        enabled=lambda options: bool(options.get("dinov2_weights"))),
    # KID is the full unbiased MMD² over all pairs; torch-fidelity's subset mean is the extra kid_subsets_mean.
    "kid": Metric("kid", "inception", f"{BUILTIN}:kid_point", f"{BUILTIN}:kid_replicates", False,
                  "kid", "KID", extras=f"{BUILTIN}:kid_subsets", interval=f"{BUILTIN}:kid_interval"),
    "clip_score": Metric("clip_score", "clip", f"{BUILTIN}:clip_point", f"{BUILTIN}:clip_replicates", True,
                         "clip_score", "CLIP score", ci_counts="pairs", extras=f"{BUILTIN}:clip_extras"),
    "cmmd": Metric("cmmd", "clip", f"{BUILTIN}:cmmd_point", f"{BUILTIN}:cmmd_replicates", False, "cmmd", "CMMD",
                   interval=f"{BUILTIN}:cmmd_interval"),
}


def plugin_metric(name: str, label: str, higher_is_better: bool = True) -> Metric:
    """A per-pair plug-in scorer (metrics/plugins: VQAScore, HPSv2, PickScore, ...) as a metric: on when
    `name` is in score.preference_models, mean over pairs with a percentile-bootstrap CI over pairs."""
    fn = "sentinel.metrics.plugins"
    return Metric(name, "pairs", _Named(f"{fn}:point", name), _Named(f"{fn}:replicates", name), higher_is_better,
                  name, label, ci_counts="pairs", extras=_Named(f"{fn}:extras", name),
                  enabled=functools.partial(_preference_on, name))


def _preference_on(name: str, options: dict) -> bool:
    return name in options.get("preference_models", ())


@dataclass(frozen=True)
class _Named:
    """A "module:function" called with a fixed first argument (the plug-in's name), imported when called."""
    target: str
    name: str

    def __call__(self, *args):
        module, _, fn = self.target.partition(":")
        return getattr(importlib.import_module(module), fn)(self.name, *args)


# The shipped plug-ins (metrics/plugins/, slots in preference_registry.py); off unless enabled.
for _name, _label in (("hpsv2", "HPSv2"), ("pickscore", "PickScore")):
    REGISTRY[_name] = plugin_metric(_name, _label)


def is_enabled(metric: Metric, options: dict) -> bool:
    return metric.enabled is None or bool(metric.call("enabled", options))


# metric -> (option, extractor): when the option is set the metric reads that extractor instead of its
# own (CMMD with the paper's CLIP ViT-L/14 at 336 px while CLIP score keeps score.clip_arch).
EXTRACTOR_OPTIONS = {"cmmd": ("cmmd_clip_arch", "cmmd_clip")}


def active(options: dict) -> list[Metric]:
    """The metrics this run computes, in registry order, each with the extractor the options select."""
    out = []
    for m in (m for m in REGISTRY.values() if is_enabled(m, options)):
        key, extractor = EXTRACTOR_OPTIONS.get(m.name, (None, None))
        out.append(dataclasses.replace(m, extractor=extractor) if key and options.get(key) else m)
    return out


def shown(rows: list[dict]) -> list[Metric]:
    """The report's metric columns: every always-on metric, and each optional one (FD-DINOv2, plug-ins)
    that some leaderboard row measured, so a metric that is off adds no empty column."""
    return [m for m in REGISTRY.values() if m.enabled is None or any(r.get(m.column) is not None for r in rows)]


def build_extractor(extractor: str, options: dict, batch_size: int, device: str):
    """An extractor from EXTRACTOR_BUILDERS (the ones compute.py does not build itself)."""
    if extractor not in EXTRACTOR_BUILDERS:
        raise ValueError(f"extractor {extractor!r} has no builder (builders: {', '.join(EXTRACTOR_BUILDERS)})")
    module, _, fn = EXTRACTOR_BUILDERS[extractor].partition(":")
    return getattr(importlib.import_module(module), fn)(options, batch_size, device)


def score_options(sc: Any) -> dict:
    """The score config's switches for optional metrics and extractors (score_set's `options`)."""
    return {"dinov2_arch": sc.dinov2_arch, "dinov2_weights": sc.dinov2_weights,
            "cmmd_clip_arch": sc.cmmd_clip_arch, "cmmd_clip_weights": sc.cmmd_clip_weights,
            "preference_models": list(sc.preference_models), "preference_weights_dir": sc.preference_weights_dir}


def register(metric: Metric) -> None:
    """Add a metric at run time (plugins, tests); a clash with a registered name is an error."""
    if metric.name in REGISTRY:
        raise ValueError(f"metric {metric.name!r} is already registered (registered: {', '.join(REGISTRY)})")
    columns = {m.column for m in REGISTRY.values()}
    if metric.column in columns:
        raise ValueError(f"metric {metric.name!r}: leaderboard column {metric.column!r} is taken")
    REGISTRY[metric.name] = metric


def get(name: str) -> Metric:
    if name not in REGISTRY:
        raise KeyError(f"unknown metric {name!r} (registered: {', '.join(REGISTRY)})")
    return REGISTRY[name]
