"""Motion smoothness, VBench's definition (vbench/motion_smoothness.py) with a stated substitution.

VBench drops the odd frames, re-creates each from its two even neighbours with a frame
interpolation network (AMT-S), and scores how well the re-created frames match the dropped ones:

    Î_{2k+1} = interp(I_{2k}, I_{2k+2})          k = 0 .. (T-3)/2   (only odd frames with both neighbours)
    score    = (255 - mean_k mean|Î_{2k+1} - I_{2k+1}|) / 255

SUBSTITUTION: no interpolation-network weights are available offline, so interp is *linear*
(the rounded per-pixel mean of the two neighbours). Linear blending is exact for a static scene
and for slow, smooth motion (the scene changes linearly between neighbours), and ghosts under fast
or abrupt motion, so it scores jerky motion lower, as VBench intends; but it also penalises fast
smooth motion that AMT would follow. Numbers are therefore not comparable with VBench's
published motion-smoothness scores; `INTERPOLATOR` is recorded beside every value.
"""
from __future__ import annotations

import numpy as np

from sentinel.video.clips import as_clip

INTERPOLATOR = "linear: round((I_2k + I_2k+2) / 2) (VBench uses AMT-S; no network weights offline)"
DEFINITION = "(255 - mean |interp(I_2k, I_2k+2) - I_2k+1|) / 255 over odd frames (VBench motion_smoothness)"


def linear_midframes(clip: np.ndarray) -> np.ndarray:
    """The predicted odd frames, uint8 (K, H, W, 3), K = (T - 1) // 2, half-up rounding of the mean."""
    x = as_clip(clip, min_frames=3).astype(np.uint16)
    even = x[0::2]
    k = (len(x) - 1) // 2
    return ((even[:k] + even[1:k + 1] + 1) // 2).astype(np.uint8)


def interpolation_error(clip: np.ndarray) -> float:
    """Mean absolute error (0..255) between the predicted and the real odd frames."""
    x = as_clip(clip, min_frames=3)
    pred = linear_midframes(x).astype(np.float64)
    real = x[1:2 * len(pred):2].astype(np.float64)
    return float(np.abs(pred - real).mean())


def motion_smoothness(clip: np.ndarray) -> float:
    """Motion-smoothness score of one clip in [0, 1]; 1 = every odd frame is predicted exactly."""
    return float((255.0 - interpolation_error(clip)) / 255.0)
