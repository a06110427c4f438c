"""What the video score and report stages read from params.yaml: `video.score`, `video.cost`,
`video.paths`, the models' names/sources/prices and the top-level `cost` price card.

    p = load("params.yaml")       # ConfigError naming `video.<key>` for every bad key, before any work

The section is validated by sentinel.video.config.load_video_section first (models, workload, paths);
`video.score` and `video.cost` are these stages' own keys, parsed here by `parse_score` / `parse_cost`
(the section loader keeps them as plain mappings). Of a model only its name, display name, source,
plumbing flag and API price and billing unit are kept, so these stages depend on nothing else of a
model's recipe. Pure Python: no torch, no numpy.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentinel import config
from sentinel.errors import ConfigError

ENCODERS = ("tiny", "videomae", "i3d")
PATH_KEYS = ("reference", "clips", "records", "timings", "scores", "latency", "leaderboard", "metrics", "report",
             "report_html", "previews")


# The seeded tiny FVD encoder's file and pin: sha256 of sentinel.video.tiny_encoder.make_tiny_weights(seed=0)
# (tests/test_video_score_stage.py checks the written file still hashes to it).
TINY_SMOKE_FILE = "weights/video-tiny-smoke.pt"
TINY_SMOKE_SHA256 = "fef6787a20d3868927b564184fb65fdf7516fda5941fa598dedd5cef6167465b"


@dataclass(frozen=True)
class VideoScoreConfig:
    """video.score: the metric networks and intervals of the video score stage (rubrics/video-metrics.md).
    The defaults are the smoke-media suite's: the tiny seeded encoder, the smoke CLIP, 8-frame clips."""
    fvd_encoder: str = "tiny"  # tiny (seeded random, plumbing) | videomae (cd-FVD) | i3d (classic FVD)
    fvd_weights: str = TINY_SMOKE_FILE
    fvd_weights_sha256: str = TINY_SMOKE_SHA256  # the pin; the encoder refuses a file that does not hash to it
    fvd_frames: int = 8  # the first F frames of every clip (cd-fvd: sequence_length, 16 for videomae / i3d)
    fvd_halfsample_reps: int = 200
    clip_arch: str = "ViT-B-32"
    clip_weights: str = "weights/clip-ViT-B-32-smoke.pt"
    device: str = "cpu"  # metric networks: cpu | cuda | cuda:<n> | auto (CUDA when visible); recorded
    batch_size: int = 16
    bootstrap_samples: int = 1000
    ci_level: float = 0.95
    previews_per_model: int = 4  # report: preview GIFs per model (jobs in id order), 0 = none
    preview_max_frames: int = 16  # frames kept (evenly spaced) in a preview GIF


@dataclass(frozen=True)
class VideoCostConfig:
    """video.cost: dated per-second list prices that override a model config's api price."""
    list_price_usd_per_second: dict[str, float] = field(default_factory=dict)
    price_source: str = ""  # where and when the override prices were read


@dataclass(frozen=True)
class ModelInfo:
    name: str
    display_name: str
    source: str
    plumbing: bool
    list_price_usd_per_second: float | None
    price_source: str | None
    billing_unit: str

    @property
    def api(self) -> bool:
        return self.source == "api"


@dataclass(frozen=True)
class VideoParams:
    path: Path
    models: dict[str, ModelInfo]
    score: VideoScoreConfig
    cost: VideoCostConfig
    paths: dict[str, Path]
    workload: dict
    card: Any  # sentinel.config.CostConfig

    def model(self, name: str) -> ModelInfo:
        if name not in self.models:
            raise ConfigError(f"{self.path}: video model {name!r}: not in video.models "
                              f"(composed: {', '.join(self.models) or 'none'})")
        return self.models[name]

    def price_per_second(self, name: str) -> tuple[float | None, str | None]:
        """(USD per video-second, its source): the dated video.cost override wins over the model's."""
        if name in self.cost.list_price_usd_per_second:
            return self.cost.list_price_usd_per_second[name], self.cost.price_source or "video.cost"
        m = self.model(name)
        return m.list_price_usd_per_second, m.price_source


def parse_score(data: Any, where: str = "video.score") -> VideoScoreConfig:
    sc = config.build(VideoScoreConfig, data or {}, where)
    problems = []
    if sc.fvd_encoder not in ENCODERS:
        problems.append(f"{where}.fvd_encoder: {sc.fvd_encoder!r} is not one of {', '.join(ENCODERS)}")
    for key in ("fvd_frames", "fvd_halfsample_reps", "batch_size", "bootstrap_samples"):
        if getattr(sc, key) < 1:
            problems.append(f"{where}.{key}: must be >= 1, got {getattr(sc, key)}")
    for key in ("previews_per_model", "preview_max_frames"):
        if getattr(sc, key) < 0:
            problems.append(f"{where}.{key}: must be >= 0, got {getattr(sc, key)}")
    if not 0 < sc.ci_level < 1:
        problems.append(f"{where}.ci_level: must be in (0, 1), got {sc.ci_level}")
    if not (sc.device in ("cpu", "cuda", "auto") or sc.device.startswith("cuda:")):
        problems.append(f"{where}.device: {sc.device!r} is not cpu, cuda, cuda:<n> or auto")
    if len(sc.fvd_weights_sha256) not in (0, 64):
        problems.append(f"{where}.fvd_weights_sha256: expected 64 hex digits, got {sc.fvd_weights_sha256!r}")
    if problems:
        raise ConfigError(*problems)
    return sc


def parse_cost(data: Any, where: str = "video.cost") -> VideoCostConfig:
    vc = config.build(VideoCostConfig, data or {}, where)
    bad = [f"{where}.list_price_usd_per_second.{m}: must be a number >= 0, got {p!r}"
           for m, p in vc.list_price_usd_per_second.items()
           if not isinstance(p, int | float) or isinstance(p, bool) or not p >= 0]
    if bad:
        raise ConfigError(*bad)
    return vc


def _model(m) -> ModelInfo:
    """The few facts of a sentinel.video.config.VideoModelConfig these stages use."""
    api = m.api
    return ModelInfo(name=m.name, display_name=m.display_name, source=m.source, plumbing=bool(m.plumbing),
                     list_price_usd_per_second=None if api is None else api.list_price_usd_per_second,
                     price_source=None if api is None else api.price_source,
                     billing_unit="video-second" if api is None else api.billing_unit)


def load(params_path: str | Path = "params.yaml", need_card: bool = True) -> VideoParams:
    """The validated video section (sentinel.video.config, every problem at once), then these stages'
    own blocks, then (when pricing) the top-level `cost` card."""
    from dataclasses import asdict

    from sentinel.video.config import load_video_section

    path = Path(params_path)
    sec = load_video_section(path)
    try:
        score, cost = parse_score(sec.score, "video.score"), parse_cost(sec.cost, "video.cost")
    except ConfigError as e:
        raise ConfigError(*e.problems, path=path) from None
    card = config.load(path, sections=("cost",))["cost"] if need_card else None
    return VideoParams(path=path, models={n: _model(m) for n, m in sec.models.items()}, score=score, cost=cost,
                       paths={k: Path(getattr(sec.paths, k)) for k in PATH_KEYS}, workload=asdict(sec.workload),
                       card=card)
