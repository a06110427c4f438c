"""A new metric is one module plus one registry line: a toy metric registered here, in one place,
is scored by the real score_set on tiny PNGs and shows up, with its CI, in leaderboard.json and the
report. And the CI level is carried through: ci_level 0.9 moves every interval, consistently.

The toy's module is this file (TOY_POINT / TOY_REPLICATES); its registry line is `register(TOY)`.
Nothing else is touched: no edit to compute.py, leaderboard.py or markdown.py (CONTRIBUTING.md,
"Add a metric").
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from sentinel import config
from sentinel.metrics import registry
from sentinel.provenance import to_json

pytest_plugins = ["metrics_fixtures"]
SEED, SAMPLES = 3, 60


def toy_point(x: registry.Inputs) -> float:
    """Mean L2 norm of the generated images' Inception features (a stand-in for a real metric)."""
    return float(np.linalg.norm(x.gen["inception"], axis=1).mean())


def toy_replicates(x: registry.Inputs, counts: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x.gen["inception"], axis=1)
    return counts @ norms / counts.sum(axis=1)


TOY = registry.Metric("toy_norm", "inception", toy_point, toy_replicates, higher_is_better=True,
                      column="toy_norm", label="Toy norm")


@pytest.fixture
def toy():
    registry.register(TOY)  # the one registry line
    yield TOY
    registry.REGISTRY.pop(TOY.name)


@pytest.fixture(scope="module")
def sets(tmp_path_factory, image_sets):
    root = tmp_path_factory.mktemp("toy")
    gen = [Path(shutil.copy(p, root / f"g{i}.png")) for i, p in enumerate(image_sets["faces_b_noise8"][:5])]
    ref = [Path(shutil.copy(p, root / f"r{i}.png")) for i, p in enumerate(image_sets["faces_a"][:5])]
    return gen, ref


def _score(sets, inception_weights, clip_weights, level):
    from sentinel.metrics.compute import FeatureCache, score_set

    gen, ref = sets
    return score_set(gen, [f"a portrait, take {i}" for i in range(len(gen))], ref,
                     inception_weights=str(inception_weights), clip_arch="ViT-B-32", clip_weights=str(clip_weights),
                     batch_size=8, kid_subset_size=2, kid_subsets=4, seed=SEED, cache=_CACHE.setdefault(0, FeatureCache()),
                     bootstrap_samples=SAMPLES, ci_level=level)


_CACHE: dict = {}


def _reference_counts(n: int, sets) -> np.ndarray:
    """The documented resampling (metrics/bootstrap.py), re-derived: default_rng(stream seed).integers,
    bincount; the stream seed is score.seed's and the image keys' (metrics/streams.py)."""
    import hashlib

    keys = [f"{p.parent.name}/{p.name}" for p in sets[0]] + [f"ref:{p.parent.name}/{p.name}" for p in sets[1]]
    text = f"bootstrap:{SEED}" + "\n" + "\n".join(sorted(keys))
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    idx = np.random.default_rng(seed).integers(0, n, size=(SAMPLES, n))
    return np.stack([np.bincount(row, minlength=n) for row in idx])


def _board(overall: dict, root) -> dict:
    from sentinel.report.stage import build

    cfg = config.load(root / "params.yaml", sections=("suite", "model", "report", "paths", "cost"))
    model = next(iter(cfg["model"]))
    cfg["model"] = {model: cfg["model"][model]}
    human = {"likert_mean": 3.0, "likert_ci": [2.8, 3.2], "ci_level": overall["ci_level"], "simulated": True}
    score = {"models": {model: {"overall": overall, "categories": {}, "human": human, "plumbing": True}},
             "convention": {}}
    card = {k: getattr(cfg["cost"], k) for k in cfg["cost"].__dataclass_fields__}
    return build(cfg, score, {"models": {}, "price_card": card}, {"models": {}}, [])


