"""Subject consistency, VBench's formula (vbench/subject_consistency.py), on any per-frame features.

With f_t the L2-normalised feature of frame t (VBench: DINO ViT-B/16, 224 px, ImageNet
normalisation), for a clip of T frames

    s_t   = ( max(0, cos(f_{t-1}, f_t)) + max(0, cos(f_0, f_t)) ) / 2        t = 1 .. T-1
    score = mean_t s_t                                                       (0..1)

The previous-frame term catches jitter, the first-frame term slow drift of identity. VBench's
per-video value is this mean over frames; we report the mean of per-video values per model (a
bootstrap CI over clips). Which network produced f is recorded beside the number: with DINO it
follows VBench; with another frame encoder (the smoke suite uses the CLIP image tower from its
local, sha256-pinned weights file) it is the same formula on different features, and not
comparable with VBench's published scores.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from sentinel.video.clips import as_clip

FrameEncoder = Callable[[np.ndarray], np.ndarray]  # (T, H, W, 3) uint8 -> (T, d) features
DEFINITION = "mean over t >= 1 of (max(0, cos(f_t-1, f_t)) + max(0, cos(f_0, f_t))) / 2 (VBench subject_consistency)"


def subject_consistency_from_features(features: np.ndarray) -> float:
    """VBench's subject-consistency score from (T, d) per-frame features, T >= 2."""
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"subject consistency needs (T >= 2, d) per-frame features, got shape {f.shape}")
    norms = np.linalg.norm(f, axis=1, keepdims=True)
    if not np.all(norms > 0):
        raise ValueError("subject consistency: a frame has an all-zero feature vector (cosine undefined)")
    f = f / norms
    to_prev = np.maximum(0.0, np.sum(f[1:] * f[:-1], axis=1))
    to_first = np.maximum(0.0, f[1:] @ f[0])
    return float(np.mean((to_prev + to_first) / 2.0))


def subject_consistency(clip: np.ndarray, encoder: FrameEncoder) -> float:
    """Subject consistency of one clip with per-frame features from `encoder`."""
    return subject_consistency_from_features(encoder(as_clip(clip)))
