"""The try-on model and generate stage (sentinel.tryon.{config,tiny_pipeline,models,generate_stage}).

The tiny pipeline is diffusers' real StableDiffusionInpaintPipeline: two builds from one seed hold
the same weight bytes and another seed does not; the garment-init conditioning is checked against
closed forms (a paired job's init image is the person photo itself; `composite` leaves every pixel
outside the mask equal to the person's); the stage, on a hand-written params file over the committed
smoke set, writes one record per job, byte-identical across two runs, and records failures with
their cause.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from sentinel.errors import ConfigError
from sentinel.tryon import config as tryon_config

REPO = Path(__file__).resolve().parents[1]
TINY = yaml.safe_load((REPO / "conf/tryon_model/tiny-tryon.yaml").read_text())
SMOKE = yaml.safe_load((REPO / "conf/tryon/smoke.yaml").read_text())


def _section(tmp_path: Path, models: dict | None = None, jobs: str = "workloads/tryon-smoke.csv",
             pairs: str | None = "workloads/tryon-pairs/manifest.json") -> dict:
    section = json.loads(json.dumps(SMOKE))
    section["models"] = TINY if models is None else models
    section["workload"] = {"name": "tryon-smoke", "jobs": str(REPO / jobs) if not Path(jobs).is_absolute() else jobs,
                           "root": str(REPO / "workloads/tryon"), "pairs": None if pairs is None else str(REPO / pairs)}
    section["paths"] = {k: str(tmp_path / v) for k, v in SMOKE["paths"].items()}
    return section


def _params(tmp_path: Path, **kw) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"tryon": _section(tmp_path, **kw)}))
    return path


# --- config ------------------------------------------------------------------------------------

def test_the_section_loads_from_the_conf_files(tmp_path):
    s = tryon_config.load_tryon_section(_params(tmp_path))
    m = s.models["tiny-tryon"]
    assert (m.pipeline, m.source, m.strength, m.steps, m.composite) == ("StableDiffusionInpaintPipeline",
                                                                       "tiny-random", 0.6, 4, False)
    assert s.score == SMOKE["score"] and s.report == () and s.paths.records_file("x") == tmp_path / "outputs/tryon/records/x.jsonl"


def test_config_errors_name_every_bad_tryon_key_and_the_file(tmp_path):
    bad = {"tiny-tryon": {**TINY["tiny-tryon"], "strength": 1.0, "colour": "red", "dtype": "int8"},
           "no-such-model": {}}
    section = _section(tmp_path, models=bad)
    section["report"] = ["video"]
    del section["paths"]["triptychs"]
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"tryon": section}))
    with pytest.raises(ConfigError) as e:
        tryon_config.load_tryon_section(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: ")
    for key in ("tryon.models.tiny-tryon.colour: unknown key", "tryon.models.no-such-model: unknown try-on model",
                "tryon.report: expected [] or [tryon]", "tryon.paths.triptychs: missing key"):
        assert key in msg, key
    good_keys = {**TINY["tiny-tryon"], "strength": 1.0, "dtype": "int8"}
    path.write_text(yaml.safe_dump({"tryon": _section(tmp_path, models={"tiny-tryon": good_keys})}))
    with pytest.raises(ConfigError) as e:
        tryon_config.load_tryon_section(path)
    assert "tryon.models.tiny-tryon.strength: must be in (0, 1)" in str(e.value)
    assert "tryon.models.tiny-tryon.dtype: 'int8' is not one of" in str(e.value)


# --- the tiny pipeline and the model ---------------------------------------------------------------

def _weights_sha(pipe) -> str:
    h = hashlib.sha256()
    for name in ("unet", "text_encoder", "vae"):
        for key, t in sorted(getattr(pipe, name).state_dict().items()):
            h.update(key.encode())
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def cfg():
    return tryon_config.parse_section(_section(Path("/unused"))).models["tiny-tryon"]


def test_the_tiny_pipeline_is_diffusers_inpainting_with_seeded_weights(cfg):
    import diffusers

    from sentinel.tryon.tiny_pipeline import tiny_inpaint

    a, b = (tiny_inpaint(0, cfg.scheduler.cls, dict(cfg.scheduler.kwargs)) for _ in range(2))
    other = tiny_inpaint(1, cfg.scheduler.cls, dict(cfg.scheduler.kwargs))
    assert type(a) is diffusers.StableDiffusionInpaintPipeline and a.unet.config.in_channels == 9
    assert _weights_sha(a) == _weights_sha(b) != _weights_sha(other)


def _smoke_inputs(name: str, garment: str | None = None):
    from sentinel.images import load_rgb

    d = REPO / "workloads/tryon"
    return (load_rgb(d / "person" / f"{name}.png"), load_rgb(d / "garment" / f"{garment or name}.png"),
            load_rgb(d / "mask" / f"{name}.png"))


def test_a_paired_init_image_is_the_person_photo_itself():
    """The garment's box, resized to the mask's box of the same size, pasted inside the mask: the person."""
    from sentinel.tryon.models import init_image, mask_array

    for name in ("astronaut-00", "camera-00"):
        person, garment, mask = _smoke_inputs(name)
        p = np.asarray(person)
        np.testing.assert_array_equal(init_image(p, np.asarray(garment), mask_array(mask, person.size)), p)
    person, garment, mask = _smoke_inputs("camera-00", garment="astronaut-00")  # unpaired: only the mask changes
    p, region = np.asarray(person), mask_array(mask, person.size)
    init = init_image(p, np.asarray(garment), region)
    np.testing.assert_array_equal(init[~region], p[~region])
    assert (init[region] != p[region]).any()


@pytest.fixture(scope="module")
def model(cfg):
    from sentinel.tryon.models import load_tryon_model

    return load_tryon_model(cfg)


def test_the_model_is_deterministic_per_seed_and_outputs_the_persons_size(model):
    from sentinel.tryon.jobs import TryOnJob

    person, garment, mask = _smoke_inputs("astronaut-00", garment="camera-01")
    job = TryOnJob("j", "p.png", "g.png", "m.png", "upper", 5, "unpaired")
    first, again = (np.asarray(model.generate(job, person, garment, mask)) for _ in range(2))
    reseeded = np.asarray(model.generate(TryOnJob(**{**job.to_dict(), "seed": 6}), person, garment, mask))
    assert first.shape == (64, 64, 3) and first.dtype == np.uint8
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, reseeded)


def test_composite_keeps_every_pixel_outside_the_mask_and_without_it_the_vae_changes_them(model):
    import dataclasses

    from sentinel.tryon.jobs import TryOnJob
    from sentinel.tryon.models import TryOnModel, mask_array

    person, garment, mask = _smoke_inputs("astronaut-03", garment="camera-00")
    job = TryOnJob("j", "p.png", "g.png", "m.png", "upper", 5, "unpaired")
    region, p = mask_array(mask, person.size), np.asarray(person)
    plain = np.asarray(model.generate(job, person, garment, mask))
    composited = TryOnModel(cfg=dataclasses.replace(model.cfg, composite=True), pipe=model.pipe, device=model.device)
    pasted = np.asarray(composited.generate(job, person, garment, mask))
    np.testing.assert_array_equal(pasted[~region], p[~region])
    np.testing.assert_array_equal(pasted[region], plain[region])
    assert (plain[~region] != p[~region]).any()


# --- the stage -----------------------------------------------------------------------------------

def test_the_stage_writes_one_record_per_job_byte_identical_across_two_runs(tmp_path):
    from sentinel.tryon import generate_stage
    from sentinel.tryon.jobs import load_tryon_jobs

    jobs = load_tryon_jobs(REPO / "workloads/tryon-smoke.csv")
    outs = []
    for run in ("a", "b"):
        params = _params(tmp_path / run)
        generate_stage.run(params, "tiny-tryon")
        outs.append(tmp_path / run / "outputs/tryon")
    for out in outs:
        records = [json.loads(line) for line in (out / "records/tiny-tryon.jsonl").read_text().splitlines()]
        assert [r["job_id"] for r in records] == [j.id for j in jobs]
        assert [r["protocol"] for r in records] == [j.protocol for j in jobs]
        assert all(r["status"] == "ok" and r["result"] == f"tiny-tryon/{r['job_id']}.png" for r in records)
        for r in records:
            png = (out / "results" / r["result"]).read_bytes()
            assert hashlib.sha256(png).hexdigest() == r["sha256"]
            assert Image.open(out / "results" / r["result"]).size == (64, 64)
        timings = [json.loads(line) for line in (out / "timings/tiny-tryon.jsonl").read_text().splitlines()]
        assert [t["job_id"] for t in timings] == [j.id for j in jobs] and all(t["compute_s"] > 0 for t in timings)
    a, b = outs
    assert (a / "records/tiny-tryon.jsonl").read_bytes() == (b / "records/tiny-tryon.jsonl").read_bytes()
    names = sorted(p.name for p in (a / "results/tiny-tryon").iterdir())
    assert names == sorted(f"{j.id}.png" for j in jobs)
    for n in names:
        assert (a / "results/tiny-tryon" / n).read_bytes() == (b / "results/tiny-tryon" / n).read_bytes()


def test_a_job_failure_is_a_failed_record_with_its_cause(tmp_path):
    from sentinel.tryon import generate_stage

    (tmp_path / "broken.png").write_bytes(b"not a png")
    rows = (REPO / "workloads/tryon-smoke.csv").read_text().splitlines()
    p, g = "person/camera-00.png", "garment/camera-00.png"
    broken = "broken.png"
    csv_path = tmp_path / "jobs.csv"
    csv_path.write_text("\n".join([rows[0], rows[1], f"no-mask,{p},{g},,upper,3,paired",
                                   f"bad-png,{broken},{g},,upper,4,unpaired"]) + "\n")
    # the broken PNG lies under tmp_path; link the committed set's folders there so one root serves both
    for sub in ("person", "garment", "mask"):
        (tmp_path / sub).symlink_to(REPO / "workloads/tryon" / sub)
    params = _params(tmp_path, jobs=str(csv_path), pairs=None)
    section = yaml.safe_load(params.read_text())
    section["tryon"]["workload"]["root"] = str(tmp_path)
    params.write_text(yaml.safe_dump(section))
    records = generate_stage.run(params, "tiny-tryon")
    by_id = {r["job_id"]: r for r in records}
    assert by_id["p-astronaut-00"]["status"] == "ok"
    assert by_id["no-mask"]["status"] == "failed" and by_id["no-mask"]["failure"].startswith("no mask:")
    assert by_id["bad-png"]["status"] == "failed" and "unreadable image" in by_id["bad-png"]["failure"]
    assert by_id["bad-png"]["result"] is None and by_id["bad-png"]["sha256"] is None
    assert sorted(p.name for p in (tmp_path / "outputs/tryon/results/tiny-tryon").iterdir()) == ["p-astronaut-00.png"]


def test_the_stage_refuses_a_model_not_composed_before_any_work(tmp_path):
    from sentinel.tryon import generate_stage

    with pytest.raises(ConfigError, match=r"tryon.models.other: not in params.yaml's tryon.models \(composed: tiny-tryon\)"):
        generate_stage.run(_params(tmp_path), "other")
