"""Releases with media families (video: issue 18, try-on: issue 19): what `cut` freezes and records,
how `verify` re-runs them, and which tolerance each media number gets.

The media workspace here is synthetic (a small git + DVC project whose outputs are written by the
test, with the layout of conf/video and conf/tryon), so the cut runs for real (git and `dvc status`
preflight, copying, hashing, manifest, changelog) in seconds; only the image suite's feature
statistics (release/features.py, Inception on the image sets) are left out, as they are no part of
the media families. Expected hashes are computed here with hashlib, not with the code under test.
The last two tests (slow tier) run the real media stages of the smoke-media suite on tiny outputs
and re-score them as `verify --rescore` does: bit-exact on the same machine, and a number moved in a
frozen input file is caught at its address.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sentinel.provenance import dvc_dir_md5
from sentinel.release import cut as cut_mod
from sentinel.release import media
from sentinel.release.compare import compare_tree
from sentinel.release.layout import ReleaseError, load_release
from sentinel.release.rerun import STAGES, scratch_params, stage_plan
from sentinel.release.tolerances import Context, rule_for, tolerance_for
from sentinel.release.verify import manifest_checks

SAME = Context(same_platform=True, remeasured=False)
REMEASURED = Context(same_platform=False, remeasured=True)
VIDEO_MODELS, TRYON_MODELS = ("tiny-wan", "video-api-a"), ("tiny-tryon",)
RID = "2026-Q4-media"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _family_paths(family: str, outputs: str) -> dict:
    base = {"records": f"outputs/{family}/records", "timings": f"outputs/{family}/timings",
            "scores": f"outputs/{family}/scores", "latency": f"outputs/{family}/latency",
            "leaderboard": f"reports/{family}/leaderboard.json", "metrics": f"reports/{family}/metrics.json",
            "report": f"reports/{family}/report.md", "report_html": f"reports/{family}/report.html"}
    return {outputs: f"outputs/{family}/{outputs}", **base}


def _params(with_media: bool = True) -> dict:
    params = {
        "suite": {"name": "smoke-media" if with_media else "smoke", "plumbing": True},
        "model": {"tiny-sd": {"steps": 2}},
        "paths": {"data": "data", "images": "outputs/generate/images", "records": "outputs/generate/records.jsonl",
                  "timings": "outputs/generate/timings.jsonl", "score": "outputs/score/metrics.json",
                  "cost": "outputs/cost/cost.json", "latency": "outputs/latency/latency.json",
                  "leaderboard": "reports/leaderboard.json", "report": "reports/report.md"},
        "video": {"models": {}, "report": []}, "tryon": {"models": {}, "report": []},
    }
    if with_media:
        params["video"] = {"models": {m: {"steps": 2} for m in VIDEO_MODELS}, "report": ["video"],
                           "workload": {"jobs": "workloads/video-smoke.csv"},
                           "score": {"encoder_weights": "weights/video-encoder.pt"},
                           "paths": {"reference": "outputs/video/reference", **_family_paths("video", "clips")}}
        params["tryon"] = {"models": {m: {"steps": 2} for m in TRYON_MODELS}, "report": ["tryon"],
                           "workload": {"jobs": "workloads/tryon-smoke.csv", "pairs": "workloads/pairs.json"},
                           "paths": {**_family_paths("tryon", "results"), "triptychs": "reports/tryon/triptychs"}}
    return params


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)


def _outputs(root: Path, params: dict) -> dict:
    """Every stage output of the synthetic suite, and the dvc.lock entries of the per-model folders."""
    lock = {"schema": "2.0", "stages": {}}
    p = params["paths"]
    image = b"\x89PNG image tiny-sd/j1"
    _write(root / p["images"] / "tiny-sd/j1.png", image)
    _write(root / p["records"], _jsonl([{"model": "tiny-sd", "job_id": "j1", "image": "tiny-sd/j1.png",
                                         "sha256": _sha(image), "status": "ok"}]))
    _write(root / p["timings"], _jsonl([{"model": "tiny-sd", "job_id": "j1", "wall_s": 0.5}]))
    for key in ("score", "cost", "latency"):
        _write(root / p[key], json.dumps({"models": {"tiny-sd": {key: 1.0}}}))
    _write(root / p["leaderboard"], json.dumps({"models": [{"model": "tiny-sd", "composite": 50.0}]}))
    _write(root / p["report"], "# report\n")
    lock["stages"]["generate@tiny-sd"] = {"cmd": "x", "outs": [
        {"path": f"{p['images']}/tiny-sd", "md5": dvc_dir_md5(root / p["images"] / "tiny-sd"), "nfiles": 1}]}
    for family in media.families(params):
        fp = params[family]["paths"]
        outputs, key = media.FAMILIES[family].outputs, media.FAMILIES[family].file_key
        for i, m in enumerate(params[family]["models"]):
            rows = []
            for job in ("j1", "j2"):
                data = f"\x89PNG {family} {m} {job}".encode()
                _write(root / fp[outputs] / m / f"{job}.png", data)
                rows.append({"model": m, "job_id": job, "status": "ok", key: f"{m}/{job}.png", "sha256": _sha(data),
                             "seed": i})
            rows.append({"model": m, "job_id": "j3", "status": "failed", "failure": "GenerationFailed: x"})
            _write(root / fp["records"] / f"{m}.jsonl", _jsonl(rows))
            _write(root / fp["timings"] / f"{m}.jsonl", _jsonl([{"model": m, "job_id": "j1", "wall_s": 1.5}]))
            _write(root / fp["scores"] / f"{m}.json", json.dumps({"model": m, "quality": 0.25 + i}))
            _write(root / fp["latency"] / m / "latency.json", json.dumps({"latency_p95_s": 2.0 + i}))
            if i == 0:
                _write(root / fp["latency"] / m / "requests.jsonl", _jsonl([{"job_id": "j1", "latency_s": 2.0}]))
            lock["stages"][f"{family}_generate@{m}"] = {"cmd": "x", "outs": [
                {"path": f"{fp[outputs]}/{m}", "md5": dvc_dir_md5(root / fp[outputs] / m), "nfiles": 2},
                {"path": f"{fp['records']}/{m}.jsonl", "md5": "0" * 32, "size": 1}]}
        _write(root / fp["leaderboard"], json.dumps({"models": [{"model": m, "composite": 40.0, "latency_p95_s": 2.0}
                                                                 for m in params[family]["models"]]}))
        _write(root / fp["metrics"], json.dumps({m: {"quality": 0.25, "cost_usd_per_second": 0.01}
                                                 for m in params[family]["models"]}))
        _write(root / fp["report"], f"# {family}\n")
    return lock


def _project(tmp: Path, with_media: bool = True) -> tuple[Path, dict]:
    root = tmp / "project"
    root.mkdir()
    params = _params(with_media)
    lock = _outputs(root, params)
    _write(root / "params.yaml", yaml.safe_dump(params, sort_keys=False))
    _write(root / "dvc.lock", yaml.safe_dump(lock, sort_keys=False))
    _write(root / "dvc.yaml", "stages: {}\n")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           **{k: v for k, v in __import__("os").environ.items() if k in ("PATH", "HOME", "DVC_NO_ANALYTICS")}}
    for cmd in (["git", "init", "-q"], [sys.executable, "-m", "dvc", "init", "-q"], ["git", "add", "-A"],
                ["git", "commit", "-qm", "results"]):
        subprocess.run(cmd, cwd=root, check=True, capture_output=True, env=env)
    return root, params


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A real `release cut` of the synthetic media workspace (no push: it has no DVC remote)."""
    root, params = _project(tmp_path_factory.mktemp("media"))
    patch = pytest.MonkeyPatch()
    # the image suite's Inception feature statistics are no part of the media families (see docstring)
    patch.setattr(cut_mod.feats, "freeze", lambda *a, **k: [])
    try:
        target = cut_mod.cut(root, RID, push=False)
    finally:
        patch.undo()
    return root, params, target


