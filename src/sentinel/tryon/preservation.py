"""Preservation outside the garment region: does the result keep the person's face, body and background?

Region: the complement of the job's mask (regions.py). Two numbers, both against the person image:
* masked MAE: mean absolute difference in uint8 levels (0..255), over every preserved pixel and the
  three RGB channels. Exactly 0 when the result equals the person there; > 0 as soon as one
  preserved pixel changes. Lower is better.
* masked SSIM: the SSIM map (ssim.py's convention) averaged over the preserved pixels whose whole
  11 x 11 window lies in the preserved region and inside the image (regions.window_safe), so garment
  pixels never enter it. Higher is better; None when no such pixel exists (a mask covering nearly
  the whole image), and the job then leaves that metric's n.
"""
from __future__ import annotations

import numpy as np

from sentinel.tryon import ssim as ssim_mod
from sentinel.tryon.regions import check_mask, window_safe


def _same_shape(result: np.ndarray, person: np.ndarray) -> None:
    if np.shape(result) != np.shape(person):
        raise ValueError(f"result {np.shape(result)} and person {np.shape(person)} differ in size")


def masked_mae(result: np.ndarray, person: np.ndarray, mask: np.ndarray) -> float | None:
    """Mean |result - person| in uint8 levels over the pixels outside `mask`; None if there are none."""
    _same_shape(result, person)
    keep = ~check_mask(mask, result.shape)
    if not keep.any():
        return None
    diff = np.abs(np.asarray(result, np.int16) - np.asarray(person, np.int16))
    return float(diff[keep].mean())


def masked_ssim(result: np.ndarray, person: np.ndarray, mask: np.ndarray) -> float | None:
    """Mean SSIM over the preserved pixels whose window lies wholly outside `mask` and inside the image."""
    _same_shape(result, person)
    inner = window_safe(~check_mask(mask, result.shape), ssim_mod.RADIUS)
    if not inner.any():
        return None
    return float(ssim_mod.ssim_map(result, person)[inner].mean())
