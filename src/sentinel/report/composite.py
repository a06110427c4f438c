"""The composite quality score, 0-100: rubrics/composite.md is the written contract for this file.

    norm(x) = 100 * clip((x - worst) / (best - worst), 0, 1)      (anchors in report.normalisation)
    composite = w_fid * norm(FID) + w_clip * norm(CLIP score) + w_human * norm(mean Likert)

FID is lower-is-better (best 0 < worst), CLIP score and Likert are higher-is-better; the same
formula covers both because the anchors carry the direction.
"""
from __future__ import annotations

from sentinel.config import NormalisationConfig, ReportConfig

COMPONENTS = ("fid", "clip", "human")


def normalise(x: float, best: float, worst: float) -> float:
    if best == worst:
        raise ValueError(f"normalisation anchors must differ, got best = worst = {best}")
    return 100.0 * min(1.0, max(0.0, (x - worst) / (best - worst)))


def validate(cfg: ReportConfig) -> None:
    if set(cfg.weights) != set(COMPONENTS):
        raise ValueError(f"report.weights: keys must be exactly {', '.join(COMPONENTS)}, got {', '.join(cfg.weights)}")
    total = sum(cfg.weights.values())
    if abs(total - 1.0) > 1e-9 or min(cfg.weights.values()) < 0:
        raise ValueError(f"report.weights: must be >= 0 and sum to 1, got {cfg.weights} (sum {total})")


def components(fid: float, clip_score: float, likert: float, n: NormalisationConfig) -> dict[str, float]:
    return {"fid": normalise(fid, n.fid_best, n.fid_worst),
            "clip": normalise(clip_score, n.clip_best, n.clip_worst),
            "human": normalise(likert, n.human_best, n.human_worst)}


def composite(parts: dict[str, float], cfg: ReportConfig) -> float:
    validate(cfg)
    return sum(cfg.weights[k] * parts[k] for k in COMPONENTS)
