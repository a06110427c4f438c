"""The video report stage: cost per video and per video-second against hand computations from the
price card, the video-composite-v1 rule on a hand-made score document with a known answer, and the
leaderboard / metrics / Markdown / HTML on a temp project scored by the real video score stage
(two models: the tiny self-hosted one and an API model with a list price, each with a failed job).
"""
from __future__ import annotations

import copy
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

import video_project as vp
from sentinel.config import CostConfig
from sentinel.provenance import write_json

TINY, API = "tiny-wan", "video-api-a"
CARD = CostConfig(**{**vp.CARD, "utilisation_sensitivity": tuple(vp.CARD["utilisation_sensitivity"])})


# ---------------------------------------------------------------- cost, by hand

def _records(model: str, seconds: list[float | None]) -> list[dict]:
    return [{"model": model, "job_id": f"j{i}", "status": "failed" if s is None else "ok", "fps": 8, "width": 64,
             "height": 64, "seconds": 2.0 if s is None else s, "n_frames": 16} for i, s in enumerate(seconds)]


def test_self_hosted_cost_per_video_and_second_by_hand():
    from sentinel.video.cost import price_model

    records = _records(TINY, [2.0, 2.0, None])
    timings = [{"model": TINY, "job_id": f"j{i}", "compute_s": c, "load_s": 10.0, "device": "cuda:0"}
               for i, c in enumerate([2.0, 4.0, 1.0])]
    got = price_model(TINY, records, timings, CARD, api=False)
    # every job's GPU time over the 2 delivered videos: 7 / 2 = 3.5 s; billed 3.5 / 0.5 + 10 / 100 = 7.1 s
    per_video = (7.1 / 3600 * 3.6 + 0.0002) * 1.1
    assert got["billing"] == "gpu time" and got["compute_s_per_video"] == pytest.approx(3.5)
    assert got["billed_s_per_video"] == pytest.approx(7.1)
    assert got["cost_usd_per_video"] == pytest.approx(per_video, rel=1e-12) == pytest.approx(0.00803)
    assert got["cost_usd_per_video_second"] == pytest.approx(per_video / 2.0, rel=1e-12)
    assert got["priced_as_measured"] is True and got["output"] == {"fps": [8.0], "resolutions": ["64x64"],
                                                                   "seconds": [2.0], "n_frames": [16]}
    at_full = [s for s in got["sensitivity"] if s["utilisation"] == 1.0][0]
    assert at_full["cost_usd_per_video"] == pytest.approx((3.6 / 3600 * 3.6 + 0.0002) * 1.1)  # billed 3.5 + 0.1 s
    cpu = price_model(TINY, records, [{**t, "device": "cpu"} for t in timings], CARD, api=False)
    assert cpu["priced_as_measured"] is False


def test_api_cost_is_the_list_price_per_video_second_with_the_cards_fees():
    from sentinel.video.cost import price_model

    records = _records(API, [4.0, 6.0, None])
    got = price_model(API, records, [], CARD, api=True, list_price_usd_per_second=0.05, price_source="test page")
    per_video = (0.05 * 5.0 + 0.0002) * 1.1  # mean delivered length 5 s; the failed job is not billed
    assert got["billing"] == "list price" and got["billing_unit"] == "video-second"
    assert got["cost_usd_per_video"] == pytest.approx(per_video, rel=1e-12)
    assert got["cost_usd_per_video_second"] == pytest.approx(per_video / 5.0, rel=1e-12)
    unknown = price_model(API, records, [], CARD, api=True, list_price_usd_per_second=None)
    assert unknown["cost_usd_per_video"] is None and unknown["cost_usd_per_video_second"] is None
    assert "video.cost.list_price_usd_per_second.video-api-a" in unknown["not_priced"]
    assert price_model(TINY, _records(TINY, [2.0]), [], CARD, api=False)["not_priced"] == "no timings rows for this model"
    assert price_model(TINY, _records(TINY, [None]), [], CARD, api=False)["not_priced"] == "no delivered videos"


# ---------------------------------------------------------------- the composite, known answer

