"""Closed models behind vendor APIs, with the same interface as a self-hosted ImageModel.

    model = load_api(cfg)         # cfg.source == "api"; reads the key from os.environ[cfg.api.key_env]
    image = model.generate(job)   # PIL image, or GenerationFailed with the cause

Protocols: `openai-images` (openai_images.py) and `submit-poll` (submit_poll.py). Retries, timeouts
and Retry-After live in http.py; where URLs may go and who sees the key in urls.py; the per-attempt
deadline and byte cap in transport.py. Each job runs under one deadline (`api.deadline_s`). The key
is held only in memory (never in repr, records or errors): every failure cause is passed through
redact.Redactor, in every encoding, before it leaves this package.
"""
from __future__ import annotations

import dataclasses
import os
import time
import urllib.parse
from dataclasses import dataclass, field

from PIL import Image

from sentinel.config import ApiConfig, ModelConfig
from sentinel.models.outputs import GenerationFailed
from sentinel.workloads.jobs import Job
from sentinel.api import http, openai_images, submit_poll
from sentinel.api.redact import Redactor
from sentinel.api.urls import Fence

PROTOCOLS = {"openai-images": openai_images.generate, "submit-poll": submit_poll.generate}
__all__ = ["ApiModel", "load_api", "PROTOCOLS", "job_deadline_s"]


def job_deadline_s(api: ApiConfig) -> float:
    """`api.deadline_s`, or by default every attempt at its full timeout plus the longest waits (and polling)."""
    if api.deadline_s is not None:
        return api.deadline_s
    per_call = (api.max_retries + 1) * api.timeout_s + api.max_retries * api.max_backoff_s
    return per_call * 2 + (api.poll_timeout_s if api.protocol == "submit-poll" else 0.0)


@dataclass
class ApiClient:
    api: ApiConfig
    session: http.Session = field(repr=False)
    sleep: object = time.sleep

    def redact(self, text: str) -> str:
        return self.session.redact(text)

    def for_job(self) -> "ApiClient":
        """A copy whose requests all end by this job's deadline."""
        deadline = time.monotonic() + job_deadline_s(self.api)
        return dataclasses.replace(self, session=dataclasses.replace(self.session, deadline=deadline))

    def url(self, path: str) -> str:
        return self.api.base_url.rstrip("/") + path

    def request(self, method: str, url: str, body: dict | None = None) -> http.Response:
        """One call with retries, then a non-2xx answer becomes GenerationFailed with its cause."""
        return http.expect_ok(http.request(method, url, self.session, body=body, sleep=self.sleep), url, self.session)

    def get_bytes(self, url: str) -> bytes:
        """A URL named by a response: refused unless its origin is allowed; the key only if same-origin."""
        return self.request("GET", urllib.parse.urljoin(self.api.base_url, url)).body  # relative: vendor's

    def max_pixels(self, width: int, height: int) -> int:
        return int(self.api.max_image_pixels_ratio * width * height)


@dataclass
class ApiModel:
    cfg: ModelConfig
    client: ApiClient
    redact: Redactor = field(repr=False)
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
        client = self.client.for_job()
        try:
            return PROTOCOLS[self.cfg.api.protocol](client, job.prompt, width, height, job.seed)
        except GenerationFailed as e:  # the one exit for vendor text: scrub the key in every encoding
            raise GenerationFailed(self.redact(e.cause)) from None


def load_api(cfg: ModelConfig, sleep=time.sleep) -> ApiModel:
    where = f"model.{cfg.name}.api"
    api = cfg.api
    if api is None:
        raise ValueError(f"{where}: missing; `source: api` needs an api block (protocol, base_url, key_env, ...)")
    if api.protocol not in PROTOCOLS:
        raise ValueError(f"{where}.protocol: {api.protocol!r} is not one of {', '.join(PROTOCOLS)}")
    for key in ("timeout_s", "max_response_bytes", "max_image_pixels_ratio", "deadline_s"):
        value = getattr(api, key)
        if value is not None and not value > 0:
            raise ValueError(f"{where}.{key}: must be > 0, got {value!r}")
    fence = Fence.from_api(api, where)
    secret = os.environ.get(api.key_env, "")
    if not secret:
        raise ValueError(f"{where}.key_env: environment variable {api.key_env} is not set "
                         "(API keys come only from the environment)")
    policy = http.RetryPolicy(api.timeout_s, api.max_retries, api.backoff_s, api.max_backoff_s)
    redact = Redactor(secret)
    session = http.Session(policy, secret, fence, api.max_response_bytes, deadline=float("inf"), redact=redact)
    return ApiModel(cfg=cfg, client=ApiClient(api=api, session=session, sleep=sleep), redact=redact)
