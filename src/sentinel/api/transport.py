"""One HTTP exchange that always ends: a wall-clock deadline over connect, headers and body, and a byte cap.

`timeout_s` alone is a per-read socket timeout: a vendor dripping one byte every 0.5 s never trips it.
So a watchdog timer shuts the socket down at the deadline, whatever phase the exchange is in, and
the body is read in chunks that stop at `max_bytes` (a declared Content-Length over the cap is
refused before any body byte is read). Redirects are not followed here; the caller decides.
"""
from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field

from sentinel.api.urls import Target
from sentinel.models.outputs import GenerationFailed

CHUNK_BYTES = 64 * 1024


class DeadlineExceeded(TimeoutError):
    """The watchdog fired: the exchange took longer than its deadline."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    attempts: list[str] = field(default_factory=list)


class _Connection(http.client.HTTPSConnection):
    """Connects to the address the Fence checked (no second DNS lookup); TLS verifies the host name."""

    def __init__(self, target: Target, timeout_s: float):
        super().__init__(target.host, target.port, timeout=timeout_s, context=ssl.create_default_context())
        self._target = target

    def connect(self):
        sock, error = None, OSError(f"no address for {self._target.host}")
        for address in self._target.addresses:  # like socket.create_connection, over the checked list only
            try:
                sock = socket.create_connection((address, self._target.port), self.timeout)
                break
            except OSError as e:
                error = e
        if sock is None:
            raise error
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host) if self._target.scheme == "https" else sock


def _read_capped(resp: http.client.HTTPResponse, max_bytes: int, where: str, expired) -> bytes:
    declared = resp.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise GenerationFailed(f"response_too_large: {where} declared {int(declared)} bytes "
                               f"(api.max_response_bytes = {max_bytes}); not read")
    parts, total = [], 0
    while True:
        chunk = resp.read1(CHUNK_BYTES)
        if not chunk:
            break
        total += len(chunk)
        if total > max_bytes:
            raise GenerationFailed(f"response_too_large: {where} sent more than {max_bytes} bytes "
                                   "(api.max_response_bytes); stopped reading")
        parts.append(chunk)
        if expired():
            raise DeadlineExceeded()
    if declared and declared.isdigit() and total < int(declared):  # read1 returns b"" on an early close
        raise http.client.IncompleteRead(b"".join(parts), int(declared) - total)
    return b"".join(parts)


def exchange(target: Target, method: str, headers: dict[str, str], data: bytes | None, timeout_s: float,
             deadline: float, max_bytes: int) -> Response:
    """One request/response; raises DeadlineExceeded, GenerationFailed (too large) or network errors."""
    budget = deadline - time.monotonic()
    if budget <= 0:
        raise DeadlineExceeded()
    conn = _Connection(target, min(timeout_s, budget))
    fired = threading.Event()

    def stop():
        fired.set()
        sock = conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    watchdog = threading.Timer(budget, stop)
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.request(method, target.path, body=data, headers=headers)
        resp = conn.getresponse()
        body = _read_capped(resp, max_bytes, target.url, fired.is_set)
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body)
    except (OSError, http.client.HTTPException):
        if fired.is_set():
            raise DeadlineExceeded() from None
        raise
    finally:
        watchdog.cancel()
        conn.close()
