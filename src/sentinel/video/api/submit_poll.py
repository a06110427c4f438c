"""The `video-submit-poll` protocol: submit a text-to-video job, poll it, download and decode the MP4.

    POST {base_url}/v1/videos
         {"model", "prompt", "negative_prompt", "seconds", "fps", "width", "height", "seed", "num_frames"}
         -> {"id": "<job id>"}
    GET  {base_url}/v1/videos/{id}
         -> {"status": "queued" | "running" | "succeeded" | "failed",
             "video_url": "<url>" | "video_b64": "<base64 MP4>",      (when succeeded)
             "error": "<text>",                                        (when failed)
             "timings": {"queue_s", "generation_s", "encoding_s"}}     (optional, any subset)

The shape of public video APIs (a job resource polled until done, the result as a URL or inline).
`num_frames` is the count the benchmark needs (VideoJob.n_frames); vendors that only take
`seconds` x `fps` ignore it, and the delivered clip is held to it all the same. The video is MP4/H.264
(decode.py), checked against the job's frame count, size and fps.

Polls every `poll_interval_s` until `poll_timeout_s` ("poll timeout: ..."); every call has the
retries of sentinel.api.http (429 Retry-After honoured, 5xx and network errors backed off), and all
of it (submit, polls, download) ends by the job deadline ("deadline_exceeded: ..."). A `video_url`
is fetched only from the vendor's origin (with the key) or an `api.video_origins` origin (without
it; sentinel.api.urls.Fence). Error text is redacted by the caller (sentinel.video.api.VideoApiModel).
"""
from __future__ import annotations

import base64
import binascii
import math
import time
import urllib.parse

import numpy as np

from sentinel.api import http
from sentinel.models.outputs import GenerationFailed
from sentinel.video.api.decode import decode_video

PENDING = ("queued", "running")
TIMING_KEYS = ("queue_s", "generation_s", "encoding_s")
ERROR_CHARS = 200
__all__ = ["generate", "request_body", "PENDING", "TIMING_KEYS"]


def n_frames_of(job) -> int:
    """The job's frame count: VideoJob.n_frames, else its rule floor(seconds x fps + 0.5)."""
    n = getattr(job, "n_frames", None)
    return int(n) if n is not None else math.floor(job.seconds * job.fps + 0.5)


def request_body(vendor_model: str, job) -> dict:
    return {"model": vendor_model, "prompt": job.prompt, "negative_prompt": job.negative_prompt or "",
            "seconds": float(job.seconds), "fps": float(job.fps), "width": int(job.width),
            "height": int(job.height), "seed": int(job.seed), "num_frames": n_frames_of(job)}


def timings_of(doc: dict) -> dict[str, float | None]:
    """The vendor's stated split (finite, >= 0 numbers only); a key it does not state is None."""
    raw = doc.get("timings")
    raw = raw if isinstance(raw, dict) else {}
    out = {}
    for key in TIMING_KEYS:
        v = raw.get(key)
        ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
        out[key] = float(v) if ok else None
    return out


def _video_bytes(doc: dict, poll: str, client) -> bytes:
    b64, url = doc.get("video_b64"), doc.get("video_url")
    if isinstance(b64, str) and b64:
        if len(b64) > client.api.max_response_bytes * 4 // 3 + 4:  # never true after the body cap; cheap guard
            raise GenerationFailed(f"response_too_large: video_b64 from {poll} (api.max_response_bytes)")
        try:
            return base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise GenerationFailed(f"undecodable video from {poll}: video_b64 is not base64") from None
    if isinstance(url, str) and url:
        return client.get_bytes(url)  # the Fence decides where it may go and whether it carries the key
    raise GenerationFailed(f"malformed response from {poll}: succeeded without video_url or video_b64")


def generate(client, job, on_timings=None, clock=time.monotonic) -> np.ndarray:
    """Run one job to a decoded clip (T, H, W, 3) uint8; `on_timings(dict)` gets the vendor's split."""
    submit = client.url("/v1/videos")
    n_frames = n_frames_of(job)
    job_id = http.json_of(client.request("POST", submit, request_body(client.api.vendor_model, job)), submit).get("id")
    if not isinstance(job_id, str) or not job_id:
        raise GenerationFailed(f"malformed response from {submit}: no job id")
    poll = client.url(f"/v1/videos/{urllib.parse.quote(job_id, safe='')}")  # a hostile id stays one path segment
    until = clock() + client.api.poll_timeout_s
    while True:
        doc = http.json_of(client.request("GET", poll), poll)
        status = doc.get("status")
        if on_timings is not None and "timings" in doc:
            on_timings(timings_of(doc))
        if status == "succeeded":
            data = _video_bytes(doc, poll, client)
            return decode_video(data, poll, n_frames, int(job.width), int(job.height), float(job.fps))
        if status == "failed":
            error = client.redact(str(doc.get("error"))[:4096])[:ERROR_CHARS]
            raise GenerationFailed(f"vendor job failed at {poll}: {error}")
        if status not in PENDING:
            raise GenerationFailed(f"malformed response from {poll}: unknown status {str(status)[:40]!r}")
        if clock() >= until:
            raise GenerationFailed(f"poll timeout: job still {status} after {client.api.poll_timeout_s} s at {poll}")
        left = min(until, client.session.deadline) - clock()
        client.sleep(max(0.0, min(client.api.poll_interval_s, left)))