def _doc(rows: dict[str, dict | None], fvd: float | None, ci=None) -> dict:
    jobs = {j: {"status": "ok" if r else "failed"} for j, r in rows.items()}
    return {"n_jobs": len(rows), "n_ok": sum(1 for r in rows.values() if r), "jobs": jobs,
            "per_clip": {j: r for j, r in rows.items() if r}, "fvd": {"value": fvd, "ci": ci},
            "convention": {"fvd": {"encoder": "tiny-random-3dconv"}}}


def _clip(v: float, clip: float, frozen: bool = False, dynamic: bool = True) -> dict:
    return {"subject_consistency": v, "temporal_flickering": v, "motion_smoothness": v, "dynamic_degree": dynamic,
            "clip_score": clip, "frozen": frozen}


def test_composite_counts_failed_and_frozen_jobs_at_the_worst_value():
    from sentinel.video.composite import composite

    doc = _doc({"a": _clip(0.5, 30.0, dynamic=False), "b": _clip(0.5, 30.0, dynamic=False),
                "c": _clip(1.0, 35.0, frozen=True, dynamic=False), "d": None}, fvd=5.0)
    got = composite(doc, 0.95, draws=200)
    # VBench part: per job (0.5+0.5+0.5+0)/4 = 0.375 twice, 0 (frozen), 0 (failed) -> 100 * 0.75 / 4
    # CLIP: (30 + 30 + 0 + 0) / 4 = 15 -> norm 0; FVD: d = 3/4 of norm(5; best 0, worst 10) = 50
    assert got["components"]["vbench"]["value"] == pytest.approx(18.75)
    assert got["components"]["clip"]["value"] == 0.0
    assert got["components"]["fvd"]["value"] == pytest.approx(37.5)
    assert got["value"] == pytest.approx(0.5 * 18.75 + 0.25 * 0.0 + 0.25 * 37.5)
    assert got["ci"] is None and "fvd" in got["why_no_ci"] and got["n_frozen"] == 1
    full = _doc({"a": _clip(0.5, 30.0, dynamic=False), "b": _clip(0.5, 30.0, dynamic=False),
                 "c": _clip(0.5, 30.0, dynamic=False), "d": _clip(0.5, 30.0, dynamic=False)}, fvd=5.0, ci=[4.0, 6.0])
    whole = composite(full, 0.95, draws=200)
    assert whole["value"] == pytest.approx(0.5 * 37.5 + 0.25 * 75.0 + 0.25 * 50.0)
    lo, hi = whole["ci"]
    assert lo <= whole["value"] <= hi  # every component has an interval: the composite has one
    assert composite(_doc({"a": _clip(0.5, 30.0), "b": None}, fvd=None), 0.95)["value"] is None


def test_failing_never_raises_a_models_composite():
    from sentinel.video.composite import composite

    base = {j: _clip(0.6 + 0.1 * i, 20.0 + 3 * i) for i, j in enumerate("abcde")}
    full = composite(_doc(base, fvd=4.0), 0.95, draws=100)["value"]
    for lost in "abcde":
        rows = {j: (None if j == lost else r) for j, r in base.items()}
        assert composite(_doc(rows, fvd=4.0), 0.95, draws=100)["value"] < full


# ---------------------------------------------------------------- the stage on a temp project

@pytest.fixture(scope="module")
def clip_weights(tmp_path_factory) -> Path:
    from sentinel.metrics import weights
    from sentinel.validate import SMOKE_SHA256, file_sha256

    repo = vp.REPO / "weights" / weights.clip_smoke_file(weights.SMOKE_CLIP_ARCH)
    if repo.is_file() and file_sha256(repo) in SMOKE_SHA256:
        return repo
    path = tmp_path_factory.mktemp("clip") / repo.name
    weights.make_clip_weights(path, weights.SMOKE_CLIP_ARCH, seed=0)
    return path


LATENCY = {TINY: {"latency_p50_s": 1.0, "latency_p95_s": 2.5, "latency_p95_ci95_s": [2.0, None], "n_requests": 4,
                  "n_failed": 0, "failure_rate": 0.0},
           API: {"latency_p50_s": 30.0, "latency_p95_s": 45.0, "latency_p95_ci95_s": [40.0, 60.0], "n_requests": 3,
                 "n_failed": 1, "failure_rate": 1 / 3}}