def test_cut_freezes_and_hashes_every_media_file_and_records_each_models_md5(released):
    root, params, rel = released
    manifest = json.loads((rel / "manifest.json").read_text())
    expected = {"video/leaderboard.json", "video/metrics.json", "video/report.md",
                "tryon/leaderboard.json", "tryon/metrics.json", "tryon/report.md",
                "video/latency/tiny-wan/requests.jsonl", "tryon/latency/tiny-tryon/requests.jsonl"}
    # report.html absent (optional), requests.jsonl only for each family's first model (optional)
    for family, names in (("video", VIDEO_MODELS), ("tryon", TRYON_MODELS)):
        for m in names:
            expected |= {f"{family}/scores/{m}.json", f"{family}/records/{m}.jsonl", f"{family}/timings/{m}.jsonl",
                         f"{family}/latency/{m}/latency.json"}
    frozen = {n for n in manifest["files"] if n.startswith(("video/", "tryon/"))}
    assert frozen == expected
    for name in expected:  # byte-identical copies, hashed as the image files are
        family, rest = name.split("/", 1)
        paths, (key, _, tail) = params[family]["paths"], rest.partition("/")
        top = {"leaderboard.json": "leaderboard", "metrics.json": "metrics", "report.md": "report"}
        workspace = root / (f"{paths[key]}/{tail}" if tail else paths[top[key]])
        assert (rel / name).read_bytes() == workspace.read_bytes(), name
        assert manifest["files"][name] == _sha((rel / name).read_bytes()), name
    lock = yaml.safe_load((root / "dvc.lock").read_text())["stages"]
    for family, folder, names in (("video", "clips", VIDEO_MODELS), ("tryon", "results", TRYON_MODELS)):
        block = manifest["media"][family]
        assert block["path"] == f"outputs/{family}/{folder}" and block["nfiles"] == 2 * len(names)
        assert block["models"] == {m: {"md5": lock[f"{family}_generate@{m}"]["outs"][0]["md5"], "nfiles": 2}
                                   for m in names}
        assert all(v["md5"] == dvc_dir_md5(root / block["path"] / m) for m, v in block["models"].items())
    fingerprint = json.loads((rel / "fingerprint.json").read_text())
    clip = root / "outputs/video/clips/tiny-wan/j1.png"
    assert fingerprint["media"]["video"]["tiny-wan/j1.png"] == _sha(clip.read_bytes())
    assert len(fingerprint["media"]["tryon"]) == 2  # the failed job has no output
    assert fingerprint["weights"]["video.score.encoder_weights"] == "(missing)"
    assert fingerprint["workload"]["tryon"]["pairs"] == {"path": "workloads/pairs.json", "sha256": "(missing)"}
    assert "- Video: 4 files from 2 model(s)" in (root / "releases/CHANGELOG.md").read_text()
    loaded = load_release(rel)["media"]
    assert set(loaded) == {"video", "tryon"} and loaded["video"]["scores"]["video-api-a"]["quality"] == 1.25


