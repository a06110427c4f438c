"""Asynchronous submit-then-poll API.

    POST {base_url}/v1/jobs          {model, prompt, width, height, seed} -> {"id": "..."}
    GET  {base_url}/v1/jobs/{id}     -> {"status": "queued"|"running"|"succeeded"|"failed",
                                        "image_b64" | "image_url", "error"}

Polls every `poll_interval_s` until `poll_timeout_s`; each poll has the same retries as a submit,
and all of it ends by the job deadline (http.Session.deadline). An `image_url` is fetched only from an
allowed origin (urls.Fence); error text is redacted by the caller (sentinel.api.ApiModel).
"""
from __future__ import annotations

import time
import urllib.parse

from PIL import Image

from sentinel.models.outputs import GenerationFailed, decode_image
from sentinel.api import http
from sentinel.api.openai_images import fetch_image

PENDING = ("queued", "running", "pending", "processing")


def generate(client, prompt: str, width: int, height: int, seed: int, clock=time.monotonic) -> Image.Image:
    submit = client.url("/v1/jobs")
    body = {"model": client.api.vendor_model, "prompt": prompt, "width": width, "height": height, "seed": seed}
    job_id = http.json_of(client.request("POST", submit, body), submit).get("id")
    if not isinstance(job_id, str) or not job_id:
        raise GenerationFailed(f"malformed response from {submit}: no job id")
    poll = client.url(f"/v1/jobs/{urllib.parse.quote(job_id, safe='')}")  # a hostile id stays one path segment
    deadline = clock() + client.api.poll_timeout_s
    while True:
        doc = http.json_of(client.request("GET", poll), poll)
        status = doc.get("status")
        if status == "succeeded":
            item = {"b64_json": doc.get("image_b64"), "url": doc.get("image_url")}
            image = fetch_image({k: v for k, v in item.items() if v}, poll, client)
            return decode_image(image, poll, client.max_pixels(width, height))
        if status == "failed":
            raise GenerationFailed(f"vendor job failed at {poll}: {client.redact(str(doc.get('error'))[:4096])[:200]}")
        if status not in PENDING:
            raise GenerationFailed(f"malformed response from {poll}: unknown status {status!r}")
        if clock() >= deadline:
            raise GenerationFailed(f"poll timeout: job {job_id} still {status} after {client.api.poll_timeout_s} s")
        client.sleep(max(0.0, min(client.api.poll_interval_s, client.session.deadline - clock())))
