"""ImageModel: one self-hosted pipeline, called per job or per batch of compatible jobs.

Each job brings its own `torch.Generator` seeded with `job.seed` (created on the CPU, so the initial
noise is the same on any device), and the pipeline draws each image's latents from that job's
generator. Batches only group jobs whose call settings are equal, so a batch is the same computation
as its jobs one by one; tests/test_models_batching.py checks the bytes.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image

from sentinel.config import ModelConfig
from sentinel.workloads.jobs import Job
from sentinel.models.outputs import GenerationFailed, float_image_failure, to_pil


@dataclass
class ImageModel:
    cfg: ModelConfig
    pipe: object
    device: str
    accepts_negative: bool = True

    def settings(self, job: Job) -> tuple[int, float]:
        """Steps and guidance: the model's pinned recipe wins over the job's request."""
        steps = self.cfg.steps if self.cfg.steps is not None else job.steps
        guidance = self.cfg.guidance if self.cfg.guidance is not None else job.guidance
        return steps, guidance

    def size(self, job: Job) -> tuple[int, int]:
        """(width, height): the recipe's square resolution when pinned, else the job's."""
        if self.cfg.resolution_px is not None:
            return self.cfg.resolution_px, self.cfg.resolution_px
        return job.width, job.height

    def batch_key(self, job: Job) -> tuple:
        """Jobs with equal keys can share one pipeline call without changing any image."""
        return (*self.settings(job), *self.size(job), bool(job.negative_prompt and self.accepts_negative))

    @torch.inference_mode()
    def generate_batch(self, jobs: list[Job]) -> list[Image.Image | GenerationFailed]:
        """One image or one failure per job, in order. All jobs must share a `batch_key`."""
        keys = {self.batch_key(j) for j in jobs}
        if len(keys) != 1:
            raise ValueError(f"generate_batch: jobs {[j.id for j in jobs]} need different call settings")
        if self.device == "cpu":
            torch.set_num_threads(self.cfg.cpu_threads)  # process-global; pixels depend on it
        (steps, guidance, width, height, negative), = keys
        kwargs = dict(prompt=[j.prompt for j in jobs], num_inference_steps=steps, guidance_scale=guidance,
                      width=width, height=height, output_type="np",
                      generator=[torch.Generator(device="cpu").manual_seed(j.seed) for j in jobs])
        if negative:
            kwargs["negative_prompt"] = [j.negative_prompt for j in jobs]
        try:
            arrays = self.pipe(**kwargs).images
        except torch.cuda.OutOfMemoryError as e:
            return [GenerationFailed(f"pipeline error: CUDA out of memory: {e}".splitlines()[0])] * len(jobs)
        out: list[Image.Image | GenerationFailed] = []
        for arr in arrays:
            cause = float_image_failure(arr)
            out.append(GenerationFailed(cause) if cause else to_pil(arr))
        return out

    def generate(self, job: Job) -> Image.Image:
        """One job's image; raises GenerationFailed (with its cause) when the output is invalid."""
        result = self.generate_batch([job])[0]
        if isinstance(result, GenerationFailed):
            raise result
        return result