def test_a_release_without_media_models_is_cut_exactly_as_before(tmp_path):
    """The image part of the manifest is unchanged and there is no media block or folder."""
    root, params = _project(tmp_path, with_media=False)
    patch = pytest.MonkeyPatch()
    patch.setattr(cut_mod.feats, "freeze", lambda *a, **k: [])
    try:
        rel = cut_mod.cut(root, "2026-Q4-smoke", push=False)
    finally:
        patch.undo()
    manifest = json.loads((rel / "manifest.json").read_text())
    committed = json.loads((Path(__file__).parents[1] / "releases/2026-Q4-smoke-r3/manifest.json").read_text())
    assert set(manifest) == set(committed)  # the same keys as a release cut before media existed
    assert set(manifest["images"]) == set(committed["images"]) and manifest["images"]["nfiles"] == 1
    assert not (rel / "video").exists() and not (rel / "tryon").exists()
    assert "media" not in json.loads((rel / "fingerprint.json").read_text())


def test_cut_refuses_a_clip_that_does_not_match_its_record(tmp_path):
    root, params = _project(tmp_path)
    _write(root / "outputs/video/clips/video-api-a/j2.png", b"not the generated clip")
    with pytest.raises(ReleaseError, match=r"1 video output\(s\) .* \(first: video-api-a/j2.png\)"):
        media.check_outputs(root, params)


