"""Plumbing is derived from facts (sentinel.metrics.profile): smoke hashes, small reference sets, the smoke
profile; a suite that says `plumbing: false` refuses such a run, naming the file and its hash."""
from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from PIL import Image

from sentinel import config, validate
from sentinel.metrics import preference, preference_registry, profile

ROOT = Path(__file__).resolve().parents[2]


def _score(tmp_path: Path, **kw) -> SimpleNamespace:
    base = dict(profile="release", weights_manifest=None, inception_weights=str(tmp_path / "none-i"),
                clip_weights=str(tmp_path / "none-c"), reference_min_n=3, reference_min_px=32)
    return SimpleNamespace(**{**base, **kw})


def _refs(tmp_path: Path, sizes: dict[str, list[tuple[int, int]]]) -> SimpleNamespace:
    for cat, dims in sizes.items():
        (tmp_path / "data" / "reference" / cat).mkdir(parents=True)
        for i, wh in enumerate(dims):
            Image.new("RGB", wh).save(tmp_path / "data" / "reference" / cat / f"{i}.png")
    return SimpleNamespace(categories=tuple(sizes), reference={})


def test_small_or_low_resolution_reference_sets_are_plumbing(tmp_path):
    wl = _refs(tmp_path, {"big": [(40, 32)] * 3, "few": [(64, 64)] * 2, "tiny": [(64, 64), (64, 16), (64, 64)]})
    reasons = profile.reference_reasons(_score(tmp_path), tmp_path / "data", wl)
    assert len(reasons) == 2
    assert "reference set few" in reasons[0] and "2 images, fewer than score.reference_min_n=3" in reasons[0]
    assert "reference set tiny" in reasons[1] and "smallest image 16 px" in reasons[1]
    assert profile.reference_reasons(_score(tmp_path, reference_min_n=2, reference_min_px=16), tmp_path / "data",
                                     wl) == []


def test_a_file_with_a_smoke_hash_is_plumbing_and_named_with_its_hash(tmp_path, monkeypatch):
    smoke = tmp_path / "renamed-smoke.pt"
    smoke.write_bytes(b"seeded smoke weights")
    digest = hashlib.sha256(b"seeded smoke weights").hexdigest()  # the reference: hashlib, not our helper
    monkeypatch.setitem(profile.SMOKE_SHA256, digest, "a known smoke file")
    sc = _score(tmp_path, inception_weights=str(smoke))
    reasons = profile.weight_reasons(sc, missing_ok=True)
    assert reasons == [f"score.inception_weights: {smoke} has sha256 {digest}, a known smoke file"]
    assert profile.weight_reasons(sc)[1] == f"score.clip_weights: {tmp_path / 'none-c'} not found"
    assert profile.weight_reasons(_score(tmp_path, profile="smoke"), missing_ok=True) == [
        "score.profile: 'smoke' is the smoke profile (seeded random metric networks)"]


def test_weights_must_match_the_manifest_pin(tmp_path):
    (tmp_path / "w.pt").write_bytes(b"official")
    good = hashlib.sha256(b"official").hexdigest()
    manifest = tmp_path / "m.yaml"
    manifest.write_text(yaml.safe_dump({"files": [{"name": "w.pt", "url": "https://example.org/w.pt", "sha256": good}]}))
    sc = _score(tmp_path, inception_weights=str(tmp_path / "w.pt"), weights_manifest=str(manifest))
    assert profile.weight_reasons(sc, missing_ok=True) == []
    (tmp_path / "w.pt").write_bytes(b"tampered")
    assert f"not the {good} pinned by {manifest}" in profile.weight_reasons(sc, missing_ok=True)[0]
    assert "is not pinned by no manifest" in profile.weight_reasons(_score(
        tmp_path, inception_weights=str(tmp_path / "w.pt")), missing_ok=True)[0]


def test_a_non_plumbing_suite_refuses_smoke_weights_at_load_naming_file_and_hash(tmp_path, monkeypatch):
    smoke = tmp_path / "inception.pt"
    smoke.write_bytes(b"pretend smoke inception")
    digest = hashlib.sha256(b"pretend smoke inception").hexdigest()
    monkeypatch.setitem(profile.SMOKE_SHA256, digest, "a known smoke file")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["score"].update(inception_weights=str(smoke), clip_weights=str(tmp_path / "absent.pt"))
    params["suite"].update(name="2026-q4", plumbing=False)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(config.ConfigError) as e:
        config.load(path, sections=("suite", "score"))
    msg = str(e.value)
    assert "suite.plumbing: false (suite 2026-q4)" in msg and f"{smoke} has sha256 {digest}" in msg
    assert "score.profile: 'smoke' is the smoke profile" in msg
    params["suite"]["plumbing"] = True  # the same setup in a plumbing suite loads (and is labelled plumbing)
    path.write_text(yaml.safe_dump(params))
    assert config.load(path, sections=("suite", "score"))["score"].inception_weights == str(smoke)


def test_the_score_stage_check_refuses_any_reason_only_for_a_non_plumbing_suite():
    verdict = {"plumbing": True, "reasons": ["reference set x (d): 2 images, fewer than score.reference_min_n=3"]}
    with pytest.raises(config.ConfigError, match=r"suite.plumbing: false \(suite q\) refuses this run: reference set x"):
        profile.require_release(SimpleNamespace(name="q", plumbing=False), verdict)
    profile.require_release(SimpleNamespace(name="smoke", plumbing=True), verdict)
    profile.require_release(SimpleNamespace(name="q", plumbing=False), {"plumbing": False, "reasons": []})


def test_preference_models_are_checked_against_the_live_registry(monkeypatch):
    sc = config.build(config.ScoreConfig, {**yaml.safe_load((ROOT / "params.yaml").read_text())["score"],
                                           "preference_models": ["brightness"]}, "score")
    assert any("unknown 'brightness'" in p for p in validate.problems({"score": sc}))
    monkeypatch.setattr(preference_registry, "REGISTRY", dict(preference_registry.REGISTRY))
    preference.register("brightness", lambda path: None)
    assert validate.problems({"score": sc}) == []
