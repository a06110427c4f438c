"""A clip on disk: one lossless PNG "film strip", the T frames stacked top to bottom (T*H x W, RGB).

    data = encode_strip(frames)                     # frames: uint8 (T, H, W, 3) -> PNG bytes
    frames = decode_strip("clip.png", n_frames=8)   # -> uint8 (8, H, W, 3); refuses a height not divisible by 8
    frames_sha256(frames)                           # the platform-independent fingerprint

Why a strip: lossless (video codecs are lossy and their bytes depend on the encoder build), one file
per clip, viewable as an image, written with the same deterministic encoder as every image here
(sentinel.images.encode_png: fixed compression, no metadata), so the same frames give the same bytes.
`frames_sha256` hashes the raw pixels, not the PNG: sha256(b"uint8:T,H,W,3:" + the C-contiguous bytes),
equal wherever the pixels are equal, whatever zlib build wrote the PNG.
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
from PIL import Image

from sentinel.errors import SentinelError
from sentinel.images import encode_png, load_rgb


class StripError(SentinelError, ValueError):
    """A clip array or strip file is malformed; the message names the file or the shape."""


def check_frames(frames: np.ndarray, where: str = "clip") -> np.ndarray:
    """uint8 (T, H, W, 3) with T >= 1, else StripError naming `where`."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or 0 in frames.shape:
        raise StripError(f"{where}: expected a uint8 (T, H, W, 3) clip, got {frames.dtype} {frames.shape}")
    return frames


def encode_strip(frames: np.ndarray) -> bytes:
    """uint8 (T, H, W, 3) -> PNG bytes of the T*H x W strip (deterministic)."""
    frames = check_frames(frames)
    t, h, w, _ = frames.shape
    return encode_png(Image.fromarray(np.ascontiguousarray(frames).reshape(t * h, w, 3), "RGB"))


def _strip_rgb(source: bytes | str | Path) -> tuple[np.ndarray, str]:
    if isinstance(source, bytes | bytearray):
        where = "strip bytes"
        try:
            img = Image.open(io.BytesIO(source), formats=("PNG",))
            img.load()
        except Exception as e:  # noqa: BLE001 - PIL raises several types for corrupt data
            raise StripError(f"{where}: not a readable PNG ({type(e).__name__}: {e})") from None
        with img:
            if img.mode not in ("RGB", "L", "P", "RGBA"):
                raise StripError(f"{where}: unsupported PNG mode {img.mode!r}; expected 8-bit RGB")
            if img.mode == "RGBA" and np.asarray(img.getchannel("A")).min() < 255:
                raise StripError(f"{where}: PNG has a transparent alpha channel")
            return np.asarray(img.convert("RGB"), dtype=np.uint8), where
    where = str(source)
    try:
        return np.asarray(load_rgb(source), dtype=np.uint8), where
    except (ValueError, FileNotFoundError) as e:
        raise StripError(str(e)) from None


def decode_strip(source: bytes | str | Path, n_frames: int) -> np.ndarray:
    """PNG bytes or a path -> uint8 (n_frames, H, W, 3). Refuses a strip whose height is not a
    multiple of `n_frames` (a strip written for another frame count), naming the file."""
    if n_frames < 1:
        raise StripError(f"n_frames: must be >= 1, got {n_frames}")
    rgb, where = _strip_rgb(source)
    height, width = rgb.shape[:2]
    if height % n_frames:
        raise StripError(f"{where}: strip height {height} px is not a multiple of {n_frames} frames "
                         f"(a {width} px wide strip of {n_frames} frames is {n_frames} x frame height tall)")
    return np.ascontiguousarray(rgb.reshape(n_frames, height // n_frames, width, 3))


def frames_sha256(frames: np.ndarray) -> str:
    """sha256 of b"uint8:T,H,W,3:" followed by the frames' C-contiguous bytes."""
    frames = check_frames(frames)
    h = hashlib.sha256(f"uint8:{','.join(map(str, frames.shape))}:".encode("ascii"))
    h.update(np.ascontiguousarray(frames).tobytes())
    return h.hexdigest()