def test_a_media_file_edited_after_the_cut_is_reported_as_edited(released, tmp_path):
    root, params, rel = released
    import shutil

    copy = tmp_path / RID
    shutil.copytree(rel, copy)
    path = copy / "tryon/scores/tiny-tryon.json"
    doc = json.loads(path.read_text())
    doc["quality"] += 0.1
    path.write_text(json.dumps(doc))
    (copy / "video/latency/video-api-a/latency.json").unlink()
    status = {c.address: c.status for c in manifest_checks(copy, json.loads((copy / "manifest.json").read_text()))}
    assert status["manifest:tryon/scores/tiny-tryon.json"] == "edited after cut"
    assert status["manifest:video/latency/video-api-a/latency.json"] == "missing"
    assert status["manifest:video/leaderboard.json"] == "ok"
    assert [a for a, s in status.items() if s != "ok"] == ["manifest:tryon/scores/tiny-tryon.json",
                                                          "manifest:video/latency/video-api-a/latency.json"]


def test_scratch_params_move_the_media_paths_and_rescore_reads_the_published_inputs(tmp_path):
    params, work, rel = _params(), tmp_path / "work", tmp_path / "releases" / RID
    fetched = {"video": tmp_path / "fetch/video-clips", "tryon": tmp_path / "fetch/tryon-results"}
    out = scratch_params(params, work, "rescore", rel, tmp_path / "fetch/images", fetched)
    v, t = out["video"]["paths"], out["tryon"]["paths"]
    assert v["clips"] == str(fetched["video"]) and t["results"] == str(fetched["tryon"])
    for family, paths in (("video", v), ("tryon", t)):
        for key in ("records", "timings", "latency"):  # the frozen copies are the inputs
            assert paths[key] == str(rel.resolve() / family / key), key
    for key in ("scores", "leaderboard", "metrics", "report", "report_html"):  # re-made, in the scratch folder
        assert v[key] == str(work / "outputs" / params["video"]["paths"][key]), key
    assert v["reference"] == str(work / "outputs/outputs/video/reference")
    assert t["triptychs"] == str(work / "outputs/reports/tryon/triptychs")
    assert params["video"]["paths"]["clips"] == "outputs/video/clips"  # the release's params are not touched
    regen = scratch_params(params, work, "regenerate", rel, None)
    assert all(value.startswith(str(work / "outputs")) for f in ("video", "tryon")
               for value in regen[f]["paths"].values())
    empty = scratch_params(_params(with_media=False), work, "rescore", rel, tmp_path)
    assert empty["video"] == {"models": {}, "report": []}  # no media models: nothing to move


def test_the_rerun_plan_adds_each_familys_stages_with_their_models():
    params = _params()
    assert stage_plan(params, "rescore") == [
        *((s, None) for s in STAGES["rescore"]),
        ("video-reference", None), ("video-score", "tiny-wan"), ("video-score", "video-api-a"), ("video-report", None),
        ("tryon-score", "tiny-tryon"), ("tryon-report", None)]
    assert stage_plan(params, "regenerate") == [
        *((s, None) for s in STAGES["regenerate"]),
        ("video-reference", None), ("video-generate", "tiny-wan"), ("video-generate", "video-api-a"),
        ("video-score", "tiny-wan"), ("video-score", "video-api-a"), ("video-latency", "tiny-wan"),
        ("video-latency", "video-api-a"), ("video-report", None),
        ("tryon-generate", "tiny-tryon"), ("tryon-score", "tiny-tryon"), ("tryon-latency", "tiny-tryon"),
        ("tryon-report", None)]
    assert stage_plan(_params(with_media=False), "rescore") == [(s, None) for s in STAGES["rescore"]]
    from sentinel.cli import STAGES as CLI_STAGES

    assert {name for name, _ in stage_plan(params, "regenerate")} <= set(CLI_STAGES)


