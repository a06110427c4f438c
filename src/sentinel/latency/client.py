"""The model server as a child process, and one request to it.

`ServerProcess` spawns `python -m sentinel.latency.server` and times spawn -> READY; `post_job`
sends one job and reads the PNG to its last byte; `check` says why a response is a miss (HTTP
error, transport error, wrong image). Timing and scheduling live in load.py.
"""
from __future__ import annotations

import http.client
import json
import math
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from sentinel.provenance import sha256_bytes
from sentinel.workloads.jobs import Job
from sentinel.latency.server import GENERATE_PATH, check_loopback

STOP_GRACE_S = 10.0


class ServerProcess:
    """`python -m sentinel.latency.server` as a child process; always stopped on exit.

    >>> with ServerProcess(params, "tiny-sd", "127.0.0.1", 120.0) as srv: srv.url
    """

    def __init__(self, params_path: str, model_name: str, host: str, startup_timeout_s: float):
        self.cmd = [sys.executable, "-m", "sentinel.latency.server", "--params", str(params_path),
                    "--model", model_name, "--host", check_loopback(host), "--port", "0"]
        self.startup_timeout_s = startup_timeout_s
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.t_spawn = self.t_ready = math.nan

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> str:
        """Spawn and wait for the READY line; returns the base URL. Stops the child on failure."""
        self._stderr = tempfile.TemporaryFile()
        self._lines: queue.Queue = queue.Queue()
        self.t_spawn = time.perf_counter()
        try:
            self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        except BaseException:
            self._stderr.close()
            raise
        self._reader = threading.Thread(target=self._drain_stdout, daemon=True)
        self._reader.start()
        try:
            self.url = self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.t_ready = time.perf_counter()
        return self.url

    def _drain_stdout(self) -> None:
        for line in self.proc.stdout:  # keep draining so the child never blocks on a full pipe
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _wait_ready(self) -> str:
        deadline = self.t_spawn + self.startup_timeout_s
        while True:
            try:
                line = self._lines.get(timeout=max(deadline - time.perf_counter(), 0.0))
            except queue.Empty:
                raise TimeoutError(f"model server not READY within startup_timeout_s="
                                   f"{self.startup_timeout_s}: {' '.join(self.cmd)}{self.stderr_tail()}") from None
            if line is None:
                code = self.proc.wait()
                raise RuntimeError(f"model server exited with status {code} before READY: "
                                   f"{' '.join(self.cmd)}{self.stderr_tail()}")
            if line.startswith("READY "):
                return line.split(" ", 1)[1].strip()

    def stderr_tail(self, chars: int = 2000) -> str:
        if getattr(self, "_stderr", None) is None or self._stderr.closed:
            return ""
        self._stderr.seek(0, os.SEEK_END)
        self._stderr.seek(max(self._stderr.tell() - chars, 0))
        text = self._stderr.read().decode("utf-8", "replace").strip()
        return f"\n--- server stderr (tail) ---\n{text}" if text else ""

    def stop(self, grace_s: float = STOP_GRACE_S) -> int | None:
        """SIGTERM, then SIGKILL after `grace_s`; reaps the child. Returns its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=grace_s)
        self.proc.stdout.close()
        self._stderr.close()
        return self.proc.returncode


@dataclass(frozen=True)
class Response:
    status: int  # 0: no HTTP response (timeout, refused connection)
    body: bytes
    error: str  # "" when the request succeeded


def post_job(url: str, job: Job, timeout_s: float) -> Response:
    """POST one job; any transport failure becomes a Response with status 0 and an error."""
    parts = urlsplit(url)
    body = json.dumps(job.to_dict()).encode("utf-8")
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_s)
    try:
        conn.request("POST", GENERATE_PATH, body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
    except TimeoutError:
        return Response(0, b"", f"timeout after {timeout_s} s")
    except (OSError, http.client.HTTPException) as e:
        return Response(0, b"", f"{type(e).__name__}: {e}")
    finally:
        conn.close()
    if resp.status != 200:
        return Response(resp.status, data, f"HTTP {resp.status}: {data[:300].decode('utf-8', 'replace')}")
    if resp.getheader("Content-Type") != "image/png":
        return Response(resp.status, data, f"unexpected Content-Type {resp.getheader('Content-Type')!r}")
    return Response(resp.status, data, "")


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
