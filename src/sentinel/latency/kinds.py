"""What a Serve deployment serves: an image, a video or a try-on model (issues 18, 19).

    kind = kinds.get("video")              # or "image" (the default), "tryon", "package.module:NAME"
    model = kind.load(model_cfg)           # in the replica: the family's own loader
    request = kind.parse(json.loads(body))  # the payload -> a Request; BadRequest names the field
    out = kind.render(model, request)      # -> Rendered(body=PNG bytes, headers={...})
    payload = kind.payload(job)            # client side: the JSON object one request sends

A replica is built from a kind *name* (a picklable string Ray ships to the replica process), so
the replica resolves it here: the three built-in kinds, or "module:attribute" for a kind defined
elsewhere (a test's stand-in; the module must be importable in the replica, e.g. on PYTHONPATH).

* image: the still-image job (sentinel.workloads.jobs.Job) -> sentinel.models.loader.load's model
  -> encode_png of its image. Exactly what the latency stage served before kinds existed.
* video: a VideoJob's to_dict() (sentinel.video.jobs) -> load_video_model(cfg).generate(job), a
  uint8 (T, H, W, 3) clip -> the film strip PNG (sentinel.video.clipfile.encode_strip): the bytes
  whose sha256 the generate record carries.
* tryon: a TryOnJob's to_dict() plus "images": {"person", "garment"[, "mask"]}, each the PNG file's
  bytes in base64 (the server reads no shared disk) -> load_tryon_model(cfg).generate(job, person,
  garment, mask) -> encode_png of the result. The inlined bytes are decoded by the same function the
  generate stage opens the files with (load_inputs), so the model sees the same pixels.

Media kinds time their two halves and say so in headers: X-Generation-Seconds (the model's
generate call) and X-Encoding-Seconds (our PNG encoding). A vendor (source: api) adapter that
reports its own split (`last_timings` after generate, as sentinel.video.api's does: {queue_s,
generation_s, encoding_s}) adds X-Vendor-Queue-Seconds and replaces generation/encoding with the
vendor's figures (a key it did not state is left out: null in requests.jsonl). An API replica
serves many requests at once, and `last_timings` describes one object's latest call, so an API
replica holds one adapter per serving thread (PerThread).
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import importlib
import math
import os
import tempfile
import threading
import time
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentinel.latency.server import MAX_SEED, MAX_SIDE_PX, BadRequest, job_from_payload

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_INLINE_BYTES = 64 << 20  # one inlined image, decoded; a request body beyond this is refused
SPLIT_HEADERS = {"generation_s": "x-generation-seconds", "encoding_s": "x-encoding-seconds",
                 "vendor_queue_s": "x-vendor-queue-seconds"}


@dataclass(frozen=True)
class Request:
    job: Any
    inputs: dict = field(default_factory=dict)  # try-on: person, garment, mask (PIL images)


@dataclass(frozen=True)
class Rendered:
    body: bytes
    headers: dict = field(default_factory=dict)


class Kind:
    """The still-image kind; media kinds override what differs."""

    name = "image"
    split = False  # media: the sender reads the generation/encoding headers into the rows

    def load(self, model_cfg: Any) -> Any:
        from sentinel.models import loader  # heavy (torch): only inside the replica process

        return loader.load(model_cfg)

    def parse(self, data: Any) -> Request:
        return Request(job_from_payload(data))

    def render(self, model: Any, request: Request) -> Rendered:
        from sentinel.images import encode_png

        return Rendered(encode_png(model.generate(request.job)))

    def payload(self, job: Any) -> dict:
        return job.to_dict()


# --- payload validation shared by the media kinds -------------------------------------------------

RANGES: dict[str, tuple[float, float]] = {  # (lo, hi) for the job fields that have one (a kind may narrow them)
    "seed": (0, MAX_SEED), "width": (8, MAX_SIDE_PX), "height": (8, MAX_SIDE_PX), "steps": (1, 1000),
    "guidance": (0, math.inf), "arrival_s": (0, math.inf)}


def _allows(tp: Any, value: Any) -> bool:
    """Does a JSON value fit the field's annotation (str, int, float, bool, dict, list, X | None)?"""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_allows(a, value) for a in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if tp is Any:
        return True
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if tp is str:
        return isinstance(value, str)
    base = origin or tp
    if base in (dict, typing.Mapping) or base is getattr(typing, "Mapping", None):
        return isinstance(value, dict)
    if base in (list, tuple):
        return isinstance(value, list)
    return True  # an annotation this check does not know: the job class's own checks decide