def test_run_stage_passes_the_model_to_the_stage(root, tmp_path):
    """The real per-model `generate` stage, asked for a model the params lack, names it before any work."""
    from sentinel.release.rerun import run_stage

    error = run_stage(root, "generate", root / "params.yaml", tmp_path / "logs", "no-such-model")
    assert error.startswith("stage `generate@no-such-model` exited"), error
    assert "model 'no-such-model': not in params.yaml's model section" in error
    assert "no-such-model" in (tmp_path / "logs/generate@no-such-model.log").read_text()


@pytest.mark.parametrize("address", [
    "video.leaderboard:models.tiny-wan.latency_p95_s", "video.leaderboard:models.tiny-wan.cost_usd_per_video_second",
    "video.metrics:tiny-wan.latency_p95_s", "tryon.metrics:tiny-tryon.cost_usd_per_image",
    "tryon.leaderboard:models.tiny-tryon.goodput_fraction", "video.latency:tiny-wan.models.tiny-wan.latency_p95_s",
    "video.leaderboard:models.tiny-wan.cold_start_s", "tryon.latency:tiny-tryon.achieved_rate_rps"])
def test_media_timing_rows_are_timing_class(address):
    assert rule_for(address).depends_on == "timing", rule_for(address)
    assert tolerance_for(address, SAME).kind == "exact"  # recomputed from the published timings
    assert tolerance_for(address, REMEASURED).kind in ("ratio", "skip")


@pytest.mark.parametrize("address", [
    "video.scores:tiny-wan.overall.fvd", "video.scores:tiny-wan.overall.text_alignment", "tryon.scores:tiny-tryon.ssim",
    "tryon.scores:tiny-tryon.lpips_ci.0", "video.leaderboard:models.tiny-wan.composite",
    "video.metrics:tiny-wan.flicker", "tryon.metrics:tiny-tryon.garment_fidelity"])
def test_media_quality_rows_are_strict_on_the_same_platform_and_banded_elsewhere(address):
    assert rule_for(address).depends_on == "platform", rule_for(address)
    assert tolerance_for(address, SAME).kind == "exact"
    assert tolerance_for(address, Context(same_platform=False, remeasured=False)).kind == "band"


def test_media_identities_and_counts_are_always_exact():
    for address in ("video.clips:tiny-wan/j1.png", "tryon.results:tiny-tryon/j1.png", "video.records:tiny-wan/j1.fps",
                    "video.scores:tiny-wan.overall.n_clips", "video.latency:tiny-wan.config.latency.slo_s"):
        assert tolerance_for(address, REMEASURED).kind == "exact", address
    for field in ("sha256", "frames_sha256"):  # bit-exact bytes on the same platform; other hardware: the band
        assert tolerance_for(f"video.records:tiny-wan/j1.{field}", SAME).kind == "exact"
        assert tolerance_for(f"video.records:tiny-wan/j1.{field}", REMEASURED).kind == "skip"


