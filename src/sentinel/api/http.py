"""HTTP with timeouts and retries: backoff on 429/5xx and network errors, honouring Retry-After.

A Retry-After wait is honoured up to `max_backoff_s`. Every attempt is kept (status or error), so a
failure is recorded with its cause. Secrets: the API key travels only in the Authorization header; error text that could
echo it is passed through `redact` before it is kept anywhere.
"""
from __future__ import annotations

import email.utils
import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from sentinel.models.outputs import GenerationFailed

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
BODY_SNIPPET_CHARS = 200


@dataclass(frozen=True)
class RetryPolicy:
    timeout_s: float
    max_retries: int
    backoff_s: float
    max_backoff_s: float


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    attempts: list[str] = field(default_factory=list)

    def json(self, where: str) -> dict:
        try:
            doc = json.loads(self.body)
        except ValueError as e:
            raise GenerationFailed(f"malformed JSON from {where}: {e}") from None
        if not isinstance(doc, dict):
            raise GenerationFailed(f"malformed JSON from {where}: expected an object, got {type(doc).__name__}")
        return doc


def redact(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def retry_after_s(value: str | None, now_s: float) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now_s)


def _attempt(req: urllib.request.Request, timeout_s: float) -> Response:
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as r:
            return Response(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read() or b"")


def request(method: str, url: str, policy: RetryPolicy, secret: str, body: dict | None = None,
            sleep=time.sleep) -> Response:
    """Send with retries; return the first non-retryable response or raise GenerationFailed with the cause."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {secret}", "Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    attempts: list[str] = []
    for attempt in range(policy.max_retries + 1):
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        wait = policy.backoff_s * 2 ** attempt
        try:
            resp = _attempt(req, policy.timeout_s)
        except (TimeoutError, socket.timeout):
            attempts.append(f"timeout after {policy.timeout_s} s")
        except (urllib.error.URLError, http.client.HTTPException, OSError) as e:  # incl. dropped connections
            attempts.append(redact(f"network error: {getattr(e, 'reason', e)}", secret))
        else:
            if resp.status not in RETRY_STATUSES:
                resp.attempts = attempts + [f"HTTP {resp.status}"]
                return resp
            snippet = redact(resp.body[:BODY_SNIPPET_CHARS].decode("utf-8", "replace"), secret)
            attempts.append(f"HTTP {resp.status}: {snippet}".strip())
            asked = retry_after_s(resp.headers.get("retry-after"), time.time())
            wait = wait if asked is None else asked
        if attempt < policy.max_retries:
            sleep(min(wait, policy.max_backoff_s))
    raise GenerationFailed(f"gave up after {len(attempts)} attempts on {method} {url}: " + "; ".join(attempts))


def expect_ok(resp: Response, where: str, secret: str) -> Response:
    if not 200 <= resp.status < 300:
        snippet = redact(resp.body[:BODY_SNIPPET_CHARS].decode("utf-8", "replace"), secret)
        raise GenerationFailed(f"HTTP {resp.status} from {where}: {snippet}".strip())
    return resp
