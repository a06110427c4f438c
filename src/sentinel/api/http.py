"""HTTP with retries inside one deadline: backoff on 429/5xx and network errors, honouring Retry-After.

A Retry-After wait is honoured up to `max_backoff_s`. Every attempt is kept (status or error), so a
failure is recorded with its cause. Each attempt lasts at most `timeout_s` (connect, headers and
body together; transport.py); all attempts, waits and polls of one job end by the job's deadline.
Credentials: the `Authorization` header is added only when the target is the vendor origin
(urls.Fence). Redirects are followed only within the same origin; any other is refused
(`redirect_refused`), so the key never follows a `Location` elsewhere. Error text is redacted by
Session.redact in every encoding before it is cut to a snippet, and again by the caller (ApiModel).
"""
from __future__ import annotations

import email.utils
import http.client
import json
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from sentinel.api import transport
from sentinel.api.transport import Response
from sentinel.api.urls import Fence, origin
from sentinel.models.outputs import GenerationFailed

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
BODY_SNIPPET_CHARS = 200
REDACT_WINDOW_BYTES = 8192  # redact this much of a body *before* cutting the snippet: no half-key survives
__all__ = ["RetryPolicy", "Session", "Response", "request", "expect_ok", "json_of", "retry_after_s"]


@dataclass(frozen=True)
class RetryPolicy:
    timeout_s: float
    max_retries: int
    backoff_s: float
    max_backoff_s: float


@dataclass(frozen=True)
class Session:
    """What every request of one job shares: the key, where it may go, the caps and the job deadline."""
    policy: RetryPolicy
    secret: str
    fence: Fence
    max_response_bytes: int
    deadline: float  # time.monotonic() by which the whole job must be done
    redact: Callable[[str], str] = str  # redact.Redactor(secret); identity only where no key exists

    def snippet(self, body: bytes) -> str:
        """The start of a vendor body for an error message, redacted before it is cut."""
        return self.redact(body[:REDACT_WINDOW_BYTES].decode("utf-8", "replace"))[:BODY_SNIPPET_CHARS]

    def __repr__(self) -> str:
        return f"Session(vendor={self.fence.vendor_origin}, secret=***)"


def json_of(resp: Response, where: str) -> dict:
    try:
        doc = json.loads(resp.body)
    except (ValueError, RecursionError) as e:  # RecursionError: "[[[[..." nested past Python's limit
        raise GenerationFailed(f"malformed JSON from {where}: {type(e).__name__}: {e}") from None
    if not isinstance(doc, dict):
        raise GenerationFailed(f"malformed JSON from {where}: expected an object, got {type(doc).__name__}")
    return doc


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


def _follow(method: str, url: str, data: bytes | None, s: Session, headers: dict) -> Response:
    """One attempt, following same-origin redirects only (the key is never sent anywhere else)."""
    for _ in range(MAX_REDIRECTS + 1):
        target = s.fence.open(url)
        sent = {**headers, **({"Authorization": f"Bearer {s.secret}"} if s.fence.carries_key(target) else {})}
        resp = transport.exchange(target, method, sent, data, s.policy.timeout_s,
                                  min(s.deadline, time.monotonic() + s.policy.timeout_s), s.max_response_bytes)
        if resp.status not in REDIRECT_STATUSES:
            return resp
        nxt = urllib.parse.urljoin(url, resp.headers.get("location", ""))
        try:
            there = origin(nxt)
        except ValueError:
            there = f"a non-http(s) URL ({urllib.parse.urlsplit(nxt).scheme or 'no'} scheme)"
        if there != target.origin:
            raise GenerationFailed(f"redirect_refused: HTTP {resp.status} from {url} to {there}; "
                                   "only same-origin redirects are followed (the key never leaves the vendor)")
        if resp.status in (301, 302, 303):
            method, data = "GET", None
        url = nxt
    raise GenerationFailed(f"redirect_refused: more than {MAX_REDIRECTS} redirects from {url}")


def request(method: str, url: str, s: Session, body: dict | None = None, sleep=time.sleep) -> Response:
    """Send with retries; return the first non-retryable response or raise GenerationFailed with the cause."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Accept": "application/json", **({"Content-Type": "application/json"} if data is not None else {})}
    p, attempts, deadline_hit = s.policy, [], False
    for attempt in range(p.max_retries + 1):
        if time.monotonic() >= s.deadline:
            deadline_hit = True
            break
        wait = p.backoff_s * 2 ** attempt
        try:
            resp = _follow(method, url, data, s, headers)
        except TimeoutError:  # incl. transport.DeadlineExceeded: the attempt's watchdog fired
            attempts.append(f"timeout after {p.timeout_s} s")
        except (http.client.HTTPException, OSError, ValueError) as e:  # dropped connections, garbled headers
            attempts.append(f"network error: {type(e).__name__}: {e}")
        else:
            if resp.status not in RETRY_STATUSES:
                resp.attempts = attempts + [f"HTTP {resp.status}"]
                return resp
            snippet = s.snippet(resp.body)
            attempts.append(f"HTTP {resp.status}: {snippet}".strip())
            asked = retry_after_s(resp.headers.get("retry-after"), time.time())
            wait = wait if asked is None else asked
        if attempt < p.max_retries:
            wait = min(wait, p.max_backoff_s)
            if time.monotonic() + wait >= s.deadline:
                deadline_hit = True
                break
            sleep(wait)
    prefix = "deadline_exceeded: job deadline reached; " if deadline_hit or time.monotonic() >= s.deadline else ""
    raise GenerationFailed(f"{prefix}gave up after {len(attempts)} attempts on {method} {url}: " + "; ".join(attempts))


def expect_ok(resp: Response, where: str, s: Session) -> Response:
    if not 200 <= resp.status < 300:
        snippet = s.snippet(resp.body)
        raise GenerationFailed(f"HTTP {resp.status} from {where}: {snippet}".strip())
    return resp
