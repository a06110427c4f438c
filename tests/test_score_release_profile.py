"""The release score profile: `suite=2026-q4` selects it, its weights are pinned by the committed manifest,
the smoke generator's files are the recorded smoke hashes, and a non-plumbing suite refuses them."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from sentinel import config
from sentinel.compose import compose
from sentinel.metrics import fetch, profile

pytest_plugins = ["metrics_fixtures"]
ROOT = Path(__file__).resolve().parents[1]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def test_the_quarterly_suite_selects_the_release_profile_pinned_by_the_manifest(tmp_path):
    params = compose(["suite=2026-q4"])
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    sc = config.load(tmp_path / "params.yaml")["score"]  # release weights not fetched here: still loads
    assert sc.profile == "release" and sc.kid_subset_size == 1000 and sc.weights_manifest == "conf/weights/release.yaml"
    assert sc.reference_min_n >= sc.kid_subset_size and sc.reference_min_px == 1024
    pins = {e.name: e.sha256 for e in fetch.read_manifest(ROOT / sc.weights_manifest)}
    assert {Path(sc.inception_weights).name, Path(sc.clip_weights).name} == set(pins)
    assert pins[Path(sc.inception_weights).name].startswith("6726825d")  # torch hub's name prefix of the file
    assert not set(pins.values()) & set(profile.SMOKE_SHA256)
    assert compose()["score"]["profile"] == "smoke"


def test_the_smoke_generator_writes_exactly_the_recorded_smoke_hashes(smoke_weights):
    for key in ("inception", "clip"):
        assert _sha256(smoke_weights[key]) in profile.SMOKE_SHA256, f"re-record profile.SMOKE_SHA256 ({key})"


def test_a_non_plumbing_suite_refuses_the_smoke_weights_before_scoring(smoke_params, smoke_weights, tmp_path):
    from sentinel import score

    params = json.loads(json.dumps(smoke_params))
    params["suite"].update(name="2026-q4", plumbing=False)
    params["score"].update(inception_weights=str(smoke_weights["inception"]), clip_weights=str(smoke_weights["clip"]))
    params["paths"]["model_scores"] = str(tmp_path / "scores")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(config.ConfigError) as e:
        score.run(tmp_path / "params.yaml", "tiny-sd")
    digest = _sha256(smoke_weights["inception"])
    assert f"{smoke_weights['inception']} has sha256 {digest}" in str(e.value)
    assert not (tmp_path / "scores").exists()
