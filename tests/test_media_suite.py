"""End to end: `dvc exp run -S suite=smoke-media` on a copy of the project (issues 18 and 19).

One module-scoped project, as a fresh clone has it (`dvc pull`: the image stages' committed outputs),
runs the media suite once: the tiny Wan pipeline and the loopback fake video vendor, and the tiny
try-on pipeline, each generated, scored, priced, timed on Ray Serve and reported. The tests check
that every media stage ran and no image model was regenerated, that the reports carry cost per
video-second, p95 and both try-on protocols with n and intervals, and that forcing the generate and
score stages again gives byte-identical frames, results, records and score files.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from dvc_project import copy_project, project_env, run

pytestmark = pytest.mark.slow

VIDEO_MODELS, TRYON_MODELS = ("tiny-wan", "fake-video-api"), ("tiny-tryon",)
MEDIA_STAGES = ({"video_reference@video", "video_report@video", "tryon_report@tryon"}
                | {f"video_{s}@{m}" for s in ("generate", "score", "latency") for m in VIDEO_MODELS}
                | {f"tryon_{s}@{m}" for s in ("generate", "score", "latency") for m in TRYON_MODELS})
# What must come out byte-identical when the stages run again (timings, cost and latency may move).
DETERMINISTIC = ("outputs/video/reference", "outputs/video/clips", "outputs/video/records", "outputs/video/scores",
                 "outputs/tryon/results", "outputs/tryon/records", "outputs/tryon/scores")


def _ran_stages(stdout: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", stdout))


def _hashes(path: Path) -> dict[str, str]:
    return {str(f.relative_to(path)): hashlib.sha256(f.read_bytes()).hexdigest()
            for d in DETERMINISTIC for f in sorted((path / d).rglob("*")) if f.is_file()}


@pytest.fixture(scope="module")
def media(root, tmp_path_factory):
    env = project_env()
    path = copy_project(root, tmp_path_factory.mktemp("media"), env)
    run(["dvc", "pull", "-q"], path, env)  # the committed image outputs, as `dvc pull` on a fresh clone
    proc = run(["dvc", "exp", "run", "-S", "suite=smoke-media"], path, env, timeout=1500)
    return path, env, _ran_stages(proc.stdout)


def test_every_media_stage_runs_and_no_image_model_is_regenerated(media):
    _, _, ran = media
    assert MEDIA_STAGES <= ran, f"media stages that did not run: {sorted(MEDIA_STAGES - ran)}"
    image_work = sorted(s for s in ran - MEDIA_STAGES if s.startswith(("generate", "score", "latency")))
    assert image_work == [], f"the media suite re-ran image stages: {image_work}"


def test_the_video_report_has_every_model_with_cost_per_second_and_p95(media):
    path, _, _ = media
    board = json.loads((path / "reports/video/leaderboard.json").read_text())
    rows = {r["model"]: r for r in board["models"]}
    assert set(rows) == set(VIDEO_MODELS) and board["plumbing"] is True
    for m, r in rows.items():
        assert r["n_ok"] == r["n_jobs"] == 6, (m, r["n_ok"], r["n_jobs"])
        assert r["cost"]["cost_usd_per_video_second"] > 0, m
        assert r["latency_p95_s"] > 0 and 0 <= r["composite"] <= 100, m
    md = (path / "reports/video/report.md").read_text()
    assert "plumbing only" in md.lower() and all(m in md for m in VIDEO_MODELS)
    html = (path / "reports/video/report.html").read_text()
    shown = re.findall(r'<img[^>]+src="([^"]+)"', html)
    assert shown and all((path / "reports/video" / s).is_file() for s in shown), shown


def test_the_tryon_report_has_both_protocols_with_n_and_intervals_and_triptychs(media):
    path, _, _ = media
    board = json.loads((path / "reports/tryon/leaderboard.json").read_text())
    (row,) = board["models"]
    assert row["model"] == "tiny-tryon" and row["n_ok"] == row["n_jobs"] == 8
    assert row["cost_usd_per_tryon"] > 0 and row["latency_p95_s"] > 0
    paired, unpaired = row["protocols"]["paired"]["metrics"], row["protocols"]["unpaired"]["metrics"]
    assert {"ssim", "lpips", "fid", "kid"} <= set(paired) and {"fid", "kid"} <= set(unpaired)
    for name, metric in [*paired.items(), *unpaired.items()]:
        lo, hi = metric["ci"]
        assert metric["n"] == 4 and lo <= metric["value"] <= hi, (name, metric)
    html = (path / "reports/tryon/report.html").read_text()
    shown = re.findall(r'<img[^>]+src="([^"]+)"', html)
    assert len(shown) == 8 and all(s.startswith("data:image/png;base64,") for s in shown)  # inlined
    assert len(list((path / "reports/tryon/triptychs").rglob("*.png"))) == 8


def test_forcing_the_media_generate_and_score_stages_again_gives_identical_bytes(media):
    path, env, _ = media
    before = _hashes(path)
    assert any(k.startswith("outputs/video/clips/tiny-wan/") for k in before)
    assert any(k.startswith("outputs/tryon/results/tiny-tryon/") for k in before)
    again = ["video_reference@video", *(f"video_{s}@{m}" for s in ("generate", "score") for m in VIDEO_MODELS),
             *(f"tryon_{s}@{m}" for s in ("generate", "score") for m in TRYON_MODELS)]
    proc = run(["dvc", "repro", "--force", "--single-item", *again], path, env, timeout=1200)
    assert _ran_stages(proc.stdout) == set(again)
    after = _hashes(path)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert changed == [], f"a forced re-run changed: {changed[:10]}"