def _type_name(tp: Any) -> str:
    return str(tp).replace("typing.", "") if not isinstance(tp, type) else tp.__name__


def dataclass_job(cls: type, data: Any, extra: tuple[str, ...] = (), ranges: dict | None = None) -> Any:
    """Validate a JSON object into the job dataclass `cls`: every field present (fields with a
    default may be left out), of its annotated type, in range (`ranges`, default RANGES); unknown
    fields refused.
    `extra` names payload keys that are not job fields (handled by the caller). The class's own
    checks (e.g. __post_init__) run last; their ValueError names the field when it says one."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if not isinstance(data, dict):
        raise BadRequest("body", f"expected a JSON object with fields {', '.join(fields)}")
    unknown = sorted(set(data) - set(fields) - set(extra))
    if unknown:
        raise BadRequest(unknown[0], f"unknown field (valid: {', '.join([*fields, *extra])})")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise BadRequest(name, "missing field")
            continue
        value = data[name]
        if not _allows(hints[name], value):
            raise BadRequest(name, f"expected {_type_name(hints[name])}, got {value!r}")
        bounds = (RANGES if ranges is None else ranges).get(name)
        if bounds is not None and isinstance(value, int | float) and not isinstance(value, bool):
            lo, hi = bounds
            if not lo <= value <= hi:
                raise BadRequest(name, f"must be in [{lo:g}, {hi:g}], got {value}")
        if name in ("id",) and not value.strip():
            raise BadRequest(name, "empty")
        if hints[name] is float and isinstance(value, int):
            value = float(value)
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        named = next((n for n in fields if str(e).startswith(f"{n}:") or f" {n}:" in str(e)), "body")
        raise BadRequest(named, f"invalid job ({e})") from None


# --- video ----------------------------------------------------------------------------------------

class PerThread:
    """One model object per serving thread, built on first use: vendor adapters are cheap to build,
    and each one's `last_timings` then belongs to the request its thread is serving."""

    def __init__(self, build):
        self.build, self.local = build, threading.local()

    def get(self) -> Any:
        model = getattr(self.local, "model", None)
        if model is None:
            model = self.local.model = self.build()
        return model


def _one(model: Any) -> Any:
    return model.get() if isinstance(model, PerThread) else model


