"""Stage `recipe@<model>`: write the model's image key, so that only a pixel-changing edit regenerates.

DVC re-runs this tiny stage on any change to `model.<name>` (display name included), but it rewrites
the same bytes unless the recipe changed, and `generate@<model>` depends on the file, not on the
params: DVC compares the file's hash and skips generation. What is in the key: executors.store.recipe.
"""
from __future__ import annotations

from pathlib import Path

from sentinel import config
from sentinel.executors.store import recipe
from sentinel.per_model import check_model, model_paths
from sentinel.provenance import write_json


def run(params_path: str | Path = "params.yaml", model: str | None = None) -> dict:
    cfg = config.load(params_path, sections=("model", "paths"))
    names = [model] if model is not None else list(cfg["model"])
    out = {}
    for name in names:
        check_model(cfg["model"], name)
        out[name] = recipe(cfg["model"][name])
        write_json(model_paths(cfg["paths"], name).recipe, out[name])
    return out
