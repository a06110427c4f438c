"""The composite quality score, 0-100: rubrics/composite.md is the written contract for this file.

    norm(x) = 100 * clip((x - worst) / (best - worst), 0, 1)      (anchors in report.normalisation)
    composite = w_fid * norm(FID) + w_clip * norm(CLIP score) + w_human * human_0_100

FID is lower-is-better (best 0 < worst), CLIP score and Likert are higher-is-better; the same
formula covers both because the anchors carry the direction.

The human component (`human_part`) comes from one of two sources, chosen by report.human_source:
  likert    norm(mean Likert `overall`) on the 1-5 anchors (composite-v1 and v2 alike);
  pairwise  100 * sigmoid(theta): the Bradley-Terry win probability, ties aside, against a model of
            the rated set's mean strength (theta is reported centred; composite-v2 only);
  auto      Likert where the model has Likert ratings, else pairwise (composite-v2); under any other
            version `auto` means Likert only, so composite-v1 numbers never move.
Raters are asked for the pairwise choice and only optionally for Likert (rubrics/human-v2.md), so
without the pairwise source a study rated the documented way would have no human component.

Failed jobs (composite-v3, `delivered`): a model's components are taken over every job it was given,
not over the images it happened to deliver. With delivered fraction d = n_ok / n_jobs, a failed job
counts as the worst value a delivered image can have: CLIP raw score 0 (the floor of max(100 cos, 0)),
so CLIP enters as norm(d * CLIP); Likert 1 and a lost pairwise vote, so human enters as d * human;
FID has no per-image value, so its component is scaled by d (a documented bound, rubrics/composite.md).
Everything is the model's own numbers: another model's failures never move it.
"""
from __future__ import annotations

import math

from sentinel.config import NormalisationConfig, ReportConfig

COMPONENTS = ("fid", "clip", "human")
HUMAN_SOURCES = ("auto", "likert", "pairwise")
PAIRWISE_VERSIONS = ("composite-v2", "composite-v3")  # versions whose rubric defines the pairwise mapping
FAILURE_VERSIONS = ("composite-v3",)  # versions in which failed jobs enter the components (`delivered`)


def normalise(x: float, best: float, worst: float) -> float:
    if best == worst:
        raise ValueError(f"normalisation anchors must differ, got best = worst = {best}")
    return 100.0 * min(1.0, max(0.0, (x - worst) / (best - worst)))


def bt_to_100(theta: float) -> float:
    """Win probability (ties aside) against a model of mean strength, on 0-100: 100 / (1 + e^-theta)."""
    return 100.0 / (1.0 + math.exp(-theta))


def validate(cfg: ReportConfig) -> None:
    if set(cfg.weights) != set(COMPONENTS):
        raise ValueError(f"report.weights: keys must be exactly {', '.join(COMPONENTS)}, got {', '.join(cfg.weights)}")
    total = sum(cfg.weights.values())
    if abs(total - 1.0) > 1e-9 or min(cfg.weights.values()) < 0:
        raise ValueError(f"report.weights: must be >= 0 and sum to 1, got {cfg.weights} (sum {total})")
    if cfg.human_source not in HUMAN_SOURCES:
        raise ValueError(f"report.human_source: {cfg.human_source!r}: expected one of {', '.join(HUMAN_SOURCES)}")
    if cfg.human_source == "pairwise" and cfg.version not in PAIRWISE_VERSIONS:
        raise ValueError(f"report.human_source: pairwise needs report.version in {PAIRWISE_VERSIONS} "
                         f"(rubrics/composite.md), got {cfg.version!r}")


def human_part(h: dict, cfg: ReportConfig) -> dict:
    """The human component on 0-100 with its CI (same level as the ratings' CIs) and which source gave it.

    Returns {"value", "ci", "source", "why"}: value None (and `why`) when the chosen source has no data."""
    n = cfg.normalisation
    pairwise_ok = cfg.version in PAIRWISE_VERSIONS
    likert, bt = h.get("likert_mean"), h.get("bt_strength")
    use_likert = cfg.human_source == "likert" or (cfg.human_source == "auto" and (likert is not None or not pairwise_ok))
    if use_likert:
        if likert is None:
            return {"value": None, "ci": None, "source": "likert", "why": "no Likert ratings; report.human_source "
                    + ("is likert" if cfg.human_source == "likert" else f"auto under {cfg.version} uses Likert only")}
        ci = h.get("likert_ci", h.get("likert_ci95"))
        return {"value": normalise(likert, n.human_best, n.human_worst), "source": "likert", "why": None,
                "ci": sorted(normalise(x, n.human_best, n.human_worst) for x in ci) if ci else None}
    if bt is None:
        return {"value": None, "ci": None, "source": "pairwise", "why": "no pairwise votes for this model"}
    ci = h.get("bt_ci", h.get("bt_ci95"))
    return {"value": bt_to_100(bt), "ci": [bt_to_100(x) for x in ci] if ci else None, "source": "pairwise", "why": None}


def components(fid: float, clip_score: float, likert: float, n: NormalisationConfig) -> dict[str, float]:
    return {"fid": normalise(fid, n.fid_best, n.fid_worst),
            "clip": normalise(clip_score, n.clip_best, n.clip_worst),
            "human": normalise(likert, n.human_best, n.human_worst)}


def composite(parts: dict[str, float], cfg: ReportConfig) -> float:
    validate(cfg)
    return sum(cfg.weights[k] * parts[k] for k in COMPONENTS)


def delivered_fraction(n_ok: int, n_jobs: int) -> float:
    """d = n_ok / n_jobs, the share of the model's jobs that delivered a valid image."""
    if n_jobs <= 0 or not 0 <= n_ok <= n_jobs:
        raise ValueError(f"delivered fraction needs 0 <= n_ok <= n_jobs and n_jobs > 0, got {n_ok} of {n_jobs}")
    return n_ok / n_jobs


def delivered(fid: float, clip_score: float, human_0_100: float | None, d: float,
              n: NormalisationConfig) -> dict[str, float | None]:
    """The 0-100 components over every job (composite-v3), a failed job at the worst delivered value.

    CLIP: the mean over all jobs with a failed job at raw 0 is d * CLIP, normalised as usual; human:
    Likert 1 (0 on 0-100) or a lost vote per failed job, d * human; FID: d * norm(FID). With d = 1
    these are exactly the composite-v2 components."""
    return {"fid": d * normalise(fid, n.fid_best, n.fid_worst),
            "clip": normalise(d * clip_score, n.clip_best, n.clip_worst),
            "human": None if human_0_100 is None else d * human_0_100}


def delivered_se(se: dict[str, float | None], clip_score: float, d: float,
                 n: NormalisationConfig) -> dict[str, float | None]:
    """Component standard errors scaled as the components are: by d, and CLIP's 0 where d * CLIP is
    clipped at an anchor (the clipped component does not move with small changes of CLIP)."""
    lo, hi = sorted((n.clip_best, n.clip_worst))
    clip_free = lo < d * clip_score < hi
    return {"fid": None if se["fid"] is None else d * se["fid"],
            "clip": None if se["clip"] is None else (d * se["clip"] if clip_free else 0.0),
            "human": None if se["human"] is None else d * se["human"]}