def test_media_checks_are_addressed_by_family_file_model_and_key(tmp_path):
    """media.compare reads the re-run's files from the scratch params and names each number."""
    pub = {"video": {"models": ["tiny-wan"], "records": [], "scores": {"tiny-wan": {"overall": {"fvd": 10.0}}},
                     "latency": {"tiny-wan": {"latency_p95_s": 2.0}},
                     "leaderboard.json": {"models": [{"model": "tiny-wan", "latency_p95_s": 2.0, "composite": 5.0}]},
                     "metrics.json": {"tiny-wan": {"fvd": 10.0}}}}
    paths = {"scores": str(tmp_path / "scores"), "latency": str(tmp_path / "latency"),
             "leaderboard": str(tmp_path / "lb.json"), "metrics": str(tmp_path / "m.json"), "records": ""}
    _write(tmp_path / "scores/tiny-wan.json", json.dumps({"overall": {"fvd": 10.0 + 1e-12}}))
    _write(tmp_path / "lb.json", json.dumps(pub["video"]["leaderboard.json"]))
    done = ["score", "video-reference", "video-score@tiny-wan", "video-report"]
    checks = {c.address: c.status for c in media.compare(pub, {"video": {"paths": paths}}, "rescore", SAME, done)}
    assert checks == {"video.scores:tiny-wan.overall.fvd": "mismatch",  # same platform: bit-exact
                      "video.leaderboard:models.tiny-wan.model": "ok",
                      "video.leaderboard:models.tiny-wan.latency_p95_s": "ok",
                      "video.leaderboard:models.tiny-wan.composite": "ok",
                      "video.metrics:": "absent"}  # the report stage ran but wrote no metrics.json
    assert [c.address for c in compare_tree("video.clips", {"tiny-wan/j1.png": "aa"}, {"tiny-wan/j1.png": "bb"},
                                            SAME)] == ["video.clips:tiny-wan/j1.png"]


def test_verify_fetches_each_models_clips_and_results_by_their_dvc_md5(tmp_path):
    """The cut's `media` block is enough to check the outputs out of the DVC cache (no remote here)."""
    from sentinel.release.rerun import fetch_media

    root, params = _project(tmp_path)
    expected = {}
    for family in media.families(params):
        folder = root / params[family]["paths"][media.FAMILIES[family].outputs]
        expected[family] = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.png")}
        for cmd in (["git", "rm", "-r", "-q", "--cached", str(folder)],  # DVC tracks them instead: into its cache
                    [sys.executable, "-m", "dvc", "add", "-q", *(str(folder / m) for m in params[family]["models"])]):
            subprocess.run(cmd, cwd=root, check=True, capture_output=True)
    manifest = {"media": media.manifest_block(params, yaml.safe_load((root / "dvc.lock").read_text()), None)}
    fetched = fetch_media(root, manifest, params, tmp_path / "scratch")
    assert set(fetched) == {"video", "tryon"}
    for family, folder in fetched.items():
        got = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.png")}
        assert got == expected[family], family
    manifest["media"]["tryon"]["models"]["tiny-tryon"]["md5"] = None
    with pytest.raises(ReleaseError, match=r"no tryon-results md5 for tiny-tryon \(manifest.json: media.tryon"):
        fetch_media(root, manifest, params, tmp_path / "scratch2")
    with pytest.raises(ReleaseError, match="has no `media.video` block"):
        fetch_media(root, {}, params, tmp_path / "scratch3")


# --- verify --rescore's media part, for real: the media stages on tiny outputs (slow tier) -----------

REAL_MODELS = {"video": "tiny-wan", "tryon": "tiny-tryon"}
PUBLISHED_STEPS = (("video-reference", None), ("video-generate", "tiny-wan"), ("video-score", "tiny-wan"),
                   ("tryon-generate", "tiny-tryon"), ("tryon-score", "tiny-tryon"))


def _latency_json(model: str, p95_s: float) -> str:
    """A model's latency.json (the published input of --rescore: it is not re-measured)."""
    block = {"latency_p50_s": p95_s / 2, "latency_p95_s": p95_s, "latency_p95_ci95_s": [p95_s / 2, p95_s * 2],
             "latency_p99_s": p95_s * 1.5, "latency_mean_s": p95_s / 1.5, "cold_start_s": 3.0, "n_requests": 4,
             "n_failed": 0, "failure_rate": 0.0, "failures_by_cause": {}, "goodput_fraction": 1.0, "slo_s": 60.0}
    return json.dumps({"models": {model: block}})


