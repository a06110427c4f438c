"""Video jobs, the video workload generator, clip strips, reference clips and the `video` section (no torch).

Each check compares against something computed apart from the code under test: hand-written CSV rows
and the exact error text they must give, numpy slicing for a pan, least-squares gradients of a ramp
photo for zoom and rotation, and the committed workload CSV's bytes.
"""
from __future__ import annotations

import copy
import hashlib
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from sentinel.errors import ConfigError, WorkloadError
from sentinel.video import reference, workload_gen
from sentinel.video.clipfile import StripError, decode_strip, encode_strip, frames_sha256
from sentinel.video.config import parse_section
from sentinel.video.jobs import COLUMNS, VideoJob, load_video_jobs

ROOT = Path(__file__).resolve().parents[1]
CATS = ("ecommerce_product", "corporate_headshot", "creative_portrait")
HEADER = ",".join(COLUMNS) + ",arrival_s,attributes"
GOOD = {"id": "v-1", "category": "ecommerce_product", "prompt": "a mug turning", "negative_prompt": "blurry",
        "seed": "7", "width": "32", "height": "48", "fps": "8", "seconds": "1.5", "steps": "2", "guidance": "5.0",
        "arrival_s": "0.5", "attributes": "product=mug"}


def _csv(tmp_path: Path, *rows: dict, header: str = HEADER) -> Path:
    cols = header.split(",")
    path = tmp_path / "jobs.csv"
    lines = [header, *(",".join(r.get(c, "") for c in cols) for r in rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


# --- jobs --------------------------------------------------------------------------------------------------

def test_a_good_row_parses_with_its_frame_count(tmp_path):
    second = {**GOOD, "id": "v-2", "seconds": "0.3125", "fps": "8", "arrival_s": "0.5"}  # 2.5 frames -> 3
    jobs = load_video_jobs(_csv(tmp_path, GOOD, second), CATS)
    assert jobs[0] == VideoJob(id="v-1", category="ecommerce_product", prompt="a mug turning", negative_prompt="blurry",
                               seed=7, width=32, height=48, fps=8, seconds=1.5, steps=2, guidance=5.0, arrival_s=0.5,
                               attributes={"product": "mug"})
    assert jobs[0].n_frames == 12 and jobs[1].n_frames == 3  # round half up, not Python's half-to-even
    d = jobs[0].to_dict()
    assert d["n_frames"] == 12 and d["attributes"] == {"product": "mug"} and VideoJob.from_dict(d) == jobs[0]


@pytest.mark.parametrize("column, value, what", [
    ("fps", "0", "fps: must be >= 1, got 0"),
    ("fps", "8.5", "fps: expected int, got '8.5'"),
    ("seconds", "-1", "seconds: must be >= 0.0, got -1.0"),
    ("seconds", "0", "seconds: must be > 0, got 0.0"),
    ("seconds", "nan", "seconds: must be finite, got 'nan'"),
    ("seconds", "0.1", "seconds: 0.1 s at 8 fps is 1 frame(s); a clip needs 2 to 2000"),
    ("width", "40", "width: must be a multiple of 16, got 40"),
    ("height", "8", "height: must be >= 16, got 8"),
    ("seed", "-3", "seed: must be >= 0, got -3"),
    ("steps", "", "steps: missing value"),
    ("category", "cars", "category: 'cars' is not one of ecommerce_product, corporate_headshot, creative_portrait"),
    ("id", "../x", "id: '../x' must match"),
    ("attributes", "product", "attributes: 'product' must be key=value"),
])
def test_a_bad_value_names_file_line_and_column(tmp_path, column, value, what):
    path = _csv(tmp_path, {**GOOD, "id": "v-0"}, {**GOOD, column: value})
    with pytest.raises(WorkloadError) as e:
        load_video_jobs(path, CATS)
    assert str(e.value).startswith(f"{path}:3: {what}"), str(e.value)


def test_header_duplicates_and_arrival_order_are_refused(tmp_path):
    path = _csv(tmp_path, GOOD, header=HEADER.replace(",fps,", ",frames_per_s,"))
    with pytest.raises(WorkloadError, match=rf"^{path}:1: missing column\(s\) fps "):
        load_video_jobs(path)
    path = _csv(tmp_path, GOOD, GOOD)
    with pytest.raises(WorkloadError, match=rf"^{path}:3: id: 'v-1' duplicates line 2$"):
        load_video_jobs(path)
    path = _csv(tmp_path, GOOD, {**GOOD, "id": "v-2", "arrival_s": "0.25"})
    with pytest.raises(WorkloadError, match=rf"^{path}:3: arrival_s: 0.25 is earlier than the previous row's 0.5"):
        load_video_jobs(path)
    without = _csv(tmp_path, GOOD, header=",".join(COLUMNS))  # optional columns absent
    assert load_video_jobs(without)[0].arrival_s is None


# --- the workload generator --------------------------------------------------------------------------------

def test_committed_smoke_workload_regenerates_byte_for_byte(tmp_path):
    out = workload_gen.write("video-smoke", tmp_path / "video-smoke.csv")
    committed = (ROOT / "workloads" / "video-smoke.csv").read_bytes()
    assert out.read_bytes() == committed  # the command in VIDEO-DATACARD.md gives the committed file
    assert workload_gen.check(ROOT) == []
    jobs = load_video_jobs(ROOT / "workloads" / "video-smoke.csv", CATS)
    assert len(jobs) == 6 and sorted(j.category for j in jobs) == sorted(CATS * 2)
    assert {(j.width, j.height, j.fps, j.n_frames, j.steps) for j in jobs} == {(32, 32, 8, 8, 2)}
    assert len({j.seed for j in jobs}) == 6 and [j.arrival_s for j in jobs] == sorted(j.arrival_s for j in jobs)


def test_other_seed_gives_another_workload_and_production_profile_loads(tmp_path):
    assert workload_gen.to_csv_bytes(workload_gen.generate("video-smoke", seed=1)) != \
        (ROOT / "workloads" / "video-smoke.csv").read_bytes()
    jobs = load_video_jobs(workload_gen.write("video-2026-q4", tmp_path / "q4.csv"), CATS)
    assert len(jobs) == 120
    assert {(j.width, j.height) for j in jobs} <= {(1280, 704), (704, 1280), (704, 704)}
    assert {j.fps for j in jobs} <= {16, 24} and all(j.steps == 50 for j in jobs)
    with pytest.raises(WorkloadError, match="unknown video workload profile 'nope'"):
        workload_gen.generate("nope")


# --- clip strips -------------------------------------------------------------------------------------------

def test_strip_roundtrip_fingerprint_and_a_bad_strip(tmp_path):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(5, 16, 24, 3), dtype=np.uint8)
    data = encode_strip(frames)
    assert encode_strip(frames) == data  # deterministic bytes
    path = tmp_path / "clip.png"
    path.write_bytes(data)
    np.testing.assert_array_equal(decode_strip(path, 5), frames)
    np.testing.assert_array_equal(decode_strip(data, 5), frames)
    from PIL import Image

    assert Image.open(path).size == (24, 80)  # T*H tall, W wide
    want = hashlib.sha256(b"uint8:5,16,24,3:" + frames.tobytes()).hexdigest()
    assert frames_sha256(frames) == want
    assert frames_sha256(frames.reshape(5, 24, 16, 3)) != want  # same bytes, other shape
    with pytest.raises(StripError, match=rf"^{path}: strip height 80 px is not a multiple of 3 frames"):
        decode_strip(path, 3)
    with pytest.raises(StripError, match="expected a uint8"):
        encode_strip(frames.astype(np.float32))


# --- reference clips ---------------------------------------------------------------------------------------

def _ramp(size: int = 128) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size]
    return np.stack([x, y, np.zeros_like(x)], -1).astype(np.uint8)  # R = column, G = row


