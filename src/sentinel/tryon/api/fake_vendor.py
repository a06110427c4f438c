"""A loopback fake try-on vendor speaking `tryon-submit-poll`: PLUMBING ONLY, never a model result.

It exists so the API path of the try-on family (HTTP, polling, retries, PNG checks, failure
accounting, per-try-on list price) runs end to end on any machine with no network and no key. Its
result is a fixed recolouring, not a try-on model: a row served by it measures the plumbing, and
its display name and model card say so.

    with serving_fake_vendor(cfg) as cfg:       # cfg.api.base_url == "fake://loopback"
        model = load_tryon_api(cfg)             # cfg.api.base_url is now http://127.0.0.1:<port>
        ...
    # the server is stopped (its own thread, by its own handle) when the block ends

The HTTP server, request log, fault queues and start/stop are the loopback fake video vendor's
(sentinel.video.api.fake_vendor.FakeVideoVendor, reused, not copied); this module supplies the
try-on routes and content. Only 127.0.0.1, on a free port chosen by the OS, for the duration of
the block. A config whose base_url is not fake://loopback passes through unchanged.

The key: the vendor accepts exactly `Bearer <os.environ[api.key_env]>`. If that variable is unset,
serving_fake_vendor sets it, for the block only, to DEV_KEY, a fixed, public, non-secret string
that only this fake vendor accepts; it is never written to any file.

Content rule (`tryon_result`; tests recompute it independently): the garment's mean colour c
(per channel, over its pixels whose darkest channel is < 245, or all pixels if none; rounded half
to even) is painted over the person inside the mask (luminance >= 128; no mask: the whole image),
plus a seeded offset: with d = sha256(f"{seed}\\n{category}") bytes, channel k gets
(c_k + d[k] % 17 - 8) clipped to [0, 255]. Outside the mask the result is the person, exactly.

Faults (`FaultPlan`, for tests): lists of actions, each consumed by one request of that phase:
    submit: ("status", code, headers) | ("missing-id",) | ("bad-json",)
    poll:   ("status", code, headers) | ("bad-json",) | ("unknown-status",) | ("vendor-failed",)
    result: ("truncated",) PNG cut in half | ("garbled",) not a PNG | ("wrong-size",) 2 px wider
            | ("b64",) deliver inline as image_b64 instead of image_url
and `stuck=True`: every job stays "running" forever. ("status", ...) bodies and ("vendor-failed",)
errors echo the Authorization header back, as careless vendors do (so redaction is exercised).
"""
from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import hashlib
import io
import json
import os
import re
import time
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from sentinel.images import encode_png
from sentinel.tryon.api.config import FAKE_BASE_URL
from sentinel.video.api import fake_vendor as video_fake

DEV_KEY = "sentinel-fake-tryon-vendor-dev-key"  # public and non-secret: accepted only by this fake vendor
GARMENT_WHITE = 245  # as sentinel.tryon.models: a garment pixel this light in every channel is background
MASK_THRESHOLD = 128  # as sentinel.tryon.regions
MAX_BODY_BYTES = 32 << 20
MAX_PIXELS = 4096 * 4096
__all__ = ["FakeTryOnVendor", "FaultPlan", "tryon_result", "serving_fake_vendor", "DEV_KEY"]


def tryon_result(person: np.ndarray, garment: np.ndarray, mask: np.ndarray | None, seed: int,
                 category: str) -> np.ndarray:
    """The fake vendor's result (H, W, 3) uint8 for (H, W, 3) uint8 inputs, the rule in the module docstring."""
    fg = garment.min(axis=2) < GARMENT_WHITE
    pixels = garment[fg] if fg.any() else garment.reshape(-1, 3)
    colour = np.round(pixels.astype(np.float64).mean(axis=0)).astype(np.int64)
    d = hashlib.sha256(f"{seed}\n{category}".encode()).digest()
    colour = np.clip(colour + np.array([d[k] % 17 - 8 for k in range(3)]), 0, 255).astype(np.uint8)
    region = np.ones(person.shape[:2], bool) if mask is None else mask.mean(axis=2) >= MASK_THRESHOLD
    out = person.copy()
    out[region] = colour
    return out


@dataclass
class FaultPlan:
    submit: list = field(default_factory=list)
    poll: list = field(default_factory=list)
    result: list = field(default_factory=list)
    stuck: bool = False


@dataclass
class _Job:
    body: dict
    submitted: float
    fault: tuple | None = None
    png: bytes | None = None


