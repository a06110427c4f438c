"""A bare copy of the project in a temporary folder, for "your own model / your own data" tests.

The copy has the code, conf/, docs/, rubrics/, workloads/ and the pinned reference photos, and runs
the real stages (`sentinel compose`, `sentinel stage <name> [model]`) in subprocesses with
PYTHONPATH=<copy>/src, so a model or workload file written into the copy is the only thing added:
exactly what a user does. Every output path is inside the copy (the stages' cwd).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("src", "conf", "rubrics", "docs", "workloads", "stages")
PER_MODEL = ("recipe", "generate", "score", "latency")
ALL_MODELS = ("gather", "cost", "report")


def make(dest: Path) -> Path:
    for name in COPIED:
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    shutil.copytree(ROOT / "data" / "reference", dest / "data" / "reference")
    shutil.copy2(ROOT / "pyproject.toml", dest / "pyproject.toml")
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base"]):
        subprocess.run(cmd, cwd=dest, check=True, capture_output=True)
    return dest


def sentinel(project: Path, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "HF_HUB_OFFLINE": "1", "SENTINEL_LOG_LEVEL": "INFO"}
    env.pop("MLFLOW_TRACKING_URI", None)
    proc = subprocess.run([sys.executable, "-m", "sentinel", *args], cwd=project, env=env, capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"sentinel {' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n"
                             f"{proc.stderr[-6000:]}")
    return proc


def bench(project: Path, models: list[str], overrides: list[str], request) -> None:
    """Compose params.yaml with `overrides`, then every stage as dvc.yaml orders them."""
    sentinel(project, "compose", f"model=[{','.join(models)}]", "tracking.enabled=false", "score.cache_dir=",
             *overrides)
    link_weights(project, request)
    for stage in PER_MODEL:
        for m in models:
            proc = sentinel(project, "stage", stage, m, check=stage != "latency")
            if proc.returncode != 0:  # Serve's route can lag its "ready" on a loaded machine (HTTP 404): once more
                sentinel(project, "stage", stage, m)
    for stage in ALL_MODELS:
        sentinel(project, "stage", stage)


def link_weights(project: Path, request) -> None:
    """project/weights -> the checkout's smoke weights (`make weights`) when it has every file the
    composed params name, else -> the session's freshly written ones (tests/metrics_fixtures.py)."""
    import yaml

    score = yaml.safe_load((project / "params.yaml").read_text())["score"]
    needed = [Path(v).name for k, v in score.items() if k.endswith("_weights") and isinstance(v, str) and v]
    folder = ROOT / "weights"
    if not all((folder / n).is_file() for n in needed):
        folder = request.getfixturevalue("smoke_weights")["dir"]
    (project / "weights").symlink_to(folder, target_is_directory=True)


# The e2e run both "own model" and "own data" tests read: a tiny checkpoint saved with save_pretrained
# (its text encoder saved apart, restored through load_kwargs) on a category of its own, built by
# `sentinel workload init` from prompts and JPEG photos, whose jobs.csv went through a spreadsheet.
MODEL = "mine"
MODEL_YAML = """mine:
  display_name: My own SD (local checkpoint)
  pipeline: StableDiffusionPipeline
  source: local
  folder: {folder}
  load_kwargs:
    text_encoder: {{class: CLIPTextModel, folder: {text_encoder}}}
  steps: null
  guidance: null
  dtype: float32
  device: cpu
  licence: test checkpoint
  plumbing: true
"""
TINY_SCHEDULER = dict(num_train_timesteps=1000, beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                      clip_sample=False, set_alpha_to_one=False, steps_offset=1)  # conf/model/tiny-sd.yaml's
PROMPTS = ["a bright living room with an oak floor", "a reading nook by a tall window",
           "a minimalist kitchen, white cabinets", "a bedroom with linen bedding, morning light"]
CHEAP_LATENCY = ["latency.arrival=poisson", "latency.requests=2",  # poisson: init writes no arrival trace "latency.search_steps=0", "latency.probe_min_requests=4",
                 "latency.probe_min_duration_s=0.5", "latency.probe_warmup_s=0"]


def save_checkpoint(root: Path) -> tuple[Path, Path]:
    """tiny-sd's pipeline, save_pretrained into root/ckpt, its text encoder moved out to root/text-encoder."""
    from sentinel.models import tiny

    pipe = tiny.tiny_sd(0, "DDIMScheduler", TINY_SCHEDULER)
    pipe.save_pretrained(root / "ckpt")
    shutil.move(root / "ckpt" / "text_encoder", root / "text-encoder")
    return root / "ckpt", root / "text-encoder"


def photo_folder(root: Path) -> Path:
    """prompts.txt and six JPEG reference photos (scikit-image's photographs, 64 px crops)."""
    import numpy as np
    from PIL import Image
    from skimage import data as skdata

    folder = root / "interiors"
    (folder / "reference").mkdir(parents=True)
    (folder / "prompts.txt").write_text("\n".join(["# my prompts", *PROMPTS, ""]), encoding="utf-8")
    for i, name in enumerate(("coffee", "chelsea", "astronaut", "rocket", "coffee", "chelsea")):
        a = np.asarray(Image.fromarray(getattr(skdata, name)()).convert("RGB"))
        h, w = a.shape[:2]
        crop = a[(h // 8) * (i % 3):, (w // 8) * (i // 3):][: min(h, w) // 2, : min(h, w) // 2]
        Image.fromarray(crop).resize((64, 64), Image.Resampling.BICUBIC).save(folder / "reference" / f"room-{i}.jpg",
                                                                          quality=90)
    return folder


def spreadsheet_round_trip(csv_path: Path) -> None:
    """What a spreadsheet's "save as CSV (UTF-8)" does: a BOM, CRLF, columns reordered, a notes column added."""
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    order = ["prompt", "id", "notes", *[c for c in rows[0] if c not in ("prompt", "id")]]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=order, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({**r, "notes": "checked by ops"} for r in rows)
    csv_path.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))


@pytest.fixture(scope="session")
def own_bench(tmp_path_factory, request) -> dict:
    """Run once: the whole benchmark on your own model and your own data, in a copy of the project."""
    root = tmp_path_factory.mktemp("own")
    project = make(root / "project")
    ckpt, text_encoder = save_checkpoint(root)
    (project / "conf/model/mine.yaml").write_text(MODEL_YAML.format(folder=ckpt, text_encoder=text_encoder))
    (project / "docs/models/mine.md").write_text("# My own SD\n\nA tiny checkpoint saved by the tests.\n")
    folder = photo_folder(root)
    init = sentinel(project, "workload", "init", str(folder), "--name", "interiors", "--size", "64", "64",
                    "--steps", "2", "--guidance", "5")
    spreadsheet_round_trip(folder / "jobs.csv")
    bench(project, [MODEL], ["workload=interiors", *CHEAP_LATENCY], request)
    return {"project": project, "ckpt": ckpt, "text_encoder": text_encoder, "photos": folder / "reference",
            "jobs": folder / "jobs.csv", "init_stdout": init.stdout}


def tree_sha256(folder: Path) -> str:
    """The documented content hash, re-derived: sha256 over sorted relative paths, each + NUL + bytes + NUL."""
    h = hashlib.sha256()
    for path in sorted((p for p in folder.rglob("*") if p.is_file()), key=lambda p: p.relative_to(folder).as_posix()):
        h.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()
