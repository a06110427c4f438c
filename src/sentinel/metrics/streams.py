"""Where every random draw of the score stage comes from, so that row order cannot change a number.

Every subsample is drawn over the images in canonical order (sorted by `<folder>/<file>`:
`<model>/<job>.png`, `<category>/<photo>.png`; compute.score_set sorts both sides) from a stream
seeded by `score.seed` AND the set of image keys:

    stream seed = first 8 bytes (big-endian) of sha256(salt + "\\n" + sorted keys joined by "\\n")
    salt        = "<purpose>:<score.seed>"    (halfsample.seed_from_keys)

so the same images give the same draws however the workload or a reference folder lists them,
and different purposes never share a stream. Two generators, each as its reference implementation:

  * KID subsets (`kid_subsets_mean` / `kid_subsets_std`): numpy.random.RandomState(seed mod 2**32),
    alternating `choice(n_generated, size, replace=False)` and `choice(n_reference, size, ...)` per
    subset, exactly torch-fidelity's `kid_features_to_metric` (so its `rng_seed=kid_subsets_seed`
    reproduces the subsets on the same features);
  * half-sample intervals (FID, KID, CMMD) and the CLIP score's percentile bootstrap:
    numpy.random.default_rng(seed) (PCG64), metrics/halfsample.py and metrics/bootstrap.py.
"""
from __future__ import annotations

import numpy as np

from sentinel.metrics.halfsample import seed_from_keys

KID_SUBSETS_RNG = ("numpy.random.RandomState(stream seed mod 2**32), choice(n, size, replace=False) for the "
                   "generated then the reference set, per subset (torch-fidelity's kid_features_to_metric)")
INTERVAL_RNG = "numpy.random.default_rng(stream seed) (PCG64)"
STREAM_SEED = ("sha256('<purpose>:<score.seed>' + newline + sorted image keys joined by newlines), first 8 "
               "bytes big-endian; image keys are '<folder>/<file>' (reference keys prefixed 'ref:')")


def stream_seed(keys: list[str], purpose: str, seed: int) -> int:
    """The seed of one purpose's stream: depends on score.seed and the set of keys, never their order."""
    return seed_from_keys(list(keys), salt=f"{purpose}:{seed}")


def kid_subsets_seed(keys: list[str], seed: int) -> int:
    """The RandomState seed of the KID subsets (a 32-bit value, as RandomState takes)."""
    return stream_seed(keys, "kid-subsets", seed) % 2 ** 32


def kid_subsets(gen: np.ndarray, ref: np.ndarray, *, subset_size: int, subsets: int, seed: int) -> tuple[float, float]:
    """(mean, population std) of the unbiased MMD² (cubic polynomial kernel) over seeded subsets,
    drawn as torch-fidelity draws them; rows must be in canonical order."""
    from sentinel.metrics.fid import mmd2_unbiased

    f1, f2 = np.asarray(gen), np.asarray(ref)  # as stored (float32); mmd2_unbiased takes each subset to float64
    if subset_size > len(f1) or subset_size > len(f2):
        raise ValueError(f"KID subset_size={subset_size} is larger than the number of samples "
                         f"(generated: {len(f1)}, reference: {len(f2)}); lower score.kid_subset_size or add images")
    if subset_size < 2 or subsets < 1:
        raise ValueError(f"KID needs subset_size >= 2 and subsets >= 1, got {subset_size} and {subsets}")
    rng = np.random.RandomState(seed)
    mmds = np.empty(subsets)
    for s in range(subsets):
        i = rng.choice(len(f1), subset_size, replace=False)
        j = rng.choice(len(f2), subset_size, replace=False)
        mmds[s] = mmd2_unbiased(f1[i], f2[j])
    return float(mmds.mean()), float(mmds.std())
