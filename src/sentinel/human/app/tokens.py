"""Rater tokens: `<rater id>.<HMAC-SHA256(secret, rater id)>`, unforgeable without the server secret.

The secret comes from the environment (`SENTINEL_RATING_SECRET`, at least 32 characters) or, when
unset, is generated at start; then links die with the process. The same secret also seeds each
rater's item order and left/right sides, so a rater cannot predict them.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets

SECRET_ENV = "SENTINEL_RATING_SECRET"
MIN_SECRET_CHARS = 32


def secret_from_env() -> tuple[bytes, bool]:
    """(secret, came_from_env)."""
    value = os.environ.get(SECRET_ENV)
    if value is None:
        return secrets.token_bytes(32), False
    if len(value) < MIN_SECRET_CHARS:
        raise ValueError(f"{SECRET_ENV}: must be at least {MIN_SECRET_CHARS} characters, got {len(value)}")
    return value.encode(), True


def mac(secret: bytes, message: str) -> str:
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


def issue(secret: bytes, rater_id: str) -> str:
    return f"{rater_id}.{mac(secret, 'rater:' + rater_id)}"


def verify(secret: bytes, token: str) -> str | None:
    """The rater id if the token is authentic, else None."""
    rater_id, sep, tag = token.partition(".")
    if not sep or len(rater_id) > 32 or not rater_id.isalnum():
        return None
    return rater_id if hmac.compare_digest(tag, mac(secret, "rater:" + rater_id)) else None


def order_key(secret: bytes, rater_id: str, task_id: str) -> str:
    """Per-rater pseudo-random sort key of a task (item order)."""
    return mac(secret, f"order:{rater_id}:{task_id}")


def swapped(secret: bytes, rater_id: str, task_id: str) -> bool:
    """Whether this rater sees item b on the left for this task (left/right randomisation)."""
    return int(mac(secret, f"side:{rater_id}:{task_id}")[:2], 16) % 2 == 1
