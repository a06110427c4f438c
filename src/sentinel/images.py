"""The one place images meet files: lossless PNG, 8-bit RGB, no metadata, fixed compression.

Generated and reference images go through the same quantisation (PIL's uint8 rounding in the
pipeline's `numpy_to_pil`), the same encoder and the same decoder, so FID compares like with like.
Decoding refuses anything that would need a guess: non-PNG (lossy formats change FID), 16-bit or
exotic modes, and transparent alpha. Grayscale and palette images are expanded to RGB. We never
resize here: each metric network resizes internally (InceptionV3: torch-fidelity's bilinear to 299;
CLIP: open_clip's eval transform).
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

PNG_OPTIONS = {"format": "PNG", "compress_level": 6, "optimize": False}
QUANTISATION = "8-bit RGB decoded from lossless PNG with PIL; L/P expanded to RGB; opaque alpha dropped"
_EXPANDABLE = {"RGB", "L", "P", "RGBA", "LA"}


def encode_png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, **PNG_OPTIONS)
    return buf.getvalue()


def load_rgb(path: str | Path) -> Image.Image:
    """Open a PNG and return it as an 8-bit RGB PIL image; refuse anything that would need a guess."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    try:
        img = Image.open(path)
        img.load()
    except (OSError, SyntaxError, Image.DecompressionBombError) as e:  # truncated, corrupt, not an image
        raise ValueError(f"{path}: unreadable image ({type(e).__name__}: {e})") from None
    with img:
        if img.format != "PNG":
            raise ValueError(f"{path}: expected a PNG image, got {img.format} (lossy formats change FID)")
        if img.mode not in _EXPANDABLE:
            raise ValueError(f"{path}: unsupported PNG mode {img.mode!r}; expected 8-bit RGB or grayscale")
        if img.mode == "P" and "transparency" in img.info:
            img = img.convert("RGBA")
        if img.mode in ("RGBA", "LA") and np.asarray(img.getchannel("A")).min() < 255:
            raise ValueError(f"{path}: PNG has a transparent alpha channel; flatten it to RGB first")
        return img.convert("RGB")


def decode_rgb(path: str | Path) -> np.ndarray:
    """HxWx3 uint8."""
    return np.asarray(load_rgb(path), dtype=np.uint8)


def load_uint8_chw(path: str | Path) -> np.ndarray:
    """The image as a uint8 array of shape (3, H, W), the input InceptionV3 expects."""
    return np.ascontiguousarray(decode_rgb(path).transpose(2, 0, 1))
