"""FD-DINOv2 with dgm-eval's convention (metrics/dinov2.py, registry `fd_dinov2`).

- The distance equals the closed-form Fréchet distance of Gaussians with known means and covariances
  (features built to have exactly those sample moments) within 1e-9 relative, and dgm-eval's own formula
  (dgm_eval/metrics/fd.py, `compute_FD_with_reps`, restated verbatim below: dgm-eval is not on PyPI, so
  it cannot be installed offline) on the same arrays.
- The network is DINOv2's: the official key names and shapes of ViT-L/14 (against timm's DINOv2
  ViT-L/14, built without weights on the meta device), and the same outputs as timm's ViT on the tiny
  smoke arch at the native 518 px grid; the preprocessing is dgm-eval's (re-derived with PIL and numpy).
- The smoke file is seeded (its sha256 is in validate.SMOKE_SHA256, so the run says plumbing), and the
  score stage's score_set reports fd_dinov2 beside FID with a half-sample CI and n.
"""
from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import linalg

from sentinel.metrics import builtin, dinov2, registry, weights
from sentinel.provenance import sha256_file

pytest_plugins = ["metrics_fixtures"]


# --- dgm-eval's formula, verbatim from dgm_eval/metrics/fd.py (layer6ai-labs/dgm-eval) -----------------
def compute_statistics(reps):
    mu = np.mean(reps, axis=0)
    sigma = np.cov(reps, rowvar=False)
    mu = np.atleast_1d(mu)
    sigma = np.atleast_2d(sigma)
    return mu, sigma


def compute_FD_with_stats(mu1, mu2, sigma1, sigma2, eps=1e-6):  # noqa: N802 - dgm-eval's name
    assert mu1.shape == mu2.shape
    assert sigma1.shape == sigma2.shape
    diff = mu1 - mu2
    with warnings.catch_warnings():  # scipy 1.17 deprecates `disp`; dgm-eval passes it
        warnings.simplefilter("ignore", DeprecationWarning)
        covmean, _ = linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            m = np.max(np.abs(covmean.imag))
            raise ValueError('Imaginary component {}'.format(m))
        covmean = covmean.real
    tr_covmean = np.trace(covmean)
    mean_term = diff.dot(diff)
    tr1, tr2 = np.trace(sigma1), np.trace(sigma2)
    cov_term = tr1 + tr2 - 2 * tr_covmean
    return mean_term + cov_term


def compute_FD_with_reps(reps1, reps2, eps=1e-6):  # noqa: N802
    mu1, sigma1 = compute_statistics(reps1)
    mu2, sigma2 = compute_statistics(reps2)
    return compute_FD_with_stats(mu1, mu2, sigma1, sigma2, eps=eps)
# ---------------------------------------------------------------------------------------------------


def _with_moments(rng, n: int, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """n rows whose sample mean is exactly `mu` and sample covariance (ddof 1) exactly `sigma`."""
    z = rng.standard_normal((n, len(mu)))
    z -= z.mean(axis=0)
    w, v = np.linalg.eigh(np.cov(z, rowvar=False))
    white = z @ v @ np.diag(w ** -0.5) @ v.T
    w2, v2 = np.linalg.eigh(sigma)
    return white @ (v2 @ np.diag(np.sqrt(w2)) @ v2.T) + mu


def _inputs(gen: np.ndarray, ref: np.ndarray) -> registry.Inputs:
    keys = [f"m/{i}.png" for i in range(len(gen))] + [f"ref:c/{i}.png" for i in range(len(ref))]
    return registry.Inputs(gen={"dinov2": gen}, ref={"dinov2": ref}, prompts=[""] * len(gen),
                           settings={"seed": 0, "keys": keys, "interval_reps": 50})


def test_fd_equals_the_closed_form_and_dgm_evals_formula_on_gaussians_with_known_moments():
    rng = np.random.default_rng(7)
    d, n, m = 24, 300, 260
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))  # shared eigenvectors: the closed form is exact
    a, b = rng.uniform(0.2, 3.0, d), rng.uniform(0.2, 3.0, d)
    mu1, mu2 = rng.normal(0, 1, d), rng.normal(0.5, 1, d)
    s1, s2 = q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T
    gen, ref = _with_moments(rng, n, mu1, s1), _with_moments(rng, m, mu2, s2)
    closed = float(np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2))
    ours = builtin.fd_dinov2_point(_inputs(gen, ref))
    assert ours == pytest.approx(closed, rel=1e-9)
    assert ours == pytest.approx(compute_FD_with_reps(gen, ref), rel=1e-9)


