"""Score-stage memory at production n: peak RSS while every built-in metric (FID, KID, CMMD, CLIP score;
points, KID subsets and the FID/KID/CMMD intervals) is computed on synthetic 2048-d Inception-like and
512-d CLIP-like float32 features, at N and 10 N generated images against N references, each in a fresh
subprocess. The growth from N to 10 N must be at most the extra stored features plus 50 MiB: float64
working copies are chunked (metrics/fid.py, cmmd.py) and intervals above 2·CAP + 1 images a side draw
CAP-row subsamples (metrics/halfsample.py), so no n x n Gram or kernel matrix is ever held.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

N = 300
_CHILD = r"""
import json, os, resource, sys, threading, time
import numpy as np
from sentinel.metrics import registry

def feats(k, d, shift):
    return (rng.standard_normal((k, d), dtype=np.float32) * 0.5 + shift).astype(np.float32)
def make_inputs(n, m):
    return registry.Inputs(
        gen={"inception": feats(n, 2048, 0.3), "clip": feats(n, 512, 0.1)},
        ref={"inception": feats(m, 2048, 0.2), "clip": feats(m, 512, 0.0)},
        prompts=[f"p{i}" for i in range(n)], text=feats(n, 512, 0.1),
        settings={"kid_subset_size": min(100, m), "kid_subsets": 5, "seed": 0, "clip_arch": "ViT-B-32",
              "keys": [f"g/{i:05d}" for i in range(n)] + [f"ref:r/{i:05d}" for i in range(m)], "interval_reps": 4})
metrics = [registry.REGISTRY[k] for k in ("fid", "kid_full", "kid", "clip_score", "cmmd") if k in registry.REGISTRY]
n, m = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(n)
def run_all(inputs):
    out = {}
    for metric in metrics:
        if metric.extras:
            out.update(metric.call("extras", inputs))
        out[metric.name] = float(metric.call("point", inputs))
        if metric.interval is not None:
            out[metric.name + "_ci"] = metric.call("interval", inputs, 0.95)
        else:
            metric.call("replicates", inputs, np.ones((2, len(inputs.prompts))))
    return out
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
run_all(make_inputs(8, 8))  # imports (torch, scipy) and first-call buffers are not what we measure
inputs = make_inputs(n, m)
base, peak, stop = rss(), [0.0], threading.Event()
def sample():
    while not stop.is_set():
        peak[0] = max(peak[0], rss())
        time.sleep(0.002)
t = threading.Thread(target=sample, daemon=True)
t.start()
run_all(inputs)
stop.set()
t.join()
print(json.dumps({"base_mib": base, "peak_mib": max(peak[0], rss()), "features_mib":
                  sum(a.nbytes for a in (*inputs.gen.values(), *inputs.ref.values(), inputs.text)) / 2 ** 20}))
"""


def _peak(n: int, m: int) -> dict:
    env = {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", _CHILD, str(n), str(m)], check=True, capture_output=True, text=True,
                         env=env, timeout=600).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
def test_score_memory_grows_only_by_the_stored_features():
    small, large = _peak(N, N), _peak(10 * N, N)
    growth = (large["peak_mib"] - large["base_mib"]) - (small["peak_mib"] - small["base_mib"])
    extra_features = large["features_mib"] - small["features_mib"]
    # features are allocated before `base`, so the working memory's growth alone must stay under 50 MiB
    assert large["peak_mib"] - small["peak_mib"] <= extra_features + 50, (small, large)
    assert growth <= 50, (small, large)


# ---- the production-n code paths, held against the direct formulas (fast: 1,600 rows of 24-d) -------
@pytest.fixture(scope="module")
def big_sets():
    import numpy as np

    rng = np.random.default_rng(7)
    gen = (rng.standard_normal((1600, 24)) * 0.7 + 0.4).astype(np.float32)
    ref = (rng.standard_normal((1700, 24)) * 0.6 + 0.2).astype(np.float32)
    return gen, ref


def test_chunked_points_equal_the_full_kernel_and_gram_formulas(big_sets):
    import numpy as np

    from sentinel.metrics import bootstrap as bs
    from sentinel.metrics import cmmd, fid
    from sentinel.metrics import halfsample as hs

    gen, ref = big_sets
    assert len(gen) > fid.FULL_KERNEL_ROWS  # the blocked paths
    full_kid = float(bs.kid_full_replicates(*bs.kid_kernels(gen, ref), np.ones((1, len(gen))))[0])
    assert bs.kid_full(gen, ref) == pytest.approx(full_kid, rel=1e-12)
    full_cmmd = float(bs.cmmd_replicates(*cmmd.kernels(gen, ref), np.ones((1, len(gen))))[0])
    assert cmmd.cmmd_chunked(gen, ref) == pytest.approx(full_cmmd, rel=1e-10)
    assert fid.fid_from_features(gen, ref) == pytest.approx(hs.fid_from_grams(*hs.grams(gen, ref)), rel=1e-10)
    small = gen[:20]  # one set <= d + 1 rows, the other above: the small-vs-large form
    assert fid.fid_from_features(small, ref) == pytest.approx(hs.fid_from_grams(*hs.grams(small, ref)), rel=1e-10)


def test_capped_intervals_are_subsample_statistics_rescaled_to_n(big_sets):
    import numpy as np

    from sentinel.metrics import cmmd, fid
    from sentinel.metrics import halfsample as hs

    gen, ref = big_sets
    b1, b2, scale = hs.plan(len(gen), len(ref))
    assert (b1, b2) == (hs.CAP, hs.CAP) and hs.is_capped(len(gen), len(ref))
    assert scale == pytest.approx((1 / min(len(gen) / b1 - 1, len(ref) / b2 - 1)) ** 0.5)
    assert hs.plan(1000, 1000) == (500, 500, 1.0) and not hs.is_capped(2 * hs.CAP + 1, 2 * hs.CAP + 1)  # halves: unchanged
    idx = hs.half_indices(len(gen), len(ref), 6, 3, sizes=(b1, b2))
    g64, r64 = gen.astype(np.float64), ref.astype(np.float64)
    direct = {"fid": [hs.fid_from_grams(*hs.grams(g64[i], r64[j])) for i, j in idx],
              "kid": [hs.kid_unbiased(*(((a @ b.T) / 24 + 1.0) ** 3 for a, b in
                                        ((g64[i], g64[i]), (r64[j], r64[j]), (g64[i], r64[j])))) for i, j in idx],
              "cmmd": [cmmd.cmmd(g64[i], r64[j]) for i, j in idx]}
    got = {"fid": hs.fid_interval(gen, ref, level=0.9, reps=6, seed=3),
           "kid": hs.kid_interval(gen, ref, level=0.9, reps=6, seed=3),
           "cmmd": hs.cmmd_interval(gen, ref, level=0.9, reps=6, seed=3)}
    assert got["fid"]["fid"] == pytest.approx(fid.fid_from_features(gen, ref), rel=1e-12)
    for name, out in got.items():
        assert out["se"] == pytest.approx(float(np.std(direct[name], ddof=1)) * scale, rel=1e-8), name
        assert out["replicates"] == 6 and "subsampling without replacement" in out["ci_method"]
