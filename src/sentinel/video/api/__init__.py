"""Closed video models behind vendor APIs, with the same interface as a self-hosted video model.

    model = load_video_api(cfg)    # cfg: a VideoModelConfig (cfg.name, cfg.api) with source: api
    clip = model.generate(job)     # (T, H, W, 3) uint8 RGB, or GenerationFailed with the cause
    model.last_timings             # the vendor's split for that job, or None (see below)

Protocol `video-submit-poll` (submit_poll.py); the delivered MP4/H.264 is decoded and checked in
decode.py; the config block in config.py. Everything on the wire reuses the image adapters'
machinery (sentinel.api): retries, Retry-After and backoff (http.py), per-attempt deadlines and byte
caps (transport.py), where URLs may go and who sees the key (urls.Fence), and key scrubbing in every
encoding (redact.Redactor). Each job runs under one deadline (`api.deadline_s`, or video_deadline_s).

The key is read once from os.environ[cfg.api.key_env] and held only in memory: it is in no repr,
and every failure cause passes through the Redactor before it leaves this package.

`last_timings`: after each `generate` (success or failure), None or the latest split the vendor's
poll responses stated, `{"queue_s": float|None, "generation_s": float|None, "encoding_s": float|None}`
(a key the vendor did not state is None). The generate stage copies it into the timings line. It
describes the most recent call on this object; one model object serves one job at a time.

`base_url: fake://loopback` is plumbing: wrap the run in `fake_vendor.serving_fake_vendor(cfg)`,
which starts the loopback fake vendor and yields the config pointing at it.
"""
from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field

import numpy as np

from sentinel.api import http
from sentinel.api.redact import Redactor
from sentinel.api.urls import Fence
from sentinel.models.outputs import GenerationFailed
from sentinel.video.api import submit_poll
from sentinel.video.api.config import FAKE_BASE_URL, VideoApiConfig, parse_video_api

PROTOCOLS = {"video-submit-poll": submit_poll.generate}
__all__ = ["VideoApiModel", "VideoApiConfig", "load_video_api", "parse_video_api", "video_deadline_s", "PROTOCOLS"]


def video_deadline_s(api: VideoApiConfig) -> float:
    """`api.deadline_s`, or by default three calls (submit, last poll, download) at every retry plus polling."""
    if api.deadline_s is not None:
        return api.deadline_s
    per_call = (api.max_retries + 1) * api.timeout_s + api.max_retries * api.max_backoff_s
    return 3 * per_call + api.poll_timeout_s


@dataclass
class VideoClient:
    """What submit_poll needs: the api block, the job's Session (key, Fence, caps, deadline), a sleep."""
    api: VideoApiConfig
    session: http.Session = field(repr=False)
    sleep: object = field(default=time.sleep, repr=False)

    def redact(self, text: str) -> str:
        return self.session.redact(text)

    def for_job(self) -> "VideoClient":
        deadline = time.monotonic() + video_deadline_s(self.api)
        return dataclasses.replace(self, session=dataclasses.replace(self.session, deadline=deadline))

    def url(self, path: str) -> str:
        return self.api.base_url.rstrip("/") + path

    def request(self, method: str, url: str, body: dict | None = None) -> http.Response:
        return http.expect_ok(http.request(method, url, self.session, body=body, sleep=self.sleep), url, self.session)

    def get_bytes(self, url: str) -> bytes:
        import urllib.parse
        return self.request("GET", urllib.parse.urljoin(self.api.base_url, url)).body  # relative: the vendor's


@dataclass
class VideoApiModel:
    cfg: object  # VideoModelConfig (sentinel.video.config)
    client: VideoClient
    redact: Redactor = field(repr=False)
    device: str = "api"
    last_timings: dict | None = field(default=None, repr=False)

    @property
    def list_price_usd_per_second(self) -> float | None:
        return self.cfg.api.list_price_usd_per_second

    def generate(self, job) -> np.ndarray:
        self.last_timings = None
        client = self.client.for_job()

        def keep(timings: dict) -> None:
            self.last_timings = timings

        try:
            return PROTOCOLS[self.cfg.api.protocol](client, job, on_timings=keep)
        except GenerationFailed as e:  # the one exit for vendor text: scrub the key in every encoding
            raise GenerationFailed(self.redact(e.cause)) from None


def open_client(api, where: str, protocols, fake_vendor_module: str, sleep=time.sleep) -> tuple[VideoClient, Redactor]:
    """The checks and the keyed session every submit-and-poll vendor model starts from (video here,
    try-on in sentinel.tryon.api): ValueError naming the key if the block is unusable."""
    if api is None:
        raise ValueError(f"{where}: missing; `source: api` needs an api block (protocol, base_url, key_env, ...)")
    if api.protocol not in protocols:
        raise ValueError(f"{where}.protocol: {api.protocol!r} is not one of {', '.join(protocols)}")
    if api.base_url == FAKE_BASE_URL:
        raise ValueError(f"{where}.base_url: {FAKE_BASE_URL} is served only inside "
                         f"{fake_vendor_module}.serving_fake_vendor(cfg); wrap the run in it")
    fence = Fence.from_api(api, where)  # reads base_url, image_origins (video: video_origins), allow_loopback
    secret = os.environ.get(api.key_env, "")
    if not secret:
        raise ValueError(f"{where}.key_env: environment variable {api.key_env} is not set "
                         "(API keys come only from the environment)")
    policy = http.RetryPolicy(api.timeout_s, api.max_retries, api.backoff_s, api.max_backoff_s)
    redact = Redactor(secret)
    session = http.Session(policy, secret, fence, api.max_response_bytes, deadline=float("inf"), redact=redact)
    return VideoClient(api=api, session=session, sleep=sleep), redact


def load_video_api(cfg, sleep=time.sleep) -> VideoApiModel:
    """The model for `cfg` (cfg.name, cfg.api: VideoApiConfig); ValueError naming the key if unusable."""
    client, redact = open_client(cfg.api, f"video.models.{cfg.name}.api", PROTOCOLS,
                                 "sentinel.video.api.fake_vendor", sleep)
    return VideoApiModel(cfg=cfg, client=client, redact=redact)
