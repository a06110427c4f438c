"""Where one model's outputs live, for the per-model DVC stages (`generate@<model>`, `score@<model>`, ...).

dvc.yaml templates the same layout (`${paths.model_records}/${key}.jsonl`); tests/unit/test_dvc_graph.py
checks that the two agree, so the layout is written in one place here and checked against the other.
Pure Python: no torch.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sentinel.config import ConfigError, PathsConfig

KEYS = ("recipes", "model_records", "model_timings", "model_scores", "model_latency")


@dataclass(frozen=True)
class ModelPaths:
    recipe: Path  # the image key: what, if changed, changes this model's pixels
    images: Path  # <job_id>.png (records' `image` is "<model>/<job_id>.png" under paths.images)
    records: Path
    timings: Path
    score: Path
    latency: Path  # a folder: latency.json, cdf.csv, load.csv

    @property
    def latency_json(self) -> Path:
        return self.latency / "latency.json"

    @property
    def latency_cdf(self) -> Path:
        return self.latency / "cdf.csv"

    @property
    def latency_load(self) -> Path:
        return self.latency / "load.csv"


def model_paths(paths: PathsConfig, model: str) -> ModelPaths:
    """The per-model layout; refuses a params.yaml without the per-model folders (frozen releases)."""
    missing = [k for k in KEYS if getattr(paths, k) is None]
    if missing:
        raise ConfigError(f"paths.{missing[0]}: missing; per-model stages need paths.{', paths.'.join(KEYS)} "
                          "(see conf/config.yaml)")
    return ModelPaths(recipe=Path(paths.recipes) / f"{model}.json", images=Path(paths.images) / model,
                      records=Path(paths.model_records) / f"{model}.jsonl",
                      timings=Path(paths.model_timings) / f"{model}.jsonl",
                      score=Path(paths.model_scores) / f"{model}.json", latency=Path(paths.model_latency) / model)


def check_model(models: dict, model: str) -> None:
    """One clear error before any work when the stage is asked for a model params.yaml does not hold."""
    if model not in models:
        raise ConfigError(f"model {model!r}: not in params.yaml's model section (composed: {', '.join(models)})")