def test_a_registered_toy_metric_reaches_leaderboard_json_and_the_report(toy, sets, inception_weights,
                                                                       clip_weights, root):
    from sentinel.metrics.compute import inception_features_cached
    from sentinel.report.markdown import render

    overall = _score(sets, inception_weights, clip_weights, 0.95)
    feats = inception_features_cached(sets[0], weights_path=str(inception_weights), batch_size=8,
                                      cache=_CACHE[0])
    norms = np.linalg.norm(feats, axis=1)
    expected_ci = np.quantile(_reference_counts(len(norms), sets) @ norms / len(norms), [0.025, 0.975])
    assert overall["toy_norm"] == pytest.approx(norms.mean(), rel=1e-12)
    assert [overall["ci"]["toy_norm"][k] for k in ("low", "high")] == pytest.approx(expected_ci, rel=1e-12)
    assert overall["ci"]["toy_norm"]["n_generated"] == 5 and overall["ci"]["toy_norm"]["n_reference"] == 5
    board = _board(overall, root)
    row = json.loads(to_json(board))["models"][0]  # leaderboard.json, as the report stage writes it
    assert row["toy_norm"] == pytest.approx(norms.mean()) and row["toy_norm_ci"] == pytest.approx(expected_ci)
    report = render(board, records=[])
    header = next(line for line in report.splitlines() if line.startswith("| # | model |"))
    assert "Toy norm ↑" in header.split(" | ")
    cells = next(line for line in report.splitlines() if line.startswith("| 1 |")).split(" | ")
    column = header.split(" | ").index("Toy norm ↑")
    assert cells[column] == f"{norms.mean():.3f} [{expected_ci[0]:.3f}, {expected_ci[1]:.3f}]"


def test_ci_level_0_9_narrows_every_interval_consistently(sets, inception_weights, clip_weights, root):
    wide, narrow = (_score(sets, inception_weights, clip_weights, lv) for lv in (0.95, 0.9))
    assert narrow["ci_level"] == 0.9
    for name in (m.name for m in registry.active({})):  # the metrics this run computes (optional ones are off)
        assert narrow[name] == wide[name], name  # the level moves intervals only
        w, n = wide["ci"][name], narrow["ci"][name]
        assert w["low"] <= n["low"] <= n["high"] <= w["high"], name
    boards = {lv: _board(o, root)["models"][0] for lv, o in ((0.95, wide), (0.9, narrow))}
    assert boards[0.9]["ci_level"] == 0.9 and boards[0.9]["composite_ci_level"] == 0.9
    z90, z95 = 1.6448536269514722, 1.959963984540054  # normal quantiles, from tables
    fid_w, fid_n = (b["fid_ci"][1] - b["fid_ci"][0] for b in (boards[0.95], boards[0.9]))
    se = {lv: boards[lv]["component_se"]["fid"] for lv in boards}
    assert se[0.9] == pytest.approx(fid_n / (2 * z90)) and se[0.95] == pytest.approx(fid_w / (2 * z95))
    hw = {lv: boards[lv]["composite_ci"][1] - boards[lv]["composite_ci"][0] for lv in boards}
    assert hw[0.9] < hw[0.95]


def test_a_metric_may_bring_its_own_interval_method(sets, inception_weights, clip_weights):
    """E.g. half-sampling (metrics/halfsample.py): `interval(inputs, level)` replaces the percentile interval."""
    def interval(x: registry.Inputs, level: float) -> dict:
        point = toy_point(x)
        return {"low": point - level, "high": point + level, "method": "toy: point +- level"}

    own = registry.Metric("toy_own", "inception", toy_point, None, True, "toy_own", "Toy own", interval=interval)
    registry.register(own)
    try:
        out = _score(sets, inception_weights, clip_weights, 0.9)
    finally:
        registry.REGISTRY.pop(own.name)
    ci = out["ci"]["toy_own"]
    assert (ci["low"], ci["high"]) == pytest.approx((out["toy_own"] - 0.9, out["toy_own"] + 0.9))
    assert ci["method"] == "toy: point +- level" and ci["n_generated"] == 5
