"""Is a generated image usable? Failed and invalid outputs are recorded with a cause, never dropped.

Invalid means: undecodable bytes (API responses), any NaN/inf in the decoded float image, or an
all-black image (what safety filters return). Checks run on the pipeline's float output before
uint8 quantisation, so NaN is seen rather than silently cast to black.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

BLACK_MAX = 0.0  # float image in [0, 1]: every pixel exactly 0 (after clipping) counts as all-black


class GenerationFailed(RuntimeError):
    """A job produced no usable image; `cause` says why (recorded in records.jsonl as `failure`)."""

    def __init__(self, cause: str):
        super().__init__(cause)
        self.cause = cause


def float_image_failure(arr: np.ndarray) -> str | None:
    """The cause if a HxWx3 float image in [0, 1] is unusable, else None."""
    if not np.isfinite(arr).all():
        return f"invalid image: {int((~np.isfinite(arr)).sum())} NaN/inf values"
    if float(np.clip(arr, 0.0, 1.0).max()) <= BLACK_MAX:
        return "invalid image: all black (safety filter or collapsed output)"
    return None


def to_pil(arr: np.ndarray) -> Image.Image:
    """Quantise exactly as diffusers' `numpy_to_pil` does, so batched and single runs match."""
    return Image.fromarray((arr * 255).round().astype("uint8"))


def decode_image(data: bytes, where: str) -> Image.Image:
    """Decode vendor image bytes fully; refuse truncated, undecodable or all-black images."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            rgb = img.convert("RGB")
    except Exception as e:  # PIL raises several types for corrupt/truncated data
        raise GenerationFailed(f"undecodable image from {where}: {type(e).__name__}: {e}") from None
    if np.asarray(rgb).max() == 0:
        raise GenerationFailed(f"invalid image from {where}: all black (safety filter)")
    return rgb
