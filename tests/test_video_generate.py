"""The tiny seeded-random WanPipeline and the video generate stage (CPU, 32 px, 8 frames, 2 steps).

Determinism is checked across two independent builds and two stage runs; the frame rule against the
4k+1 counts written out by hand; the pipeline is diffusers' own WanPipeline with the configured
scheduler and shift; a job the model cannot serve becomes a failed record, never a crash.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from sentinel.video.clipfile import decode_strip, frames_sha256
from sentinel.video.config import parse_section
from sentinel.video.jobs import VideoJob, load_video_jobs
from sentinel.video import workload_gen

ROOT = Path(__file__).resolve().parents[1]
JOB = VideoJob(id="t-1", category="ecommerce_product", prompt="a ceramic mug turning on a turntable",
               negative_prompt="blurry", seed=11, width=32, height=32, fps=8, seconds=1.0, steps=2, guidance=5.0)


def _video(tmp_path: Path, jobs: Path) -> dict:
    video = yaml.safe_load((ROOT / "conf" / "video" / "smoke.yaml").read_text())
    video["models"] = yaml.safe_load((ROOT / "conf" / "video_model" / "tiny-wan.yaml").read_text())
    video["workload"]["jobs"] = str(jobs)
    video["paths"] = {k: str(tmp_path / "out" / k) for k in video["paths"]}
    return video


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    return parse_section(_video(tmp_path_factory.mktemp("cfg"), Path("unused.csv")), "p.yaml").models["tiny-wan"]


@pytest.fixture(scope="module")
def model(cfg):
    from sentinel.video.models import load_video_model

    return load_video_model(cfg)


def test_frame_rule_is_the_smallest_4k_plus_1_at_or_above():
    from sentinel.video.models import generated_frames

    assert [generated_frames(n) for n in (2, 5, 8, 9, 10, 16, 17, 120, 121)] == [5, 5, 9, 9, 13, 17, 17, 121, 121]


def test_tiny_wan_is_diffusers_wan_with_the_configured_scheduler(model):
    import diffusers

    pipe = model.pipe
    assert type(pipe) is diffusers.WanPipeline
    assert type(pipe.transformer) is diffusers.WanTransformer3DModel and type(pipe.vae) is diffusers.AutoencoderKLWan
    assert type(pipe.text_encoder).__name__ == "UMT5EncoderModel"
    assert type(pipe.scheduler) is diffusers.UniPCMultistepScheduler
    assert pipe.scheduler.config.flow_shift == 3.0 and pipe.scheduler.config.use_flow_sigmas
    ids = pipe.tokenizer("a ceramic mug").input_ids  # a real vocabulary offline, not an empty tokenizer
    assert len(ids) > 3 and len(set(ids)) > 3
    assert not any(m.training for m in (pipe.transformer, pipe.text_encoder, pipe.vae))


def test_same_config_same_frames_other_seed_other_frames(cfg, model):
    from sentinel.video.models import load_video_model

    frames = model.generate(JOB)
    assert frames.dtype == np.uint8 and frames.shape == (8, 32, 32, 3)  # 9 generated, the first 8 kept
    assert frames.std() > 0 and not np.array_equal(frames[0], frames[-1])
    again = load_video_model(cfg).generate(JOB)  # an independent build from the same config
    assert frames_sha256(again) == frames_sha256(frames)
    other = model.generate(VideoJob(**{**JOB.__dict__, "seed": 12}))
    assert not np.array_equal(other, frames)
    reseeded = load_video_model(type(cfg)(**{**cfg.__dict__, "init_seed": 1})).generate(JOB)
    assert not np.array_equal(reseeded, frames)  # other weights


def test_a_job_the_model_cannot_serve_is_a_failed_record(cfg, model):
    from sentinel.video.generate_stage import generate_one

    bad = VideoJob(**{**JOB.__dict__, "id": "t-odd", "width": 24})  # not a multiple of 16 (VAE x8, patch 2)
    rec, timing, png = generate_one(model, cfg, bad)
    assert png is None and rec["status"] == "failed" and rec["clip"] is None
    assert rec["failure"] == "unsupported size 24x32: tiny-wan needs sides that are multiples of 16 px (VAE x patch)"
    assert timing["status"] == "failed" and timing["wall_s"] >= 0
    from sentinel.errors import ExecutorError
    from sentinel.video.generate_stage import check_delivered

    ok, _, _ = generate_one(model, cfg, JOB)
    check_delivered("tiny-wan", [rec, ok], Path("r.jsonl"))  # one clip delivered: the stage succeeds
    with pytest.raises(ExecutorError, match=r"'tiny-wan': every job failed \(first, t-odd: unsupported size 24x32"):
        check_delivered("tiny-wan", [rec, rec], Path("r.jsonl"))


def test_generate_stage_writes_one_record_per_job_byte_identical_across_runs(tmp_path):
    from sentinel.video import generate_stage

    jobs_csv = tmp_path / "jobs.csv"
    jobs_csv.write_bytes(workload_gen.to_csv_bytes(workload_gen.generate("video-smoke")[:3]))
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"video": _video(tmp_path, jobs_csv)}))
    out = tmp_path / "out"

    def outputs() -> dict:
        files = sorted((out / "clips" / "tiny-wan").iterdir()) + [out / "records" / "tiny-wan.jsonl"]
        return {p.name: p.read_bytes() for p in files}

    records = generate_stage.run(params, "tiny-wan")
    first = outputs()
    generate_stage.run(params, "tiny-wan")
    assert outputs() == first
    jobs = load_video_jobs(jobs_csv)
    lines = [json.loads(x) for x in (out / "records" / "tiny-wan.jsonl").read_text().splitlines()]
    assert lines == records and [r["job_id"] for r in lines] == [j.id for j in jobs]
    for rec, job in zip(lines, jobs, strict=True):
        assert rec["status"] == "ok" and rec["clip"] == f"tiny-wan/{job.id}.png" and rec["n_frames"] == 8
        assert (rec["steps"], rec["guidance"], rec["width"], rec["fps"], rec["seconds"]) == (2, 5.0, 32, 8, 1.0)
        frames = decode_strip(out / "clips" / rec["clip"], rec["n_frames"])
        assert frames_sha256(frames) == rec["frames_sha256"]
    timings = [json.loads(x) for x in (out / "timings" / "tiny-wan.jsonl").read_text().splitlines()]
    assert [t["job_id"] for t in timings] == [j.id for j in jobs]
    assert all(t["compute_s"] > 0 and t["queue_s"] is None and t["load_s"] > 0 for t in timings)
    from sentinel.errors import ConfigError

    with pytest.raises(ConfigError, match="video model 'wan-x': not in video.models"):
        generate_stage.run(params, "wan-x")


def test_the_wan22_card_runs_its_recipe_on_tiny_weights():
    """conf/video_model/wan2.2-ti2v-5b.yaml's scheduler, shift, 50 steps and CFG on the tiny components:
    one transformer pass per step and guidance branch, at the closed-form shifted flow timesteps
    t_i = 1000 * 5 s / (1 + 4 s), s = 1 - i (1 - 1/1000) / 50 (UniPC's flow sigmas, shift 5)."""
    import dataclasses

    from sentinel.video.config import parse_model
    from sentinel.video.models import load_video_model

    raw = yaml.safe_load((ROOT / "conf" / "video_model" / "wan2.2-ti2v-5b.yaml").read_text())["wan2.2-ti2v-5b"]
    cfg = parse_model("wan2.2-ti2v-5b", raw, "video.models.wan2.2-ti2v-5b")
    assert (cfg.repo_id, cfg.steps, cfg.guidance, cfg.flow_shift) == ("Wan-AI/Wan2.2-TI2V-5B-Diffusers", 50, 5.0, 5.0)
    tiny = load_video_model(dataclasses.replace(cfg, source="tiny-random", dtype="float32", device="cpu"))
    seen = []
    tiny.pipe.transformer.register_forward_pre_hook(lambda m, a, kw: seen.append(float(kw["timestep"][0])),
                                                    with_kwargs=True)
    frames = tiny.generate(VideoJob(**{**JOB.__dict__, "fps": 24, "seconds": 0.5}))  # 12 frames: 13 generated
    assert frames.shape == (12, 32, 32, 3)
    assert len(seen) == 100 and seen[0::2] == seen[1::2]  # cond + uncond per step
    s = 1 - np.arange(50) * (1 - 1 / 1000) / 50
    np.testing.assert_allclose(seen[0::2], np.floor(1000 * 5 * s / (1 + 4 * s)), atol=1)


def test_pretrained_refuses_an_unpinned_revision_or_weights_not_on_disk(tmp_path, monkeypatch):
    import dataclasses

    from sentinel.errors import ConfigError, WeightsError
    from sentinel.video.config import parse_model
    from sentinel.video.models import load_video_model

    raw = yaml.safe_load((ROOT / "conf" / "video_model" / "wan2.2-ti2v-5b.yaml").read_text())["wan2.2-ti2v-5b"]
    cfg = dataclasses.replace(parse_model("wan2.2-ti2v-5b", raw, "w"), device="cpu")
    with pytest.raises(ConfigError, match=r"video.models.wan2.2-ti2v-5b.revision: None is not a pinned revision"):
        load_video_model(cfg)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))  # an empty cache: nothing there, nothing downloaded
    with pytest.raises(WeightsError, match=r"Wan-AI/Wan2.2-TI2V-5B-Diffusers@0{40} is not in the local Hugging Face"):
        load_video_model(dataclasses.replace(cfg, revision="0" * 40))


