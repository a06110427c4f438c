"""TEST04 (no response cache) and TEST01 (delivered bytes) against loopback servers, and the client's
keep-alive and in-flight limit. No model: a PNG-serving server that works `SERVICE_S` per request,
with or without a response cache keyed on the request body (what MLPerf's TEST04 exists to catch).
The real Serve deployment passing TEST04 is checked in test_latency.py (the stage, end to end)."""
from __future__ import annotations

import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sentinel.latency import compliance, load, schedules
from sentinel.workloads.jobs import Job

pytestmark = pytest.mark.timeout(60)
SERVICE_S = 0.02
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64  # the client checks Content-Type and (TEST01) sha256, not decoding
JOB = Job(id="hs-001", category="hs", prompt="a face", negative_prompt="", seed=7, width=64, height=64, steps=4,
          guidance=5.0)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: "PngServer"

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.peers.add(self.client_address)
        if not (self.server.cache and body in self.server.seen):
            time.sleep(SERVICE_S)  # the work; a cache hit skips it
        self.server.seen.add(body)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PNG)))
        self.end_headers()
        self.wfile.write(PNG)


class PngServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, cache: bool):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.cache, self.seen, self.peers = cache, set(), set()

    def __enter__(self) -> PngServer:
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/model"


def _test04(cache: bool) -> tuple[dict, PngServer]:
    with PngServer(cache) as server:
        post = compliance.http_post(server.url, 10.0, None)
        return compliance.run_test04("cached-model", post, JOB, 6, {JOB.seed}, seed=0), server


def test_a_response_cache_fails_test04_naming_the_model():
    result, server = _test04(cache=True)
    assert result["verdict"] == "fail" and "cached-model" in result["reason"], result
    assert result["n"] == 6 and result["ratio"] < 0.5 and result["ratio_ci95"][1] < 0.9
    assert len(server.seen) == 1 + 6  # the repeated body once, six fresh seeds


def test_an_honest_server_passes_test04_and_the_client_keeps_one_connection():
    result, server = _test04(cache=False)
    assert result["verdict"] == "pass" and result["n"] == 6, result
    assert result["ratio_ci95"][1] >= 0.9 and result["median_fresh_s"] >= SERVICE_S
    assert len(server.peers) == 1  # 13 sequential requests on one keep-alive connection


def test_fresh_jobs_are_the_same_work_with_unseen_seeds():
    fresh = compliance.fresh_jobs(JOB, 20, {JOB.seed, 1}, seed=0)
    assert len({j.seed for j in fresh}) == 20 and JOB.seed not in {j.seed for j in fresh}
    assert all((j.prompt, j.width, j.height, j.steps, j.guidance) == (JOB.prompt, 64, 64, 4, 5.0) for j in fresh)
    assert compliance.fresh_jobs(JOB, 3, set(), 0) == compliance.fresh_jobs(JOB, 3, set(), 0)  # seeded
    with pytest.raises(ValueError, match="latency.test04_pairs: must be >= 6"):
        compliance.run_test04("m", lambda j: (0.0, ""), JOB, 5, set(), 0)


def test_test04_verdict_closed_form():
    """Six ratios: the 95 % CI of the median is [min, max] (order statistics 1 and 6 of 6)."""
    assert compliance.verdict("m", [0.5, 0.6, 0.7, 0.8, 0.85, 0.89], 6)["verdict"] == "fail"
    honest = compliance.verdict("m", [0.5, 0.6, 0.7, 0.8, 0.85, 0.91], 6)  # one pair not faster: not proven
    assert honest["verdict"] == "pass" and honest["ratio_ci95"] == [0.5, 0.91] and honest["ratio"] == 0.75
    void = compliance.verdict("m", [0.5] * 5, 6)
    assert void["verdict"] == "void" and "5 complete pairs" in void["reason"]


def test_test01_names_the_model_and_the_job():
    rows = [{"job": "a", "ok": True, "reason": ""},
            {"job": "b", "ok": False, "reason": "sha256 mismatch for job b: got 0123, expected 4567"},
            {"job": "c", "ok": False, "reason": "HTTP 500: boom"}]
    bad = compliance.run_test01("tiny-sd", rows, checked=True)
    assert bad["verdict"] == "fail" and bad["mismatched_jobs"] == ["b"] and bad["n_checked"] == 2
    assert "tiny-sd" in bad["reason"] and "b" in bad["reason"]
    assert compliance.run_test01("tiny-sd", rows[:1], checked=True)["verdict"] == "pass"
    assert compliance.run_test01("vendor", rows, checked=False)["verdict"] == "not_applicable"


def test_in_flight_limit_is_littles_law_on_the_busiest_window():
    even = schedules.uniform(50.0, 500)  # 50 req/s, SLO 1 s: 50 in flight, x 4 headroom
    assert load.in_flight_limit(even, 1.0, 4.0, 1000) == 200 and load.in_flight_limit(even, 1.0, 4.0, 64) == 64
    burst = [0.0] * 30 + [10.0 + i for i in range(10)]  # a burst of 30 at once: the trace's peak, not its mean
    assert load.busiest_window(burst, 1.0) == 30 and load.in_flight_limit(burst, 1.0, 2.0, 1000) == 60
    assert load.in_flight_limit([0.0], 0.5, 1.5, 10) == 2
    with pytest.raises(ValueError, match="headroom"):
        load.in_flight_limit(even, 1.0, math.nan, 10)
