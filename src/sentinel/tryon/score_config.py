"""The keys the try-on score and report stages read: `tryon.score`, `tryon.cost`, and the paths.

    section = read_section("params.yaml")          # the raw `tryon` mapping
    score = parse_score(section.get("score"))       # TryOnScoreConfig, errors name tryon.score.<key>
    paths = stage_paths(section, ("results", "records"), "params.yaml")

`tryon.score` (conf/tryon/smoke.yaml):

    lpips_backbone_weights: weights/lpips-alex-backbone-smoke.pt  # torchvision AlexNet state_dict
    lpips_linear_weights: weights/lpips-alex-lin-smoke.pt         # LPIPS v0.1 lin<k> file
    inception_weights: null      # null: the image suite's score.inception_weights (the same pinned FID)
    batch_size: 8                # InceptionV3 batch
    device: cpu
    ci_level: 0.95               # every interval (per-job bootstrap and FID/KID half-sampling)
    set_replicates: 200          # FID/KID half-sample replicates
    seed: 0                      # salt of the FID/KID half-sample generators (also keyed by image ids)
    unpaired_reference: workload # `workload`: the person photos of every job; or a folder of PNGs
    triptychs_per_protocol: 0    # report: triptychs per model and protocol (0: every job)

`tryon.cost`: `list_price_usd_per_tryon: {model: usd}`, the vendor's price of one try-on image for
API models (the top-level price card's `list_price_usd_per_image` still wins when it names the
model, as everywhere else). Everything else is the top-level `cost` card (sentinel.cost.pricing).
Also the error every try-on input check raises (TryOnInputError). Pure Python: nothing heavy is imported.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path

from sentinel.config import read_params
from sentinel.errors import ConfigError, SentinelError


class TryOnInputError(SentinelError, FileNotFoundError):
    """An input of a try-on stage is missing or disagrees with another; the message names the file."""


def require(path: str | Path, what: str) -> Path:
    if not Path(path).is_file():
        raise TryOnInputError(f"{path}: {what} not found")
    return Path(path)


@dataclass(frozen=True)
class TryOnScoreConfig:
    lpips_backbone_weights: str
    lpips_linear_weights: str
    inception_weights: str | None = None
    batch_size: int = 8
    device: str = "cpu"
    ci_level: float = 0.95
    set_replicates: int = 200
    seed: int = 0
    unpaired_reference: str = "workload"
    triptychs_per_protocol: int = 0


@dataclass(frozen=True)
class TryOnCostConfig:
    list_price_usd_per_tryon: dict


REQUIRED = ("lpips_backbone_weights", "lpips_linear_weights")


def read_section(params_path: str | Path) -> dict:
    params = read_params(params_path)
    section = params.get("tryon")
    if not isinstance(section, dict):
        raise ConfigError("tryon: missing section (compose it with conf/suite/smoke-media.yaml)", path=params_path)
    return section


def _check_type(key: str, value, want, problems: list[str]) -> None:
    if want is int and (isinstance(value, bool) or not isinstance(value, int)):
        problems.append(f"tryon.score.{key}: must be an integer, got {value!r}")
    elif want is float and (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)):
        problems.append(f"tryon.score.{key}: must be a finite number, got {value!r}")
    elif want is str and not (isinstance(value, str) and value):
        problems.append(f"tryon.score.{key}: must be a non-empty string, got {value!r}")


def parse_score(mapping, params_path: str | Path | None = None) -> TryOnScoreConfig:
    """Validate `tryon.score`; every problem at once, each naming its key."""
    if not isinstance(mapping, dict):
        raise ConfigError(f"tryon.score: must be a mapping with {', '.join(REQUIRED)}, got {mapping!r}", path=params_path)
    names = {f.name: f for f in fields(TryOnScoreConfig)}
    problems = [f"tryon.score.{k}: unknown key (valid: {', '.join(names)})" for k in sorted(set(mapping) - set(names))]
    problems += [f"tryon.score.{k}: missing" for k in REQUIRED if k not in mapping]
    types = {"batch_size": int, "set_replicates": int, "seed": int, "triptychs_per_protocol": int,
             "ci_level": float, "device": str, "unpaired_reference": str, **{k: str for k in REQUIRED}}
    for key, value in mapping.items():
        if key in types:
            _check_type(key, value, types[key], problems)
    if mapping.get("inception_weights") is not None:
        _check_type("inception_weights", mapping["inception_weights"], str, problems)
    if not problems:
        if not 0 < mapping.get("ci_level", 0.95) < 1:
            problems.append(f"tryon.score.ci_level: must be in (0, 1), got {mapping['ci_level']}")
        for key, low in (("batch_size", 1), ("set_replicates", 10), ("seed", 0), ("triptychs_per_protocol", 0)):
            if key in mapping and mapping[key] < low:
                problems.append(f"tryon.score.{key}: must be >= {low}, got {mapping[key]}")
    if problems:
        raise ConfigError(*problems, path=params_path)
    return TryOnScoreConfig(**mapping)


def parse_cost(mapping, params_path: str | Path | None = None) -> TryOnCostConfig:
    mapping = {} if mapping is None else mapping
    if not isinstance(mapping, dict) or set(mapping) - {"list_price_usd_per_tryon"}:
        raise ConfigError(f"tryon.cost: only list_price_usd_per_tryon is a key here, got {mapping!r}", path=params_path)
    prices = mapping.get("list_price_usd_per_tryon") or {}
    if not isinstance(prices, dict):
        raise ConfigError(f"tryon.cost.list_price_usd_per_tryon: must be a mapping model -> USD, got {prices!r}",
                          path=params_path)
    for model, usd in prices.items():
        if isinstance(usd, bool) or not isinstance(usd, int | float) or not math.isfinite(usd) or usd < 0:
            raise ConfigError(f"tryon.cost.list_price_usd_per_tryon.{model}: must be a number >= 0, got {usd!r}",
                              path=params_path)
    return TryOnCostConfig(list_price_usd_per_tryon=dict(prices))


def stage_paths(section: dict, keys: tuple[str, ...], params_path: str | Path) -> dict[str, Path]:
    """The named `tryon.paths.*` entries; a missing one fails naming its key."""
    paths = section.get("paths")
    if not isinstance(paths, dict):
        raise ConfigError("tryon.paths: missing mapping", path=params_path)
    missing = [f"tryon.paths.{k}: missing" for k in keys if not isinstance(paths.get(k), str) or not paths[k]]
    if missing:
        raise ConfigError(*missing, path=params_path)
    return {k: Path(paths[k]) for k in keys}


def workload(section: dict, params_path: str | Path) -> dict:
    wl = section.get("workload")
    if not isinstance(wl, dict) or not isinstance(wl.get("jobs"), str):
        raise ConfigError("tryon.workload.jobs: missing (the try-on job CSV)", path=params_path)
    return {"name": wl.get("name", "tryon"), "jobs": Path(wl["jobs"]), "root": Path(wl.get("root") or "."),
            "pairs": wl.get("pairs") or None}


def models(section: dict, params_path: str | Path) -> dict[str, dict]:
    ms = section.get("models") or {}
    if not isinstance(ms, dict) or not all(isinstance(v, dict) for v in ms.values()):
        raise ConfigError("tryon.models: must be a mapping of model name -> model config", path=params_path)
    return ms


def model(section: dict, name: str | None, params_path: str | Path) -> dict:
    ms = models(section, params_path)
    if name not in ms:
        raise ConfigError(f"tryon.models.{name}: no such try-on model (configured: {', '.join(sorted(ms)) or 'none'})",
                          path=params_path)
    return ms[name]
