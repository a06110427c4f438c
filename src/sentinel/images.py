"""The one place images become bytes: lossless PNG, RGB uint8, no metadata, fixed compression.

Generated and reference images go through the same quantisation (PIL's uint8 rounding in the
pipeline's `numpy_to_pil`) and the same encoder, so FID compares like with like.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

PNG_OPTIONS = {"format": "PNG", "compress_level": 6, "optimize": False}


def encode_png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, **PNG_OPTIONS)
    return buf.getvalue()


def decode_rgb(path: str | Path) -> np.ndarray:
    """HxWx3 uint8; grayscale is replicated to three channels."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)