def test_fd_equals_dgm_evals_formula_on_general_covariances():
    """Non-commuting covariances (no closed form): dgm-eval's sqrtm form on the same arrays, to 1e-9.

    On float32 features (what both store) dgm-eval takes np.mean in float32, so its mean term carries
    float32 rounding; we accumulate in float64. The two then agree to ~1e-7, not 1e-9."""
    rng = np.random.default_rng(11)
    d = 32
    l1, l2 = rng.standard_normal((d, d)), rng.standard_normal((d, d))
    gen = rng.standard_normal((400, d)) @ l1 * 0.3 + 1.0
    ref = rng.standard_normal((350, d)) @ l2 * 0.3
    assert builtin.fd_dinov2_point(_inputs(gen, ref)) == pytest.approx(compute_FD_with_reps(gen, ref), rel=1e-9)
    g32, r32 = gen.astype(np.float32), ref.astype(np.float32)
    exact = compute_FD_with_reps(g32.astype(np.float64), r32.astype(np.float64))
    assert builtin.fd_dinov2_point(_inputs(g32, r32)) == pytest.approx(exact, rel=1e-9)
    assert compute_FD_with_reps(g32, r32) == pytest.approx(exact, rel=1e-6)


def test_the_interval_is_fids_half_sample_method_and_brackets_the_point():
    rng = np.random.default_rng(3)
    gen, ref = rng.normal(0.3, 1, (40, 8)), rng.normal(0, 1, (36, 8))
    x = _inputs(gen, ref)
    ci = builtin.fd_dinov2_interval(x, 0.95)
    assert ci["low"] <= builtin.fd_dinov2_point(x) <= ci["high"] and ci["se"] > 0
    assert "half" in ci["ci_method"].lower()
    assert builtin.fd_dinov2_interval(_inputs(gen[:3], ref), 0.95)["low"] is None  # < 4 a side: none


def test_vitl14_has_the_official_checkpoint_keys_and_shapes():
    """Against timm's DINOv2 ViT-L/14 (same key names as facebookresearch's, less mask_token), on meta."""
    import timm

    with torch.device("meta"):
        ours = dinov2.DinoV2(dinov2.ARCHS["vitl14"]).state_dict()
        ref = timm.create_model("vit_large_patch14_dinov2.lvd142m", pretrained=False, num_classes=0).state_dict()
    assert set(ours) == set(ref) | {"mask_token"}
    assert {k: tuple(v.shape) for k, v in ref.items()} == {k: tuple(ours[k].shape) for k in ref}
    assert tuple(ours["pos_embed"].shape) == (1, 37 * 37 + 1, 1024) and tuple(ours["mask_token"].shape) == (1, 1024)
    assert sum(v.numel() for v in ours.values()) == pytest.approx(304.4e6, rel=1e-3)  # ViT-L/14: 304 M


def test_the_network_matches_timms_vit_at_the_native_grid(smoke_weights):
    """Same weights, same 518 px input (no position resize): our forward equals timm's ViT (CLS after norm)."""
    from timm.models.vision_transformer import VisionTransformer

    arch = dinov2.ARCHS["tiny14"]
    sd = torch.load(smoke_weights["dinov2"], weights_only=True)
    ours = dinov2.load("tiny14", smoke_weights["dinov2"])
    ref = VisionTransformer(img_size=518, patch_size=14, embed_dim=arch.embed_dim, depth=arch.depth,
                            num_heads=arch.num_heads, init_values=1.0, num_classes=0, global_pool="token").eval()
    ref.load_state_dict({k: v for k, v in sd.items() if k != "mask_token"}, strict=True)
    x = torch.randn(2, 3, 518, 518, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        assert torch.allclose(ours(x), ref(x), atol=1e-5, rtol=1e-5)
        small = ours(x[:, :, :224, :224])
    assert small.shape == (2, arch.embed_dim)  # 224 px: the 37x37 grid resized to 16x16


def test_preprocessing_is_dgm_evals_bicubic_224_and_imagenet_stats():
    from PIL import Image

    img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 80, 3), dtype=np.uint8))
    expected = np.asarray(img.resize((224, 224), Image.BICUBIC), np.float32) / 255.0
    expected = (expected - np.array(dinov2.MEAN)) / np.array(dinov2.STD)
    got = dinov2.preprocess(img).numpy().transpose(1, 2, 0)
    assert got.shape == (224, 224, 3) and np.abs(got - expected).max() < 1e-5


