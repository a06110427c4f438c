"""Frozen-or-looping detector: a video that does not move, or that repeats a segment of itself.

Both failures pass frame-quality metrics (every frame is a good image) and even flatter some
temporal ones (a frozen clip is perfectly "smooth" and "consistent"), so they are flagged apart.

* frozen:  every consecutive frame pair differs by at most `still_mae` (mean |ΔI|, 0..255 units,
  full resolution). Default 1.0: below one grey level on average, i.e. rounding or codec noise.
* looping: for some period p with 2 <= p <= T/2 and some start s, frames s .. s+p-1 are repeated as
  frames s+p .. s+2p-1 (every pair within `repeat_mae` on 16x16 area-averaged luma thumbnails),
  and the repeated segment itself moves (some consecutive pair in it differs by more than
  `repeat_mae`, so a frozen stretch is not called a loop). The smallest such p is reported.
  A full period must repeat once; a clip that only returns to its first frame is not flagged.
  Ping-pong ("boomerang") playback is not detected by this rule.
"""
from __future__ import annotations

import numpy as np

from sentinel.video.clips import as_clip, thumbnails
from sentinel.video.flicker import consecutive_mae

STILL_MAE = 1.0
REPEAT_MAE = 2.0
THUMBNAIL = 16
DEFINITION = (f"frozen: every consecutive |dI| mean <= {STILL_MAE}; looping: a moving segment of p >= 2 frames "
              f"repeated at lag p (16x16 luma thumbnails within {REPEAT_MAE})")


def _pair_mae(thumbs: np.ndarray, lag: int) -> np.ndarray:
    """(T - lag,) mean |thumb_t - thumb_{t+lag}|."""
    return np.abs(thumbs[lag:] - thumbs[:-lag]).mean(axis=(1, 2))


def _first_loop(thumbs: np.ndarray, repeat_mae: float) -> tuple[int, int] | None:
    """(period, start) of the first repeated moving segment, smallest period first; None if none."""
    step = _pair_mae(thumbs, 1)
    for period in range(2, len(thumbs) // 2 + 1):
        same = _pair_mae(thumbs, period) <= repeat_mae
        for start in range(len(same) - period + 1):
            if same[start:start + period].all() and step[start:start + period - 1].max() > repeat_mae:
                return period, start
    return None


def frozen_or_looping(clip: np.ndarray, still_mae: float = STILL_MAE, repeat_mae: float = REPEAT_MAE) -> dict:
    """{"frozen", "looping", "loop_period", "loop_start", "max_step_mae"} for one clip."""
    x = as_clip(clip)
    steps = consecutive_mae(x)
    frozen = bool(steps.max() <= still_mae)
    loop = None if frozen else _first_loop(thumbnails(x, THUMBNAIL), repeat_mae)
    return {"frozen": frozen, "looping": loop is not None, "loop_period": loop[0] if loop else None,
            "loop_start": loop[1] if loop else None, "max_step_mae": float(steps.max())}
