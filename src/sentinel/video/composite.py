"""The video composite quality score, 0-100: rubrics/video-composite.md is the written contract.

    video-composite-v1 = 0.50 * VBench part + 0.25 * norm(CLIP) + 0.25 * d * norm(FVD)

VBench part: 100 x the mean over EVERY job the model was given of v_j, where v_j is the mean of the
clip's four VBench-style dimensions (subject consistency, temporal flickering, motion smoothness,
dynamic degree as 0/1), and v_j = 0 for a failed job or a frozen clip (a video that does not move
is a failed video). CLIP: the mean over every job of the clip's frame-averaged CLIP score (0 for a
failed job or a frozen clip), normalised between the image composite's anchors (35 best, 15
worst). FVD: normalised between 0 (best) and the encoder's worst anchor, scaled by the delivered
fraction d = n_ok / n_jobs (a set metric has no per-job value: composite-v3's bound).

Each component's interval: bootstrap over jobs (seeded from the job ids) for the two per-job parts,
mapped through the normalisation; FVD's half-sample interval mapped the same way. The composite's
interval combines the components' standard errors as if independent (normal approximation, point
+- z * sqrt(sum (w_k se_k)^2), clipped to [0, 100]); it is null, with the reason, when a component
has no interval. Everything is the model's own numbers: another model never moves it.
Pure Python plus sentinel.checks.summary (numpy, scipy): no torch.
"""
from __future__ import annotations

import math

from sentinel.checks import summary as checks_summary

VERSION = "video-composite-v1"
VBENCH_DIMENSIONS = ("subject_consistency", "temporal_flickering", "motion_smoothness", "dynamic_degree")
WEIGHTS = {"vbench": 0.50, "clip": 0.25, "fvd": 0.25}
CLIP_BEST, CLIP_WORST = 35.0, 15.0  # rubrics/composite.md's CLIP anchors
FVD_BEST = 0.0
# Worst FVD anchor per encoder. FVDs on different encoders are on different scales and never compared.
# cd-FVD (VideoMAE-v2) and classic FVD (I3D) values of current models run in the hundreds: 1000 is
# provisional, to be fixed from the first release run and then frozen; the tiny encoder's is plumbing.
FVD_WORST = {"tiny-random-3dconv": 10.0, "cd-fvd videomae": 1000.0, "cd-fvd i3d": 1000.0}
MIN_DELIVERED = 2  # FVD needs >= 2 clips: fewer and the model has no composite


def normalise(x: float, best: float, worst: float) -> float:
    if best == worst:
        raise ValueError(f"normalisation anchors must differ, got best = worst = {best}")
    return 100.0 * min(1.0, max(0.0, (x - worst) / (best - worst)))


def per_job_values(scores: dict) -> tuple[dict[str, float], dict[str, float]]:
    """({job id: v_j}, {job id: CLIP_j}) over every job, failed jobs and frozen clips at 0."""
    vb, cl = {}, {}
    for job in scores["jobs"]:
        row = scores["per_clip"].get(job)
        if row is None or row.get("frozen"):
            vb[job], cl[job] = 0.0, 0.0
            continue
        vb[job] = sum(float(row[k]) for k in VBENCH_DIMENSIONS) / len(VBENCH_DIMENSIONS)
        cl[job] = float(row["clip_score"])
    return vb, cl


def _se(ci: list | None, level: float) -> float | None:
    from scipy.stats import norm

    if ci is None or None in ci:
        return None
    return (ci[1] - ci[0]) / (2.0 * float(norm.ppf(0.5 + level / 2)))


def composite(scores: dict, level: float, draws: int = 1000) -> dict:
    """{"version", "value", "ci", "components", "why"?} for one model's score document."""
    n_jobs, n_ok = scores["n_jobs"], scores["n_ok"]
    d = n_ok / n_jobs if n_jobs else 0.0
    n_frozen = sum(1 for r in scores["per_clip"].values() if r.get("frozen"))
    out = {"version": VERSION, "weights": dict(WEIGHTS), "delivered_fraction": d, "n_jobs": n_jobs, "n_ok": n_ok,
           "n_frozen": n_frozen, "ci_level": level}
    fvd = scores["fvd"]
    if n_ok < MIN_DELIVERED or fvd.get("value") is None:
        return {**out, "value": None, "ci": None, "components": None,
                "why": f"not claimable: {n_ok} delivered clip(s) of {n_jobs} jobs, FVD needs >= {MIN_DELIVERED}"}
    encoder = scores["convention"]["fvd"]["encoder"]
    if encoder not in FVD_WORST:
        return {**out, "value": None, "ci": None, "components": None,
                "why": f"no FVD anchor for encoder {encoder!r} in {VERSION}"}
    vb, cl = per_job_values(scores)
    vb_mean = checks_summary.mean(vb, level, draws=draws)
    cl_mean = checks_summary.mean(cl, level, draws=draws)
    worst = FVD_WORST[encoder]
    parts = {
        "vbench": {"value": 100.0 * vb_mean["value"], "ci": None if vb_mean["ci"] is None else
                   [100.0 * x for x in vb_mean["ci"]], "raw": vb_mean["value"],
                   "definition": "100 x mean over every job of the mean of " + ", ".join(VBENCH_DIMENSIONS)
                                 + " (failed job or frozen clip: 0)"},
        "clip": {"value": normalise(cl_mean["value"], CLIP_BEST, CLIP_WORST), "raw": cl_mean["value"],
                 "ci": None if cl_mean["ci"] is None else
                 sorted(normalise(x, CLIP_BEST, CLIP_WORST) for x in cl_mean["ci"]),
                 "definition": f"norm(mean over every job of the CLIP score, best {CLIP_BEST:g}, worst "
                               f"{CLIP_WORST:g}) (failed job or frozen clip: 0)"},
        "fvd": {"value": d * normalise(fvd["value"], FVD_BEST, worst), "raw": fvd["value"],
                "ci": None if fvd.get("ci") is None else sorted(d * normalise(x, FVD_BEST, worst) for x in fvd["ci"]),
                "definition": f"d x norm(FVD, best {FVD_BEST:g}, worst {worst:g}) for encoder {encoder}"},
    }
    value = sum(WEIGHTS[k] * parts[k]["value"] for k in WEIGHTS)
    out.update(value=value, components=parts)
    ses = {k: _se(parts[k]["ci"], level) for k in WEIGHTS}
    missing = [k for k, s in ses.items() if s is None]
    if missing:
        out.update(ci=None, why_no_ci=f"no interval for component(s) {', '.join(missing)}")
        return out
    from scipy.stats import norm

    half = float(norm.ppf(0.5 + level / 2)) * math.sqrt(sum((WEIGHTS[k] * ses[k]) ** 2 for k in WEIGHTS))
    out["ci"] = [max(0.0, value - half), min(100.0, value + half)]
    out["ci_method"] = "normal approximation from the components' standard errors, taken as independent"
    return out
