"""Closed models behind vendor APIs, with the same interface as a self-hosted ImageModel.

    model = load_api(cfg)         # cfg.source == "api"; reads the key from os.environ[cfg.api.key_env]
    image = model.generate(job)   # PIL image, or GenerationFailed with the cause

Protocols: `openai-images` (openai_images.py) and `submit-poll` (submit_poll.py). Retries, timeouts
and Retry-After live in http.py. The key is held only in memory (never in repr, records or errors).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from PIL import Image

from sentinel.config import ApiConfig, ModelConfig
from sentinel.models.outputs import GenerationFailed
from sentinel.workloads.jobs import Job
from sentinel.api import http, openai_images, submit_poll

PROTOCOLS = {"openai-images": openai_images.generate, "submit-poll": submit_poll.generate}
__all__ = ["ApiModel", "load_api", "PROTOCOLS"]


@dataclass
class ApiClient:
    api: ApiConfig
    policy: http.RetryPolicy
    secret: str = field(repr=False)
    sleep: object = time.sleep

    def url(self, path: str) -> str:
        return self.api.base_url.rstrip("/") + path

    def expect_ok(self, resp: http.Response, where: str) -> http.Response:
        return http.expect_ok(resp, where, self.secret)

    def request(self, method: str, url: str, body: dict | None = None) -> http.Response:
        """One call with retries, then a non-2xx answer becomes GenerationFailed with its cause."""
        return self.expect_ok(http.request(method, url, self.policy, self.secret, body=body, sleep=self.sleep), url)

    def get_bytes(self, url: str) -> bytes:
        return self.request("GET", url).body


@dataclass
class ApiModel:
    cfg: ModelConfig
    client: ApiClient
    device: str = "api"

    @property
    def list_price_usd_per_image(self) -> float | None:
        return self.cfg.api.list_price_usd_per_image

    def settings(self, job: Job) -> tuple[int | None, float | None]:
        return self.cfg.steps, self.cfg.guidance  # vendors choose their own sampler; null unless pinned

    def size(self, job: Job) -> tuple[int, int]:
        if self.cfg.resolution_px is not None:
            return self.cfg.resolution_px, self.cfg.resolution_px
        return job.width, job.height

    def batch_key(self, job: Job) -> tuple:
        return ("api",)

    def generate_batch(self, jobs: list[Job]) -> list[Image.Image | GenerationFailed]:
        out: list[Image.Image | GenerationFailed] = []
        for job in jobs:
            try:
                out.append(self.generate(job))
            except GenerationFailed as e:
                out.append(e)
        return out

    def generate(self, job: Job) -> Image.Image:
        width, height = self.size(job)
        return PROTOCOLS[self.cfg.api.protocol](self.client, job.prompt, width, height, job.seed)


def load_api(cfg: ModelConfig, sleep=time.sleep) -> ApiModel:
    where = f"model.{cfg.name}.api"
    api = cfg.api
    if api is None:
        raise ValueError(f"{where}: missing; `source: api` needs an api block (protocol, base_url, key_env, ...)")
    if api.protocol not in PROTOCOLS:
        raise ValueError(f"{where}.protocol: {api.protocol!r} is not one of {', '.join(PROTOCOLS)}")
    secret = os.environ.get(api.key_env, "")
    if not secret:
        raise ValueError(f"{where}.key_env: environment variable {api.key_env} is not set "
                         "(API keys come only from the environment)")
    policy = http.RetryPolicy(api.timeout_s, api.max_retries, api.backoff_s, api.max_backoff_s)
    return ApiModel(cfg=cfg, client=ApiClient(api=api, policy=policy, secret=secret, sleep=sleep))
