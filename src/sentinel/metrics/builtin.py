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
    return x.cached("fid_point", lambda: fid.fid_from_features(x.gen["inception"], x.ref["inception"]))


def fid_replicates(x: Inputs, counts: np.ndarray) -> np.ndarray:
    return bs.fid_replicates(x.gen["inception"], x.ref["inception"], counts)


def _kid_kernels(x: Inputs):
    return x.cached("kid_kernels", lambda: bs.kid_kernels(x.gen["inception"], x.ref["inception"]))


def kid_point(x: Inputs) -> float:
    """KID: the full-sample unbiased MMD² over all pairs (bootstrap.py); the subset average is the
    extra `kid_subsets_mean`, labelled so, never `kid`."""
    return x.cached("kid_point", lambda: bs.kid_full(x.gen["inception"], x.ref["inception"]))  # blocks at large n


def kid_replicates(x: Inputs, counts: np.ndarray) -> np.ndarray:
    return bs.kid_full_replicates(*_kid_kernels(x), counts)


def kid_subsets(x: Inputs) -> dict:
    """torch-fidelity's subset KID (mean and std over subsets), from the stream seeded by score.seed and
    the image keys (metrics/streams.py); `kid_subsets_seed` is torch-fidelity's `rng_seed` for them."""
    from sentinel.metrics import streams

    s = x.settings
    seed = streams.kid_subsets_seed(s["keys"], s["seed"])
    mean, std = streams.kid_subsets(x.gen["inception"], x.ref["inception"], subset_size=s["kid_subset_size"],
                                    subsets=s["kid_subsets"], seed=seed)
    return {"kid_subsets_mean": mean, "kid_subsets_std": std, "kid_subsets_seed": seed}


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
    e = "cmmd_clip" if "cmmd_clip" in x.gen else "clip"  # score.cmmd_clip_arch: CMMD's own encoder
    return x.cached("cmmd_kernels", lambda: cmmd.kernels(x.gen[e], x.ref[e]))


def cmmd_point(x: Inputs) -> float:
    e = "cmmd_clip" if "cmmd_clip" in x.gen else "clip"
    if max(len(x.gen[e]), len(x.ref[e])) > fid.FULL_KERNEL_ROWS:  # no n x n kernel at production n
        return x.cached("cmmd_point", lambda: cmmd.cmmd_chunked(x.gen[e], x.ref[e]))
    return float(bs.cmmd_replicates(*_cmmd_kernels(x), _ones(x))[0])


def cmmd_replicates(x: Inputs, counts: np.ndarray) -> np.ndarray:
    return bs.cmmd_replicates(*_cmmd_kernels(x), counts)


def _half(x: Inputs, level: float, which: str) -> dict:
    """Half-sample interval (metrics/halfsample.py) for FID, KID or CMMD: both sides resampled
    without replacement, seeded from the image paths; below 4 images a side there is none."""
    from sentinel.metrics import halfsample as hs

    e = "inception" if which != "cmmd" else ("cmmd_clip" if "cmmd_clip" in x.gen else "clip")
    gen, ref = x.gen[e], x.ref[e]
    capped = hs.is_capped(len(gen), len(ref))  # above 2·CAP + 1 a side: subsamples, no n x n Gram/kernel
    if len(gen) < 4 or len(ref) < 4:
        return {"low": None, "high": None, "ci_method": "none: half-sampling needs at least 4 images per side"}
    reps, seed = x.settings["interval_reps"], hs.seed_from_keys(x.settings["keys"], salt=f"{which}:{x.settings['seed']}")
    g = None if capped or which == "cmmd" else x.cached("grams", lambda: hs.grams(gen, ref))
    point = {"fid": fid_point, "kid": kid_point, "cmmd": cmmd_point}[which](x) if capped else None
    if which == "fid":
        out = hs.fid_interval(gen, ref, level=level, reps=reps, seed=seed, g=g, point=point)
    elif which == "kid":
        out = hs.kid_interval(gen, ref, level=level, reps=reps, seed=seed, g=g, point=point)
    else:
        out = hs.cmmd_interval(gen, ref, level=level, reps=reps, seed=seed,
                               kernels=None if capped else _cmmd_kernels(x), point=point)
    return {"low": out["ci"][0], "high": out["ci"][1], "se": out["se"], "ci_method": out["ci_method"]}


def _cmmd_stat(k_gg, k_rr, k_gr) -> float:
    return cmmd.cmmd_from_kernels(k_gg, k_gr, k_rr)


def fid_interval(x: Inputs, level: float) -> dict:
    return _half(x, level, "fid")


def kid_interval(x: Inputs, level: float) -> dict:
    return _half(x, level, "kid")


def cmmd_interval(x: Inputs, level: float) -> dict:
    return _half(x, level, "cmmd")


def cmmd_clip_extractor(options: dict, batch_size: int, device: str = "cpu"):
    """CMMD's own CLIP image encoder (score.cmmd_clip_arch / cmmd_clip_weights), e.g. the paper's
    ViT-L-14-336: open_clip's eval transform for that arch (336 px bicubic resize and centre crop)."""
    from sentinel.metrics.extract import clip_image_extractor

    return clip_image_extractor(options["cmmd_clip_arch"], options["cmmd_clip_weights"], batch_size, device)


def fd_dinov2_point(x: Inputs) -> float:
    """dgm-eval's FD-DINOv2: the Fréchet distance of DINOv2 CLS features (metrics/dinov2.py)."""
    return fid.fid_from_features(x.gen["dinov2"], x.ref["dinov2"])


def fd_dinov2_replicates(x: Inputs, counts: np.ndarray) -> np.ndarray:
    return bs.fid_replicates(x.gen["dinov2"], x.ref["dinov2"], counts)


def fd_dinov2_interval(x: Inputs, level: float) -> dict:
    """FID's half-sample interval (metrics/halfsample.py) on DINOv2 features, with its own seed salt."""
    from sentinel.metrics import halfsample as hs

    gen, ref = x.gen["dinov2"], x.ref["dinov2"]
    if len(gen) < 4 or len(ref) < 4:
        return {"low": None, "high": None, "ci_method": "none: half-sampling needs at least 4 images per side"}
    seed = hs.seed_from_keys(x.settings["keys"], salt=f"fd_dinov2:{x.settings['seed']}")
    out = hs.fid_interval(gen, ref, level=level, reps=x.settings["interval_reps"], seed=seed,
                          g=None if hs.is_capped(len(gen), len(ref)) else x.cached("dinov2_grams",
                                                                                  lambda: hs.grams(gen, ref)))
    return {"low": out["ci"][0], "high": out["ci"][1], "se": out["se"], "ci_method": out["ci_method"]}
