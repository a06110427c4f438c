"""Dynamic degree, VBench's rule (vbench/dynamic_degree.py) on OpenCV's Farneback flow.

VBench estimates optical flow between consecutive frames with RAFT and calls a clip *dynamic* when
enough frame pairs move enough:

    m_t   = mean of the largest 5 % of flow magnitudes |f_t(x)| over pixels x     (pixels / frame)
    thres = max(1, 8 / fps) * 6 * min(H, W) / 256
    need  = round(4 * T / 16)                         (T = frames after sampling to ~8 fps)
    dynamic = #{t : m_t > thres} >= need

A model's dynamic degree is the fraction of its clips that are dynamic (a rate; Wilson interval).

SUBSTITUTIONS, stated: the flow is OpenCV's Farneback (`cv2.calcOpticalFlowFarneback` on BT.601
grey frames, parameters in `FARNEBACK`) instead of RAFT, whose weights are not available offline;
Farneback underestimates large displacements and is noisier on textureless regions, so borderline
clips can flip. `need` is at least 1 (VBench's round(4 * T / 16) is 0 for T <= 2, which would
call a still clip dynamic). Frames are sampled every round(fps / 8) frames, as VBench does when
it reads an mp4.
"""
from __future__ import annotations

import numpy as np

from sentinel.video.clips import as_clip

# OpenCV's documented example values (pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags).
FARNEBACK = {"pyr_scale": 0.5, "levels": 3, "winsize": 15, "iterations": 3, "poly_n": 5, "poly_sigma": 1.2,
             "flags": 0}
TOP_FRACTION = 0.05
DEFINITION = ("fraction of clips with >= round(4T/16) frame pairs whose top-5% Farneback flow magnitude "
              "exceeds max(1, 8/fps) * 6 * min(H, W) / 256 (VBench dynamic_degree rule; RAFT -> Farneback)")


def _grey(frame: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)


def farneback_flows(clip: np.ndarray) -> np.ndarray:
    """(T-1, H, W, 2) float32 flow from frame t to t+1: prev(y, x) ≈ next(y + dy, x + dx), (dx, dy)."""
    import cv2

    grey = [_grey(f) for f in as_clip(clip)]
    return np.stack([cv2.calcOpticalFlowFarneback(a, b, None, **FARNEBACK) for a, b in zip(grey[:-1], grey[1:])])


def sample_every(fps: float) -> int:
    """VBench keeps every round(fps / 8)-th frame (at least every frame)."""
    return max(1, round(fps / 8))


def rule(height: int, width: int, frames: int, fps: float) -> tuple[float, int]:
    """(threshold in pixels per frame pair, number of pairs that must exceed it)."""
    factor = max(1.0, 8.0 / fps)
    return factor * 6.0 * min(height, width) / 256.0, max(1, round(4 * frames / 16))


def top_magnitude(flow: np.ndarray) -> float:
    """Mean of the largest TOP_FRACTION of |flow| over the pixels of one (H, W, 2) flow field."""
    rad = np.hypot(flow[..., 0], flow[..., 1]).ravel()
    cut = max(1, int(rad.size * TOP_FRACTION))
    return float(np.mean(np.sort(rad)[-cut:]))


def dynamic_degree(clip: np.ndarray, fps: float) -> dict:
    """Whether one clip is dynamic under VBench's rule, with the evidence and its mean flow vector."""
    if not fps > 0:
        raise ValueError(f"dynamic degree needs the clip's fps > 0, got {fps}")
    x = as_clip(clip)[::sample_every(fps)]
    if len(x) < 2:
        raise ValueError(f"dynamic degree needs >= 2 frames after sampling every {sample_every(fps)}, got {len(x)}")
    flows = farneback_flows(x)
    scores = [top_magnitude(f) for f in flows]
    thres, need = rule(x.shape[1], x.shape[2], len(x), fps)
    moving = sum(s > thres for s in scores)
    return {"dynamic": bool(moving >= need), "pair_top_magnitude_px": scores, "threshold_px": thres,
            "pairs_needed": need, "pairs_moving": int(moving),
            "mean_flow_px": [float(flows[..., 0].mean()), float(flows[..., 1].mean())]}
