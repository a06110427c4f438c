"""Every self-hosted seed model's config runs end to end on its real pipeline class at tiny scale.

`loader.as_tiny(cfg)` keeps the pipeline class, scheduler (class and settings), steps and guidance
and swaps only the weights for tiny seeded random ones on CPU. Hooks on the denoiser record each
call's timestep and batch, so the test checks the sampler really ran the config's recipe.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import yaml

from sentinel import config
from sentinel.models import loader
from sentinel.compose import compose
from sentinel.workloads.jobs import Job

SELF_HOSTED = tuple(n for n in config.choices("model")  # every pretrained config gets a tiny-scale proof
                    if next(iter(yaml.safe_load((config.CONF_DIR / "model" / f"{n}.yaml").read_text()).values()))
                    ["source"] == "pretrained")
JOB = Job(id="j1", category="c", prompt="professional headshot, soft light", negative_prompt="blurry", seed=3,
          width=64, height=64, steps=30, guidance=7.5)


def seed_cfg(name: str, *overrides: str) -> config.ModelConfig:
    return config.models(compose([f"model={name}", *overrides])["model"])[name]


def _trace(model):
    denoiser = getattr(model.pipe, "transformer", None) or model.pipe.unet
    calls = []

    def hook(_module, args, kwargs):
        x = kwargs.get("hidden_states", kwargs.get("sample", args[0] if args else None))
        t = kwargs.get("timestep", args[1] if len(args) > 1 else None)
        calls.append((int(x.shape[0]), float(t.flatten()[0])))

    denoiser.register_forward_pre_hook(hook, with_kwargs=True)
    return calls


@pytest.mark.parametrize("name", SELF_HOSTED)
def test_seed_config_runs_its_recipe_at_tiny_scale(name):
    cfg = seed_cfg(name)
    model = loader.load(loader.as_tiny(cfg, resolution_px=64))
    assert type(model.pipe).__name__ == cfg.pipeline
    assert type(model.pipe.scheduler).__name__ == cfg.scheduler.cls
    for key, value in cfg.scheduler.kwargs.items():
        assert model.pipe.scheduler.config[key] == value
    calls = _trace(model)
    img = np.asarray(model.generate(JOB))
    assert img.shape == (64, 64, 3) and img.std() > 1
    assert len(calls) == cfg.steps, "one denoiser call per configured step"
    assert all(batch == 1 for batch, _ in calls), "no CFG batch: distilled or guidance-embedded recipe"
    assert model.settings(JOB) == (cfg.steps, cfg.guidance)


def test_sdxl_distilled_recipes_use_trailing_timesteps():
    # trailing spacing: round(arange(T, 0, -T/n)) - 1 with T = 1000
    for name, expected in (("sdxl-lightning", [999, 749, 499, 249]), ("sdxl-turbo", [999])):
        model = loader.load(loader.as_tiny(seed_cfg(name), resolution_px=64))
        calls = _trace(model)
        model.generate(JOB)
        assert [t for _, t in calls] == expected, name


def test_every_seed_model_is_configured():
    assert set(SELF_HOSTED) == {"flux2-dev", "flux2-schnell", "sdxl-lightning", "sdxl-turbo"}


def test_seed_recipes_are_the_published_ones():
    lightning, turbo = seed_cfg("sdxl-lightning"), seed_cfg("sdxl-turbo")
    assert (lightning.steps, lightning.guidance, lightning.scheduler.cls) == (4, 0.0, "EulerDiscreteScheduler")
    assert lightning.unet.filename == "sdxl_lightning_4step_unet.safetensors"
    assert (turbo.steps, turbo.guidance, turbo.resolution_px) == (1, 0.0, 512)
    schnell = seed_cfg("flux2-schnell")
    assert schnell.repo_id == "black-forest-labs/FLUX.2-klein-4B" and schnell.pipeline == "Flux2KleinPipeline"
    assert seed_cfg("flux2-dev").pipeline == "Flux2Pipeline"


def test_cli_override_runs_a_seed_model_on_tiny_weights():
    cfg = seed_cfg("sdxl-lightning", "model.sdxl-lightning.source=tiny-random", "model.sdxl-lightning.device=cpu",
                   "model.sdxl-lightning.dtype=float32", "model.sdxl-lightning.resolution_px=64")
    assert loader.load(cfg).generate(JOB).size == (64, 64)


@pytest.mark.parametrize("name", SELF_HOSTED)
def test_unpinned_revisions_are_refused_before_any_download(name):
    cfg = seed_cfg(name)
    with pytest.raises(ValueError, match=rf"model\.{name}\.revision: None is not a pinned revision"):
        loader.load(cfg)
    for rev in ("main", "v1.0", "a" * 39):
        with pytest.raises(ValueError, match="is not a pinned revision"):
            loader.load(dataclasses.replace(cfg, revision=rev))


def test_auto_device_and_gpu_only_options_degrade_to_cpu_without_cuda():
    import torch

    if torch.cuda.is_available():
        pytest.skip("checks the CPU fallback")
    assert loader.resolve_device("auto") == "cpu" and loader.resolve_dtype("auto", "cpu") == torch.float32
    cfg = dataclasses.replace(loader.as_tiny(seed_cfg("sdxl-turbo")), device="auto", dtype="auto", compile=True,
                              cpu_offload=True)  # both apply on CUDA only
    model = loader.load(cfg)
    assert model.device == "cpu" and not hasattr(model.pipe.unet, "_orig_mod")
    with pytest.raises(RuntimeError, match=r"model\.device: 'cuda' requested but no CUDA device is visible"):
        loader.resolve_device("cuda")
