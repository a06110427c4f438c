"""Video metrics (sentinel.video) against cd-fvd, closed forms and synthetic clips with known answers.

Clips are built here from a seeded smooth random texture (Gaussian-filtered noise, 64 x 64), so
every expected value is known by construction: a static clip, alternating black/white frames, a
segment played twice, and a window sliding over the texture at a known speed and direction.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from sentinel.video import consistency, flicker, fvd, frozen, motion, smoothness, summary
from sentinel.video.clips import as_clip
from sentinel.video.per_clip import score_clip

H = W = 64


@pytest.fixture(scope="module")
def texture() -> np.ndarray:
    noise = np.random.default_rng(0).normal(size=(H + 16, 240))
    tex = gaussian_filter(noise, 3.0)
    return (tex - tex.min()) / (tex.max() - tex.min()) * 255.0


def sliding(texture: np.ndarray, dx: int, frames: int = 16, start: int = 100) -> np.ndarray:
    """A window moving over the texture so that the content moves by +dx px per frame (right if dx > 0)."""
    crops = [texture[8:8 + H, start - dx * t:start - dx * t + W] for t in range(frames)]
    grey = np.stack(crops).round().astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


# --- FVD ----------------------------------------------------------------------------------------

def _exact_moments(z: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Rows whose sample mean is exactly mu and population (1/n) covariance exactly sigma."""
    z = z - z.mean(axis=0)
    w, v = np.linalg.eigh(np.cov(z, rowvar=False, ddof=0))
    white = z @ v @ np.diag(w ** -0.5) @ v.T
    wl, vl = np.linalg.eigh(sigma)
    return white @ (vl * np.sqrt(wl)) @ vl.T + mu


def test_fvd_equals_the_closed_form_on_gaussians_with_known_moments():
    rng = np.random.default_rng(1)
    d = 6
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    a, b = rng.uniform(0.5, 4.0, d), rng.uniform(0.1, 9.0, d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    sigma1, sigma2 = q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T  # commuting: (S1 S2)^½ = Q diag(√(ab)) Qᵀ
    expected = float(np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2))
    x1 = _exact_moments(rng.normal(size=(400, d)), mu1, sigma1)
    x2 = _exact_moments(rng.normal(size=(300, d)), mu2, sigma2)
    assert fvd.fvd_from_features(x1, x2) == pytest.approx(expected, rel=1e-9)
    assert fvd.fvd_from_stats(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-9)
    m, s = fvd.feature_stats(x1)  # cd-fvd's 1/n covariance, not FID's 1/(n-1)
    np.testing.assert_allclose(s, sigma1, atol=1e-9)
    assert fvd.fvd_from_features(x1, x1) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("n_real,n_fake,d", [(300, 200, 16), (40, 30, 64)])  # full rank; n < d
def test_fvd_matches_cd_fvd_on_the_same_features(n_real, n_fake, d):
    from cdfvd.fvd import cdfvd
    from cdfvd.utils.metric_utils import FeatureStats

    rng = np.random.default_rng(n_real)
    real = rng.normal(size=(n_real, d)).astype(np.float32)
    fake = (rng.normal(size=(n_fake, d)) * rng.uniform(0.5, 2.0, d) + 0.3).astype(np.float32)
    stats = {}
    for name, x in (("real", real), ("fake", fake)):
        stats[name] = FeatureStats(capture_mean_cov=True)
        for chunk in np.array_split(x, 3):  # cd-fvd accumulates batch by batch
            stats[name].append(chunk)
    # compute_fvd_from_stats never touches `self` when both stats are given, so no network is built.
    reference = float(cdfvd.compute_fvd_from_stats(None, fake_stats=stats["fake"], real_stats=stats["real"]))
    ours = fvd.fvd_from_features(real, fake)
    assert ours == pytest.approx(reference, rel=1e-6 if n_real < d else 1e-9)


