"""A loopback HTTP server with injected service times, for tests and the precision benchmark.

    with StubServer(lambda i: (200, 0.010), serial=True) as stub:   # 10 ms per request, one at a time
        stub.url  # "http://127.0.0.1:PORT"; GET or POST /work
    StubServer(lambda i: (429, 0.0))                                 # rate-limits everything
    StubServer(lambda i: (200, 1.0 if i == 50 else 0.01), serial=True)  # a 1 s stall at request 50

`behaviour(i)` gets the arrival index (0, 1, ...) and returns (HTTP status, service seconds).
`stub.log` is the server's own record of each request: receive time, finish time (taken just before
the reply is written, so it precedes the client's last byte) and the client's X-Request index, on
the perf_counter clock an in-process or forked client shares (CLOCK_MONOTONIC): the ground truth
that client percentiles are checked against. `serial=True` serves one request at a time (like the model server's lock), so a stall queues
everything behind it; otherwise requests are served concurrently. GET /noop answers at once.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sentinel.latency.server import check_loopback

Behaviour = Callable[[int], tuple[int, float]]
WORK_PATH, NOOP_PATH = "/work", "/noop"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like production servers and wrk
    disable_nagle_algorithm = True  # else headers and body in two writes meet delayed ACK: +40 ms
    server: "StubServer"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _reply(self, status: int) -> None:
        body = b"ok" if status == 200 else b"no"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        if self.path == NOOP_PATH:
            return self._reply(200)
        if self.path != WORK_PATH:
            return self._reply(404)
        received = time.perf_counter()
        i, status = self.server.serve_one()
        finished = time.perf_counter()  # before the reply is written: the client cannot have it earlier
        self._reply(status)
        self.wfile.flush()
        self.server.record(i, received, finished, status, self.headers.get("X-Request"))

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.do_GET()


class StubServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # open-loop bursts must not be refused by a short accept backlog

    def __init__(self, behaviour: Behaviour, serial: bool = False, host: str = "127.0.0.1"):
        super().__init__((check_loopback(host), 0), _Handler)
        self.behaviour, self.serial = behaviour, serial
        self._count_lock, self._serve_lock = threading.Lock(), threading.Lock()
        self.arrivals = 0
        self.in_flight = self.max_in_flight = 0  # requests inside serve_one, now and at most
        self.log: list[dict] = []  # the ground truth: {index, received, finished, status, request} (perf_counter;
        #                            request: the client's X-Request header, its own index for the request)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def record(self, i: int, received: float, finished: float, status: int, request: str | None = None) -> None:
        with self._count_lock:
            self.log.append({"index": i, "received": received, "finished": finished, "status": status,
                             "request": None if request is None else int(request)})

    def serve_one(self) -> tuple[int, int]:
        with self._count_lock:
            i = self.arrivals
            self.arrivals += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        status, service_s = self.behaviour(i)
        if self.serial:
            with self._serve_lock:
                time.sleep(service_s)
        else:
            time.sleep(service_s)  # no spinning: many threads spinning on 2 cores would skew others
        with self._count_lock:
            self.in_flight -= 1
        return i, status

    def handle_error(self, request, client_address) -> None:
        pass  # a client that timed out and hung up is expected here, not an error

    def __enter__(self) -> StubServer:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join()