@pytest.mark.parametrize("vx, vy", [(2.0, 0.0), (-1.0, 0.0), (0.0, 2.0), (0.0, -1.0)])
def test_a_pan_by_k_px_is_an_exact_shift_of_the_photo(vx, vy):
    photo = np.random.default_rng(1).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    frames = reference.render_clip(photo, reference.Motion("pan", vx=vx, vy=vy), 8, (32, 32))
    x0 = y0 = 16  # the centred 32 px window (CROP 0.5 of 64)
    for t in range(8):
        y, x = y0 + int(vy) * t, x0 + int(vx) * t
        np.testing.assert_array_equal(frames[t], photo[y:y + 32, x:x + 32], err_msg=f"frame {t}")


def _gradients(frame: np.ndarray) -> tuple[float, float, float, float]:
    """Least-squares dR/du, dR/dv, dG/du, dG/dv over the frame."""
    h, w = frame.shape[:2]
    v, u = np.mgrid[0:h, 0:w]
    a = np.stack([u.ravel(), v.ravel(), np.ones(u.size)], 1).astype(np.float64)
    r = np.linalg.lstsq(a, frame[..., 0].ravel().astype(np.float64), rcond=None)[0]
    g = np.linalg.lstsq(a, frame[..., 1].ravel().astype(np.float64), rcond=None)[0]
    return r[0], r[1], g[0], g[1]


