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

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Feature extractor ids a metric may consume (built in metrics/compute.py, cached per image sha256).
EXTRACTORS = {
    "inception": "InceptionV3 pool features of each image (metrics/fid.py, extract.py)",
    "clip": "CLIP image embeddings of each image, plus the prompts' text embeddings (metrics/clip_score.py)",
}
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
    "kid_full": Metric("kid_full", "inception", f"{BUILTIN}:kid_point", f"{BUILTIN}:kid_replicates", False,
                       "kid_full", "KID", extras=f"{BUILTIN}:kid_subsets", interval=f"{BUILTIN}:kid_interval"),
    "clip_score": Metric("clip_score", "clip", f"{BUILTIN}:clip_point", f"{BUILTIN}:clip_replicates", True,
                         "clip_score", "CLIP score", ci_counts="pairs", extras=f"{BUILTIN}:clip_extras"),
    "cmmd": Metric("cmmd", "clip", f"{BUILTIN}:cmmd_point", f"{BUILTIN}:cmmd_replicates", False, "cmmd", "CMMD",
                   interval=f"{BUILTIN}:cmmd_interval"),
}


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
