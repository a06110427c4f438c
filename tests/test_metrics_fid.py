"""FID and KID: closed forms, reference implementations (torchmetrics, torch-fidelity, scipy) and real photos.

Tolerances, and why:
  FID vs torchmetrics FrechetInceptionDistance   1e-4 relative (float32 result; its sqrt of eigvals(S1 S2)
                                                 is ~1e-5 off in absolute terms when n < d)
  KID vs torchmetrics KernelInceptionDistance    1e-4 relative (its kernel runs in float32)
  KID vs torch-fidelity mmd2 on the same subsets 1e-10 relative (both float64)
  Fréchet distance vs scipy.linalg.sqrtm         1e-8 relative (both float64)
  batch sizes 1, 7, 64                           1e-6 relative
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from PIL import Image

from sentinel import images
from sentinel.metrics import fid, weights
from sentinel.provenance import sha256_file

pytest_plugins = ["metrics_fixtures"]  # session fixtures shared with test_metrics_clip.py


# ---- weights ---------------------------------------------------------------------------------

def test_inception_weights_are_deterministic_and_seeded(inception_weights, tmp_path):
    again = weights.make_inception_weights(tmp_path / "again.pt", seed=0)
    assert again == sha256_file(inception_weights) == sha256_file(tmp_path / "again.pt")
    other = weights.inception_state_dict(seed=1)
    saved = torch.load(inception_weights, weights_only=True)
    assert not torch.equal(other["Conv2d_1a_3x3.conv.weight"], saved["Conv2d_1a_3x3.conv.weight"])


def test_inception_weights_init_recipe(inception_weights):
    sd = torch.load(inception_weights, weights_only=True)
    w = sd["Mixed_7c.branch3x3_1.conv.weight"]  # 448 x 2048 x 1 x 1: Kaiming fan_in, ReLU gain
    assert float(w.std()) == pytest.approx((2 / 2048) ** 0.5, rel=0.02)
    assert torch.equal(sd["Mixed_6e.branch1x1.bn.weight"], torch.ones(192))
    assert torch.equal(sd["Mixed_6e.branch1x1.bn.running_var"], torch.ones(192))
    assert not sd["Mixed_6e.branch1x1.bn.running_mean"].any() and not sd["Mixed_6e.branch1x1.bn.bias"].any()


def test_features_respond_to_the_image(features):
    """A naive random init collapses features (FID ~1e-13 between different sets); ours must not."""
    assert features["faces_a"].shape == (30, 2048)
    assert features["faces_a"].std(axis=0).mean() > 1e-3
    assert fid.fid_from_features(features["faces_a"], features["uniform_noise"]) > 10


def test_missing_weights_file_names_path_and_how_to_get_it(tmp_path, image_sets):
    missing = tmp_path / "nowhere" / "inception.pt"
    with pytest.raises(FileNotFoundError) as err:
        fid.inception_features(image_sets["faces_a"][:2], weights_path=missing, batch_size=2)
    assert str(missing) in str(err.value)
    assert "python -m sentinel.metrics.weights --out weights/" in str(err.value)
    assert "score.inception_weights" in str(err.value)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        fid.convention(missing)


# ---- Fréchet distance: closed forms and a float64 sqrtm reference -----------------------------

def _sqrtm_reference(mu1, s1, mu2, s2) -> float:
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


@pytest.mark.parametrize("d,n1,n2", [(6, 50, 40), (12, 200, 300), (10, 30, 15)])
def test_frechet_distance_matches_scipy_sqrtm(d, n1, n2):
    rng = np.random.default_rng(d)
    x = rng.standard_normal((n1, d)) @ rng.standard_normal((d, d))
    y = rng.standard_normal((n2, d)) @ rng.standard_normal((d, d)) + 0.3
    mu1, s1 = fid.feature_stats(x)
    mu2, s2 = fid.feature_stats(y)
    assert fid.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(_sqrtm_reference(mu1, s1, mu2, s2), rel=1e-8)


def test_frechet_distance_closed_form_for_known_gaussians():
    # Covariances sharing an eigenbasis Q: FID = |mu1 - mu2|² + Σ (√a_i - √b_i)².
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((16, 16)))
    a, b = rng.uniform(0.1, 4, 16), rng.uniform(0.1, 4, 16)
    mu1, mu2 = rng.standard_normal(16), rng.standard_normal(16)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    got = fid.frechet_distance(mu1, q @ np.diag(a) @ q.T, mu2, q @ np.diag(b) @ q.T)
    assert got == pytest.approx(expected, rel=1e-10)
    # 1-d: N(0, 1) vs N(1, 4) -> 1 + (1 - 2)² = 2
    assert fid.frechet_distance(np.zeros(1), np.eye(1), np.ones(1), 4 * np.eye(1)) == pytest.approx(2.0)


def test_frechet_distance_rank_deficient_matches_exact_gram_form():
    """n < d, as with 2048-d features of a few dozen images: tr((S1 S2)^½) = ‖A1 A2ᵀ‖_* / √((n1-1)(n2-1))
    for centred feature matrices A. (torchmetrics' sqrt of eigvals(S1 S2) was ~1e-5 off on 20 faces.)"""
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((20, 512)), rng.standard_normal((25, 512)) * 1.5 + 0.1
    ax, ay = x - x.mean(0), y - y.mean(0)
    nuclear = np.linalg.svd(ax @ ay.T, compute_uv=False).sum() / np.sqrt(19 * 24)
    mu1, s1 = fid.feature_stats(x)
    mu2, s2 = fid.feature_stats(y)
    exact = ((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * nuclear
    assert fid.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(exact, rel=1e-12)
    assert abs(fid.frechet_distance(mu1, s1, mu1, s1)) < 1e-9


@pytest.mark.parametrize("n", [10, 100])  # n <= d uses centred features, n > d eigh of the covariance
def test_fid_from_features_equals_frechet_distance_of_stats(n):
    rng = np.random.default_rng(n)
    x, y = rng.standard_normal((n, 16)) * 2, rng.standard_normal((n + 3, 16)) @ rng.standard_normal((16, 16))
    expected = fid.frechet_distance(*fid.feature_stats(x), *fid.feature_stats(y))
    assert fid.fid_from_features(x, y) == pytest.approx(expected, rel=1e-9)
    assert fid.fid_from_features(x, y) == pytest.approx(_sqrtm_reference(*fid.feature_stats(x), *fid.feature_stats(y)),
                                                        rel=1e-6)


# ---- FID on real photos ------------------------------------------------------------------------

def test_fid_of_a_set_with_itself_is_zero(features):
    a = features["faces_a"]
    assert abs(fid.fid_from_features(a, a)) < 1e-6
    assert abs(fid.fid_from_features(a, a[::-1])) < 1e-6  # order does not matter


def test_fid_and_kid_grow_as_images_are_corrupted(features):
    a = features["faces_a"]
    names = ["faces_b", "faces_b_noise8", "faces_b_noise32", "uniform_noise"]
    fids = [fid.fid_from_features(a, features[n]) for n in names]
    assert fids == sorted(fids) and fids[0] > 0.1, fids
    kids = [fid.kid_from_features(a, features[n], subset_size=20, subsets=20, seed=0)[0] for n in names[1:]]
    assert kids == sorted(kids) and kids[0] > 0, kids


def test_fid_does_not_depend_on_batch_size(image_sets, inception_weights):
    a, b = image_sets["faces_a"][:8], image_sets["faces_b_noise8"][:8]
    values = []
    for batch_size in (1, 7, 64):
        fa = fid.inception_features(a, weights_path=inception_weights, batch_size=batch_size)
        fb = fid.inception_features(b, weights_path=inception_weights, batch_size=batch_size)
        values.append(fid.fid_from_features(fa, fb))
    assert values[1] == pytest.approx(values[0], rel=1e-6) and values[2] == pytest.approx(values[0], rel=1e-6)


@pytest.mark.filterwarnings("ignore:Metric `Kernel Inception Distance` will save all extracted features")
def test_fid_and_kid_match_torchmetrics_on_same_images_and_weights(image_sets, features, inception_weights):
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    n = 12
    real = torch.from_numpy(np.stack([images.load_uint8_chw(p) for p in image_sets["faces_a"][:n]]))
    fake = torch.from_numpy(np.stack([images.load_uint8_chw(p) for p in image_sets["faces_b_noise8"][:n]]))
    # antialias=False: torchmetrics then resizes exactly like torch-fidelity (its default differs).
    tm_fid = FrechetInceptionDistance(feature=2048, feature_extractor_weights_path=str(inception_weights),
                                      antialias=False)
    tm_fid.update(real, real=True)
    tm_fid.update(fake, real=False)
    ours_real, ours_fake = features["faces_a"][:n], features["faces_b_noise8"][:n]
    assert fid.fid_from_features(ours_fake, ours_real) == pytest.approx(float(tm_fid.compute()), rel=1e-4)
    # KID: torchmetrics' class on the same features (identity extractor, so the network runs once).
    # subset_size = n makes every one of its torch.randperm subsets the whole set, like ours.
    tm_kid = KernelInceptionDistance(feature=torch.nn.Identity(), subsets=2, subset_size=n)
    tm_kid.update(torch.from_numpy(ours_real), real=True)
    tm_kid.update(torch.from_numpy(ours_fake), real=False)
    tm_mean, tm_std = tm_kid.compute()
    kid_mean, kid_std = fid.kid_from_features(ours_fake, ours_real, subset_size=n, subsets=3, seed=0)
    assert kid_mean == pytest.approx(float(tm_mean), rel=1e-4)
    assert kid_std < 1e-12 and float(tm_std) < 1e-5


def test_kid_matches_torch_fidelity_on_identical_subsets(features):
    from torch_fidelity.metric_kid import kernel_mmd

    gen, ref = features["faces_b_noise32"].astype(np.float64), features["faces_a"].astype(np.float64)
    pairs = fid.kid_subset_indices(len(gen), len(ref), subset_size=10, subsets=25, seed=3)
    reference = np.array([kernel_mmd(gen[i], ref[j], kid_kernel="poly", kid_kernel_poly_degree=3,
                                     kid_kernel_poly_gamma=None, kid_kernel_poly_coef0=1) for i, j in pairs])
    mean, std = fid.kid_from_features(gen, ref, subset_size=10, subsets=25, seed=3)
    assert mean == pytest.approx(reference.mean(), rel=1e-10)
    assert std == pytest.approx(reference.std(), rel=1e-10)
    assert fid.kid_from_features(gen, ref, subset_size=10, subsets=25, seed=4)[0] != mean  # seed matters


def test_kid_subset_larger_than_either_set_is_an_error():
    rng = np.random.default_rng(0)
    gen, ref = rng.standard_normal((5, 8)), rng.standard_normal((9, 8))
    with pytest.raises(ValueError, match=r"subset_size=6 .*generated: 5, reference: 9"):
        fid.kid_from_features(gen, ref, subset_size=6, subsets=2, seed=0)
    with pytest.raises(ValueError, match=r"subset_size=10 .*generated: 9, reference: 5"):
        fid.kid_from_features(ref, gen, subset_size=10, subsets=2, seed=0)
    fid.kid_from_features(gen, ref, subset_size=5, subsets=2, seed=0)  # equal to the smaller set is fine


def test_convention_names_weights_and_settings(inception_weights):
    conv = fid.convention(inception_weights)
    assert conv["weights_file"] == "inception-smoke.pt"
    assert conv["weights_sha256"] == sha256_file(inception_weights)
    assert conv["feature_layer"].startswith("2048") and conv["statistics_dtype"] == "float64"
    assert conv["resize"] == "torch-fidelity bilinear resize to 299 (torchmetrics NoTrainInceptionV3, antialias=False)"
    assert {"quantisation", "torchmetrics", "torch_fidelity"} <= conv.keys()


# ---- image decoding ----------------------------------------------------------------------------

def test_grayscale_png_becomes_rgb_and_lossy_or_transparent_images_are_refused(tmp_path):
    gray = np.arange(64, dtype=np.uint8).reshape(8, 8)
    Image.fromarray(gray).save(tmp_path / "gray.png")
    chw = images.load_uint8_chw(tmp_path / "gray.png")
    assert chw.shape == (3, 8, 8) and (chw == gray).all()
    Image.fromarray(gray).convert("RGB").save(tmp_path / "photo.jpg")
    with pytest.raises(ValueError, match="expected a PNG"):
        images.load_uint8_chw(tmp_path / "photo.jpg")
    rgba = np.zeros((8, 8, 4), np.uint8)
    Image.fromarray(rgba).save(tmp_path / "clear.png")
    with pytest.raises(ValueError, match="transparent"):
        images.load_uint8_chw(tmp_path / "clear.png")
