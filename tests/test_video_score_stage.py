"""The video score stage end to end on synthetic clips with known answers (tests/video_project.py).

One model, four jobs: a static clip (frozen, not dynamic, no flicker), alternating black/white
frames (flicker and smoothness 0, a period-2 loop), a window sliding 2 px/frame (dynamic, smooth)
and a failed job; four reference clips. Expected values are closed forms or computed here
independently (Wilson by hand, FVD with scipy's sqrtm on the tiny encoder's features), never read
back from the stage. The stage is scored once per module (CLIP on CPU dominates, ~10-20 s).
"""
from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest

import video_project as vp
from sentinel.errors import ConfigError
from sentinel.provenance import read_jsonl, to_json, write_jsonl

MODEL = "tiny-wan"
PROMPTS = {"a-static": "a red chair in a studio", "b-alt": "a flashing light", "c-move": "a camera pan over sand"}


@pytest.fixture(scope="module")
def clip_weights(tmp_path_factory) -> Path:
    from sentinel.metrics import weights
    from sentinel.validate import SMOKE_SHA256, file_sha256

    repo = Path(__file__).resolve().parents[1] / "weights" / weights.clip_smoke_file(weights.SMOKE_CLIP_ARCH)
    if repo.is_file() and file_sha256(repo) in SMOKE_SHA256:
        return repo  # `make weights` wrote it: the same bytes the next line would write
    path = tmp_path_factory.mktemp("clip") / repo.name
    weights.make_clip_weights(path, weights.SMOKE_CLIP_ARCH, seed=0)
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory, clip_weights):
    from sentinel.video.tiny_encoder import make_tiny_weights

    root = tmp_path_factory.mktemp("video")
    tiny = root / "video-tiny-smoke.pt"
    sha = make_tiny_weights(tiny)
    tex = vp.texture()
    clips = {"a-static": vp.static(tex), "b-alt": vp.alternating(), "c-move": vp.sliding(tex, 2)}
    vp.write_model(root, MODEL, [
        {"job_id": "a-static", "category": "cat_a", "frames": clips["a-static"], "prompt": PROMPTS["a-static"]},
        {"job_id": "b-alt", "category": "cat_a", "frames": clips["b-alt"], "prompt": PROMPTS["b-alt"]},
        {"job_id": "c-move", "category": "cat_b", "frames": clips["c-move"], "prompt": PROMPTS["c-move"]},
        {"job_id": "d-failed", "category": "cat_b", "frames": None, "failure": "timeout: no clip in 60 s"}])
    refs = {"cat_a": [vp.sliding(vp.texture(1), 1, start=100 + 10 * i) for i in range(2)],
            "cat_b": [vp.sliding(vp.texture(2), -1, start=100 + 10 * i) for i in range(2)]}
    vp.write_reference(root, refs)
    params = vp.write_params(root, {MODEL: vp.model_config(MODEL)}, vp.smoke_score(tiny, sha, clip_weights))
    from sentinel.video import score_stage

    returned = score_stage.run(params, MODEL)[MODEL]
    written = root / vp.PATHS["scores"] / f"{MODEL}.json"
    assert written.read_text() == to_json(returned)
    return {"root": root, "params": params, "doc": json.loads(written.read_text()), "bytes": written.read_bytes(),
            "clips": clips, "refs": refs, "tiny": tiny, "sha": sha}