class VideoKind(Kind):
    name = "video"
    split = True

    def load(self, model_cfg: Any) -> Any:
        _m = importlib.import_module("sentinel.video.models")  # by name: the image latency stage never runs media code
        load_video_model = _m.load_video_model

        model = load_video_model(model_cfg)  # built once here, so a bad config fails the replica's start
        if getattr(model_cfg, "source", None) != "api":
            return model
        per_thread = PerThread(lambda: load_video_model(model_cfg))
        per_thread.local.model = model
        return per_thread

    def job_class(self) -> type:
        _m = importlib.import_module("sentinel.video.jobs")  # by name: the image latency stage never runs media code
        VideoJob = _m.VideoJob

        return VideoJob

    def encode(self, frames: Any) -> bytes:
        _m = importlib.import_module("sentinel.video.clipfile")  # by name: the image latency stage never runs media code
        encode_strip = _m.encode_strip

        return encode_strip(frames)

    def ranges(self) -> dict:
        """The video workload's own bounds (sentinel.video.jobs), so the server refuses what the CSV would."""
        vj = importlib.import_module("sentinel.video.jobs")  # by name: the image latency stage never runs media code

        return {**RANGES, "width": (vj.MIN_SIDE_PX, vj.MAX_SIDE_PX), "height": (vj.MIN_SIDE_PX, vj.MAX_SIDE_PX),
                "fps": (vj.MIN_FPS, vj.MAX_FPS), "seconds": (1e-9, vj.MAX_SECONDS), "steps": (1, vj.MAX_STEPS),
                "seed": (0, 2**63 - 1), "side_multiple": getattr(vj, "SIDE_MULTIPLE_PX", 1),
                "frames": (getattr(vj, "MIN_FRAMES", 1), getattr(vj, "MAX_FRAMES", 100_000))}

    def parse(self, data: Any) -> Request:
        """The VideoJob's fields (to_dict() also sends `n_frames`, checked against the job's rule)."""
        ranges = self.ranges()
        job = dataclass_job(self.job_class(), data, extra=("n_frames",), ranges=ranges)
        multiple = ranges.get("side_multiple", 1)
        for name in ("width", "height"):
            if getattr(job, name) % multiple:
                raise BadRequest(name, f"must be a multiple of {multiple}, got {getattr(job, name)}")
        lo, hi = ranges.get("frames", (1, 100_000))
        if not lo <= job.n_frames <= hi:
            raise BadRequest("seconds", f"{job.seconds} s at {job.fps} fps is {job.n_frames} frame(s); a clip "
                                        f"needs {lo} to {hi}")
        if "n_frames" in data and data["n_frames"] != job.n_frames:
            raise BadRequest("n_frames", f"{data['n_frames']!r} disagrees with seconds x fps "
                                         f"({job.seconds} x {job.fps} -> {job.n_frames})")
        return Request(job)

    def render(self, model: Any, request: Request) -> Rendered:
        import numpy as np

        model = _one(model)
        t0 = time.perf_counter()
        out = model.generate(request.job)
        t1 = time.perf_counter()
        frames = np.asarray(out)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"the model returned {frames.dtype} {frames.shape}, expected uint8 (T, H, W, 3)")
        body = self.encode(frames)
        return Rendered(body, _split_headers(t1 - t0, time.perf_counter() - t1, _vendor_split(model, out)))


# --- try-on ---------------------------------------------------------------------------------------

INPUTS = ("person", "garment", "mask")


def inline_images(root: str | Path):
    """The try-on client's payload function: the job's fields plus its PNG files in base64, read
    once per file (TEST04's fresh jobs and repeated jobs share them)."""
    root, cache = Path(root), {}

    def read(rel: str) -> str:
        if rel not in cache:
            cache[rel] = base64.b64encode((root / rel).read_bytes()).decode("ascii")
        return cache[rel]

    def payload(job: Any) -> dict:
        images = {k: read(getattr(job, k)) for k in INPUTS if getattr(job, k, None)}
        return {**job.to_dict(), "images": images}
    return payload


def load_inputs(job: Any, root: str | Path):
    """(person, garment, mask) PIL images of `job` under `root`, opened exactly as the try-on
    generate stage opens them (sentinel.tryon.generate_stage: its `load_inputs`, or `_inputs`), so
    the served model sees the generate stage's pixels."""
    generate_stage = importlib.import_module("sentinel.tryon.generate_stage")  # by name, as above

    opener = getattr(generate_stage, "load_inputs", None) or generate_stage._inputs
    return opener(job, Path(root))


def _decode_b64_png(images: Any, key: str) -> bytes:
    raw = images[key]
    if not isinstance(raw, str):
        raise BadRequest(f"images.{key}", f"expected a base64 string, got {type(raw).__name__}")
    if len(raw) > MAX_INLINE_BYTES * 4 // 3 + 4:
        raise BadRequest(f"images.{key}", f"larger than {MAX_INLINE_BYTES >> 20} MiB")
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as e:
        raise BadRequest(f"images.{key}", f"not valid base64 ({e})") from None
    if not data.startswith(PNG_SIGNATURE):
        raise BadRequest(f"images.{key}", "not a PNG (lossy formats change the metrics)")
    return data


