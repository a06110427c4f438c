"""The `api:` block of a closed try-on model (conf/tryon_model/<name>.yaml, `source: api`).

    api = parse_tryon_api(mapping, "tryon.models.fake-tryon-api.api")   # ConfigError naming every bad key

The key itself is never here: `key_env` names the environment variable that holds it. `base_url`
is the vendor's https endpoint, an http URL on a loopback host (tests), or FAKE_BASE_URL
("fake://loopback"): the generate stage starts the loopback fake vendor (sentinel.tryon.api.fake_vendor)
for its own run, which is plumbing only. Billing is per try-on, i.e. per result image
(`list_price_usd_per_image`, the key sentinel.tryon.cost reads from a model's api block;
`billing_unit: tryon`); null price means "not yet known" and `price_source` must say so or cite the
vendor's public price page with its date.
Imports nothing heavy (no torch, no numpy): sentinel.tryon.config imports it to validate params.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sentinel.config import build
from sentinel.errors import ConfigError

PROTOCOL = "tryon-submit-poll"
PROTOCOLS = (PROTOCOL,)
BILLING_UNITS = ("tryon",)
FAKE_BASE_URL = "fake://loopback"  # the stage serves sentinel.tryon.api.fake_vendor on 127.0.0.1 (plumbing)
__all__ = ["TryOnApiConfig", "parse_tryon_api", "PROTOCOL", "FAKE_BASE_URL", "BILLING_UNITS", "is_fake"]


@dataclass(frozen=True)
class TryOnApiConfig:
    """A vendor try-on API behind submit-and-poll (sentinel.tryon.api.submit_poll documents the protocol)."""
    protocol: str  # "tryon-submit-poll"
    base_url: str  # https://..., http://127.0.0.1:<port> (tests), or "fake://loopback" (plumbing)
    key_env: str  # the environment variable holding the key; the key is never written anywhere
    vendor_model: str  # the vendor's model name, sent as `model`
    list_price_usd_per_image: float | None  # published list price per try-on (one result image); null: not yet known
    price_source: str  # the public price page and its date, or "not yet known"
    billing_unit: str = "tryon"
    timeout_s: float = 60.0  # one HTTP attempt: connect, headers and body together
    max_retries: int = 4
    backoff_s: float = 1.0  # first retry wait; doubles each retry unless Retry-After says otherwise
    max_backoff_s: float = 60.0  # the longest wait honoured, Retry-After included
    poll_interval_s: float = 2.0
    poll_timeout_s: float = 600.0  # a job still queued/running after this long fails with "poll timeout"
    deadline_s: float | None = None  # the whole job (every attempt, wait, poll, download); null: derived
    max_response_bytes: int = 64_000_000  # any one response body; larger is refused unread
    image_origins: tuple[str, ...] = ()  # origins besides base_url's an `image_url` may name (fetched without the key)
    allow_loopback: bool = False  # tests only: admit http image origins on 127.0.0.0/8 and ::1


def is_fake(api: TryOnApiConfig) -> bool:
    return api.base_url == FAKE_BASE_URL


def _problems(api: TryOnApiConfig, where: str) -> list[str]:
    from sentinel.video.api.config import submit_poll_problems  # the checks both vendor blocks share

    return submit_poll_problems(api, where, protocols=PROTOCOLS, billing_units=BILLING_UNITS,
                                price_key="list_price_usd_per_image", origins_key="image_origins")


def parse_tryon_api(mapping: Any, where: str) -> TryOnApiConfig:
    """Build and check a TryOnApiConfig; every problem is reported at once as `where.<key>: ...`."""
    api = build(TryOnApiConfig, mapping, where)
    problems = _problems(api, where)
    if problems:
        raise ConfigError(*problems)
    return api