def test_zoom_and_rotation_move_the_window_as_the_card_says():
    photo = _ramp()  # window 64 px of photo -> 32 output px: 2 photo px per output px at t = 0
    zoom = reference.render_clip(photo, reference.Motion("zoom", zoom=1.05), 6, (32, 32))
    for t in range(6):
        drdu, drdv, dgdu, dgdv = _gradients(zoom[t])
        assert drdu == pytest.approx(2 / 1.05 ** t, rel=0.01) and dgdv == pytest.approx(2 / 1.05 ** t, rel=0.01)
        assert abs(drdv) < 0.01 and abs(dgdu) < 0.01
        assert zoom[t][15:17, 15:17, :2].mean() == pytest.approx(63.5, abs=1)  # the centre stays put
    rot = reference.render_clip(photo, reference.Motion("rotate", rotate_deg=2.0), 6, (32, 32))
    for t in range(6):
        drdu, drdv, dgdu, dgdv = _gradients(rot[t])
        assert math.degrees(math.atan2(dgdu, drdu)) == pytest.approx(2.0 * t, abs=0.2)
        assert math.hypot(drdu, dgdu) == pytest.approx(2.0, rel=0.01)


def test_motion_draws_stay_in_their_caps_for_long_clips():
    for category in CATS:
        for i in range(40):
            m = reference.plan_motion(reference.clip_rng(0, category, i), category, 121, (64, 64), (32, 32))
            assert reference.MOTION[category]["kinds"][m.kind] > 0
            assert abs(m.vx) * 120 <= 16 and abs(m.vy) * 120 <= 16  # margin (64 - 32) / 2
            assert m.zoom ** 120 <= reference.MAX_ZOOM + 1e-9
            assert abs(m.rotate_deg) * 120 <= reference.MAX_ROTATION_DEG + 1e-9
    headshot = [reference.plan_motion(reference.clip_rng(0, "corporate_headshot", i), "corporate_headshot", 8,
                                      (64, 64), (32, 32)) for i in range(40)]
    assert max(abs(m.vx) + abs(m.vy) for m in headshot) == 1 and max(abs(m.rotate_deg) for m in headshot) <= 0.5


def _section(tmp_path: Path, jobs: Path) -> dict:
    video = yaml.safe_load((ROOT / "conf" / "video" / "smoke.yaml").read_text())
    video["workload"]["jobs"] = str(jobs)
    video["workload"]["reference_photos"] = str(ROOT / "data" / "reference")
    video["paths"] = {k: str(tmp_path / "out" / k) for k in video["paths"]}
    return video


