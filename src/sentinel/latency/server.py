"""A minimal model server on loopback: one pipeline, one lock, stdlib HTTP only.

    python -m sentinel.latency.server --params params.yaml --model tiny-sd [--host 127.0.0.1] [--port 0]

Loads the model, binds, then prints exactly one line `READY http://HOST:PORT` to stdout.
  GET  /healthz      -> 200 {"model": NAME, "ready": true, "weight_load_s": SECONDS}
  POST /v1/generate  -> 200 image/png (header X-Compute-Seconds); body: a job's fields as JSON
Bad JSON or a missing/invalid field -> 400 {"error": ..., "field": ...}; unknown path -> 404.
Self-hosted inference is serialised with a lock, so concurrent requests queue (and that queueing is
latency). A `source: api` model is a vendor adapter: the server is then a loopback gateway that
forwards concurrently (the vendor queues), so the same client measures vendor models end to end.
SIGTERM exits cleanly with status 0.
"""
from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import math
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sentinel.images import encode_png
from sentinel.workloads.jobs import COLUMNS, Job

GENERATE_PATH = "/v1/generate"
HEALTH_PATH = "/healthz"
MAX_BODY_BYTES = 1 << 20
MAX_SIDE_PX = 4096
MAX_SEED = 2**64 - 1


def check_loopback(host: str) -> str:
    """Return the address to bind; refuse anything that is not a loopback address."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"host: {host!r} is not an IP address; the model server binds loopback "
                         "only (use 127.0.0.1)") from None
    if not addr.is_loopback:
        raise ValueError(f"host: {host} is not a loopback address; the model server binds loopback "
                         "only (use 127.0.0.1)")
    return str(addr)


class BadRequest(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


def _int_field(data: dict, name: str, lo: int, hi: int) -> int:
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(name, f"expected an integer, got {value!r}")
    if not lo <= value <= hi:
        raise BadRequest(name, f"must be in [{lo}, {hi}], got {value}")
    return value


def _str_field(data: dict, name: str, allow_empty: bool) -> str:
    value = data[name]
    if not isinstance(value, str):
        raise BadRequest(name, f"expected a string, got {value!r}")
    if not allow_empty and not value.strip():
        raise BadRequest(name, "empty")
    return value


def job_from_payload(data: Any) -> Job:
    """Validate a request body (a job's fields) into a Job; errors name the offending field."""
    if not isinstance(data, dict):
        raise BadRequest("body", f"expected a JSON object with fields {', '.join(COLUMNS)}")
    unknown = sorted(set(data) - set(COLUMNS))
    if unknown:
        raise BadRequest(unknown[0], f"unknown field (valid: {', '.join(COLUMNS)})")
    missing = [c for c in COLUMNS if c not in data]
    if missing:
        raise BadRequest(missing[0], "missing field")
    width, height = (_int_field(data, k, 8, MAX_SIDE_PX) for k in ("width", "height"))
    for name, side in (("width", width), ("height", height)):
        if side % 8:
            raise BadRequest(name, f"must be a multiple of 8, got {side}")
    guidance = data["guidance"]
    if isinstance(guidance, bool) or not isinstance(guidance, int | float) or not math.isfinite(guidance) \
            or guidance < 0:
        raise BadRequest("guidance", f"expected a finite number >= 0, got {guidance!r}")
    return Job(id=_str_field(data, "id", False), category=_str_field(data, "category", True),
               prompt=_str_field(data, "prompt", False),
               negative_prompt=_str_field(data, "negative_prompt", True),
               seed=_int_field(data, "seed", 0, MAX_SEED), width=width, height=height,
               steps=_int_field(data, "steps", 1, 1000), guidance=float(guidance))


class Handler(BaseHTTPRequestHandler):
    server_version = "sentinel-latency/1"
    disable_nagle_algorithm = True  # headers and PNG go in separate writes; never wait on delayed ACK
    server: "ModelServer"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # per-request logging to stderr would add client-visible latency

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout); nothing left to tell it

    def _json(self, status: int, obj: dict) -> None:
        self._send(status, json.dumps(obj).encode("utf-8"), "application/json")

    def _not_found(self) -> None:
        self._json(404, {"error": f"unknown path {self.command} {self.path} "
                                  f"(valid: GET {HEALTH_PATH}, POST {GENERATE_PATH})"})

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        if self.path != HEALTH_PATH:
            return self._not_found()
        self._json(200, {"model": self.server.model_name, "ready": True,
                         "weight_load_s": round(self.server.weight_load_s, 6)})

    def _read_body(self) -> bytes | None:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._json(411, {"error": "Content-Length: missing or invalid", "field": "Content-Length"})
            return None
        if int(length) > MAX_BODY_BYTES:
            self._json(413, {"error": f"body: larger than {MAX_BODY_BYTES} bytes", "field": "body"})
            return None
        return self.rfile.read(int(length))

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        if self.path != GENERATE_PATH:
            return self._not_found()
        raw = self._read_body()
        if raw is None:
            return
        try:
            job = job_from_payload(json.loads(raw))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            return self._json(400, {"error": f"body: not valid JSON ({e})", "field": "body"})
        except BadRequest as e:
            return self._json(400, {"error": str(e), "field": e.field})
        try:
            png, compute_s, queue_s = self.server.generate_png(job)
        except Exception as e:  # noqa: BLE001 - report any inference failure to the client
            return self._json(500, {"error": f"generation failed: {type(e).__name__}: {e}"})
        self._send(200, png, "image/png", {"X-Compute-Seconds": f"{compute_s:.6f}",
                                           "X-Queue-Seconds": f"{queue_s:.6f}"})


class ModelServer(ThreadingHTTPServer):
    daemon_threads = True  # an in-flight inference never blocks shutdown

    def __init__(self, address: tuple[str, int], model, model_name: str, serial: bool = True):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
        self.model, self.model_name = model, model_name
        self.lock = threading.Lock() if serial else contextlib.nullcontext()
        self.weight_load_s = math.nan  # set by main(): loader.load() wall time, for cold-start breakdown

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def generate_png(self, job: Job) -> tuple[bytes, float, float]:
        """PNG bytes, compute seconds (under the lock) and seconds spent waiting for the lock."""
        t_wait = time.perf_counter()
        with self.lock:
            t0 = time.perf_counter()
            png = encode_png(self.model.generate(job))
            t1 = time.perf_counter()
        return png, t1 - t0, t0 - t_wait


def _on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sentinel.latency.server", description=__doc__.split("\n")[0])
    parser.add_argument("--params", required=True, help="params.yaml to read the model section from")
    parser.add_argument("--model", required=True, help="model name (a key of the model section)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 lets the OS choose (default)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)
    args = parse_args(argv)
    try:
        host = check_loopback(args.host)
    except ValueError as e:
        print(f"error: --{e}", file=sys.stderr)
        return 2
    from sentinel import config
    from sentinel.models import loader  # heavy (torch); only after the cheap checks

    try:
        configs = config.load(args.params, sections=("model",))["model"]
    except config.ConfigError as e:
        print(f"error: --params: {e}", file=sys.stderr)
        return 2
    if args.model not in configs:
        print(f"error: --model: {args.model!r} is not in {args.params} (valid: {', '.join(configs)})",
              file=sys.stderr)
        return 2
    t_load = time.perf_counter()
    model = loader.load(configs[args.model])
    server = ModelServer((host, args.port), model, args.model, serial=configs[args.model].source != "api")
    server.weight_load_s = time.perf_counter() - t_load
    try:
        print(f"READY {server.url}", flush=True)
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
