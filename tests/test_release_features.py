"""A release's feature statistics reproduce its published FID to 1e-9 relative, with the ten-line script
in releases/README.md, run exactly as written there (extracted from the README, executed with python).

The release folder is made the way `release cut` makes it (release/features.py `freeze`, after the score
stage), from a small project on real PNGs; tests/test_release_e2e.py checks the same on a real cut.
The statistics are checked against the stored features themselves (Σ = RᵀR equals np.cov of the rows),
and the n > d branch (eigh root) against metrics/fid.py on synthetic features.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import yaml

from readme_script import readme_script, run_script
from score_project import CATEGORIES, MIX, make_project
from sentinel.provenance import read_jsonl
from sentinel.release import features

pytest_plugins = ["metrics_fixtures"]


@pytest.fixture(scope="module")
def release(tmp_path_factory, smoke_params, image_sets, inception_weights, clip_weights):
    from sentinel import score

    root = make_project(tmp_path_factory.mktemp("project"), smoke_params, image_sets, inception_weights, clip_weights,
                        tmp_path_factory.mktemp("cache"))
    score.run(root / "params.yaml")
    rel = tmp_path_factory.mktemp("release")
    shutil.copy(root / "out" / "metrics.json", rel / "metrics.json")
    written = features.freeze(root, yaml.safe_load((root / "params.yaml").read_text()),
                              read_jsonl(root / "records.jsonl"), rel)
    return root, rel, written


def test_the_readme_script_is_ten_lines_and_reproduces_the_published_fid(release, tmp_path):
    _, rel, written = release
    assert written == [features.STATS, features.FEATURES]  # the smoke profile also stores the features
    assert len(readme_script().strip().splitlines()) == 10
    import json

    published = json.loads((rel / "metrics.json").read_text())["models"]["m"]["overall"]["fid"]
    got = run_script(rel, tmp_path)
    ours, printed, rel_diff = got["m"]
    assert printed == pytest.approx(published, rel=1e-11)
    assert abs(ours / published - 1) <= 1e-9 and rel_diff <= 1e-9, got


def test_stats_are_exactly_the_stored_features_moments_for_every_set(release):
    from sentinel.metrics import fid

    root, rel, _ = release
    stats, feats = np.load(rel / features.STATS), np.load(rel / features.FEATURES)
    names = [f"m/{c}" for c in CATEGORIES] + [f"reference/{c}" for c in CATEGORIES]
    assert {k.rsplit("/", 1)[0] for k in stats.files} == set(names)
    for name in names:
        f = feats[f"{name}/inception"].astype(np.float64)
        r = stats[f"{name}/sigma_root"]
        assert int(stats[f"{name}/n"]) == len(f) == len(feats[f"{name}/keys"]) == len(feats[f"{name}/clip"])
        assert np.allclose(stats[f"{name}/mu"], f.mean(axis=0), rtol=0, atol=1e-12)
        cov = np.cov(f, rowvar=False)
        assert np.abs(r.T @ r - cov).max() <= 1e-10 * np.abs(cov).max(), name
    assert int(stats["m/corporate_headshot/n"]) == MIX["corporate_headshot"]
    assert list(feats["m/corporate_headshot/keys"]) == sorted(feats["m/corporate_headshot/keys"])  # canonical
    import json

    cats = json.loads((rel / "metrics.json").read_text())["models"]["m"]["categories"]
    for c in CATEGORIES:  # the stored rows are the ones the published category FIDs came from
        again = fid.fid_from_features(feats[f"m/{c}/inception"], feats[f"reference/{c}/inception"])
        assert again == pytest.approx(cats[c]["fid"], rel=1e-12), c


def test_the_eigh_root_for_more_images_than_dimensions_gives_the_same_fid(tmp_path):
    """n > d: R is the eigh root of Σ (d x d); the README's formula on it equals metrics/fid.py."""
    from sentinel.metrics import fid

    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(300, 24)), rng.normal(0.3, 1.2, size=(200, 24)) @ rng.normal(size=(24, 24))
    sa, sb = features.set_stats(a), features.set_stats(b)
    assert sa["sigma_root"].shape == (24, 24) and features.set_stats(a[:20])["sigma_root"].shape == (20, 24)
    ra, rb = sa["sigma_root"], sb["sigma_root"]
    ours = (((sa["mu"] - sb["mu"]) ** 2).sum() + (ra ** 2).sum() + (rb ** 2).sum()
            - 2 * np.linalg.svd(ra @ rb.T, compute_uv=False).sum())
    assert ours == pytest.approx(fid.fid_from_features(a, b), rel=1e-9)
    assert np.abs(ra.T @ ra - np.cov(a, rowvar=False)).max() <= 1e-12
