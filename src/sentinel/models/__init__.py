"""Build a model from its config and generate one image per job.

One loader for every self-hosted model: `source: tiny-random` builds the pipeline class from seeded
random components (models/tiny.py); `source: pretrained` loads `repo_id` at the pinned `revision`.
Each job gets its own seeded `torch.Generator`, so an image depends only on (model, job), never on
batch composition or order. On CPU the pixels also depend on torch's intra-op thread count (float
reductions are split by thread), so each model pins `cpu_threads`. Across CPU architectures or
GPUs, bytes may differ; quality metrics are compared within tolerance there, not byte for byte.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image

from ..config import ModelConfig
from ..workload import Job
from . import tiny

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
SOURCES = ("tiny-random", "pretrained")


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"model.device: {device!r} requested but no CUDA device is visible")
    return device


def resolve_dtype(dtype: str, device: str) -> torch.dtype:
    if dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    if dtype not in DTYPES:
        raise ValueError(f"model.dtype: {dtype!r} is not one of auto, {', '.join(DTYPES)}")
    return DTYPES[dtype]


def build_pipeline(cfg: ModelConfig):
    if cfg.source == "tiny-random":
        if cfg.pipeline not in tiny.BUILDERS:
            raise ValueError(f"model.{cfg.name}.pipeline: no tiny builder for {cfg.pipeline!r} "
                             f"(valid: {', '.join(sorted(tiny.BUILDERS))})")
        return tiny.BUILDERS[cfg.pipeline](cfg.init_seed, cfg.scheduler.cls, dict(cfg.scheduler.kwargs))
    if cfg.source == "pretrained":
        import diffusers

        if not cfg.repo_id or not cfg.revision:
            raise ValueError(f"model.{cfg.name}: source 'pretrained' needs repo_id and a pinned revision")
        pipe = getattr(diffusers, cfg.pipeline).from_pretrained(cfg.repo_id, revision=cfg.revision)
        sched_cls = getattr(diffusers, cfg.scheduler.cls)
        pipe.scheduler = sched_cls.from_config(pipe.scheduler.config, **dict(cfg.scheduler.kwargs))
        return pipe
    raise ValueError(f"model.{cfg.name}.source: {cfg.source!r} is not one of {', '.join(SOURCES)}")


@dataclass
class ImageModel:
    cfg: ModelConfig
    pipe: object
    device: str

    def settings(self, job: Job) -> tuple[int, float]:
        """Steps and guidance: the model's pinned recipe wins over the job's request."""
        steps = self.cfg.steps if self.cfg.steps is not None else job.steps
        guidance = self.cfg.guidance if self.cfg.guidance is not None else job.guidance
        return steps, guidance

    @torch.inference_mode()
    def generate(self, job: Job) -> Image.Image:
        if self.device == "cpu":
            torch.set_num_threads(self.cfg.cpu_threads)  # process-global; pixels depend on it
        steps, guidance = self.settings(job)
        generator = torch.Generator(device="cpu").manual_seed(job.seed)
        out = self.pipe(prompt=job.prompt, negative_prompt=job.negative_prompt or None,
                        num_inference_steps=steps, guidance_scale=guidance, width=job.width,
                        height=job.height, generator=generator, output_type="pil")
        return out.images[0]


def load(cfg: ModelConfig) -> ImageModel:
    device = resolve_device(cfg.device)
    dtype = resolve_dtype(cfg.dtype, device)
    pipe = build_pipeline(cfg).to(device)
    if dtype != torch.float32:
        pipe = pipe.to(dtype=dtype)
    pipe.set_progress_bar_config(disable=True)
    return ImageModel(cfg=cfg, pipe=pipe, device=device)