@pytest.fixture(scope="module")
def project(tmp_path_factory, clip_weights):
    from sentinel.video import score_stage
    from sentinel.video.tiny_encoder import make_tiny_weights

    root = tmp_path_factory.mktemp("video-report")
    tiny = root / "video-tiny-smoke.pt"
    sha = make_tiny_weights(tiny)
    tex = vp.texture()
    vp.write_model(root, TINY, [
        {"job_id": "a-move", "category": "cat_a", "frames": vp.sliding(tex, 2), "compute_s": 2.0},
        {"job_id": "b-still", "category": "cat_b", "frames": vp.static(tex), "compute_s": 2.0},
        {"job_id": "c-failed", "category": "cat_b", "frames": None, "failure": "error: out of memory",
         "compute_s": 1.0}])
    vp.write_model(root, API, [
        {"job_id": "a-move", "category": "cat_a", "frames": vp.sliding(vp.texture(5), -2), "device": "api"},
        {"job_id": "b-still", "category": "cat_b", "frames": vp.sliding(vp.texture(6), 1), "device": "api"},
        {"job_id": "c-failed", "category": "cat_b", "frames": None, "failure": "poll timeout: 1800 s",
         "device": "api"}])
    vp.write_reference(root, {c: [vp.sliding(vp.texture(10 + i), 1, start=100 + 10 * i) for i in range(2)]
                              for c in ("cat_a", "cat_b")})
    for m, block in LATENCY.items():
        write_json(root / vp.PATHS["latency"] / m / "latency.json", {"models": {m: block}, "note": "test"})
    models = {TINY: vp.model_config(TINY), API: vp.model_config(API, plumbing=True,
                                                               api={"list_price_usd_per_second": 0.05})}
    params = vp.write_params(root, models, vp.smoke_score(tiny, sha, clip_weights))
    score_stage.run(params)
    return {"root": root, "params": params}


def _outputs(root: Path) -> dict[str, bytes]:
    out = {k: (root / vp.PATHS[k]).read_bytes() for k in ("leaderboard", "metrics", "report", "report_html")}
    prev = root / vp.PATHS["previews"]
    out.update({str(f.relative_to(prev)): f.read_bytes() for f in sorted(prev.rglob("*")) if f.is_file()})
    return out


@pytest.fixture(scope="module")
def report(project):
    from sentinel.video import report_stage

    board = report_stage.run(project["params"])
    return {"board": board, "files": _outputs(project["root"]), **project}


def test_leaderboard_rows_carry_quality_cost_latency_failures_and_plumbing(report):
    board = json.loads(report["files"]["leaderboard"])
    rows = {r["model"]: r for r in board["models"]}
    assert set(rows) == {TINY, API} and board["plumbing"] is True and board["note"].startswith("plumbing only")
    composites = [r["composite"] for r in board["models"]]
    assert composites == sorted(composites, reverse=True) and [r["rank"] for r in board["models"]] == [1, 2]
    scores = {m: json.loads((report["root"] / vp.PATHS["scores"] / f"{m}.json").read_text()) for m in rows}
    for m, r in rows.items():
        assert r["n_jobs"] == 3 and r["n_ok"] == 2 and r["n_failed"] == 1
        assert r["quality"]["clip_score"]["n"] == 2 and r["quality"]["fvd"]["n_reference"] == 4
        assert r["clip_score"] == scores[m]["dimensions"]["clip_score"]["value"]
        assert r["latency_p95_s"] == LATENCY[m]["latency_p95_s"]
        assert r["latency_p95_ci"] == LATENCY[m]["latency_p95_ci95_s"]
        assert r["plumbing"] is True and r["composite_version"] == "video-composite-v1"
    assert rows[TINY]["failures_by_cause"] == {"error": 1} and rows[API]["failures_by_cause"] == {"poll timeout": 1}
    assert rows[TINY]["n_frozen"] == 1
    # self-hosted: 2 + 2 + 1 s of CPU over 2 videos, billed / 0.5, priced as the card's GPU
    tiny_video = (5.0 / 2 / 0.5 / 3600 * 3.6 + 0.0002) * 1.1
    assert rows[TINY]["cost_usd_per_video"] == pytest.approx(tiny_video, rel=1e-12)
    assert rows[TINY]["cost_usd_per_video_second"] == pytest.approx(tiny_video / 1.0, rel=1e-12)  # 8 frames at 8 fps
    assert rows[API]["cost_usd_per_video_second"] == pytest.approx((0.05 * 1.0 + 0.0002) * 1.1, rel=1e-12)


