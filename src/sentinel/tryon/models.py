"""Try-on models: person + garment (+ garment-region mask) -> the person wearing the garment.

`load_tryon_model(cfg) -> TryOnModel`; `model.generate(job, person, garment, mask)` returns an RGB
PIL image the person's size or raises sentinel.models.outputs.GenerationFailed with the cause.
`source: api` models are a vendor behind sentinel.tryon.api (TryOnApiModel, the same interface).

One route today, `conditioning: garment-init`, on diffusers' real StableDiffusionInpaintPipeline
(tiny seeded-random components for `source: tiny-random`, sentinel.tryon.tiny_pipeline; the same
class `from_pretrained(repo_id, revision, local_files_only=True)` for `source: pretrained`):

1. The garment's foreground box (pixels whose darkest channel is below GARMENT_WHITE; the whole
   photo if none) is resized (PIL bicubic) to the mask's bounding box and pasted into the person
   photo *inside the mask only*: the init image.
2. The pipeline inpaints the mask region of that init image: `image` = init image, `mask_image` =
   the job's mask, `strength` < 1 so the denoising starts from the noised init latents (at strength
   1 it would start from pure noise and the garment would be lost: the masked-image channels the
   9-channel UNet sees are the person with the mask region blanked). The text prompt is a fixed
   template with the job's category. No IP-Adapter or garment encoder: the garment enters only as
   the init content, so this is an inpainting baseline, not a trained try-on network.
3. Outside the mask the result is NOT the person: the VAE encode/decode round trip and the UNet
   change those pixels, which is what the preservation metric measures. `composite: true` pastes
   the person back outside the mask after decoding (a post-processing step some try-on systems
   ship); it is off for tiny-tryon and recorded in the recipe when on.

Each job gets its own `torch.Generator` (CPU, seeded with `job.seed`); `cpu_threads` pins torch's
thread count, so the same config and job give the same bytes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from sentinel.models.outputs import GenerationFailed, float_image_failure, to_pil
from sentinel.tryon.config import TryOnModelConfig
from sentinel.tryon.regions import MASK_THRESHOLD

GARMENT_WHITE = 245  # a garment-photo pixel whose darkest channel is >= this is background


def mask_array(mask: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """HxW bool garment region (luminance >= 128, as sentinel.tryon.regions reads masks)."""
    if mask.size != size:
        raise GenerationFailed(f"mask is {mask.size[0]}x{mask.size[1]}, the person image {size[0]}x{size[1]}")
    return np.asarray(mask.convert("L")) >= MASK_THRESHOLD


def garment_box(garment: np.ndarray) -> tuple[slice, slice]:
    """The bounding box of the garment photo's foreground (non-white pixels); the whole photo if none."""
    fg = garment.min(axis=2) < GARMENT_WHITE
    if not fg.any():
        return slice(0, garment.shape[0]), slice(0, garment.shape[1])
    rows, cols = np.flatnonzero(fg.any(axis=1)), np.flatnonzero(fg.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def init_image(person: np.ndarray, garment: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The person with the garment's foreground box resized onto the mask's bounding box, inside the mask."""
    from sentinel.tryon.regions import bounding_box

    box = bounding_box(region)
    if box is None:
        raise GenerationFailed("empty mask: no garment region to try the garment on")
    rows, cols = box
    crop = Image.fromarray(garment[garment_box(garment)])
    pasted = np.asarray(crop.resize((cols.stop - cols.start, rows.stop - rows.start), Image.Resampling.BICUBIC))
    out = person.copy()
    inside = region[box]
    out[box][inside] = pasted[inside]
    return out


@dataclass
class TryOnModel:
    cfg: TryOnModelConfig
    pipe: object
    device: str

    def prompt(self, job) -> str:
        return self.cfg.prompt.format(category=job.category)

    def generate(self, job, person: Image.Image, garment: Image.Image, mask: Image.Image | None) -> Image.Image:
        import torch

        if mask is None:
            raise GenerationFailed(f"no mask: {self.cfg.name} inpaints the garment region, and job {job.id} has none")
        person, garment = person.convert("RGB"), garment.convert("RGB")
        region = mask_array(mask, person.size)
        p = np.asarray(person)
        init = Image.fromarray(init_image(p, np.asarray(garment), region))
        mask_l = Image.fromarray((region * np.uint8(255)))
        width, height = self.cfg.work_size_px or person.size
        if (width, height) != person.size:
            init = init.resize((width, height), Image.Resampling.BICUBIC)
            mask_l = mask_l.resize((width, height), Image.Resampling.NEAREST)
        if self.device == "cpu":
            torch.set_num_threads(self.cfg.cpu_threads)  # process-global; pixels depend on it
        try:
            with torch.inference_mode():
                arr = self.pipe(prompt=self.prompt(job), negative_prompt=self.cfg.negative_prompt or None,
                                image=init, mask_image=mask_l, height=height, width=width,
                                strength=self.cfg.strength, num_inference_steps=self.cfg.steps,
                                guidance_scale=self.cfg.guidance, output_type="np",
                                generator=torch.Generator(device="cpu").manual_seed(job.seed)).images[0]
        except torch.cuda.OutOfMemoryError as e:
            raise GenerationFailed(f"pipeline error: CUDA out of memory: {e}".splitlines()[0]) from None
        cause = float_image_failure(arr)
        if cause:
            raise GenerationFailed(cause)
        result = to_pil(arr)
        if result.size != person.size:
            result = result.resize(person.size, Image.Resampling.BICUBIC)
        if self.cfg.composite:
            out = np.asarray(result).copy()
            out[~region] = p[~region]
            result = Image.fromarray(out)
        return result


def build_pipeline(cfg: TryOnModelConfig, dtype):
    import diffusers

    from sentinel.models.loader import check_revision

    if cfg.source == "tiny-random":
        from sentinel.tryon.tiny_pipeline import BUILDERS

        return BUILDERS[cfg.pipeline](cfg.init_seed, cfg.scheduler.cls, dict(cfg.scheduler.kwargs))
    if cfg.source == "pretrained":
        revision = check_revision(f"tryon.models.{cfg.name}.revision", cfg.revision)
        pipe = getattr(diffusers, cfg.pipeline).from_pretrained(
            cfg.repo_id, revision=revision, torch_dtype=dtype, local_files_only=True, safety_checker=None,
            requires_safety_checker=False)
        if cfg.scheduler is not None:
            pipe.scheduler = getattr(diffusers, cfg.scheduler.cls).from_config(pipe.scheduler.config,
                                                                               **dict(cfg.scheduler.kwargs))
        return pipe
    raise ValueError(f"tryon.models.{cfg.name}.source: {cfg.source!r} is not tiny-random, pretrained or api")


def load_tryon_model(cfg: TryOnModelConfig):
    """Build the pipeline (nothing is downloaded: pretrained weights must be in the local HF cache),
    or for `source: api` the vendor adapter (sentinel.tryon.api.load_tryon_api), same interface."""
    if cfg.source == "api":
        from sentinel.tryon.api import load_tryon_api

        return load_tryon_api(cfg)
    from sentinel.models.loader import resolve_device, resolve_dtype

    device = resolve_device(cfg.device)
    dtype = resolve_dtype(cfg.dtype, device)
    pipe = build_pipeline(cfg, dtype)
    if dtype.is_floating_point and cfg.source == "tiny-random" and dtype != pipe.unet.dtype:
        pipe = pipe.to(dtype=dtype)
    pipe = pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return TryOnModel(cfg=cfg, pipe=pipe, device=device)
