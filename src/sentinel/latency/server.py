"""The model as a Ray Serve deployment: one per model, behind Serve's HTTP ingress on loopback.

    app = server.application(model_cfg, cfg)   # bound deployment; serve.run(app, route_prefix="/NAME")
    POST /NAME  body: a job's fields as JSON  -> 200 image/png

Each replica builds the pipeline exactly as the generate stage does (sentinel.models.loader.load;
for a video or try-on model the family's loader, kinds.py), so its PNG must be the generate stage's
bytes. Self-hosted replicas take one request at a time
(max_ongoing_requests=1): Serve's router queues the rest, and that queueing is latency. A `source:
api` model is a vendor adapter: its replica forwards concurrently (the vendor queues), so the same
client measures vendor models end to end. Autoscaling may go to zero replicas: the next request
then pays the replica start (process, weight load, first inference), which is a cold start.
Response headers say who served it and when the replica became ready:
  X-Compute-Seconds, X-Replica, X-Replica-Ready-Unix (wall clock), X-Weight-Load-Seconds.
Media kinds add X-Generation-Seconds, X-Encoding-Seconds (and X-Vendor-Queue-Seconds where a vendor
says); see kinds.py. Bad JSON or a missing/invalid field -> 400 {"error": ..., "field": ...}.
"""
from __future__ import annotations

import asyncio
import ipaddress
import importlib
import json
import math
import os
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sentinel.workloads.jobs import COLUMNS, Job

MAX_SIDE_PX = 4096
MAX_SEED = 2**64 - 1
MAX_CONCURRENT_API = 64  # a vendor adapter forwards this many at once; the vendor queues beyond


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


def failure_status(e: Exception) -> int:
    """A vendor's rate limit stays a 429 (the client counts rejections by cause); another vendor
    failure is 502 (bad gateway); a failure in our own inference is 500."""
    m = re.search(r"\bHTTP (\d{3})\b", str(e))
    if m is None:
        return 500
    return 429 if m.group(1) == "429" else 502


class ModelReplica:
    """One Serve replica: the pipeline, loaded once; __call__ serves one job as PNG bytes. `kind`
    (kinds.get: "image", "video", "tryon") says which loader, payload and encoding."""

    def __init__(self, model_cfg: Any, kind: str = "image"):
        kinds = importlib.import_module("sentinel.latency.kinds")  # by name: kinds.py builds on this module

        self.kind = kinds.get(kind)
        t0 = time.perf_counter()
        self.model = self.kind.load(model_cfg)
        self.weight_load_s = time.perf_counter() - t0
        self.replica = f"{model_cfg.name}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.pool = ThreadPoolExecutor(max_workers=1 if model_cfg.source != "api" else MAX_CONCURRENT_API)
        self.ready_unix = time.time()

    def _json(self, status: int, obj: dict):
        from starlette.responses import Response

        return Response(json.dumps(obj).encode("utf-8"), status_code=status, media_type="application/json")

    def __call__(self, body: bytes):
        from starlette.responses import Response

        try:
            request = self.kind.parse(json.loads(body))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            return self._json(400, {"error": f"body: not valid JSON ({e})", "field": "body"})
        except BadRequest as e:
            return self._json(400, {"error": str(e), "field": e.field})
        t0 = time.perf_counter()
        try:
            out = self.kind.render(self.model, request)
        except Exception as e:  # noqa: BLE001 - report any inference failure to the client
            return self._json(failure_status(e), {"error": f"generation failed: {type(e).__name__}: {e}"})
        headers = {"X-Compute-Seconds": f"{time.perf_counter() - t0:.6f}", "X-Replica": self.replica,
                   "X-Replica-Ready-Unix": f"{self.ready_unix:.6f}",
                   "X-Weight-Load-Seconds": f"{self.weight_load_s:.6f}", **out.headers}
        return Response(out.body, media_type="image/png", headers=headers)


def application(model_cfg: Any, *, min_replicas: int, max_replicas: int, downscale_delay_s: float,
                replica_cpus: float, name: str | None = None, kind: str = "image"):
    """The bound Serve application for one model, autoscaling in [min_replicas, max_replicas];
    `kind` names what it serves (kinds.get)."""
    from ray import serve

    serial = model_cfg.source != "api"
    autoscaling = {"min_replicas": min_replicas, "initial_replicas": min_replicas, "max_replicas": max_replicas,
                   "target_ongoing_requests": 1 if serial else MAX_CONCURRENT_API // 2,
                   "upscale_delay_s": 0.0, "downscale_delay_s": downscale_delay_s,
                   "look_back_period_s": 1.0}  # react within a second (Serve warns it is < its 10 s metrics interval)
    deployment = serve.deployment(
        name=name or model_cfg.name, max_ongoing_requests=1 if serial else MAX_CONCURRENT_API,
        max_queued_requests=-1, autoscaling_config=autoscaling,
        ray_actor_options={"num_cpus": replica_cpus if serial else 0.0})
    return deployment(_Replica).bind(model_cfg, kind)


class _Replica(ModelReplica):
    """ModelReplica as Serve's ingress: Serve passes the starlette Request to __call__."""

    async def __call__(self, request):  # type: ignore[override]
        body = await request.body()
        return await asyncio.get_running_loop().run_in_executor(self.pool, ModelReplica.__call__, self, body)
