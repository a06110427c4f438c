"""A loopback fake video vendor speaking `video-submit-poll`: PLUMBING ONLY, never a model result.

It exists so the smoke-media suite can run the API path end to end (HTTP, polling, retries, MP4
decoding, failure accounting, cost per video-second) on any machine with no network and no key.
Its clips are a seeded moving pattern, not a video model: a row served by it measures the
plumbing, and its display name and model card say so.

    with serving_fake_vendor(cfg) as cfg:       # cfg.api.base_url == "fake://loopback"
        model = load_video_api(cfg)             # cfg.api.base_url is now http://127.0.0.1:<port>
        ...
    # the server is stopped (its own thread, by its own handle) when the block ends

Only 127.0.0.1, on a free port chosen by the OS, for the duration of the block. A config whose
base_url is not fake://loopback passes through unchanged (so a stage can always wrap its run).

The key: the vendor accepts exactly `Bearer <os.environ[api.key_env]>`. If that variable is unset,
serving_fake_vendor sets it, for the block only, to DEV_KEY, a fixed, public, non-secret string
that only this fake vendor accepts; it is never written to any file. A real vendor's base_url never
gets this fallback (load_video_api requires the variable).

Content rule (`pattern_frames`; tests recompute it independently): with d = sha256(f"{seed}\\n{prompt}")
bytes, a, b, c = d[0], d[1], d[2] and v = 1 + d[3] % 7, frame t's pixel (y, x) is
    R = (a + 4x + v t) mod 256,   G = (b + 4y + 2t) mod 256,   B = (c + 2x + 2y) mod 256   (uint8).
The MP4 is lossless RGB H.264 (decode.encode_video), so the decoded clip equals it exactly.

Simulated split: each job is "queued" for `queue_s`, then "running" for `generation_s` (wall clock,
measured from its submit); the first poll after that encodes the MP4 and the job "succeeded". Poll
responses state `timings`: the simulated queue_s and generation_s, and the measured encoding_s.

Faults (`FaultPlan`, for tests): lists of actions, each consumed by one request of that phase:
    submit: ("status", code, headers) | ("missing-id",) | ("bad-json",)
    poll:   ("status", code, headers) | ("bad-json",) | ("unknown-status",) | ("vendor-failed",)
    video:  ("short", n) n frames only | ("truncated",) MP4 cut in half | ("garbled",) not an MP4
            | ("wrong-fps",) | ("wrong-size",) | ("url",) deliver by video_url instead of video_b64
and `stuck=True`: every job stays "running" forever. ("status", ...) bodies and ("vendor-failed",)
errors echo the Authorization header back, as careless vendors do (so redaction is exercised).
"""
from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from sentinel.video.api.config import FAKE_BASE_URL
from sentinel.video.api.decode import encode_video

DEV_KEY = "sentinel-fake-video-vendor-dev-key"  # public and non-secret: accepted only by this fake vendor
HOST = "127.0.0.1"
MAX_FRAMES = 1024
MAX_PIXELS = 1024 * 1024
__all__ = ["FakeVideoVendor", "FaultPlan", "pattern_frames", "serving_fake_vendor", "DEV_KEY"]


def pattern_frames(seed: int, prompt: str, n_frames: int, width: int, height: int) -> np.ndarray:
    """The fake vendor's clip: (n_frames, height, width, 3) uint8, the rule in the module docstring."""
    d = hashlib.sha256(f"{seed}\n{prompt}".encode()).digest()
    a, b, c, v = d[0], d[1], d[2], 1 + d[3] % 7
    t = np.arange(n_frames, dtype=np.int64)[:, None, None]
    y = np.arange(height, dtype=np.int64)[None, :, None]
    x = np.arange(width, dtype=np.int64)[None, None, :]
    shape = (n_frames, height, width)
    r = np.broadcast_to((a + 4 * x + v * t) % 256, shape)
    g = np.broadcast_to((b + 4 * y + 2 * t) % 256, shape)
    bl = np.broadcast_to((c + 2 * x + 2 * y) % 256, shape)
    return np.stack([r, g, bl], axis=-1).astype(np.uint8)