@pytest.fixture(scope="module")
def media_released(root, tmp_path_factory):
    """The media stages of the smoke-media suite (one model per family) run as `dvc repro` would, into a
    scratch folder, then frozen the way `cut` freezes them: the release a rescore starts from."""
    from sentinel.compose import compose
    from sentinel.release.rerun import run_stage, write_params

    tmp = tmp_path_factory.mktemp("media-real")
    params = compose(["suite=smoke-media"])
    for family, m in REAL_MODELS.items():
        params[family]["models"] = {m: params[family]["models"][m]}
    made = scratch_params(params, tmp / "made", "regenerate", tmp / "unused", None)  # the workspace's outputs
    made_path = write_params(made, tmp / "made.yaml")
    for name, m in PUBLISHED_STEPS:
        assert run_stage(root, name, made_path, tmp / "logs", m) is None
    for family, m in REAL_MODELS.items():
        _write(Path(made[family]["paths"]["latency"]) / m / "latency.json", _latency_json(m, 2.5))
    for name in ("video-report", "tryon-report"):
        assert run_stage(root, name, made_path, tmp / "logs") is None
    rel = tmp / "releases" / RID
    for name, src in media.sources(root, made).items():  # what `cut` copies (paths are absolute here)
        _write(rel / name, src.read_bytes())
    _write(rel / "params.yaml", yaml.safe_dump(params, sort_keys=False))  # relative paths, as committed
    fetched = {f: Path(made[f]["paths"][media.FAMILIES[f].outputs]) for f in REAL_MODELS}  # stand-in for DVC
    return tmp, params, rel, fetched


def _rescore(root: Path, params: dict, rel: Path, fetched: dict, work: Path) -> tuple[list, list[str], str | None]:
    from sentinel.release.rerun import run_stages, write_params

    scratch = scratch_params(params, work, "rescore", rel, None, fetched)
    path = write_params(scratch, work / "params.yaml")
    done, error = run_stages(root, "rescore", path, work / "logs", media.plan(params, "rescore"))
    return list(media.compare(media.load(rel, params), scratch, "rescore", SAME, done)), done, error


@pytest.mark.slow  # the media stages for real (both families), then one rescore
def test_verify_rescore_reproduces_the_media_numbers_and_reads_the_frozen_inputs(root, media_released, tmp_path):
    """Re-scored on the same machine every media number is bit-exact, except the rows derived from the
    one input changed after the cut (a p95 in the release's own latency.json, rescore's input): those
    move, at their addresses, and nothing else does."""
    import shutil

    tmp, params, rel, fetched = media_released
    edited = tmp_path / RID
    shutil.copytree(rel, edited)
    _write(edited / "video/latency/tiny-wan/latency.json", _latency_json("tiny-wan", 3.0))
    checks, done, error = _rescore(root, params, edited, fetched, tmp_path / "work")
    assert error is None and done == ["video-reference", "video-score@tiny-wan", "video-report",
                                      "tryon-score@tiny-tryon", "tryon-report"]
    files = {c.address.split(":", 1)[0] for c in checks}
    assert files >= {"video.scores", "video.leaderboard", "video.metrics", "tryon.scores", "tryon.leaderboard",
                     "tryon.metrics"}
    assert len(checks) > 50 and all(c.tolerance in ("exact", "count only") for c in checks)  # same platform
    failed = {c.address: (c.published, c.current) for c in checks if c.failed}
    assert failed["video.leaderboard:models.tiny-wan.latency_p95_s"] == (2.5, 3.0)
    assert failed["video.metrics:tiny-wan.latency_p95_s"] == (2.5, 3.0)
    assert all(a.startswith(("video.leaderboard:", "video.metrics:")) and "latency" in a for a in failed), failed
    tryon_p95 = [c for c in checks if c.address.startswith("tryon.") and "latency_p95_s" in c.address]
    assert tryon_p95 and all(c.status == "ok" and c.published == 2.5 for c in tryon_p95)  # its input: unchanged
