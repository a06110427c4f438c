"""Build a video model from its config and generate one clip per job: uint8 (T, H, W, 3) RGB.

    model = load_video_model(cfg)         # cfg: sentinel.video.config.VideoModelConfig
    frames = model.generate(job)          # raises GenerationFailed(cause) when no usable clip came back

Sources: `tiny-random` (sentinel.video.tiny_wan: diffusers' WanPipeline with tiny seeded-random
components), `pretrained` (WanPipeline.from_pretrained(repo_id, revision=<40-hex sha>,
local_files_only=True): never a download at run time; the VAE in float32 as diffusers recommends for
Wan), `api` (sentinel.video.api.load_video_api, the vendor adapter).

Frame rule. Wan's VAE compresses time by 4, so it decodes 4k+1 frames. A job asking for n frames is
generated with the smallest valid count >= n, ceil((n - 1) / 4) * 4 + 1 (8 -> 9, 16 -> 17, 121 -> 121),
and the first n frames are kept. (WanPipeline itself rounds *down*, which would return fewer frames than
asked.) Sides must be multiples of the VAE's spatial factor x the transformer's patch (16 for the tiny
and Wan 2.1 layouts, 32 for Wan 2.2 TI2V); a job that is not fails with that cause.

Determinism: each job's initial noise comes from its own CPU `torch.Generator(seed)`, so a clip depends
only on (model, job); on CPU the bytes also depend on torch's thread count, pinned by `cpu_threads`.
Quantisation is diffusers' own (x * 255, rounded), as for the image models.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sentinel.errors import ConfigError, WeightsError
from sentinel.models.outputs import GenerationFailed
from sentinel.video.config import VideoModelConfig
from sentinel.video.jobs import VideoJob

__all__ = ["VideoModel", "load_video_model", "generated_frames", "GenerationFailed", "build_scheduler"]
SHIFT_KWARG = {"FlowMatchEulerDiscreteScheduler": "shift"}  # every other flow scheduler calls it flow_shift


def generated_frames(n_frames: int, temporal_factor: int = 4) -> int:
    """The smallest count >= n_frames of the form k * temporal_factor + 1."""
    return -(-(max(n_frames, 1) - 1) // temporal_factor) * temporal_factor + 1


def _shift_kwargs(cls_name: str, flow_shift: float | None) -> dict:
    return {} if flow_shift is None else {SHIFT_KWARG.get(cls_name, "flow_shift"): float(flow_shift)}


def build_scheduler(cfg: VideoModelConfig, base_config=None, base_cls: str | None = None):
    """The configured scheduler: `scheduler.class` (else the checkpoint's class `base_cls`) with its
    kwargs and `flow_shift`, on top of the checkpoint's scheduler config when there is one."""
    import diffusers

    name = cfg.scheduler.cls if cfg.scheduler is not None else base_cls
    sched_cls = getattr(diffusers, name or "", None)
    if sched_cls is None:
        raise ValueError(f"video.models.{cfg.name}.scheduler.class: {name!r} is not a diffusers scheduler")
    kwargs = {**(dict(cfg.scheduler.kwargs) if cfg.scheduler is not None else {}),
              **_shift_kwargs(name, cfg.flow_shift)}
    return sched_cls.from_config(base_config, **kwargs) if base_config is not None else sched_cls(**kwargs)


@dataclass
class VideoModel:
    cfg: VideoModelConfig
    pipe: object
    device: str
    accepts_negative: bool = True

    def settings(self, job: VideoJob) -> tuple[int, float]:
        """Steps and guidance: the model's pinned recipe wins over the job's request."""
        steps = self.cfg.steps if self.cfg.steps is not None else job.steps
        guidance = self.cfg.guidance if self.cfg.guidance is not None else job.guidance
        return steps, guidance

    @property
    def temporal_factor(self) -> int:
        return int(getattr(self.pipe, "vae_scale_factor_temporal", 4))

    @property
    def side_multiple(self) -> int:
        patch = self.pipe.transformer.config.patch_size
        return int(self.pipe.vae_scale_factor_spatial) * int(max(patch[1], patch[2]))

    def generate(self, job: VideoJob) -> np.ndarray:
        """uint8 (job.n_frames, job.height, job.width, 3); GenerationFailed with the cause otherwise."""
        import torch

        multiple = self.side_multiple
        if job.width % multiple or job.height % multiple:
            raise GenerationFailed(f"unsupported size {job.width}x{job.height}: {self.cfg.name} needs sides "
                                   f"that are multiples of {multiple} px (VAE x patch)")
        if self.device == "cpu":
            torch.set_num_threads(self.cfg.cpu_threads)  # process-global; the frames' bytes depend on it
        steps, guidance = self.settings(job)
        kwargs = dict(prompt=job.prompt, height=job.height, width=job.width,
                      num_frames=generated_frames(job.n_frames, self.temporal_factor), num_inference_steps=steps,
                      guidance_scale=guidance, output_type="np",
                      generator=torch.Generator(device="cpu").manual_seed(job.seed))
        if job.negative_prompt and self.accepts_negative:
            kwargs["negative_prompt"] = job.negative_prompt
        try:
            with torch.inference_mode():
                video = self.pipe(**kwargs).frames
        except torch.cuda.OutOfMemoryError as e:
            raise GenerationFailed(f"pipeline error: CUDA out of memory: {e}".splitlines()[0]) from None
        return to_uint8(np.asarray(video, dtype=np.float32)[0], job)  # (1, T', H, W, 3): one video


def to_uint8(arr: np.ndarray, job: VideoJob) -> np.ndarray:
    """Float frames in [0, 1] (T', H, W, 3) -> the job's first n_frames as uint8; invalid -> GenerationFailed."""
    if arr.ndim != 4 or arr.shape[-1] != 3 or arr.shape[1:3] != (job.height, job.width):
        raise GenerationFailed(f"invalid clip: shape {arr.shape}, expected (T, {job.height}, {job.width}, 3)")
    if arr.shape[0] < job.n_frames:
        raise GenerationFailed(f"invalid clip: {arr.shape[0]} frames, the job needs {job.n_frames}")
    arr = arr[: job.n_frames]
    if not np.isfinite(arr).all():
        raise GenerationFailed(f"invalid clip: {int((~np.isfinite(arr)).sum())} NaN/inf values")
    arr = np.clip(arr, 0.0, 1.0)
    if float(arr.max()) <= 0.0:
        raise GenerationFailed("invalid clip: all black (safety filter or collapsed output)")
    return np.ascontiguousarray((arr * 255).round().astype(np.uint8))


def _pretrained(cfg: VideoModelConfig, dtype):
    import diffusers
    import torch

    from sentinel.models.loader import check_revision

    if not cfg.repo_id:
        raise ConfigError(f"video.models.{cfg.name}: source 'pretrained' needs repo_id and a pinned revision")
    try:
        revision = check_revision(f"video.models.{cfg.name}.revision", cfg.revision)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    try:
        vae = diffusers.AutoencoderKLWan.from_pretrained(cfg.repo_id, subfolder="vae", revision=revision,
                                                         torch_dtype=torch.float32, local_files_only=True)
        pipe = getattr(diffusers, cfg.pipeline).from_pretrained(cfg.repo_id, revision=revision, vae=vae,
                                                                torch_dtype=dtype, local_files_only=True)
    except OSError as e:  # not in the local HF cache: this stage never downloads
        raise WeightsError(f"video.models.{cfg.name}: {cfg.repo_id}@{revision} is not in the local Hugging Face "
                           f"cache (loading is local_files_only); download it first, e.g. `huggingface-cli download "
                           f"{cfg.repo_id} --revision {revision}` ({type(e).__name__}: "
                           f"{str(e).splitlines()[0] if str(e) else ''})") from None
    if cfg.scheduler is not None or cfg.flow_shift is not None:
        pipe.scheduler = build_scheduler(cfg, pipe.scheduler.config, type(pipe.scheduler).__name__)
    return pipe


def load_video_model(cfg: VideoModelConfig):
    """The model `cfg` names: a VideoModel (self-hosted) or the vendor adapter (`source: api`)."""
    if cfg.source == "api":
        from sentinel.video.api import load_video_api

        return load_video_api(cfg)
    from sentinel.models.loader import resolve_device, resolve_dtype

    device = resolve_device(cfg.device)
    dtype = resolve_dtype(cfg.dtype, device)
    if cfg.source == "tiny-random":
        if cfg.pipeline != "WanPipeline":
            raise ValueError(f"video.models.{cfg.name}.pipeline: no tiny builder for {cfg.pipeline!r} "
                             "(valid: WanPipeline)")
        from sentinel.video.tiny_wan import tiny_wan

        pipe = tiny_wan(cfg.init_seed, build_scheduler(cfg))
    elif cfg.source == "pretrained":
        pipe = _pretrained(cfg, dtype)
    else:
        raise ValueError(f"video.models.{cfg.name}.source: {cfg.source!r} is not one of tiny-random, pretrained, api")
    if dtype.is_floating_point and str(dtype) != "torch.float32":
        for name in ("transformer", "transformer_2", "text_encoder"):  # the VAE stays float32
            if getattr(pipe, name, None) is not None:
                getattr(pipe, name).to(dtype=dtype)
    pipe = pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    import inspect

    accepts = set(inspect.signature(pipe.__call__).parameters)
    return VideoModel(cfg=cfg, pipe=pipe, device=device, accepts_negative="negative_prompt" in accepts)
