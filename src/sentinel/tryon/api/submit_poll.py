"""The `tryon-submit-poll` protocol: submit a try-on job, poll it, download and check the result PNG.

    POST {base_url}/v1/tryons
         {"model", "category", "seed", "person_png_b64", "garment_png_b64", "mask_png_b64" (or null)}
         -> {"id": "<job id>"}
    GET  {base_url}/v1/tryons/{id}
         -> {"status": "queued" | "running" | "succeeded" | "failed",
             "image_url": "<url>" | "image_b64": "<base64 PNG>",       (when succeeded)
             "error": "<text>"}                                        (when failed)

The inputs travel as the PNG bytes the generate stage encodes from the images it opened
(sentinel.images.encode_png), base64 in the JSON body. The result must be a PNG (signature checked
before any decoder runs), decode completely (sentinel.models.outputs.decode_image: truncated,
garbled and all-black images fail), and be exactly the person image's size: "wrong result size ...".

Polls every `poll_interval_s` until `poll_timeout_s` ("poll timeout: ..."); every call has the
retries of sentinel.api.http (429 Retry-After honoured up to max_backoff_s, 5xx and network errors
backed off), and all of it (submit, polls, download) ends by the job deadline ("deadline_exceeded:
..."). An `image_url` is fetched only from the vendor's origin (with the key) or an
`api.image_origins` origin (without it; sentinel.api.urls.Fence). Error text is redacted by the
caller (sentinel.tryon.api.TryOnApiModel).
"""
from __future__ import annotations

import base64
import time
import urllib.parse

from PIL import Image

from sentinel.api import http
from sentinel.api.openai_images import fetch_image
from sentinel.images import encode_png
from sentinel.models.outputs import GenerationFailed, decode_image

PATH = "/v1/tryons"
PENDING = ("queued", "running")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ERROR_CHARS = 200
__all__ = ["generate", "request_body", "check_result", "PATH", "PENDING"]


def _b64_png(img: Image.Image | None) -> str | None:
    return None if img is None else base64.b64encode(encode_png(img)).decode("ascii")


def request_body(vendor_model: str, job, person: Image.Image, garment: Image.Image, mask: Image.Image | None) -> dict:
    return {"model": vendor_model, "category": job.category, "seed": int(job.seed),
            "person_png_b64": _b64_png(person), "garment_png_b64": _b64_png(garment), "mask_png_b64": _b64_png(mask)}


def check_result(data: bytes, where: str, size: tuple[int, int]) -> Image.Image:
    """The vendor's bytes as an RGB image the person's size, or GenerationFailed with the cause."""
    if not data.startswith(PNG_SIGNATURE):
        raise GenerationFailed(f"undecodable result from {where}: not a PNG ({len(data)} bytes)")
    width, height = size
    try:  # the header's size is checked against 4x the person's before any pixel is decoded
        img = decode_image(data, where, max_pixels=4 * width * height)
    except GenerationFailed as e:
        if e.cause.startswith("image_too_large"):
            raise GenerationFailed(f"wrong result size from {where}: {e.cause}") from None
        raise
    if img.size != (width, height):
        raise GenerationFailed(f"wrong result size from {where}: {img.width}x{img.height}, "
                               f"the person image is {width}x{height}")
    return img


def generate(client, job, person: Image.Image, garment: Image.Image, mask: Image.Image | None,
             clock=time.monotonic) -> Image.Image:
    """Run one try-on job to a checked RGB result the person's size."""
    submit = client.url(PATH)
    body = request_body(client.api.vendor_model, job, person, garment, mask)
    job_id = http.json_of(client.request("POST", submit, body), submit).get("id")
    if not isinstance(job_id, str) or not job_id:
        raise GenerationFailed(f"malformed response from {submit}: no job id")
    poll = client.url(f"{PATH}/{urllib.parse.quote(job_id, safe='')}")  # a hostile id stays one path segment
    until = clock() + client.api.poll_timeout_s
    while True:
        doc = http.json_of(client.request("GET", poll), poll)
        status = doc.get("status")
        if status == "succeeded":
            item = {"b64_json": doc.get("image_b64"), "url": doc.get("image_url")}
            data = fetch_image({k: v for k, v in item.items() if v}, poll, client)
            return check_result(data, poll, person.size)
        if status == "failed":
            error = client.redact(str(doc.get("error"))[:4096])[:ERROR_CHARS]
            raise GenerationFailed(f"vendor job failed at {poll}: {error}")
        if status not in PENDING:
            raise GenerationFailed(f"malformed response from {poll}: unknown status {str(status)[:40]!r}")
        if clock() >= until:
            raise GenerationFailed(f"poll timeout: job still {status} after {client.api.poll_timeout_s} s at {poll}")
        left = min(until, client.session.deadline) - clock()
        client.sleep(max(0.0, min(client.api.poll_interval_s, left)))
