"""Build a model from its config and generate one image per job.

One loader for every model: `source: tiny-random` builds the pipeline class from seeded random
components (models/tiny.py, tiny_flux2.py); `source: pretrained` loads `repo_id` at the pinned
`revision`; `source: local` loads a `save_pretrained` folder pinned by its content hash
(models/local.py); `load_kwargs` go to `from_pretrained` for both; `source: api` returns a vendor
adapter (sentinel.api) with the same `generate(job)`.
Each job gets its own seeded `torch.Generator`, so an image depends only on (model, job), never on
batch composition or order. On CPU the pixels also depend on torch's intra-op thread count (float
reductions are split by thread), so each model pins `cpu_threads`. Across CPU architectures or
GPUs, bytes may differ; quality metrics are compared within tolerance there, not byte for byte.
"""
from __future__ import annotations

import dataclasses
import inspect
import re

import torch

from sentinel.config import ModelConfig
from sentinel.models import local, tiny
from sentinel.models.outputs import GenerationFailed
from sentinel.models.pipeline import ImageModel

__all__ = ["load", "as_tiny", "build_pipeline", "resolve_device", "resolve_dtype", "ImageModel",
           "GenerationFailed", "check_revision"]
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
SOURCES = ("tiny-random", "pretrained", "local", "api")
PINNED = re.compile(r"^[0-9a-f]{40}$")


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"model.device: {device!r} requested but no CUDA device is visible")
    return device


def resolve_dtype(dtype: str, device: str) -> torch.dtype:
    """`auto`: bf16 on CUDA cards that support it, else fp16 on CUDA, float32 on CPU."""
    if dtype == "auto":
        if not device.startswith("cuda"):
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if dtype not in DTYPES:
        raise ValueError(f"model.dtype: {dtype!r} is not one of auto, {', '.join(DTYPES)}")
    return DTYPES[dtype]


def check_revision(where: str, revision: str | None) -> str:
    """A release must name a full commit sha: `main` or a tag can move under the same config."""
    if not revision or not PINNED.match(revision):
        raise ValueError(f"{where}: {revision!r} is not a pinned revision; set the full 40-hex commit sha "
                         "of the hub repo (a branch or tag can change under the same config)")
    return revision


def as_tiny(cfg: ModelConfig, resolution_px: int | None = 64) -> ModelConfig:
    """The same config (pipeline class, scheduler, steps, guidance) on tiny random weights, on CPU."""
    return dataclasses.replace(cfg, source="tiny-random", dtype="float32", device="cpu", compile=False,
                               cpu_offload=False, unet=None, resolution_px=resolution_px, plumbing=True,
                               folder=None, load_kwargs={})


def _from_pretrained(cfg: ModelConfig, dtype: torch.dtype):
    import diffusers

    if not cfg.repo_id:
        raise ValueError(f"model.{cfg.name}: source 'pretrained' needs repo_id and a pinned revision")
    revision = check_revision(f"model.{cfg.name}.revision", cfg.revision)
    kwargs = local.resolve_load_kwargs(cfg, dtype)
    if cfg.unet is not None:  # SDXL-Lightning: the distilled UNet replaces the base UNet
        from huggingface_hub import hf_hub_download
        from safetensors.torch import load_file

        unet_rev = check_revision(f"model.{cfg.name}.unet.revision", cfg.unet.revision)
        unet = diffusers.UNet2DConditionModel.from_config(
            diffusers.UNet2DConditionModel.load_config(cfg.repo_id, subfolder="unet", revision=revision))
        unet.load_state_dict(load_file(hf_hub_download(cfg.unet.repo_id, cfg.unet.filename, revision=unet_rev)))
        kwargs["unet"] = unet.to(dtype)
    pipe = getattr(diffusers, cfg.pipeline).from_pretrained(cfg.repo_id, revision=revision, torch_dtype=dtype,
                                                            **kwargs)
    return _set_scheduler(pipe, cfg)


def _set_scheduler(pipe, cfg: ModelConfig):
    """The configured scheduler class on the checkpoint's scheduler config; none configured: the checkpoint's."""
    import diffusers

    if cfg.scheduler is not None:
        sched_cls = getattr(diffusers, cfg.scheduler.cls)
        pipe.scheduler = sched_cls.from_config(pipe.scheduler.config, **dict(cfg.scheduler.kwargs))
    return pipe


def build_pipeline(cfg: ModelConfig, dtype: torch.dtype = torch.float32):
    if cfg.source == "tiny-random":
        if cfg.pipeline not in tiny.BUILDERS:
            raise ValueError(f"model.{cfg.name}.pipeline: no tiny builder for {cfg.pipeline!r} "
                             f"(valid: {', '.join(sorted(tiny.BUILDERS))})")
        return tiny.BUILDERS[cfg.pipeline](cfg.init_seed, cfg.scheduler.cls, dict(cfg.scheduler.kwargs),
                                           **dict(cfg.pipeline_kwargs))
    if cfg.source == "pretrained":
        return _from_pretrained(cfg, dtype)
    if cfg.source == "local":
        return _set_scheduler(local.load_local(cfg, dtype), cfg)
    raise ValueError(f"model.{cfg.name}.source: {cfg.source!r} is not one of {', '.join(SOURCES)}")


def _place(pipe, cfg: ModelConfig, device: str, dtype: torch.dtype):
    if dtype != torch.float32:
        pipe = pipe.to(dtype=dtype)  # before any offload hooks; a no-op for weights loaded in `dtype`
    if cfg.cpu_offload and device.startswith("cuda"):
        pipe.enable_model_cpu_offload(device=device)  # moves each component to the card only while it runs
    else:
        pipe = pipe.to(device)
    if cfg.compile and device.startswith("cuda"):
        name = "transformer" if hasattr(pipe, "transformer") else "unet"
        setattr(pipe, name, torch.compile(getattr(pipe, name), mode="max-autotune-no-cudagraphs"))
    return pipe


def load(cfg: ModelConfig):
    """The model named by `cfg`: an ImageModel (self-hosted) or an ApiModel (vendor API)."""
    if cfg.source == "api":
        from sentinel.api import load_api

        return load_api(cfg)
    device = resolve_device(cfg.device)
    dtype = resolve_dtype(cfg.dtype, device)
    pipe = _place(build_pipeline(cfg, dtype), cfg, device, dtype)
    pipe.set_progress_bar_config(disable=True)
    accepts = set(inspect.signature(pipe.__call__).parameters)
    return ImageModel(cfg=cfg, pipe=pipe, device=device, accepts_negative="negative_prompt" in accepts)