@dataclass
class FaultPlan:
    submit: list = field(default_factory=list)
    poll: list = field(default_factory=list)
    video: list = field(default_factory=list)
    stuck: bool = False


@dataclass
class _Job:
    body: dict
    submitted: float
    fault: tuple | None = None
    video: bytes | None = None
    encoding_s: float | None = None


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeVideoVendor/1"

    def log_message(self, *args):  # quiet: nothing about requests is logged anywhere
        pass

    def _send(self, code: int, body: bytes, headers: dict | None = None, ctype: str = "application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, doc: dict, headers: dict | None = None):
        self._send(code, json.dumps(doc).encode(), headers)

    def _handle(self):
        vendor: FakeVideoVendor = self.server.vendor
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(length, 1 << 20)) if length else b""
        auth = self.headers.get("Authorization", "")
        vendor.log(self.command, self.path, auth)
        if auth != f"Bearer {vendor.key}":
            return self._json(401, {"error": "invalid API key"})
        if self.command == "POST" and self.path == "/v1/videos":
            return self._submit(vendor, raw, auth)
        m = re.fullmatch(r"/v1/videos/([A-Za-z0-9_-]+)(/content)?", self.path)
        if self.command == "GET" and m:
            job = vendor.jobs.get(m.group(1))
            if job is None:
                return self._json(404, {"error": f"no such job {m.group(1)}"})
            if m.group(2):
                return self._send(200, job.video, ctype="video/mp4") if job.video else self._json(409, {"error": "not ready"})
            return self._poll(vendor, m.group(1), job, auth)
        return self._json(404, {"error": "no such route"})

    def _common_fault(self, action: tuple, auth: str) -> bool:
        if action[0] == "status":
            self._json(action[1], {"error": f"injected {action[1]}", "received_authorization": auth},
                       action[2] if len(action) > 2 else None)
            return True
        if action[0] == "bad-json":
            self._send(200, b'{"status": "succ')
            return True
        return False

    def _submit(self, vendor: "FakeVideoVendor", raw: bytes, auth: str):
        action = vendor.next("submit")
        if action and self._common_fault(action, auth):
            return None
        try:
            body = json.loads(raw)
            problem = _check_body(body)
        except ValueError:
            body, problem = None, "body is not JSON"
        if problem:
            return self._json(400, {"error": problem})
        if action and action[0] == "missing-id":
            return self._json(200, {"status": "queued"})
        job_id = vendor.add(body)
        return self._json(200, {"id": job_id, "status": "queued"})

    def _poll(self, vendor: "FakeVideoVendor", job_id: str, job: _Job, auth: str):
        action = vendor.next("poll")
        if action and self._common_fault(action, auth):
            return None
        if action and action[0] == "unknown-status":
            return self._json(200, {"id": job_id, "status": "teleporting"})
        if action and action[0] == "vendor-failed":
            return self._json(200, {"id": job_id, "status": "failed",
                                    "error": f"content policy (request authorization: {auth})"})
        elapsed = time.monotonic() - job.submitted
        timings = {"queue_s": vendor.queue_s, "generation_s": vendor.generation_s}
        if vendor.plan.stuck or elapsed < vendor.queue_s + vendor.generation_s:
            status = "queued" if elapsed < vendor.queue_s and not vendor.plan.stuck else "running"
            return self._json(200, {"id": job_id, "status": status, "timings": {"queue_s": vendor.queue_s}})
        video = vendor.render(job)
        doc = {"id": job_id, "status": "succeeded", "timings": {**timings, "encoding_s": job.encoding_s}}
        if job.fault == ("url",):
            doc["video_url"] = f"/v1/videos/{job_id}/content"
        else:
            doc["video_b64"] = base64.b64encode(video).decode()
        return self._json(200, doc)

    do_GET = do_POST = _handle


