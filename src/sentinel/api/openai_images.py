"""OpenAI-style images API: POST {base_url}/v1/images/generations -> data[0].b64_json or data[0].url.

A `url` is fetched through the client, which refuses origins outside the allow-list (urls.Fence);
`data:` URLs are not part of this protocol and are refused with the rest.
"""
from __future__ import annotations

import base64
import binascii

from PIL import Image

from sentinel.api import http
from sentinel.models.outputs import GenerationFailed, decode_image

PATH = "/v1/images/generations"


def fetch_image(doc: dict, where: str, client) -> bytes:
    """The image bytes named by a response item with `b64_json` or `url`."""
    if isinstance(doc.get("b64_json"), str):
        try:
            return base64.b64decode(doc["b64_json"], validate=True)
        except (binascii.Error, ValueError) as e:
            raise GenerationFailed(f"malformed base64 image from {where}: {e}") from None
    if isinstance(doc.get("url"), str):
        return client.get_bytes(doc["url"])
    raise GenerationFailed(f"malformed response from {where}: no b64_json or url in {sorted(doc)[:10]}")


def generate(client, prompt: str, width: int, height: int, seed: int) -> Image.Image:
    url = client.url(PATH)
    body = {"model": client.api.vendor_model, "prompt": prompt, "n": 1, "size": f"{width}x{height}",
            "response_format": "b64_json", "seed": seed}
    doc = http.json_of(client.request("POST", url, body), url)
    items = doc.get("data")
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        raise GenerationFailed(f"malformed response from {url}: no data[0]")
    return decode_image(fetch_image(items[0], url, client), url, client.max_pixels(width, height))
