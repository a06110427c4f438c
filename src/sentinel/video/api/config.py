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


POSITIVE = ("timeout_s", "poll_interval_s", "poll_timeout_s", "deadline_s", "max_response_bytes")
NON_NEGATIVE = ("max_retries", "backoff_s", "max_backoff_s")


def submit_poll_problems(api: Any, where: str, *, protocols: tuple[str, ...], billing_units: tuple[str, ...],
                         price_key: str, origins_key: str) -> list[str]:
    """The checks every submit-and-poll vendor block shares (video here, try-on in sentinel.tryon.api):
    protocol, billing unit, base URL, key variable name, vendor model, list price, price source,
    timeouts and retry bounds, extra origins; one message per problem as `where.<key>: ...`."""
    out = []
    if api.protocol not in protocols:
        out.append(f"{where}.protocol: {api.protocol!r} is not one of {', '.join(protocols)}")
    if api.billing_unit not in billing_units:
        out.append(f"{where}.billing_unit: {api.billing_unit!r} is not one of {', '.join(billing_units)}")
    if api.base_url != FAKE_BASE_URL:
        parts = urllib.parse.urlsplit(api.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            out.append(f"{where}.base_url: expected an https URL (or {FAKE_BASE_URL!r}), got {api.base_url!r}")
    if not api.key_env or not api.key_env.replace("_", "").isalnum():
        out.append(f"{where}.key_env: expected an environment variable name, got {api.key_env!r}")
    if not api.vendor_model:
        out.append(f"{where}.vendor_model: must not be empty")
    price = getattr(api, price_key)
    if price is not None and not price >= 0:
        out.append(f"{where}.{price_key}: must be >= 0 or null, got {price!r}")
    if not api.price_source.strip():
        out.append(f"{where}.price_source: cite the vendor's public price page and date, or say 'not yet known'")
    out += [f"{where}.{k}: must be > 0, got {getattr(api, k)!r}" for k in POSITIVE
            if getattr(api, k) is not None and not getattr(api, k) > 0]
    out += [f"{where}.{k}: must be >= 0, got {getattr(api, k)!r}" for k in NON_NEGATIVE if not getattr(api, k) >= 0]
    for i, o in enumerate(getattr(api, origins_key)):
        parts = urllib.parse.urlsplit(o)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            out.append(f"{where}.{origins_key}[{i}]: expected an http(s) origin, got {o!r}")
    return out


def _problems(api: VideoApiConfig, where: str) -> list[str]:
    return submit_poll_problems(api, where, protocols=PROTOCOLS, billing_units=BILLING_UNITS,
                                price_key="list_price_usd_per_second", origins_key="video_origins")


def parse_video_api(mapping: Any, where: str) -> VideoApiConfig:
    """Build and check a VideoApiConfig; every problem is reported at once as `where.<key>: ...`."""
    api = build(VideoApiConfig, mapping, where)
    problems = _problems(api, where)
    if problems:
        raise ConfigError(*problems)
    return api
