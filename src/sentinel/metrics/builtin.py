"""The built-in metrics' point and replicate functions, as registry.py names them.

Each is a thin adapter from registry.Inputs to the metric's own module (fid.py, cmmd.py,
clip_score.py) and its exact bootstrap replicates (bootstrap.py); kernels and per-pair scores are
computed once per image set (Inputs.cached) and shared by the point estimate and the replicates.
"""
from __future__ import annotations

import numpy as np

from sentinel.metrics import bootstrap as bs
from sentinel.metrics import clip_score as clip
from sentinel.metrics import cmmd, fid
from sentinel.metrics.registry import Inputs


def _ones(x: Inputs) -> np.ndarray:
    return np.ones((1, len(x.prompts)))


def fid_point(x: Inputs) -> float:
    return fid.fid_from_features(x.gen["inception"], x.ref["inception"])


def fid_replicates(x: Inputs, counts: np.ndarray) -> np.ndarray:
    return bs.fid_replicates(x.gen["inception"], x.ref["inception"], counts)


def _kid_kernels(x: Inputs):
    return x.cached("kid_kernels", lambda: bs.kid_kernels(x.gen["inception"], x.ref["inception"]))


def kid_point(x: Inputs) -> float:
    """Full-sample unbiased MMD² (bootstrap.py); `kid_mean` (subsets) is its extra."""
    return float(bs.kid_full_replicates(*_kid_kernels(x), _ones(x))[0])


def kid_replicates(x: Inputs, counts: np.ndarray) -> np.ndarray:
    return bs.kid_full_replicates(*_kid_kernels(x), counts)


def kid_subsets(x: Inputs) -> dict:
    """torch-fidelity's subset KID: mean and std over seeded subsets."""
    s = x.settings
    mean, std = fid.kid_from_features(x.gen["inception"], x.ref["inception"], subset_size=s["kid_subset_size"],
                                      subsets=s["kid_subsets"], seed=s["seed"])
    return {"kid_mean": mean, "kid_std": std}


def _per_pair(x: Inputs) -> np.ndarray:
    return x.cached("clip_per_pair", lambda: clip.clip_scores_from_embeddings(x.gen["clip"], x.text))


def clip_point(x: Inputs) -> float:
    return float(np.mean(_per_pair(x)))


def clip_replicates(x: Inputs, counts: np.ndarray) -> np.ndarray:
    return bs.mean_replicates(_per_pair(x), counts)


def clip_extras(x: Inputs) -> dict:
    """Per-image scores (for breakdowns) and how many prompts were truncated at 77 tokens."""
    return clip.summarise(_per_pair(x), clip.tokenize(x.prompts, x.settings["clip_arch"])[1])


def _cmmd_kernels(x: Inputs):
    return x.cached("cmmd_kernels", lambda: cmmd.kernels(x.gen["clip"], x.ref["clip"]))


def cmmd_point(x: Inputs) -> float:
    return float(bs.cmmd_replicates(*_cmmd_kernels(x), _ones(x))[0])


def cmmd_replicates(x: Inputs, counts: np.ndarray) -> np.ndarray:
    return bs.cmmd_replicates(*_cmmd_kernels(x), counts)


def _half(x: Inputs, level: float, which: str) -> dict:
    """Half-sample interval (metrics/halfsample.py) for FID, KID or CMMD: both sides resampled
    without replacement, seeded from the image paths; below 4 images a side there is none."""
    from sentinel.metrics import halfsample as hs

    gen, ref = (x.gen["inception"], x.ref["inception"]) if which != "cmmd" else (x.gen["clip"], x.ref["clip"])
    if len(gen) < 4 or len(ref) < 4:
        return {"low": None, "high": None, "ci_method": "none: half-sampling needs at least 4 images per side"}
    reps, seed = x.settings["interval_reps"], hs.seed_from_keys(x.settings["keys"], salt=f"{which}:{x.settings['seed']}")
    if which == "fid":
        g = x.cached("grams", lambda: hs.grams(gen, ref))
        out = hs.fid_interval(gen, ref, level=level, reps=reps, seed=seed, g=g)
    elif which == "kid":
        g = x.cached("grams", lambda: hs.grams(gen, ref))
        out = hs.kid_interval(gen, ref, level=level, reps=reps, seed=seed, g=g)
    else:
        k_gg, k_gr, k_rr = _cmmd_kernels(x)
        out = hs.kernel_interval((k_gg, k_rr, k_gr), _cmmd_stat, level=level, reps=reps, seed=seed)
    return {"low": out["ci"][0], "high": out["ci"][1], "se": out["se"], "ci_method": out["ci_method"]}


def _cmmd_stat(k_gg, k_rr, k_gr) -> float:
    return cmmd.cmmd_from_kernels(k_gg, k_gr, k_rr)


def fid_interval(x: Inputs, level: float) -> dict:
    return _half(x, level, "fid")


def kid_interval(x: Inputs, level: float) -> dict:
    return _half(x, level, "kid")


def cmmd_interval(x: Inputs, level: float) -> dict:
    return _half(x, level, "cmmd")