def test_metrics_json_is_flat_scalars_keyed_by_model(report):
    flat = json.loads(report["files"]["metrics"])
    assert set(flat) == {TINY, API}
    for m, d in flat.items():
        assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in d.values())
        assert list(d)[0] == "composite" and d["latency_p95_s"] == LATENCY[m]["latency_p95_s"]
        assert "cost_usd_per_video_second" in d and "fvd" in d and d["n_jobs"] == 3
    assert flat[TINY]["latency_p95_ci_low"] == 2.0 and "latency_p95_ci_high" not in flat[TINY]  # null: left out


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.srcs.append(dict(attrs)["src"])


def test_html_parses_and_references_every_preview_file(report):
    html = report["files"]["report_html"].decode("utf-8")
    parser = _Refs()
    parser.feed(html)
    parser.close()
    assert parser.tags[0] == "html" and "table" in parser.tags
    assert "Plumbing only, numbers mean nothing." in html
    page_dir = (report["root"] / vp.PATHS["report_html"]).parent
    referenced = {(page_dir / s).resolve() for s in parser.srcs}
    previews = report["root"] / vp.PATHS["previews"]
    on_disk = {f.resolve() for f in previews.rglob("*") if f.is_file()}
    assert on_disk and referenced == on_disk  # every file shown, every link resolves
    assert len(on_disk) == 2 * 2 * 2  # 2 models x 2 delivered clips x (GIF + strip)
    from PIL import Image

    with Image.open(previews / TINY / "a-move.gif") as gif:
        assert gif.n_frames == vp.FRAMES and gif.is_animated
    assert "c-failed" in html and "out of memory" in html  # failed jobs are shown as failed
    md = report["files"]["report"].decode("utf-8")
    assert "Plumbing only, numbers mean nothing." in md and TINY in md and API in md
    assert "previews/tiny-wan/a-move.gif" in md


def test_report_is_byte_identical_on_a_rerun(report):
    from sentinel.video import report_stage

    report_stage.run(report["params"])
    assert _outputs(report["root"]) == report["files"]


def test_missing_latency_is_an_error_naming_the_file_before_anything_is_written(report, tmp_path):
    import shutil

    from sentinel.video import report_stage

    root = tmp_path / "copy"
    shutil.copytree(report["root"], root)
    for k in ("leaderboard", "metrics", "report", "report_html"):
        (root / vp.PATHS[k]).unlink()
    text = report["params"].read_text().replace(str(report["root"]), str(root))
    (root / "params.yaml").write_text(text)
    latency = root / vp.PATHS["latency"] / API / "latency.json"
    write_json(latency, {"models": {TINY: LATENCY[TINY]}})  # another model's file
    with pytest.raises(ValueError, match=r"video-api-a/latency\.json: no entry for video model 'video-api-a'"):
        report_stage.run(root / "params.yaml")
    latency.unlink()
    with pytest.raises(FileNotFoundError, match=r"video-api-a/latency\.json: missing.*video-latency@video-api-a"):
        report_stage.run(root / "params.yaml")
    assert not (root / vp.PATHS["leaderboard"]).exists() and not (root / vp.PATHS["report"]).exists()


def test_a_model_without_composite_is_listed_last(report):
    from sentinel.video import leaderboard as lb

    rows = [copy.deepcopy(r) for r in report["board"]["models"]]
    rows[0]["composite"] = None
    ranked = lb.rank(rows)
    assert ranked[-1]["model"] == rows[0]["model"] and ranked[-1]["rank"] is None and ranked[0]["rank"] == 1