def test_an_api_model_on_the_loopback_fake_vendor_goes_through_the_same_stage(tmp_path):
    """`base_url: fake://loopback` (conf/video_model/fake-video-api.yaml): the stage serves the fake vendor
    for its own run; the records are as deterministic as a local model's and carry no sampler settings."""
    from sentinel.video import generate_stage

    jobs_csv = tmp_path / "jobs.csv"
    jobs_csv.write_bytes(workload_gen.to_csv_bytes(workload_gen.generate("video-smoke")[:2]))
    video = _video(tmp_path, jobs_csv)
    video["models"] = yaml.safe_load((ROOT / "conf" / "video_model" / "fake-video-api.yaml").read_text())
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"video": video}))
    records_path = tmp_path / "out" / "records" / "fake-video-api.jsonl"
    first = generate_stage.run(params, "fake-video-api")
    first_bytes = records_path.read_bytes()
    generate_stage.run(params, "fake-video-api")
    assert records_path.read_bytes() == first_bytes
    assert [r["status"] for r in first] == ["ok", "ok"]
    assert {(r["steps"], r["guidance"]) for r in first} == {(None, None)}  # the vendor's sampler: not recorded
    for rec in first:
        assert decode_strip(tmp_path / "out" / "clips" / rec["clip"], 8).shape == (8, 32, 32, 3)
    timings = [json.loads(x) for x in (tmp_path / "out" / "timings" / "fake-video-api.jsonl").read_text().splitlines()]
    assert all(t["device"] == "api" and t["generation_s"] is not None for t in timings)
