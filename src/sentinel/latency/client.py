"""One request to a model endpoint (a Serve deployment, or a vendor gateway), end to end.

`post_job` sends one job on a keep-alive connection kept per client thread (a new TCP connection
per request costs a handshake each, and bursts of them meet the listen backlog) and reads the PNG
to its last byte; `check` says why a response is a miss (HTTP error, transport error, wrong
image). Any job with an `id` works (image, video, try-on): the kind's payload function builds
the body. Timing and scheduling live in load.py.
"""
from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sentinel.provenance import sha256_bytes
from sentinel.workloads.jobs import Job

_local = threading.local()
Payload = Callable[[Any], dict]  # a job -> the JSON object its request sends


@dataclass(frozen=True)
class Response:
    status: int  # 0: no HTTP response (timeout, refused connection)
    body: bytes
    error: str  # "" when the request succeeded
    headers: dict = field(default_factory=dict)
    first_byte_s: float | None = None  # seconds from this call to the response's status line


def _conn(host: str, port: int, timeout_s: float) -> http.client.HTTPConnection:
    conns = _local.__dict__.setdefault("conns", {})
    conn = conns.get((host, port))
    if conn is None:
        conn = conns[(host, port)] = http.client.HTTPConnection(host, port, timeout=timeout_s)
    conn.timeout = timeout_s
    if conn.sock is not None:
        conn.sock.settimeout(timeout_s)
    return conn


def _drop(host: str, port: int) -> None:
    conn = _local.__dict__.get("conns", {}).pop((host, port), None)
    if conn is not None:
        conn.close()


def post_job(url: str, job: Job, timeout_s: float, payload: Payload | None = None) -> Response:
    """POST one job to `url`; any transport failure becomes a Response with status 0 and an error.
    The body is `payload(job)` (default job.to_dict(); try-on: kinds.inline_images)."""
    parts = urlsplit(url)
    body = json.dumps(job.to_dict() if payload is None else payload(job)).encode("utf-8")
    t0 = time.perf_counter()
    conn = _conn(parts.hostname, parts.port, timeout_s)
    try:
        conn.request("POST", parts.path or "/", body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        first_byte_s = time.perf_counter() - t0
        data = resp.read()
    except TimeoutError:
        _drop(parts.hostname, parts.port)
        return Response(0, b"", f"timeout after {timeout_s} s")
    except (OSError, http.client.HTTPException) as e:
        _drop(parts.hostname, parts.port)
        return Response(0, b"", f"{type(e).__name__}: {e}")
    headers = {k.lower(): v for k, v in resp.getheaders()}
    if resp.will_close:
        _drop(parts.hostname, parts.port)
    if resp.status != 200:
        return Response(resp.status, data, f"HTTP {resp.status}: {data[:300].decode('utf-8', 'replace')}",
                        headers, first_byte_s)
    if headers.get("content-type") != "image/png":
        return Response(resp.status, data, f"unexpected Content-Type {headers.get('content-type')!r}",
                        headers, first_byte_s)
    return Response(resp.status, data, "", headers, first_byte_s)


def check(resp: Response, job: Job, expected_sha256: Mapping[str, str] | None) -> str:
    """Why this response is a miss, or "" when it counts as a success (slowness is judged by the
    load generator, which knows the scheduled send time)."""
    if resp.error:
        return resp.error
    if expected_sha256 is not None and job.id in expected_sha256:
        got = sha256_bytes(resp.body)
        if got != expected_sha256[job.id]:
            return f"sha256 mismatch for job {job.id}: got {got[:12]}, expected {expected_sha256[job.id][:12]}"
    return ""
