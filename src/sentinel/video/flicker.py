"""Temporal flickering, VBench's definition (vbench/temporal_flickering.py).

    MAE_t  = mean over pixels and channels of |I_{t+1} - I_t|        (0..255)
    score  = (255 - mean_t MAE_t) / 255                              (0..1, higher = steadier)

1.0 is a clip whose frames never change; 0.0 is maximal flicker (every pixel jumps between 0 and
255 on every frame, e.g. alternating black and white frames). VBench applies it to prompts with
static scenes ("please ensure the video is static"): on a clip with real motion it also counts the
motion as flicker, so read it next to dynamic degree.
"""
from __future__ import annotations

import numpy as np

from sentinel.video.clips import as_clip

DEFINITION = "(255 - mean over consecutive frame pairs of mean |I_t+1 - I_t|) / 255 (VBench temporal_flickering)"


def consecutive_mae(clip: np.ndarray) -> np.ndarray:
    """(T-1,) mean absolute difference between consecutive frames, float64, 0..255."""
    x = as_clip(clip).astype(np.float64)
    return np.abs(np.diff(x, axis=0)).mean(axis=(1, 2, 3))


def temporal_flickering(clip: np.ndarray) -> float:
    """VBench temporal-flickering score of one clip, in [0, 1]; 1 = no frame-to-frame change."""
    return float((255.0 - consecutive_mae(clip).mean()) / 255.0)
