"""Coverage of the FID and KID intervals by simulation, on 2048-d Gaussian features with known populations.

For each n, `draws` independent (generated, reference) pairs are drawn from two fixed populations;
each gets its half-sample interval (metrics/halfsample.py). The target of the FID interval is the
expected FID estimate at this n (estimated by the mean over all draws, Monte-Carlo error stated in
the assertion message); KID's is the population MMD² (its estimator is unbiased, so the same mean).
The old with-replacement, reference-fixed bootstrap covered this target in 0 of 40 draws.
"""
from __future__ import annotations

import numpy as np
import pytest

from sentinel.metrics import halfsample as hs

pytestmark = pytest.mark.slow
D = 2048
POP = np.random.default_rng(0)
SD1, SD2 = np.sqrt(POP.uniform(0.5, 1.5, D)), np.sqrt(POP.uniform(0.5, 1.5, D))
MU2 = POP.normal(0.0, 0.05, D)


def _draw(n: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, D)) * SD1, rng.normal(size=(n, D)) * SD2 + MU2


@pytest.mark.parametrize("n,draws,reps,extra", [(200, 30, 30, 40), (1000, 20, 20, 10)])
def test_fid_and_kid_intervals_cover_their_targets(n, draws, reps, extra):
    fids, kids = [], []
    for k in range(draws):
        gen, ref = _draw(n, 1000 + k)
        g = hs.grams(gen, ref)  # one Gram pass shared by both
        fids.append(hs.fid_interval(gen, ref, level=0.95, reps=reps, seed=k, g=g))
        kids.append(hs.kid_interval(gen, ref, level=0.95, reps=reps, seed=k, g=g))
    more = [hs.fid_from_grams(*hs.grams(*_draw(n, 50_000 + k))) for k in range(extra)]
    points = np.array([f["fid"] for f in fids] + more)
    target, mc_se = points.mean(), points.std(ddof=1) / np.sqrt(len(points))
    covered = np.mean([f["ci"][0] <= target <= f["ci"][1] for f in fids])
    assert all(f["ci"][0] <= f["fid"] <= f["ci"][1] for f in fids), "point outside its own interval"
    assert covered >= 0.90, f"FID coverage {covered:.2f} at n={n} (target {target:.2f} ± {mc_se:.2f} MC)"
    kid_target = np.mean([k["value"] for k in kids])
    kid_cov = np.mean([k["ci"][0] <= kid_target <= k["ci"][1] for k in kids])
    assert kid_cov >= 0.90, f"KID coverage {kid_cov:.2f} at n={n}"
    print(f"n={n}: FID target {target:.3f} (MC se {mc_se:.3f}), coverage {covered:.2f}, mean se "
          f"{np.mean([f['se'] for f in fids]):.3f}, sd of estimates {points.std(ddof=1):.3f}; KID coverage {kid_cov:.2f}")