class TryOnKind(Kind):
    name = "tryon"
    split = True

    def load(self, model_cfg: Any) -> Any:
        _m = importlib.import_module("sentinel.tryon.models")  # by name: the image latency stage never runs media code
        load_tryon_model = _m.load_tryon_model

        return load_tryon_model(model_cfg)

    def job_class(self) -> type:
        _m = importlib.import_module("sentinel.tryon.jobs")  # by name: the image latency stage never runs media code
        TryOnJob = _m.TryOnJob

        return TryOnJob

    def parse(self, data: Any) -> Request:
        job = dataclass_job(self.job_class(), data, extra=("images",))
        images = data.get("images")
        if not isinstance(images, dict):
            raise BadRequest("images", "missing: an object {person, garment[, mask]} of base64 PNGs")
        wanted = [k for k in INPUTS if getattr(job, k, None)]
        unknown = sorted(set(images) - set(wanted))
        if unknown:
            raise BadRequest(f"images.{unknown[0]}", f"not an input of this job (expected: {', '.join(wanted)})")
        missing = [k for k in wanted if k not in images]
        if missing:
            raise BadRequest(f"images.{missing[0]}", "missing image")
        blobs = {k: _decode_b64_png(images, k) for k in wanted}
        local = dataclasses.replace(job, **{k: f"{k}.png" if k in blobs else None for k in INPUTS})
        with tempfile.TemporaryDirectory(prefix="sentinel-tryon-") as tmp:  # the replica's own disk
            for k, blob in blobs.items():
                with open(os.path.join(tmp, f"{k}.png"), "wb") as f:
                    f.write(blob)
            try:
                person, garment, mask = load_inputs(local, tmp)
            except (ValueError, OSError) as e:
                which = next((k for k in wanted if f"{k}.png" in str(e)), wanted[0])
                raise BadRequest(f"images.{which}", str(e).replace(tmp + os.sep, "")) from None
        return Request(job, {"person": person, "garment": garment, "mask": mask})

    def render(self, model: Any, request: Request) -> Rendered:
        from sentinel.images import encode_png

        model = _one(model)
        t0 = time.perf_counter()
        out = model.generate(request.job, request.inputs["person"], request.inputs["garment"],
                             request.inputs["mask"])
        t1 = time.perf_counter()
        body = encode_png(out)
        return Rendered(body, _split_headers(t1 - t0, time.perf_counter() - t1, _vendor_split(model, out)))


# --- the split in headers -------------------------------------------------------------------------

def _vendor_split(model: Any, out: Any) -> dict | None:
    """A vendor adapter's own {queue_s, generation_s, encoding_s} for this call, if it says: the
    model's `last_timings` (safe: a self-hosted replica serves one request at a time, an API
    replica has one adapter per thread), else None. Self-hosted models set none."""
    got = getattr(model, "last_timings", None)
    return got if isinstance(got, dict) else None


def _split_headers(generation_s: float, encoding_s: float, vendor: dict | None) -> dict[str, str]:
    split = {"generation_s": generation_s, "encoding_s": encoding_s}
    if vendor:
        split = {"generation_s": vendor.get("generation_s"), "encoding_s": vendor.get("encoding_s"),
                 "vendor_queue_s": vendor.get("queue_s")}
    return {SPLIT_HEADERS[k].title(): f"{v:.6f}" for k, v in split.items()
            if isinstance(v, int | float) and math.isfinite(v)}


def read_split(headers: dict) -> dict[str, float | None]:
    """The split a response's (lower-cased) headers carry; None where the server did not say."""
    return {k: float(headers[h]) if h in headers else None for k, h in SPLIT_HEADERS.items()}


BUILTIN: dict[str, Kind] = {"image": Kind(), "video": VideoKind(), "tryon": TryOnKind()}


def get(name: str) -> Kind:
    """The kind called `name`: a built-in, or "module:attribute" (an instance or a Kind subclass)."""
    if name in BUILTIN:
        return BUILTIN[name]
    if ":" not in name:
        raise ValueError(f"kind: unknown {name!r} (valid: {', '.join(BUILTIN)}, or module:attribute)")
    module, _, attr = name.partition(":")
    obj = getattr(importlib.import_module(module), attr)
    return obj() if isinstance(obj, type) else obj
