"""Closed try-on models behind vendor APIs, with the same interface as a self-hosted try-on model.

    model = load_tryon_api(cfg)                        # cfg: a TryOnModelConfig with source: api
    image = model.generate(job, person, garment, mask) # RGB PIL image the person's size, or GenerationFailed

Protocol `tryon-submit-poll` (submit_poll.py); the config block in config.py. Everything on the wire
reuses the API adapters' machinery: the client (sentinel.video.api.VideoClient: one Session per
job, protocol-free), retries, Retry-After and backoff (http.py), per-attempt deadlines and byte caps (transport.py), where
URLs may go and who sees the key (urls.Fence), and key scrubbing in every encoding (redact.Redactor).
Each job runs under one deadline (`api.deadline_s`, or tryon_deadline_s).

The key is read once from os.environ[cfg.api.key_env] and held only in memory: it is in no repr,
and every failure cause passes through the Redactor before it leaves this package.

`base_url: fake://loopback` is plumbing: wrap the run in `fake_vendor.serving_fake_vendor(cfg)`,
which starts the loopback fake vendor and yields the config pointing at it (the generate stage does).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from PIL import Image

from sentinel.api.redact import Redactor
from sentinel.models.outputs import GenerationFailed
from sentinel.tryon.api import submit_poll
from sentinel.tryon.api.config import TryOnApiConfig, parse_tryon_api
from sentinel.video.api import VideoClient, open_client, video_deadline_s

PROTOCOLS = {"tryon-submit-poll": submit_poll.generate}
__all__ = ["TryOnApiModel", "TryOnApiConfig", "load_tryon_api", "parse_tryon_api", "tryon_deadline_s", "PROTOCOLS"]


def tryon_deadline_s(api: TryOnApiConfig) -> float:
    """`api.deadline_s`, or by default three calls (submit, last poll, download) at every retry plus
    polling: the video adapter's rule (sentinel.video.api.video_deadline_s), which reads only the
    retry and poll keys both api blocks share."""
    return video_deadline_s(api)


# The video adapter's client is protocol-free (url, request with retries, get_bytes through the Fence,
# one Session per job ending by the deadline above): reused as it is, not copied.
TryOnClient = VideoClient


@dataclass
class TryOnApiModel:
    cfg: object  # TryOnModelConfig (sentinel.tryon.config)
    client: TryOnClient
    redact: Redactor = field(repr=False)
    device: str = "api"

    @property
    def list_price_usd_per_image(self) -> float | None:
        return self.cfg.api.list_price_usd_per_image

    def generate(self, job, person: Image.Image, garment: Image.Image, mask: Image.Image | None) -> Image.Image:
        client = self.client.for_job()
        try:
            return PROTOCOLS[self.cfg.api.protocol](client, job, person.convert("RGB"), garment.convert("RGB"),
                                                    None if mask is None else mask.convert("RGB"))
        except GenerationFailed as e:  # the one exit for vendor text: scrub the key in every encoding
            raise GenerationFailed(self.redact(e.cause)) from None


def load_tryon_api(cfg, sleep=time.sleep) -> TryOnApiModel:
    """The model for `cfg` (cfg.name, cfg.api: TryOnApiConfig); ValueError naming the key if unusable."""
    client, redact = open_client(cfg.api, f"tryon.models.{cfg.name}.api", PROTOCOLS,
                                 "sentinel.tryon.api.fake_vendor", sleep)
    return TryOnApiModel(cfg=cfg, client=client, redact=redact)