def _rgb(b64: str | None, name: str) -> np.ndarray | None:
    if b64 is None:
        return None
    try:
        data = base64.b64decode(b64, validate=True)
        with Image.open(io.BytesIO(data), formats=("PNG",)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise ValueError("too large")
            return np.asarray(img.convert("RGB"))
    except (binascii.Error, ValueError, OSError) as e:
        raise ValueError(f"{name}: not a base64 PNG ({type(e).__name__})") from None


def _decode_body(raw: bytes) -> tuple[dict | None, str | None]:
    try:
        body = json.loads(raw)
    except ValueError:
        return None, "body is not JSON"
    if not isinstance(body, dict):
        return None, "body must be a JSON object"
    for key, kind in (("model", str), ("category", str), ("seed", int), ("person_png_b64", str),
                      ("garment_png_b64", str), ("mask_png_b64", (str, type(None)))):
        if not isinstance(body.get(key), kind) or isinstance(body.get(key), bool) or key not in body:
            return None, f"{key}: missing or of the wrong type"
    try:
        images = {k: _rgb(body[f"{k}_png_b64"], k) for k in ("person", "garment", "mask")}
    except ValueError as e:
        return None, str(e)
    if images["mask"] is not None and images["mask"].shape != images["person"].shape:
        return None, "mask: not the person image's size"
    return {**body, "images": images}, None


class _Handler(video_fake._Handler):
    server_version = "FakeTryOnVendor/1"

    def _handle(self):
        vendor: FakeTryOnVendor = self.server.vendor
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(length, MAX_BODY_BYTES)) if length else b""
        auth = self.headers.get("Authorization", "")
        vendor.log(self.command, self.path, auth)
        if auth != f"Bearer {vendor.key}":
            return self._json(401, {"error": "invalid API key"})
        if self.command == "POST" and self.path == "/v1/tryons":
            return self._submit_tryon(vendor, raw, auth)
        m = re.fullmatch(r"/v1/tryons/([A-Za-z0-9_-]+)(/result)?", self.path)
        if self.command == "GET" and m:
            job = vendor.jobs.get(m.group(1))
            if job is None:
                return self._json(404, {"error": f"no such job {m.group(1)}"})
            if m.group(2):
                return self._send(200, job.png, ctype="image/png") if job.png else self._json(409, {"error": "not ready"})
            return self._poll_tryon(vendor, m.group(1), job, auth)
        return self._json(404, {"error": "no such route"})

    def _submit_tryon(self, vendor: "FakeTryOnVendor", raw: bytes, auth: str):
        action = vendor.next("submit")
        if action and self._common_fault(action, auth):
            return None
        body, problem = _decode_body(raw)
        if problem:
            return self._json(400, {"error": problem})
        if action and action[0] == "missing-id":
            return self._json(200, {"status": "queued"})
        return self._json(200, {"id": vendor.add(body), "status": "queued"})

    def _poll_tryon(self, vendor: "FakeTryOnVendor", job_id: str, job: _Job, auth: str):
        action = vendor.next("poll")
        if action and self._common_fault(action, auth):
            return None
        if action and action[0] == "unknown-status":
            return self._json(200, {"id": job_id, "status": "teleporting"})
        if action and action[0] == "vendor-failed":
            return self._json(200, {"id": job_id, "status": "failed",
                                    "error": f"content policy (request authorization: {auth})"})
        elapsed = time.monotonic() - job.submitted
        if vendor.plan.stuck or elapsed < vendor.queue_s + vendor.generation_s:
            status = "queued" if elapsed < vendor.queue_s and not vendor.plan.stuck else "running"
            return self._json(200, {"id": job_id, "status": status})
        png = vendor.render(job)
        doc = {"id": job_id, "status": "succeeded"}
        if job.fault == ("b64",):
            doc["image_b64"] = base64.b64encode(png).decode()
        else:
            doc["image_url"] = f"/v1/tryons/{job_id}/result"
        return self._json(200, doc)

    do_GET = do_POST = _handle


class FakeTryOnVendor(video_fake.FakeVideoVendor):
    """The server; `with FakeTryOnVendor(key) as v:` serves on v.url until the block ends."""

    def __init__(self, key: str, plan: FaultPlan | None = None, queue_s: float = 0.02, generation_s: float = 0.05):
        super().__init__(key, plan or FaultPlan(), queue_s, generation_s)
        self._httpd.RequestHandlerClass = _Handler  # the try-on routes on the video vendor's server
        self._thread.name = "fake-tryon-vendor"

    def add(self, body: dict) -> str:
        with self._lock:
            job_id = f"tryon-{len(self.jobs) + 1:06d}"
            fault = self.plan.result.pop(0) if self.plan.result else None
            self.jobs[job_id] = _Job(body, time.monotonic(), fault)
        return job_id

    def render(self, job: _Job) -> bytes:
        """The job's result PNG, made on its first successful poll."""
        if job.png is not None:
            return job.png
        b, fault = job.body, job.fault or ("ok",)
        im = b["images"]
        person = im["person"]
        if fault[0] == "wrong-size":
            person = np.concatenate([person, person[:, -2:]], axis=1)
            im = {**im, "mask": None if im["mask"] is None else np.concatenate([im["mask"], im["mask"][:, -2:]], axis=1)}
        png = encode_png(Image.fromarray(tryon_result(person, im["garment"], im["mask"], b["seed"], b["category"])))
        if fault[0] == "truncated":
            png = png[: len(png) // 2]
        if fault[0] == "garbled":
            png = hashlib.sha256(png).digest() * 8
        with self._lock:
            if job.png is None:
                job.png = png
            return job.png


@contextlib.contextmanager
def serving_fake_vendor(cfg):
    """For a `base_url: fake://loopback` config: serve the fake vendor for the block, yield cfg pointing at it.

    `cfg` is a TryOnModelConfig (with .api) or a TryOnApiConfig; the same type comes back, with
    `base_url` replaced by the loopback URL. Any other config is yielded unchanged.
    """
    api = getattr(cfg, "api", cfg)
    if api is None or getattr(api, "base_url", None) != FAKE_BASE_URL:
        yield cfg
        return
    with _key_for(api.key_env) as key, FakeTryOnVendor(key) as vendor:
        served = dataclasses.replace(api, base_url=vendor.url)
        yield served if cfg is api else dataclasses.replace(cfg, api=served)


@contextlib.contextmanager
def _key_for(env: str):
    """The key the fake vendor accepts: os.environ[env], else DEV_KEY set there for the block only."""
    if os.environ.get(env):
        yield os.environ[env]
        return
    os.environ[env] = DEV_KEY  # this process (and what it starts) only; removed below
    try:
        yield DEV_KEY
    finally:
        os.environ.pop(env, None)
