"""Slot for human-preference models (ImageReward, HPSv2, PickScore): registered, off by default.

Their weights come from a model hub, which the offline benchmark never contacts, so none is enabled
by default (`score.preference_models: []`). Enabling one means: its weights file is present under
`score.preference_weights_dir` (fetch it with `python -m sentinel.metrics.fetch fetch`), and a scorer
is registered for it. A missing file or a missing scorer is an error that says which and how to fix it.

A scorer is `factory(weights_path) -> callable(images: list[PIL.Image], prompts: list[str]) -> per-pair
floats`; plug one in with `register(name, factory, label=...)`, which also makes it a metric
(registry.plugin_metric, scored by score_set with a CI; metrics/plugins/). HPSv2 and PickScore ship.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from sentinel.metrics import preference_registry
from sentinel.metrics.preference_registry import PreferenceModel  # noqa: F401 - the API

# The registry is read as preference_registry.REGISTRY at call time (never bound to a name here), so
# validation, this module and a test that swaps the dict all see the same one.


def register(name: str, factory, label: str | None = None, higher_is_better: bool = True) -> None:
    """Plug a scorer in, in one place: its slot in the preference registry (weights file, source) and
    its metric (registry.plugin_metric: a leaderboard column `<name>` with a CI, and a report column
    when measured). It runs when `name` is in score.preference_models."""
    from sentinel.metrics import registry

    preference_registry.register(name, factory)
    if name not in registry.REGISTRY:
        registry.register(registry.plugin_metric(name, label or name, higher_is_better))


def resolve(names: Sequence[str], weights_dir: str | Path) -> list[tuple[PreferenceModel, Path]]:
    """The enabled models and their weights paths; every problem is an error naming the config key."""
    out = []
    for name in names:
        registry = preference_registry.REGISTRY
        if name not in registry:
            raise ValueError(f"score.preference_models: unknown model {name!r} "
                             f"(registered: {', '.join(sorted(registry))})")
        entry = registry[name]
        path = Path(weights_dir) / entry.weights_file
        if not path.exists():
            raise FileNotFoundError(
                f"score.preference_models: {name!r} is enabled but its weights {path} are missing "
                f"(score.preference_weights_dir={weights_dir}). They come from {entry.source}: fetch them with "
                "`python -m sentinel.metrics.fetch fetch --manifest <manifest> --dir <dir>` or remove "
                f"{name!r} from score.preference_models")
        if entry.factory is None:
            raise NotImplementedError(
                f"score.preference_models: {name!r}: weights found at {path}, but no scorer is registered; "
                "call sentinel.metrics.preference.register(name, factory) before scoring")
        out.append((entry, path))
    return out


def score(enabled: list[tuple[PreferenceModel, Path]], images: Sequence[Path], prompts: Sequence[str], *,
          samples: int, level: float, seed: int) -> dict:
    """{name: {"mean", "ci": {"low", "high", "n_pairs"}}} for each enabled scorer (empty when none)."""
    import numpy as np

    from sentinel.images import load_rgb
    from sentinel.metrics import bootstrap as bs

    out = {}
    for entry, path in enabled:
        scorer = entry.factory(path)
        per = np.asarray(scorer([load_rgb(p) for p in images], list(prompts)), np.float64)
        low, high = bs.interval(bs.mean_replicates(per, bs.resample_counts(len(per), samples, seed)), level)
        out[entry.name] = {"mean": float(per.mean()), "ci": {"low": low, "high": high, "n_pairs": len(per)}}
    return out
