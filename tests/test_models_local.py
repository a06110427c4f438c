"""Your own model from one file: a checkpoint saved with save_pretrained, benchmarked with `source: local`.

The checkpoint is tiny-sd's real StableDiffusionPipeline, saved with `save_pretrained` and its text
encoder moved out of the folder (restored through `load_kwargs: {text_encoder: {class, folder}}`).
One file, conf/model/mine.yaml (plus its card), and the real stages (recipe, generate, score,
latency, gather, cost, report) in a copy of the project: the model is in leaderboard.json, report.md
and report.html, and its content hash stands where a hub model's revision goes. A pretrained config
missing three keys is refused in one message, before any image exists.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import own_project
from own_project import MODEL

pytestmark = pytest.mark.slow
pytest_plugins = ["metrics_fixtures", "own_project"]  # own_bench: one benchmark run per session


def _expected_hash(ckpt: Path, text_encoder: Path) -> str:
    """models/local.py's rule, re-derived: folder and component hashes combined by key."""
    parts = [("folder", own_project.tree_sha256(ckpt)), ("load_kwargs.text_encoder", own_project.tree_sha256(text_encoder))]
    return hashlib.sha256("".join(f"{k}\t{v}\n" for k, v in parts).encode()).hexdigest()


def test_local_checkpoint_is_benchmarked_and_shown_everywhere(own_bench):
    project = own_bench["project"]
    digest = _expected_hash(own_bench["ckpt"], own_bench["text_encoder"])
    records = [json.loads(line) for line in (project / "outputs/generate/records.jsonl").read_text().splitlines()]
    assert len(records) == len(own_project.PROMPTS) and {r["status"] for r in records} == {"ok"}
    assert {r["content_sha256"] for r in records} == {digest}
    recipe = json.loads((project / "outputs/generate/recipes/mine.json").read_text())
    assert recipe["content_sha256"] == digest and recipe["config"]["folder"] == str(own_bench["ckpt"])
    board = json.loads((project / "reports/leaderboard.json").read_text())
    row = next(r for r in board["models"] if r["model"] == MODEL)
    assert row["composite"] is not None and row["rank"] == 1 and row["latency_p95_s"] is not None
    assert board["model_cards"][MODEL]["revision"] == digest and board["model_cards"][MODEL]["source"] == "local"
    metrics = json.loads((project / "reports/metrics.json").read_text())
    assert MODEL in metrics
    md, html = ((project / f"reports/report.{ext}").read_text() for ext in ("md", "html"))
    for text in (md, html):
        assert MODEL in text and "My own SD (local checkpoint)" in text
    assert f"{own_bench['ckpt']}@{digest}" in md  # where a hub model prints repo@revision
    assert next(line for line in md.splitlines() if line.startswith("| 1 |")).split(" | ")[1] == MODEL


def test_images_are_the_saved_pipelines_own(own_bench):
    """The restored text encoder is the saved one, not a fresh random one: every image's bytes equal
    those of the pipeline before it was saved (tiny-sd, same scheduler), generated here in-process."""
    from sentinel.config import ModelConfig, SchedulerConfig
    from sentinel.images import encode_png
    from sentinel.models import loader
    from sentinel.workloads.jobs import load_jobs

    cfg = ModelConfig(name=MODEL, display_name="x", pipeline="StableDiffusionPipeline", source="tiny-random",
                      steps=None, guidance=None, dtype="float32", device="cpu", licence="x", plumbing=True,
                      scheduler=SchedulerConfig("DDIMScheduler", own_project.TINY_SCHEDULER))
    original = loader.load(cfg)
    records = {json.loads(line)["job_id"]: json.loads(line)
               for line in (own_bench["project"] / "outputs/generate/records.jsonl").read_text().splitlines()}
    jobs = load_jobs(own_bench["jobs"], ("interiors",))
    assert len(jobs) == len(records)
    for job in jobs:
        assert hashlib.sha256(encode_png(original.generate(job))).hexdigest() == records[job.id]["sha256"], job.id


def test_a_changed_checkpoint_is_refused_against_its_pinned_hash(own_bench, tmp_path):
    import dataclasses
    import shutil

    from sentinel import config
    from sentinel.models import local

    import yaml

    data = yaml.safe_load((own_bench["project"] / "conf/model/mine.yaml").read_text())[MODEL]
    params = config.build(config.ModelConfig, {"name": MODEL, **data}, f"model.{MODEL}")  # the copy's own conf/
    ckpt = Path(shutil.copytree(own_bench["ckpt"], tmp_path / "ckpt"))
    pinned = dataclasses.replace(params, folder=str(ckpt), revision=local.content_sha256(dataclasses.replace(
        params, folder=str(ckpt))))
    assert local.check_pinned(pinned) == pinned.revision
    (ckpt / "unet" / "config.json").write_text((ckpt / "unet" / "config.json").read_text() + " ")
    with pytest.raises(ValueError, match=r"model\.mine\.revision: .* now hashes to [0-9a-f]{64}; its files changed"):
        local.check_pinned(pinned)


def test_pretrained_config_missing_three_keys_is_refused_at_once_before_any_image(tmp_path):
    project = own_project.make(tmp_path / "project")
    (project / "conf/model/half.yaml").write_text(
        "half:\n  display_name: Half a config\n  pipeline: StableDiffusionXLPipeline\n  source: pretrained\n"
        "  repo_id: stabilityai/sdxl-turbo\n  revision: null\n  steps: 1\n  guidance: 0.0\n  device: auto\n")
    (project / "docs/models/half.md").write_text("# Half a config\n")
    own_project.sentinel(project, "compose", "model=[tiny-sd,half]")
    proc = own_project.sentinel(project, "stage", "generate", "tiny-sd", check=False)
    assert proc.returncode == 2, proc.stderr
    message = proc.stderr[proc.stderr.index("sentinel stage: error:"):]  # one error, every problem in it
    assert message.count("error:") == 1 and "3 config problems" in message, proc.stderr
    for key in ("model.half.dtype: missing key", "model.half.licence: missing key", "model.half.plumbing: missing key"):
        assert key in message, message
    assert "init_seed" not in message and "scheduler" not in message and "cpu_threads" not in message
    assert not (project / "outputs/generate/images").exists()  # the default model generated nothing
    plan = own_project.sentinel(project, "plan", "model=[tiny-sd,half]", check=False)
    assert plan.returncode == 2 and "model.half.licence: missing key" in plan.stderr
    (project / "docs/models/half.md").unlink()  # the report and tests/test_models_cards.py hold models to one rule
    (project / "conf/model/half.yaml").write_text((project / "conf/model/half.yaml").read_text()
                                                  + "  dtype: auto\n  licence: x\n  plumbing: false\n")
    plan = own_project.sentinel(project, "plan", "model=[tiny-sd,half]", check=False)
    assert plan.returncode == 2 and "model.half: no model card; add docs/models/half.md" in plan.stderr, plan.stderr