def test_fvd_interval_holds_the_point_and_ignores_row_order():
    rng = np.random.default_rng(3)
    real, fake = rng.normal(size=(24, 8)), rng.normal(size=(20, 8)) + 0.5
    rid, fid_ = [f"r{i:02d}" for i in range(24)], [f"g{i:02d}" for i in range(20)]
    out = fvd.fvd_interval(real, fake, real_ids=rid, fake_ids=fid_, level=0.95, reps=20)
    assert out["ci"][0] <= out["fvd"] <= out["ci"][1] and out["n_real"] == 24 and out["n_fake"] == 20
    p, q = rng.permutation(24), rng.permutation(20)
    again = fvd.fvd_interval(real[p], fake[q], real_ids=[rid[i] for i in p], fake_ids=[fid_[i] for i in q],
                             level=0.95, reps=20)
    assert again["fvd"] == pytest.approx(out["fvd"], rel=1e-12) and again["ci"] == pytest.approx(out["ci"], rel=1e-12)
    with pytest.raises(ValueError, match="feature widths differ"):
        fvd.fvd_from_features(real, fake[:, :4])


def test_tiny_encoder_is_pinned_deterministic_and_sees_temporal_corruption(tmp_path, texture):
    from sentinel.video.tiny_encoder import TinyVideoEncoder, make_tiny_weights

    path = tmp_path / "tiny.pt"
    digest = make_tiny_weights(path, seed=0)
    assert make_tiny_weights(tmp_path / "again.pt", seed=0) == digest  # byte-identical for a seed
    with pytest.raises(ValueError, match="does not match the pinned"):
        TinyVideoEncoder(path, "0" * 64)
    enc = TinyVideoEncoder(path, digest)
    clips = np.stack([sliding(texture, dx, frames=8, start=100 + 10 * k) for k, dx in enumerate([1, 2, 3, 1, 2, 3])])
    shuffled = clips[:, np.random.default_rng(0).permutation(8)]  # same frames, wrong order
    f, g = enc.features(clips), enc.features(shuffled)
    assert f.shape == (6, 64) and f.dtype == np.float32
    np.testing.assert_array_equal(f, enc.features(clips))
    assert fvd.fvd_from_features(f, f) == pytest.approx(0.0, abs=1e-9)
    assert fvd.fvd_from_features(f, g) > 1e-3
    assert enc.convention()["plumbing"] is True


def test_cdfvd_encoder_refuses_an_unpinned_or_wrong_file(tmp_path):
    from sentinel.video.encoders import CdfvdEncoder

    path = tmp_path / "i3d.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="no sha256 pin"):
        CdfvdEncoder("i3d", path, "")
    with pytest.raises(ValueError, match="does not match the pinned"):
        CdfvdEncoder("i3d", path, "ab" * 32)
    with pytest.raises(FileNotFoundError, match="weights file not found"):
        CdfvdEncoder("videomae", tmp_path / "missing.pth", "ab" * 32)
    with pytest.raises(ValueError, match="unknown video encoder"):
        CdfvdEncoder("raft", path, "ab" * 32)


@pytest.mark.slow
def test_cdfvd_i3d_encoder_gives_cd_fvds_own_features(tmp_path):
    """Our loader + cd-fvd's network on a seeded random I3D file == cd-fvd's get_i3d_logits (~10 s on 2 cores)."""
    import torch
    from cdfvd.fvd import get_i3d_logits
    from cdfvd.third_party.i3d.pytorch_i3d import InceptionI3d
    from cdfvd.utils.metric_utils import FeatureStats

    from sentinel.provenance import sha256_file
    from sentinel.video.encoders import CdfvdEncoder

    torch.manual_seed(0)
    net = InceptionI3d(400, in_channels=3).eval()
    path = tmp_path / "i3d-random.pt"
    torch.save(net.state_dict(), path)
    clips = np.random.default_rng(0).integers(0, 256, (1, 16, 32, 32, 3), dtype=np.uint8)
    ours = CdfvdEncoder("i3d", path, sha256_file(path)).features(clips)
    stats = get_i3d_logits(FeatureStats(capture_all=True), net, clips, device="cpu")
    np.testing.assert_allclose(ours, stats.get_all(), rtol=1e-5, atol=1e-6)


# --- VBench-style dimensions on clips with a known answer --------------------------------------------

