"""`source: pretrained` on its real code path, offline: a local HF cache holds tiny weights under
pinned commit shas, and the loader builds SDXL-Lightning the published way (distilled UNet file loaded
into the base pipeline, Euler trailing) from it. A subprocess, because huggingface_hub reads its
cache location at import time."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

BASE_SHA, UNET_SHA = "1" * 40, "2" * 40
SCRIPT = f"""
import dataclasses, os, sys, torch
from pathlib import Path
from safetensors.torch import save_file
from sentinel import config
from sentinel.models import loader
from sentinel.compose import compose
from sentinel.workloads.jobs import Job
cache = Path(os.environ["HF_HUB_CACHE"])
cfg = config.models(compose(["model=sdxl-lightning"])["model"])["sdxl-lightning"]
tiny = loader.build_pipeline(loader.as_tiny(cfg))
tiny.save_pretrained(cache / "models--stabilityai--stable-diffusion-xl-base-1.0" / "snapshots" / "{BASE_SHA}")
torch.manual_seed(5)
distilled = type(tiny.unet).from_config(tiny.unet.config)   # different weights: the "4-step UNet"
unet_dir = cache / "models--ByteDance--SDXL-Lightning" / "snapshots" / "{UNET_SHA}"
unet_dir.mkdir(parents=True)
save_file(distilled.state_dict(), str(unet_dir / cfg.unet.filename))
pinned = dataclasses.replace(cfg, revision="{BASE_SHA}", device="cpu", dtype="float32", resolution_px=64,
                             unet=dataclasses.replace(cfg.unet, revision="{UNET_SHA}"))
model = loader.load(pinned)
sd = model.pipe.unet.state_dict()
assert all(torch.equal(sd[k], v) for k, v in distilled.state_dict().items()), "UNet is not the distilled file"
assert not torch.equal(sd["conv_in.weight"], tiny.unet.state_dict()["conv_in.weight"])
assert type(model.pipe.scheduler).__name__ == "EulerDiscreteScheduler"
assert model.pipe.scheduler.config.timestep_spacing == "trailing"
job = Job(id="j", category="c", prompt="a headshot", negative_prompt="", seed=1, width=64, height=64, steps=30, guidance=7.0)
img = model.generate(job)
print("OK", img.size, model.settings(job))
"""


def test_lightning_loads_the_distilled_unet_into_the_pinned_base(root, tmp_path):
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": str(root / "src")}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=root, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "OK (64, 64) (4, 0.0)" in proc.stdout