def _check_body(body) -> str | None:
    if not isinstance(body, dict):
        return "body must be a JSON object"
    for key, kind in (("model", str), ("prompt", str), ("negative_prompt", str), ("width", int), ("height", int),
                      ("seed", int), ("num_frames", int), ("fps", (int, float)), ("seconds", (int, float))):
        if not isinstance(body.get(key), kind) or isinstance(body.get(key), bool):
            return f"{key}: missing or not a {getattr(kind, '__name__', 'number')}"
    if not (0 < body["num_frames"] <= MAX_FRAMES and body["width"] > 0 and body["height"] > 0
            and body["width"] * body["height"] <= MAX_PIXELS and body["fps"] > 0):
        return "num_frames, width x height or fps out of range"
    return None


class FakeVideoVendor:
    """The server; `with FakeVideoVendor(key) as v:` serves on v.url until the block ends."""

    def __init__(self, key: str, plan: FaultPlan | None = None, queue_s: float = 0.02, generation_s: float = 0.05):
        if not key:
            raise ValueError("FakeVideoVendor: key must not be empty")
        self.key = key
        self.plan = plan or FaultPlan()
        self.queue_s, self.generation_s = queue_s, generation_s
        self.jobs: dict[str, _Job] = {}
        self.requests: list[dict] = []  # method, path, t, and whether the key matched (never the key itself)
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((HOST, 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.vendor = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-video-vendor", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._httpd.server_address[1]}"

    def log(self, method: str, path: str, auth: str) -> None:
        with self._lock:
            self.requests.append({"method": method, "path": path, "t": time.monotonic(),
                                  "key_ok": auth == f"Bearer {self.key}"})

    def next(self, phase: str) -> tuple | None:
        with self._lock:
            actions = getattr(self.plan, phase)
            return actions.pop(0) if actions else None

    def add(self, body: dict) -> str:
        with self._lock:
            job_id = f"vid-{len(self.jobs) + 1:06d}"
            fault = self.plan.video.pop(0) if self.plan.video else None
            self.jobs[job_id] = _Job(body, time.monotonic(), fault)
        return job_id

    def render(self, job: _Job) -> bytes:
        """The job's MP4, encoded on its first successful poll (outside the lock: jobs encode in parallel)."""
        if job.video is not None:
            return job.video
        b, fault = job.body, job.fault or ("ok",)
        n, width, height, fps = b["num_frames"], b["width"], b["height"], float(b["fps"])
        n = min(n, fault[1]) if fault[0] == "short" else n
        width = width + 2 if fault[0] == "wrong-size" else width
        fps = fps * 2 if fault[0] == "wrong-fps" else fps
        t0 = time.perf_counter()
        video = encode_video(pattern_frames(b["seed"], b["prompt"], n, width, height), fps)
        encoding_s = round(time.perf_counter() - t0, 6)
        if fault[0] == "truncated":
            video = video[: len(video) // 2]
        if fault[0] == "garbled":
            video = hashlib.sha256(video).digest() * 64
        with self._lock:  # two concurrent polls may both encode: the same bytes either way
            if job.video is None:
                job.video, job.encoding_s = video, encoding_s
            return job.video

    def __enter__(self) -> "FakeVideoVendor":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@contextlib.contextmanager
def serving_fake_vendor(cfg):
    """For a `base_url: fake://loopback` config: serve the fake vendor for the block, yield cfg pointing at it.

    `cfg` is a VideoModelConfig (with .api) or a VideoApiConfig; the same type comes back, with
    `base_url` replaced by the loopback URL. Any other config is yielded unchanged.
    """
    api = getattr(cfg, "api", cfg)
    if api is None or getattr(api, "base_url", None) != FAKE_BASE_URL:
        yield cfg
        return
    env_was = os.environ.get(api.key_env)
    if not env_was:
        os.environ[api.key_env] = DEV_KEY  # this process (and what it starts) only; restored below
    try:
        with FakeVideoVendor(os.environ[api.key_env]) as vendor:
            served = dataclasses.replace(api, base_url=vendor.url)
            yield served if cfg is api else dataclasses.replace(cfg, api=served)
    finally:
        if not env_was:
            os.environ.pop(api.key_env, None)
