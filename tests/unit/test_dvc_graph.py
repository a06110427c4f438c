"""The DVC graph pays for a change once: per-model stages, a recipe key without presentation, flat metrics.

Pure file checks (no DVC run): dvc.yaml's per-model outs are the layout sentinel.per_model computes,
generate depends on no model params (only on the recipe file), the recipe ignores display name and
licence but not steps or library versions, and reports/metrics.json holds only scalars per model.
"""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import yaml

from sentinel import config
from sentinel.executors import store
from sentinel.per_model import model_paths
from sentinel.report.flat import flat_metrics, metrics_json

ROOT = Path(__file__).resolve().parents[2]
PER_MODEL = ("recipe", "generate", "score", "latency")


def _dvc() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))


def _params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))


def _fill(template: str, params: dict, key: str) -> str:
    def value(m: re.Match) -> str:
        if m.group(1) == "key":
            return key
        node = params
        for part in m.group(1).split("."):
            node = node[part]
        return str(node)
    return re.sub(r"\$\{([^}]+)\}", value, template)


def _out_paths(stage: dict) -> list[str]:
    return [next(iter(o)) if isinstance(o, dict) else o for o in stage.get("outs", [])]


def test_per_model_stages_iterate_the_model_keys():
    stages = _dvc()["stages"]
    for name in PER_MODEL:
        assert stages[name]["foreach"] == "${model}", name
        assert stages[name]["do"]["cmd"] == f"python stages/{name}.py ${{key}}"


def test_dvc_yaml_outs_are_the_per_model_layout():
    """dvc.yaml templates the layout, sentinel.per_model computes it: they must be the same paths."""
    params, stages = _params(), _dvc()["stages"]
    paths = config.build(config.PathsConfig, params["paths"], "paths")
    for key in params["model"]:
        mp = model_paths(paths, key)
        outs = {name: {_fill(o, params, key) for o in _out_paths(stages[name]["do"])} for name in PER_MODEL}
        assert outs["recipe"] == {str(mp.recipe)}
        assert outs["generate"] == {str(mp.images), str(mp.records), str(mp.timings)}
        assert outs["score"] == {str(mp.score)}
        assert outs["latency"] == {str(mp.latency)}


def test_image_stages_depend_on_the_recipe_file_not_on_model_params():
    stages = _dvc()["stages"]
    for name in ("generate", "score", "latency"):
        params = [p if isinstance(p, str) else next(iter(p)) for p in stages[name]["do"]["params"]]
        assert not [p for p in params if p == "model" or p.startswith("model.")], name
    assert "${paths.recipes}/${key}.json" in stages["generate"]["do"]["deps"]


def test_only_the_flat_file_is_a_metric_and_timings_are_cached():
    dvc = _dvc()
    declared = [next(iter(m)) if isinstance(m, dict) else m for s in dvc["stages"].values()
                for m in (s.get("do", s).get("metrics") or [])]
    # One flat metrics file per family: images, and the media families' when a suite names them.
    assert declared == ["${paths.metrics}", "${video.paths.metrics}", "${tryon.paths.metrics}"]
    gen_outs = dvc["stages"]["generate"]["do"]["outs"]
    assert "${paths.model_timings}/${key}.jsonl" in gen_outs  # a plain string: cached by DVC
    ignored = [x for x in (ROOT / ".gitignore").read_text().splitlines() if x and not x.startswith("#")]
    assert not [x for x in ignored if "timings" in x]  # never uncached and git-ignored at once


def test_dvcignore_covers_bytecode_and_caches():
    lines = (ROOT / ".dvcignore").read_text().split()
    assert {"__pycache__/", "*.pyc", ".pytest_cache/", ".cache/"} <= set(lines)


def test_recipe_ignores_presentation_but_not_pixels(model_cfgs):
    cfg = next(iter(model_cfgs.values()))
    base = store.recipe(cfg)
    assert store.recipe(dataclasses.replace(cfg, display_name="Renamed", licence="MIT")) == base
    assert store.recipe(dataclasses.replace(cfg, steps=(cfg.steps or 1) + 1)) != base
    assert store.recipe(dataclasses.replace(cfg, batch_size=cfg.batch_size + 1)) != base
    assert {"torch", "diffusers", "numpy", "pillow"} <= set(base["libraries"])
    assert "display_name" not in base["config"] and "licence" not in base["config"]


def test_flat_metrics_are_scalars_keyed_by_model():
    board = {"models": [{"model": "a", "composite": 50.0, "composite_ci": [40.0, 60.0], "rank": 1,
                         "human": None, "failure_rate": 0.0, "plumbing": True, "categories": {"x": 1},
                         "display_name": "A"}]}
    flat = flat_metrics(board)
    assert flat == {"a": {"composite": 50.0, "composite_ci_low": 40.0, "composite_ci_high": 60.0, "rank": 1,
                          "failure_rate": 0.0}}
    assert list(json.loads(metrics_json(flat))["a"])[:3] == ["composite", "composite_ci_low", "composite_ci_high"]


def test_lock_holds_no_stage_that_dvc_yaml_no_longer_defines():
    """DVC keeps lock entries of renamed stages (the old all-model `generate`); they must not linger."""
    keys = list(_params()["model"])
    defined = {f"{n}@{k}" if "foreach" in s else n for n, s in _dvc()["stages"].items()
               for k in (keys if "foreach" in s else [None])}
    lock = yaml.safe_load((ROOT / "dvc.lock").read_text(encoding="utf-8"))
    assert set(lock["stages"]) <= defined


def test_lock_hashes_no_bytecode():
    """A dep folder's nfiles counts source files only (.dvcignore), so the lock is the same everywhere."""
    lock = yaml.safe_load((ROOT / "dvc.lock").read_text(encoding="utf-8"))
    for stage in lock["stages"].values():
        for dep in stage.get("deps", []):
            if "nfiles" in dep and dep["path"].startswith("src/"):
                on_disk = [p for p in (ROOT / dep["path"]).rglob("*") if p.is_file() and "__pycache__" not in p.parts]
                # hashed bytecode doubles nfiles (DVC issue #10225); a module or two added since the last repro does not
                assert dep["nfiles"] < 1.5 * len(on_disk), dep
