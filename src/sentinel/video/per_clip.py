"""Every frame-computable dimension of one clip, in one call, with the definitions it used.

`DIMENSIONS` is the table the summary and the rubric follow: name -> (kind, definition). A "mean"
dimension is a score in [0, 1] (CLIP score: 0..100) averaged over clips; a "rate" dimension is a
yes/no per clip, reported as the fraction of clips.
"""
from __future__ import annotations

import numpy as np

from sentinel.video import consistency, flicker, frozen, motion, smoothness
from sentinel.video.clips import as_clip

DIMENSIONS = {
    "subject_consistency": ("mean", consistency.DEFINITION),
    "temporal_flickering": ("mean", flicker.DEFINITION),
    "motion_smoothness": ("mean", smoothness.DEFINITION),
    "dynamic_degree": ("rate", motion.DEFINITION),
    "frozen": ("rate", frozen.DEFINITION),
    "looping": ("rate", frozen.DEFINITION),
    "clip_score": ("mean", "mean over frames of max(100 * cos(frame, prompt), 0)"),
}


def score_clip(clip: np.ndarray, *, fps: float, frame_encoder=None, prompt: str | None = None,
               clip_kwargs: dict | None = None, where: str = "clip") -> dict:
    """{dimension: value} for one clip; subject consistency needs `frame_encoder`, CLIP score a prompt.

    `clip_kwargs` (arch, weights_path, ...) go to `text_alignment.clip_score_over_frames`.
    """
    x = as_clip(clip, where=where, min_frames=3)
    flags = frozen.frozen_or_looping(x)
    dyn = motion.dynamic_degree(x, fps)
    row = {"temporal_flickering": flicker.temporal_flickering(x), "motion_smoothness": smoothness.motion_smoothness(x),
           "dynamic_degree": dyn["dynamic"], "mean_flow_px": dyn["mean_flow_px"],
           "frozen": flags["frozen"], "looping": flags["looping"], "loop_period": flags["loop_period"]}
    if frame_encoder is not None:
        row["subject_consistency"] = consistency.subject_consistency(x, frame_encoder)
    if prompt is not None:
        from sentinel.video import text_alignment

        scored = text_alignment.clip_score_over_frames(x, prompt, **(clip_kwargs or {}))
        row["clip_score"], row["prompt_truncated"] = scored["clip_score"], scored["prompt_truncated"]
    return row
