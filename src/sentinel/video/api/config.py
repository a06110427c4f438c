"""The `api:` block of a closed video model (conf/video_model/<name>.yaml, `source: api`).

    api = parse_video_api(mapping, "video.models.video-api-a.api")   # ConfigError naming every bad key

The key itself is never here: `key_env` names the environment variable that holds it. `base_url`
is the vendor's https endpoint, an http URL on a loopback host (tests), or FAKE_BASE_URL
("fake://loopback"): the stage starts the loopback fake vendor (sentinel.video.api.fake_vendor) for
its own run, which is plumbing only. Billing is per second of delivered video
(`list_price_usd_per_second`, `billing_unit: video-second`); null price means "not yet known" and
`price_source` must say so or cite the vendor's public price page with its date.
Imports nothing heavy (no torch, no numpy): sentinel.video.config imports it to validate params.
"""
from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any

from sentinel.config import build
from sentinel.errors import ConfigError

PROTOCOL = "video-submit-poll"
PROTOCOLS = (PROTOCOL,)
BILLING_UNITS = ("video-second",)
FAKE_BASE_URL = "fake://loopback"  # the stage serves sentinel.video.api.fake_vendor on 127.0.0.1 (plumbing)
__all__ = ["VideoApiConfig", "parse_video_api", "PROTOCOL", "FAKE_BASE_URL", "BILLING_UNITS", "is_fake"]


@dataclass(frozen=True)
class VideoApiConfig:
    """A vendor video API behind submit-and-poll (sentinel.video.api.submit_poll documents the protocol)."""
    protocol: str  # "video-submit-poll"
    base_url: str  # https://..., http://127.0.0.1:<port> (tests), or "fake://loopback" (plumbing)
    key_env: str  # the environment variable holding the key; the key is never written anywhere
    vendor_model: str  # the vendor's model name, sent as `model`
    list_price_usd_per_second: float | None  # published list price per second of video; null: not yet known
    price_source: str  # the public price page and its date, or "not yet known"
    billing_unit: str = "video-second"
    timeout_s: float = 60.0  # one HTTP attempt: connect, headers and body together
    max_retries: int = 4
    backoff_s: float = 1.0  # first retry wait; doubles each retry unless Retry-After says otherwise
    max_backoff_s: float = 60.0  # the longest wait honoured, Retry-After included
    poll_interval_s: float = 2.0
    poll_timeout_s: float = 900.0  # a job still queued/running after this long fails with "poll timeout"
    deadline_s: float | None = None  # the whole job (every attempt, wait, poll, download); null: derived
    max_response_bytes: int = 256_000_000  # any one response body; larger is refused unread
    video_origins: tuple[str, ...] = ()  # origins besides base_url's a `video_url` may name (fetched without the key)
    allow_loopback: bool = False  # tests only: admit http video origins on 127.0.0.0/8 and ::1

    # sentinel.api.urls.Fence.from_api reads `image_origins`; for video they are the video origins.
    @property
    def image_origins(self) -> tuple[str, ...]:
        return self.video_origins


def is_fake(api: VideoApiConfig) -> bool:
    return api.base_url == FAKE_BASE_URL


def _problems(api: VideoApiConfig, where: str) -> list[str]:
    out = []
    if api.protocol not in PROTOCOLS:
        out.append(f"{where}.protocol: {api.protocol!r} is not one of {', '.join(PROTOCOLS)}")
    if api.billing_unit not in BILLING_UNITS:
        out.append(f"{where}.billing_unit: {api.billing_unit!r} is not one of {', '.join(BILLING_UNITS)}")
    if api.base_url != FAKE_BASE_URL:
        parts = urllib.parse.urlsplit(api.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            out.append(f"{where}.base_url: expected an https URL (or {FAKE_BASE_URL!r}), got {api.base_url!r}")
    if not api.key_env or not api.key_env.replace("_", "").isalnum():
        out.append(f"{where}.key_env: expected an environment variable name, got {api.key_env!r}")
    if not api.vendor_model:
        out.append(f"{where}.vendor_model: must not be empty")
    if api.list_price_usd_per_second is not None and not api.list_price_usd_per_second >= 0:
        out.append(f"{where}.list_price_usd_per_second: must be >= 0 or null, got {api.list_price_usd_per_second!r}")
    if not api.price_source.strip():
        out.append(f"{where}.price_source: cite the vendor's public price page and date, or say 'not yet known'")
    for key in ("timeout_s", "poll_interval_s", "poll_timeout_s", "deadline_s", "max_response_bytes"):
        value = getattr(api, key)
        if value is not None and not value > 0:
            out.append(f"{where}.{key}: must be > 0, got {value!r}")
    for key in ("max_retries", "backoff_s", "max_backoff_s"):
        if not getattr(api, key) >= 0:
            out.append(f"{where}.{key}: must be >= 0, got {getattr(api, key)!r}")
    for i, o in enumerate(api.video_origins):
        parts = urllib.parse.urlsplit(o)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            out.append(f"{where}.video_origins[{i}]: expected an http(s) origin, got {o!r}")
    return out


def parse_video_api(mapping: Any, where: str) -> VideoApiConfig:
    """Build and check a VideoApiConfig; every problem is reported at once as `where.<key>: ...`."""
    api = build(VideoApiConfig, mapping, where)
    problems = _problems(api, where)
    if problems:
        raise ConfigError(*problems)
    return api
