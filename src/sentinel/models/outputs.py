"""Is a generated image usable? Failed and invalid outputs are recorded with a cause, never dropped.

Invalid means: undecodable bytes (API responses), any NaN/inf in the decoded float image, or an
all-black image (what safety filters return). Checks run on the pipeline's float output before
uint8 quantisation, so NaN is seen rather than silently cast to black.
"""
from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image

VENDOR_FORMATS = ("PNG", "JPEG", "WEBP")  # what image APIs return; PIL's other decoders are not exposed
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


def decode_image(data: bytes, where: str, max_pixels: int | None = None) -> Image.Image:
    """Decode vendor image bytes fully; refuse oversized, truncated, undecodable or all-black images.

    The size is read from the header (PIL opens lazily) and checked against `max_pixels` before any
    pixel is decoded, so a 12000x12000 PNG for a 1024 px job costs nothing but its header.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size is checked just below
            img = Image.open(io.BytesIO(data), formats=VENDOR_FORMATS)  # never EPS (Ghostscript) & co.
        with img:
            width, height = img.size
            if max_pixels is not None and width * height > max_pixels:
                raise GenerationFailed(f"image_too_large: {width}x{height} from {where} exceeds "
                                       f"{max_pixels} pixels (api.max_image_pixels_ratio x the requested size)")
            img.load()
            rgb = img.convert("RGB")
    except GenerationFailed:
        raise
    except Image.UnidentifiedImageError:  # its text names a memory address: keep records deterministic
        raise GenerationFailed(f"undecodable image from {where}: not a {', '.join(VENDOR_FORMATS)} image") from None
    except Exception as e:  # PIL raises several types for corrupt/truncated data, incl. DecompressionBombError
        raise GenerationFailed(f"undecodable image from {where}: {type(e).__name__}: {e}") from None
    if np.asarray(rgb).max() == 0:
        raise GenerationFailed(f"invalid image from {where}: all black (safety filter)")
    return rgb
