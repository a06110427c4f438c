"""A plain ModelConfig for tests that build leaderboards in-process (no pipeline is ever loaded)."""
from __future__ import annotations

from sentinel.config import ModelConfig, SchedulerConfig


def plain_model(name: str) -> ModelConfig:
    return ModelConfig(name=name, display_name=name, pipeline="StableDiffusionPipeline", source="tiny-random",
                       repo_id=None, revision=None, init_seed=0, scheduler=SchedulerConfig(cls="DDIMScheduler"),
                       steps=None, guidance=None, dtype="float32", device="cpu", cpu_threads=1, licence="x",
                       plumbing=False)
