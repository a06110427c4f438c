"""Plug-in scorers of (image, prompt) pairs as metrics: alignment (VQAScore) and human preference
(HPSv2, PickScore, ...), each reached through the metric registry (registry.plugin_metric).

A plug-in is `factory(weights_path) -> scorer(images: list[PIL.Image], prompts: list[str]) -> floats`
in a slot of sentinel.metrics.preference_registry (name, weights file under
score.preference_weights_dir, source). It is off unless named in `score.preference_models`; when on,
the score stage gives it, like CLIP score, a mean over pairs with a percentile-bootstrap CI over pairs
and n_pairs, per model and category, and the leaderboard and the report a column. Register a new one
in one place with `sentinel.metrics.preference.register(name, factory, label=...)`.

Shipped: `hpsv2` (hpsv2.py: an open_clip ViT-H-14 checkpoint in HPSv2's published `{"state_dict"}`
format) and `pickscore` (pickscore.py: a transformers CLIPModel folder). Each has a tiny build of the
same format (random weights, built locally: tiny.py) so CI runs the real loading code.
"""
from __future__ import annotations

import functools
import importlib
from pathlib import Path

import numpy as np

from sentinel.metrics import preference_registry
from sentinel.metrics.weights import weights_sha256


def _factory(name: str):
    entry = preference_registry.REGISTRY.get(name)
    if entry is None or entry.factory is None:
        raise NotImplementedError(f"score.preference_models: {name!r} has no scorer registered "
                                  "(sentinel.metrics.preference.register(name, factory))")
    if isinstance(entry.factory, str):
        module, _, fn = entry.factory.partition(":")
        return getattr(importlib.import_module(module), fn)
    return entry.factory


def weights_path(name: str, options: dict) -> Path:
    return Path(options["preference_weights_dir"]) / preference_registry.REGISTRY[name].weights_file


def _digest(path: Path) -> str:
    """A weights file's sha256, or a folder's (sorted names and each file's sha256)."""
    if path.is_file():
        return weights_sha256(path)
    return ";".join(f"{p.relative_to(path)}={weights_sha256(p)}" for p in sorted(path.rglob("*")) if p.is_file())


@functools.lru_cache(maxsize=4)
def _scorer(name: str, factory, path: str, digest: str):
    return factory(Path(path))


def scorer(name: str, options: dict):
    """The loaded scorer of `name`, loaded once per (factory, weights content)."""
    path = weights_path(name, options)
    return _scorer(name, _factory(name), str(path), _digest(path))


def per_pair(name: str, x) -> np.ndarray:
    """The scorer's value for each (generated image, prompt) pair of the set, in the set's order."""
    from sentinel.images import load_rgb

    def compute():
        images = [load_rgb(p) for p in x.settings["paths"]]
        values = np.asarray(scorer(name, x.settings["options"])(images, list(x.prompts)), np.float64)
        if values.shape != (len(images),):
            raise ValueError(f"plug-in scorer {name!r} returned shape {values.shape} for {len(images)} pairs")
        return values

    return x.cached(f"plugin:{name}", compute)


def point(name: str, x) -> float:
    return float(per_pair(name, x).mean())


def replicates(name: str, x, counts: np.ndarray) -> np.ndarray:
    from sentinel.metrics import bootstrap as bs

    return bs.mean_replicates(per_pair(name, x), counts)


def extras(name: str, x) -> dict:
    """Per-image values (judge agreement and breakdowns read `<name>_per_image`)."""
    return {f"{name}_per_image": per_pair(name, x).tolist()}