def test_static_clip_has_zero_dynamic_degree_and_is_frozen(texture):
    still = np.repeat(sliding(texture, 0, frames=1), 16, axis=0)
    dyn = motion.dynamic_degree(still, fps=8)
    assert dyn["dynamic"] is False and dyn["pairs_moving"] == 0
    # Farneback is not exactly 0 on identical frames (0.04 px at the borders here), far below the 1.5 px rule.
    assert max(dyn["pair_top_magnitude_px"]) < 0.1 * dyn["threshold_px"]
    flags = frozen.frozen_or_looping(still)
    assert flags["frozen"] is True and flags["looping"] is False
    assert flicker.temporal_flickering(still) == 1.0 and smoothness.motion_smoothness(still) == 1.0
    assert consistency.subject_consistency_from_features(np.ones((16, 5))) == pytest.approx(1.0, abs=1e-12)


def test_alternating_black_white_clip_has_maximal_flicker():
    clip = np.zeros((8, H, W, 3), np.uint8)
    clip[1::2] = 255
    assert flicker.temporal_flickering(clip) == 0.0  # the minimum of the score: maximal flicker
    np.testing.assert_array_equal(flicker.consecutive_mae(clip), np.full(7, 255.0))
    assert flicker.temporal_flickering(clip // 2) == pytest.approx(1 - 127 / 255)  # half the swing


def test_looped_clip_is_flagged_and_its_source_is_not(texture):
    segment = sliding(texture, 2, frames=6)
    looped = np.concatenate([segment, segment, segment[:3]])
    flags = frozen.frozen_or_looping(looped)
    assert flags["looping"] is True and flags["loop_period"] == 6 and flags["loop_start"] == 0
    assert flags["frozen"] is False
    assert frozen.frozen_or_looping(sliding(texture, 2, frames=15))["looping"] is False
    held = np.concatenate([segment, np.repeat(segment[-1:], 6, axis=0)])  # moves, then holds: not a loop
    assert frozen.frozen_or_looping(held)["looping"] is False


def test_smoothly_translating_clip_is_smooth_dynamic_and_flows_the_right_way(texture):
    moving = sliding(texture, 2, frames=16)
    dyn = motion.dynamic_degree(moving, fps=8)
    assert dyn["dynamic"] is True and dyn["threshold_px"] == pytest.approx(1.5)
    dx, dy = dyn["mean_flow_px"]
    assert dx == pytest.approx(2.0, abs=0.2) and abs(dy) < 0.1  # content moves right by 2 px per frame
    assert motion.dynamic_degree(sliding(texture, -2), fps=8)["mean_flow_px"][0] == pytest.approx(-2.0, abs=0.2)
    smooth = smoothness.motion_smoothness(moving)
    jerky = moving[np.random.default_rng(0).permutation(16)]  # the same frames in a random order
    assert smooth > 0.97 and smoothness.motion_smoothness(jerky) < smooth - 0.05
    flags = frozen.frozen_or_looping(moving)
    assert flags["frozen"] is False and flags["looping"] is False


def test_linear_interpolation_predicts_odd_frames_from_even_neighbours():
    clip = np.zeros((5, 8, 8, 3), np.uint8)
    clip[0], clip[2], clip[4] = 10, 21, 200
    mids = smoothness.linear_midframes(clip)
    assert mids.shape == (2, 8, 8, 3) and mids[0, 0, 0, 0] == 16 and mids[1, 0, 0, 0] == 111  # half-up rounding
    clip[1], clip[3] = 16, 111
    assert smoothness.interpolation_error(clip) == 0.0


def test_subject_consistency_follows_vbenchs_formula():
    f = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    # t=1: prev 0, first 0 -> 0; t=2: prev 0, first 1 -> 0.5; mean 0.25. Negative cosines clamp to 0.
    assert consistency.subject_consistency_from_features(f) == pytest.approx(0.25)
    assert consistency.subject_consistency_from_features(np.array([[1.0, 0.0], [-1.0, 0.0]])) == 0.0
    with pytest.raises(ValueError, match="all-zero"):
        consistency.subject_consistency_from_features(np.zeros((3, 2)))


def test_bad_clips_are_refused_with_their_name():
    with pytest.raises(ValueError, match="job-7: expected uint8"):
        as_clip(np.zeros((4, 16, 16, 3), np.float32), where="job-7")
    with pytest.raises(ValueError, match=r"expected shape \(T, H, W, 3\)"):
        as_clip(np.zeros((4, 16, 16), np.uint8))
    with pytest.raises(ValueError, match="at least 2 frames"):
        flicker.temporal_flickering(np.zeros((1, 16, 16, 3), np.uint8))
    with pytest.raises(ValueError, match="fps > 0"):
        motion.dynamic_degree(np.zeros((4, 16, 16, 3), np.uint8), fps=0)


# --- text alignment and the per-model summary ---------------------------------------------------

@pytest.fixture(scope="module")
def clip_weights_file(tmp_path_factory):
    from sentinel.metrics import weights

    path = tmp_path_factory.mktemp("video-clip") / weights.clip_smoke_file(weights.SMOKE_CLIP_ARCH)
    weights.make_clip_weights(path, weights.SMOKE_CLIP_ARCH, seed=0)
    return path


@pytest.mark.slow  # builds and runs a random ViT-B-32: ~30 s of CPU on 2 cores, more under load
def test_frame_clip_score_is_the_image_scorer_averaged_over_frames(tmp_path, texture, clip_weights_file):
    from PIL import Image

    from sentinel.metrics import clip_score
    from sentinel.metrics.weights import SMOKE_CLIP_ARCH
    from sentinel.video import text_alignment

    frames = sliding(texture, 3, frames=4)
    frames[2, :, :, 0] = 0  # make the frames' scores differ
    paths = []
    for i, frame in enumerate(frames):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(frame).save(paths[-1])
    prompt = "a grey marble texture sliding to the right " + "very slowly " * 40  # > 77 tokens
    kwargs = dict(arch=SMOKE_CLIP_ARCH, weights_path=clip_weights_file, batch_size=4)
    ours = text_alignment.clip_score_over_frames(frames, prompt, **kwargs)
    image = clip_score.clip_score(paths, [prompt] * 4, **kwargs)
    np.testing.assert_allclose(ours["clip_score_per_frame"], image["clip_score_per_image"], rtol=1e-5, atol=1e-5)
    assert ours["clip_score"] == pytest.approx(np.mean(image["clip_score_per_image"]), rel=1e-5, abs=1e-5)
    assert ours["prompt_truncated"] is True and image["prompts_truncated"] == 4
    encoder = text_alignment.clip_frame_encoder(**kwargs)
    assert consistency.subject_consistency(np.repeat(frames[:1], 4, axis=0), encoder) == pytest.approx(1.0, abs=1e-6)


def test_per_model_summary_has_wilson_rates_and_bootstrap_means(texture):
    clips = {"a": sliding(texture, 2, frames=8), "b": sliding(texture, 3, frames=8, start=150),
             "c": np.repeat(sliding(texture, 0, frames=1), 8, axis=0)}
    rows = {cid: score_clip(c, fps=8, frame_encoder=lambda x: x.reshape(len(x), -1).astype(np.float64) + 1.0,
                            where=cid) for cid, c in clips.items()}
    out = summary.summarise(rows, level=0.95, draws=200)
    assert out["dynamic_degree"]["value"] == pytest.approx(2 / 3) and out["dynamic_degree"]["ci_method"] == "wilson"
    assert out["frozen"]["value"] == pytest.approx(1 / 3) and out["looping"]["value"] == 0.0
    sm = out["motion_smoothness"]
    assert sm["n"] == 3 and sm["ci"][0] <= sm["value"] <= sm["ci"][1] and "bootstrap" in sm["ci_method"]
    assert "clip_score" not in out and out["subject_consistency"]["definition"].startswith("mean over t")
    del rows["b"]["subject_consistency"]
    with pytest.raises(ValueError, match="'subject_consistency' is missing for clips"):
        summary.summarise(rows, level=0.95)
