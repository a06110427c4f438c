"""Person | garment | result, side by side in one PNG: what the try-on report shows for a job.

Every panel is scaled to one height (the person photo's, at most MAX_HEIGHT px; bicubic, aspect
kept), with GAP px of white between panels. A failed job's result panel is flat grey (FAILED_GREY):
the caption says why. No text is drawn into the image (fonts differ between machines); captions
live in the report. Bytes come from sentinel.images.encode_png, so the same inputs give the same
file on every run.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image

from sentinel.images import encode_png, load_rgb

MAX_HEIGHT = 256
GAP = 4
FAILED_GREY = (128, 128, 128)


def _to_height(img: Image.Image, height: int) -> Image.Image:
    if img.height == height:
        return img
    width = max(1, round(img.width * height / img.height))
    return img.resize((width, height), Image.Resampling.BICUBIC)


def triptych(person: str | Path, garment: str | Path, result: str | Path | None) -> bytes:
    """The PNG bytes of person | garment | result; `result` None (a failed job) gives a grey panel."""
    p = load_rgb(person)
    height = min(p.height, MAX_HEIGHT)
    res = load_rgb(result) if result is not None else Image.new("RGB", p.size, FAILED_GREY)
    panels = [_to_height(im, height) for im in (p, load_rgb(garment), res)]
    canvas = Image.new("RGB", (sum(im.width for im in panels) + GAP * (len(panels) - 1), height), (255, 255, 255))
    x = 0
    for im in panels:
        canvas.paste(im, (x, 0))
        x += im.width + GAP
    return encode_png(canvas)