def test_reference_stage_is_deterministic_and_matches_the_workload(tmp_path):
    from sentinel.video import reference_stage

    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"video": _section(tmp_path, ROOT / "workloads" / "video-smoke.csv")}))
    first = reference_stage.run(params)
    out = tmp_path / "out" / "reference"
    files = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    reference_stage.run(params)
    assert {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == files
    assert len(first["clips"]) == 48 and len(files) == 49  # 16 photos x 3 categories + manifest.json
    for clip in first["clips"][::7]:
        frames = decode_strip(out / clip["clip"], 8)  # the workload's 8 frames of 32 x 32
        assert frames.shape == (8, 32, 32, 3) and frames_sha256(frames) == clip["frames_sha256"]
        if clip["motion"]["kind"] == "pan":  # re-check the recorded pan against the photo itself
            from sentinel.images import decode_rgb

            photo = decode_rgb(clip["file"])
            vx, vy = int(clip["motion"]["vx"]), int(clip["motion"]["vy"])
            np.testing.assert_array_equal(frames[7], photo[16 + 7 * vy:48 + 7 * vy, 16 + 7 * vx:48 + 7 * vx])


def test_user_reference_clips_are_validated_and_copied(tmp_path):
    from sentinel.errors import ReferenceSetError
    from sentinel.video import reference_stage

    mine = tmp_path / "mine"
    mine.mkdir()
    frames = np.random.default_rng(2).integers(0, 256, size=(8, 32, 32, 3), dtype=np.uint8)
    (mine / "shot-1.png").write_bytes(encode_strip(frames))
    video = _section(tmp_path, ROOT / "workloads" / "video-smoke.csv")
    video["workload"]["reference_clips"] = {"creative_portrait": str(mine)}
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"video": video}))
    manifest = reference_stage.run(params)
    mine_clips = [c for c in manifest["clips"] if c["category"] == "creative_portrait"]
    assert [c["clip_id"] for c in mine_clips] == ["shot-1"] and mine_clips[0]["source"] == "user"
    np.testing.assert_array_equal(decode_strip(tmp_path / "out" / "reference" / "creative_portrait" / "shot-1.png", 8),
                                  frames)
    (mine / "shot-2.png").write_bytes(encode_strip(frames[:7, :30]))  # 7 x 30 = 210 px: not 8 frames
    with pytest.raises(ReferenceSetError, match=r"shot-2.png: strip height 210 px is not a multiple of 8 frames"):
        reference_stage.run(params)


# --- the video section -------------------------------------------------------------------------------------

def _params() -> dict:
    video = yaml.safe_load((ROOT / "conf" / "video" / "smoke.yaml").read_text())
    video["models"] = yaml.safe_load((ROOT / "conf" / "video_model" / "tiny-wan.yaml").read_text())
    return video


def test_section_parses_and_names_every_bad_key():
    sec = parse_section(_params(), "p.yaml")
    m = sec.models["tiny-wan"]
    assert (m.source, m.flow_shift, m.scheduler.cls, m.cpu_threads) == ("tiny-random", 3.0, "UniPCMultistepScheduler",
                                                                         1)
    assert sec.workload.categories == CATS and sec.paths.clips == "outputs/video/clips" and sec.report == ()
    bad = copy.deepcopy(_params())
    bad["models"]["tiny-wan"]["bogus"] = 1
    del bad["models"]["tiny-wan"]["flow_shift"]
    bad["models"]["tiny-wan"]["steps"] = 0
    bad["workload"]["reference_clips"] = {"cars": "x"}
    bad["paths"].pop("clips")
    bad["extra"] = {}
    bad["report"] = ["videos"]
    with pytest.raises(ConfigError) as e:
        parse_section(bad, "p.yaml")
    problems = e.value.problems
    for want in ("video.extra: unknown key", "video.models.tiny-wan.bogus: unknown key",
                 "video.models.tiny-wan.flow_shift: missing key", "video.paths.clips: missing key",
                 "video.workload.reference_clips.cars: not one of", "video.report[0]: 'videos' is not one of video"):
        assert any(p.startswith(want) for p in problems), (want, problems)
    unknown = copy.deepcopy(_params())
    unknown["models"]["nope"] = unknown["models"]["tiny-wan"]
    with pytest.raises(ConfigError, match="video.models.nope: unknown video model"):
        parse_section(unknown, "p.yaml")
