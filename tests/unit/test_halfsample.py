"""Half-sample intervals: exact against the direct formulas, and independent of row order."""
from __future__ import annotations

import numpy as np
import pytest

from sentinel.metrics import halfsample as hs


def _fid_direct(x, y):  # closed form from sample moments, no shortcut (scipy's sqrtm)
    from scipy.linalg import sqrtm

    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = sqrtm(s1 @ s2).real
    d = x.mean(0) - y.mean(0)
    return float(d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def _kid_direct(x, y):
    k = lambda a, b: (a @ b.T / a.shape[1] + 1) ** 3  # noqa: E731
    n, m = len(x), len(y)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    return ((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
            - 2 * kxy.mean())


@pytest.mark.parametrize("n,m,d,rel", [(30, 40, 8, 1e-9), (12, 9, 20, 1e-7)])
def test_gram_fid_and_kid_equal_the_direct_formulas(n, m, d, rel):
    """n > d, and n < d, where scipy's sqrtm of the singular S1 S2 is itself only good to ~1e-8."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(n, d)), rng.normal(0.3, 1.2, size=(m, d))
    assert hs.fid_from_grams(*hs.grams(x, y)) == pytest.approx(_fid_direct(x, y), rel=rel)
    out = hs.kid_interval(x, y, level=0.95, reps=10, seed=1)
    assert out["value"] == pytest.approx(_kid_direct(x, y), rel=1e-9, abs=1e-12)


def test_point_inside_its_interval_and_row_order_changes_nothing():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 16)), rng.normal(0.2, 1.0, size=(40, 16))
    keys = [f"job-{i:03d}" for i in range(40)]
    perm = rng.permutation(40)
    a = hs.fid_interval(hs.in_key_order(keys, x), y, level=0.9, reps=20, seed=hs.seed_from_keys(keys))
    b = hs.fid_interval(hs.in_key_order([keys[i] for i in perm], x[perm]), y, level=0.9, reps=20,
                        seed=hs.seed_from_keys([keys[i] for i in perm]))
    assert a == b
    assert a["ci"][0] <= a["fid"] <= a["ci"][1] and a["ci_level"] == 0.9


def test_too_few_images_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 4 images per side"):
        hs.half_indices(3, 10, 5, 0)