def test_the_smoke_file_is_seeded_and_recognised_as_plumbing(smoke_weights, tmp_path):
    from sentinel import validate

    digest = sha256_file(smoke_weights["dinov2"])
    again = weights._write_if_changed(tmp_path / "again.pt", weights._serialise(dinov2.smoke_state_dict(0)))[0]
    assert digest == again and "DINOv2 tiny14" in validate.SMOKE_SHA256[digest]

    class Sc:
        profile, inception_weights, clip_weights, cmmd_clip_weights = "release", "", "", ""
        dinov2_weights = str(smoke_weights["dinov2"])

    assert any(r.startswith("score.dinov2_weights:") for r in validate.smoke_weight_reasons(Sc()))


def test_a_checkpoint_in_another_format_is_refused_naming_the_key(tmp_path, smoke_weights):
    sd = torch.load(smoke_weights["dinov2"], weights_only=True)
    sd["backbone.cls_token"] = sd.pop("cls_token")  # e.g. a training checkpoint's prefixed keys
    torch.save(sd, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="score.dinov2_weights: .*other.pt is not a DINOv2 tiny14 checkpoint"):
        dinov2.load("tiny14", tmp_path / "other.pt")
    with pytest.raises(ValueError, match="score.dinov2_arch: unknown DINOv2 arch 'vith14'"):
        dinov2.arch("vith14")


@pytest.mark.slow  # two score_set runs with the smoke CLIP (~1-2 min on two busy cores)
def test_score_set_reports_fd_dinov2_beside_fid_with_a_ci_and_n(tmp_path, image_sets, smoke_weights):
    from sentinel.metrics.compute import FeatureCache, score_set

    def copy(name, k):
        return [Path(shutil.copy(p, tmp_path / f"{name}{i}.png")) for i, p in enumerate(image_sets[name][:k])]

    ref, faces, noise = copy("faces_a", 8), copy("faces_b", 8), copy("uniform_noise", 8)
    opts = {"dinov2_arch": "tiny14", "dinov2_weights": str(smoke_weights["dinov2"])}
    kw = dict(inception_weights=str(smoke_weights["inception"]), clip_arch="ViT-B-32",
              clip_weights=str(smoke_weights["clip"]), batch_size=8, kid_subset_size=4, kid_subsets=3, seed=0,
              cache=FeatureCache(), bootstrap_samples=40)
    near = score_set(faces, ["a face"] * 8, ref, options=opts, **kw)
    far = score_set(noise, ["a face"] * 8, ref, options=opts, **kw)
    assert list(near).index("fd_dinov2") == list(near).index("fid") + 1  # beside FID, in registry order
    ci = near["ci"]["fd_dinov2"]
    assert ci["low"] <= near["fd_dinov2"] <= ci["high"] and (ci["n_generated"], ci["n_reference"]) == (8, 8)
    assert far["fd_dinov2"] > 2 * near["fd_dinov2"]  # noise is farther from faces than faces are
    assert "fd_dinov2" not in [m.name for m in registry.active({})]  # off without score.dinov2_weights


def test_the_restated_arch_names_are_the_networks_and_a_bad_one_is_a_config_error(smoke_params):
    from sentinel import config, validate

    assert validate.DINOV2_ARCHS == tuple(dinov2.ARCHS)
    sc = config.build(config.ScoreConfig, {**smoke_params["score"], "dinov2_arch": "vitx14"}, "score")
    assert any(p.startswith("score.dinov2_arch:") and "vitx14" in p for p in validate.problems({"score": sc}))
