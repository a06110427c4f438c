"""One place that says what a clip is, and refuses anything else before any work is done.

A clip is a uint8 array (T, H, W, 3), RGB, T >= 2 frames. Metrics never guess at float ranges,
channel orders or grey clips: a wrong array is an error that names the clip.
"""
from __future__ import annotations

import numpy as np

# ITU-R BT.601 luma weights, the ones OpenCV's COLOR_RGB2GRAY uses.
LUMA = np.array([0.299, 0.587, 0.114])


def as_clip(clip, where: str = "clip", min_frames: int = 2) -> np.ndarray:
    """`clip` as a (T, H, W, 3) uint8 array, or a ValueError naming `where` and what is wrong."""
    arr = np.asarray(clip)
    if arr.dtype != np.uint8:
        raise ValueError(f"{where}: expected uint8 frames in 0..255, got dtype {arr.dtype}")
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"{where}: expected shape (T, H, W, 3), got {arr.shape}")
    if arr.shape[0] < min_frames:
        raise ValueError(f"{where}: needs at least {min_frames} frames, got {arr.shape[0]}")
    if arr.shape[1] < 8 or arr.shape[2] < 8:
        raise ValueError(f"{where}: frames of {arr.shape[1]}x{arr.shape[2]} px are too small (need >= 8x8)")
    return arr


def luma(clip: np.ndarray) -> np.ndarray:
    """(T, H, W) float64 luma in 0..255 (BT.601 weights)."""
    return np.asarray(clip, np.float64) @ LUMA


def thumbnails(clip: np.ndarray, size: int = 16) -> np.ndarray:
    """(T, size, size) float64 luma, area-averaged over a size x size grid (crops the remainder).

    Small enough to compare every frame with every other; coarse enough to ignore sensor-level noise.
    """
    y = luma(clip)
    t, h, w = y.shape
    bh, bw = max(h // size, 1), max(w // size, 1)
    gh, gw = h // bh, w // bw
    return y[:, :gh * bh, :gw * bw].reshape(t, gh, bh, gw, bw).mean(axis=(2, 4))


def frame_mae(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two frames over every pixel and channel, in 0..255 units."""
    return float(np.mean(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
