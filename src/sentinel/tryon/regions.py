"""Regions of a try-on image: the garment region (the job's mask) and everything else.

A mask is a PNG the size of the person image; a pixel belongs to the garment region when its
luminance (ITU-R 601 via PIL's "L" conversion) is >= 128, so anti-aliased edges split at half grey.
The preserved region (face, hair, hands, background) is its complement. A windowed statistic
(SSIM's 11 x 11 gaussian window) is averaged only where its whole window lies in the region and in
the image (`window_safe`), so a result that equals the person there scores exactly as identical
images do, and garment pixels never leak into a preservation number.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

MASK_THRESHOLD = 128


def load_mask(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """HxW bool garment region from a mask PNG; refuses a mask whose size is not `shape` (H, W)."""
    from sentinel.images import load_rgb

    grey = np.asarray(load_rgb(path).convert("L"))
    if grey.shape != tuple(shape):
        raise ValueError(f"{path}: mask is {grey.shape[1]}x{grey.shape[0]}, the person image {shape[1]}x{shape[0]}")
    return grey >= MASK_THRESHOLD


def check_mask(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.shape != tuple(shape[:2]):
        raise ValueError(f"mask must be a bool array of shape {tuple(shape[:2])}, got {mask.dtype} {mask.shape}")
    return mask


def window_safe(region: np.ndarray, radius: int) -> np.ndarray:
    """Pixels whose (2r+1) x (2r+1) window lies wholly inside `region` and inside the image."""
    from scipy.ndimage import binary_erosion

    if radius == 0:
        return region.copy()
    structure = np.ones((2 * radius + 1, 2 * radius + 1), dtype=bool)
    return binary_erosion(region, structure=structure, border_value=0)


def bounding_box(region: np.ndarray) -> tuple[slice, slice] | None:
    """The tight (rows, cols) box around `region`; None for an empty region."""
    rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    if not len(rows):
        return None
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
