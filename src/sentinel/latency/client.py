"""Start a model server, measure cold start, then measure end-to-end request latency.

Every latency is measured from the request's *scheduled* time to the last byte of the PNG, so
queueing behind a slow request is not hidden (coordinated omission). The schedule is a function
`(i, previous_finish) -> scheduled time`: `closed_loop` schedules request i when request i-1
finished; an open-loop (e.g. Poisson) schedule can be added as another such function.
A miss (HTTP error, timeout, wrong image) stays in the sample as +inf and is counted.
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..config import LatencyConfig
from ..provenance import sha256_bytes
from ..workload import Job
from . import stats
from .server import GENERATE_PATH, check_loopback

STOP_GRACE_S = 10.0
Schedule = Callable[[int, float], float]


def closed_loop(i: int, previous_finish: float) -> float:
    """One outstanding request: request i is due the moment request i-1 finished."""
    return previous_finish


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


def _check(resp: Response, job: Job, elapsed_s: float, timeout_s: float,
           expected_sha256: Mapping[str, str] | None) -> str:
    """Why this response is a miss, or "" when it counts as a success."""
    if resp.error:
        return resp.error
    if elapsed_s > timeout_s:
        return f"timeout: took {elapsed_s:.3f} s > timeout_s={timeout_s}"
    if expected_sha256 is not None and job.id in expected_sha256:
        got = sha256_bytes(resp.body)
        if got != expected_sha256[job.id]:
            return f"sha256 mismatch for job {job.id}: got {got[:12]}, expected {expected_sha256[job.id][:12]}"
    return ""


def measure_requests(url: str, jobs: Sequence[Job], n: int, timeout_s: float,
                     expected_sha256: Mapping[str, str] | None = None,
                     schedule: Schedule = closed_loop) -> tuple[list[float], list[dict], float]:
    """Send n sequential requests cycling through `jobs`, each timed from its scheduled time.

    Returns (latencies with +inf for misses, misses [{index, job_id, reason}], achieved rate rps).
    """
    if n < 1 or not jobs:
        raise ValueError(f"measure_requests: need n >= 1 and at least one job, got n={n}, {len(jobs)} jobs")
    latencies: list[float] = []
    misses: list[dict] = []
    t_first = finish = time.perf_counter()
    for i in range(n):
        job = jobs[i % len(jobs)]
        scheduled = schedule(i, finish)
        if i == 0:
            t_first = scheduled
        while (wait := scheduled - time.perf_counter()) > 0:  # open-loop schedules may run ahead
            time.sleep(wait)
        resp = post_job(url, job, timeout_s)
        finish = time.perf_counter()
        reason = _check(resp, job, finish - scheduled, timeout_s, expected_sha256)
        latencies.append(math.inf if reason else finish - scheduled)
        if reason:
            misses.append({"index": i, "job_id": job.id, "reason": reason})
    return latencies, misses, n / (finish - t_first)


def _cold_start(server: ServerProcess, job: Job, expected_sha256: Mapping[str, str] | None) -> dict:
    """Spawn -> READY -> first image fully received. The first request may take startup_timeout_s."""
    server.start()
    resp = post_job(server.url, job, server.startup_timeout_s)
    t_first_image = time.perf_counter()
    reason = _check(resp, job, t_first_image - server.t_ready, server.startup_timeout_s, expected_sha256)
    if reason:
        raise RuntimeError(f"cold-start request (job {job.id}) failed: {reason}{server.stderr_tail()}")
    return {"cold_start_s": t_first_image - server.t_spawn, "startup_s": server.t_ready - server.t_spawn,
            "first_inference_s": t_first_image - server.t_ready}


def _json_s(x: float) -> float | None:
    """Seconds for JSON: microsecond rounding (monotone, so order is kept); a miss (+inf) -> null."""
    return None if math.isinf(x) else round(x, 6)


def measure_model(params_path: str, model_name: str, jobs: Sequence[Job], cfg: LatencyConfig,
                  expected_sha256: Mapping[str, str] | None = None) -> dict:
    """Cold start plus `cfg.requests` closed-loop requests against a fresh server for one model.

    `expected_sha256` maps job id -> sha256 of the expected PNG; a different image is a miss.
    In the result, a latency of null means +inf (a miss); misses are listed with their reason.
    """
    check_loopback(cfg.host)
    if not jobs:
        raise ValueError(f"measure_model({model_name}): no jobs")
    server = ServerProcess(params_path, model_name, cfg.host, cfg.startup_timeout_s)
    try:
        cold = _cold_start(server, jobs[0], expected_sha256)
        latencies, misses, rate = measure_requests(server.url, jobs, cfg.requests, cfg.timeout_s, expected_sha256)
    finally:
        server.stop()
    summary = stats.summarize(latencies)
    return {
        "model": model_name,
        **{k: round(v, 6) for k, v in cold.items()},
        "n_requests": len(latencies),
        "n_failed": len(misses),
        **{k: _json_s(v) for k, v in summary.items()},
        "percentile_method": stats.PERCENTILE_METHOD,
        "p95_claimable": stats.claimable(len(latencies), len(misses), 95),
        "p99_claimable": stats.claimable(len(latencies), len(misses), 99),
        "achieved_rate_rps": round(rate, 6),
        "offered_rate_rps": None,  # closed loop: the server's pace sets the rate
        "schedule": "closed-loop",
        "sha256_checked": expected_sha256 is not None,
        "misses": misses,
        "per_request_s": [_json_s(x) for x in latencies],
    }