def wilson(k: int, n: int, z: float = 1.959963984540054) -> list[float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [centre - half, centre + half]


def test_known_answers_per_clip(project):
    rows = project["doc"]["per_clip"]
    assert sorted(rows) == ["a-static", "b-alt", "c-move"]  # the failed job has no clip row
    still, alt, move = rows["a-static"], rows["b-alt"], rows["c-move"]
    assert still["frozen"] is True and still["dynamic_degree"] is False
    assert still["temporal_flickering"] == 1.0 and still["motion_smoothness"] == 1.0
    assert still["subject_consistency"] == pytest.approx(1.0, abs=1e-6)  # identical frames, identical features
    assert alt["temporal_flickering"] == 0.0 and alt["motion_smoothness"] == 0.0  # maximal flicker
    assert alt["looping"] is True and alt["loop_period"] == 2 and alt["frozen"] is False
    assert move["dynamic_degree"] is True and move["frozen"] is False and move["looping"] is False
    x = project["clips"]["c-move"].astype(np.float64)
    assert move["temporal_flickering"] == pytest.approx((255 - np.abs(np.diff(x, axis=0)).mean()) / 255, abs=1e-12)
    assert move["mean_flow_px"][0] == pytest.approx(2.0, abs=0.3)
    for r in rows.values():
        assert r["clip_score"] == pytest.approx(np.mean(r["clip_score_per_frame"]))
        assert len(r["clip_score_per_frame"]) == vp.FRAMES and 0.0 <= r["clip_score"] <= 100.0


def test_model_summary_counts_failures_and_uses_wilson_for_rates(project):
    doc = project["doc"]
    assert (doc["n_jobs"], doc["n_ok"], doc["n_failed"]) == (4, 3, 1)
    assert doc["failures_by_cause"] == {"timeout": 1} and doc["failed_jobs"] == ["d-failed"]
    assert doc["delivered_fraction"] == 0.75 and "worst value" in doc["failures"]
    dims = doc["dimensions"]
    for name in ("frozen", "looping", "dynamic_degree"):
        assert dims[name]["value"] == pytest.approx(1 / 3) and dims[name]["n"] == 3
        assert dims[name]["ci"] == pytest.approx(wilson(1, 3), abs=1e-9)
    flicker = [doc["per_clip"][j]["temporal_flickering"] for j in ("a-static", "b-alt", "c-move")]
    assert dims["temporal_flickering"]["value"] == pytest.approx(np.mean(flicker))
    lo, hi = dims["temporal_flickering"]["ci"]
    assert min(flicker) <= lo <= dims["temporal_flickering"]["value"] <= hi <= max(flicker)
    assert doc["plumbing"] is True and doc["note"].startswith("plumbing only")


def test_fvd_against_an_independent_computation(project):
    from scipy import linalg

    from sentinel.video.tiny_encoder import TinyVideoEncoder

    enc = TinyVideoEncoder(project["tiny"], project["sha"])
    gen = np.concatenate([enc.features(project["clips"][j][None, :8]) for j in ("a-static", "b-alt", "c-move")])
    ref = np.concatenate([enc.features(c[None, :8]) for cat in ("cat_a", "cat_b") for c in project["refs"][cat]])
    gen, ref = gen.astype(np.float64), ref.astype(np.float64)
    s1, s2 = np.cov(ref, rowvar=False, bias=True), np.cov(gen, rowvar=False, bias=True)
    covmean = linalg.sqrtm(s1 @ s2).real
    expected = float(np.sum((ref.mean(0) - gen.mean(0)) ** 2) + np.trace(s1 + s2 - 2 * covmean))
    fvd = project["doc"]["fvd"]
    assert fvd["value"] == pytest.approx(expected, rel=1e-5)
    assert (fvd["n"], fvd["n_reference"], fvd["ci"]) == (3, 4, None)  # < 4 clips a side: no half-sample CI
    conv = project["doc"]["convention"]["fvd"]
    assert conv["weights_sha256"] == project["sha"] and conv["plumbing"] is True and "first 8 frames" in conv[
        "frames_used"]
    assert project["doc"]["convention"]["clip_score"]["weights_sha256"]


def test_same_inputs_give_the_same_bytes_whatever_the_record_order(project):
    from sentinel.video import score_stage
    from sentinel.video.stage_params import load

    rec = project["root"] / vp.PATHS["records"] / f"{MODEL}.jsonl"
    rows = read_jsonl(rec)
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    assert shuffled != rows
    write_jsonl(rec, shuffled)
    try:
        score_stage.run(project["params"], MODEL)
        again = (project["root"] / vp.PATHS["scores"] / f"{MODEL}.json").read_bytes()
    finally:
        write_jsonl(rec, rows)
    assert again == project["bytes"]


def test_the_tiny_encoder_file_is_the_pinned_smoke_default(project):
    from sentinel.video.stage_params import TINY_SMOKE_SHA256, VideoScoreConfig

    assert project["sha"] == TINY_SMOKE_SHA256 == VideoScoreConfig().fvd_weights_sha256


def test_bad_inputs_fail_before_scoring_and_name_the_file(project, tmp_path):
    from sentinel.video import score_stage
    from sentinel.video.stage_params import load

    with pytest.raises(ConfigError, match="not in video.models"):
        score_stage.run(project["params"], "nope")
    model = {MODEL: vp.model_config(MODEL)}
    bad = vp.write_params(tmp_path, model, vp.smoke_score(project["tiny"], "0" * 64, "x.pt"))
    vp.write_model(tmp_path, MODEL, [{"job_id": "a-static", "category": "cat_a", "frames": project["clips"]["b-alt"]}])
    with pytest.raises(ValueError, match="does not match the pinned"):
        score_stage.run(bad, MODEL)
    assert not (tmp_path / vp.PATHS["scores"] / f"{MODEL}.json").exists()
    ok = vp.write_params(tmp_path, model, vp.smoke_score(project["tiny"], project["sha"], "x.pt"))
    with pytest.raises(FileNotFoundError, match="manifest.json: missing; run video-reference first"):
        score_stage.run(ok, MODEL)
    vp.write_reference(tmp_path, {"cat_a": project["refs"]["cat_a"]})
    clip = tmp_path / vp.PATHS["clips"] / MODEL / "a-static.png"
    clip.write_bytes(clip.read_bytes() + b"x")  # bytes no longer the record's
    with pytest.raises(ValueError, match="not the record's"):
        score_stage.run(ok, MODEL)
    (tmp_path / vp.PATHS["records"] / f"{MODEL}.jsonl").unlink()
    with pytest.raises(FileNotFoundError, match=f"{MODEL}.jsonl"):
        score_stage.run(ok, MODEL)
    with pytest.raises(ConfigError, match="video.score.fvd_frames: must be >= 1"):
        score_stage.run(vp.write_params(tmp_path, model, {"fvd_frames": 0}), MODEL)


