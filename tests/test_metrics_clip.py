"""CLIP score (per-pair clamp, end-of-text kept on truncation), the weights CLI, and score_set."""
from __future__ import annotations

import numpy as np
import open_clip
import pytest
import torch

from sentinel.metrics import clip_score as clip
from sentinel.metrics import compute, fid, weights
from sentinel.metrics.compute import score_set
from sentinel.images import load_rgb
from sentinel.provenance import sha256_file

pytest_plugins = ["metrics_fixtures"]  # session fixtures shared with test_metrics_fid.py

CLIP_ARCH = weights.SMOKE_CLIP_ARCH  # the smoke weights' arch, as metrics_fixtures writes them
EOT = 49407
LONG = "a watercolour painting of " + "a very small red fox and " * 20 + "the moon"


def test_per_pair_clamp_differs_from_clamping_the_mean():
    img = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    txt = np.array([[0.5, np.sqrt(0.75)], [-0.3, np.sqrt(0.91)], [0.1, np.sqrt(0.99)]]) * 7.0  # cos .5, -.3, .1
    per = clip.clip_scores_from_embeddings(img, txt)
    np.testing.assert_allclose(per, [50.0, 0.0, 10.0], rtol=1e-12)
    assert per.mean() == pytest.approx(20.0)
    assert max(np.mean([50.0, -30.0, 10.0]), 0.0) == pytest.approx(10.0)  # torchmetrics' clamp of the mean


def test_truncation_keeps_end_of_text_and_is_counted():
    tokenizer = open_clip.get_tokenizer(CLIP_ARCH)
    exact = " ".join(["cat"] * 75)  # start + 75 + end = 77 tokens: fits exactly
    prompts = [LONG, "a photo of a cat", exact, exact + " cat"]
    tokens, truncated = clip.tokenize(prompts, CLIP_ARCH)
    assert tokens.shape == (4, 77) and tokenizer.eot_token_id == EOT
    last_nonzero = [int(row[row.nonzero().max()]) for row in tokens]
    assert last_nonzero == [EOT] * 4
    assert truncated.tolist() == [True, False, False, True]
    # EOT is where CLIP pools: slicing ids without it changes the text embedding's pooling position.
    naive = torch.tensor([tokenizer.sot_token_id] + tokenizer.encode(LONG))[:77]
    assert EOT not in naive.tolist()


def test_clip_weights_load_offline_and_match_the_seeded_init(clip_weights):
    model, _, _ = open_clip.create_model_and_transforms(CLIP_ARCH, pretrained=str(clip_weights))
    again = weights.clip_state_dict(CLIP_ARCH, seed=0)
    loaded = model.state_dict()
    assert loaded.keys() == again.keys()
    assert all(torch.equal(loaded[k], again[k]) for k in ("visual.conv1.weight", "text_projection", "logit_scale"))


def test_weights_cli_skips_files_with_expected_content(smoke_weights, capsys):
    assert weights.main(["--out", str(smoke_weights["dir"])]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and all(line.endswith("(unchanged)") for line in lines), lines
    for line, key in zip(lines, ("inception", "clip", "dinov2")):  # dinov2: FD-DINOv2's tiny14 smoke file
        assert f"sha256={sha256_file(smoke_weights[key])}" in line and str(smoke_weights[key]) in line


def test_clip_score_matches_manual_cosine_and_is_in_range(image_sets, clip_weights):
    paths = image_sets["faces_a"][:4] + image_sets["uniform_noise"][:2]
    prompts = ["a photo of a face", "a portrait", LONG, "noise", "a cat", "grey static"]
    kwargs = dict(arch=CLIP_ARCH, weights_path=clip_weights, batch_size=4)
    raw = clip.scaled_cosines(clip.clip_image_embeddings(paths, **kwargs), clip.clip_text_embeddings(prompts, **kwargs))
    got = clip.clip_score(paths, prompts, **kwargs)
    model, _, preprocess = open_clip.create_model_and_transforms(CLIP_ARCH, pretrained=str(clip_weights))
    model.eval()
    tokenizer = open_clip.get_tokenizer(CLIP_ARCH)
    with torch.no_grad():
        img = model.encode_image(torch.stack([preprocess(load_rgb(p)) for p in paths]))
        txt = model.encode_text(tokenizer(prompts))
    manual = (100 * torch.nn.functional.cosine_similarity(img, txt)).double().numpy()
    # Random weights give cosines of a few percent, mostly negative: compare before the clamp too.
    assert np.abs(manual).max() > 0.5
    np.testing.assert_allclose(raw, manual, atol=1e-3)
    np.testing.assert_allclose(got["clip_score_per_image"], np.maximum(manual, 0), atol=1e-3)
    assert got["clip_score"] == pytest.approx(np.maximum(manual, 0).mean(), abs=1e-3)
    assert got["prompts_truncated"] == 1
    assert all(np.isfinite(s) and 0 <= s <= 100 for s in got["clip_score_per_image"])


def test_clip_score_refuses_mismatched_pairs_and_missing_weights(image_sets, clip_weights, tmp_path):
    with pytest.raises(ValueError, match="2 images, 1 prompts"):
        clip.clip_score(image_sets["faces_a"][:2], ["x"], arch=CLIP_ARCH, weights_path=clip_weights, batch_size=2)
    missing = tmp_path / "clip.pt"
    with pytest.raises(FileNotFoundError) as err:
        clip.clip_score(image_sets["faces_a"][:1], ["x"], arch=CLIP_ARCH, weights_path=missing, batch_size=1)
    assert str(missing) in str(err.value) and "python -m sentinel.metrics.weights --out weights/" in str(err.value)


def test_score_set_reuses_cached_features_and_matches_the_parts(image_sets, features, feature_cache,
                                                                  inception_weights, clip_weights):
    gen, ref = image_sets["faces_b_noise8"][:8], image_sets["faces_a"]
    prompts = [f"a face, number {i}" for i in range(7)] + [LONG]
    kwargs = dict(inception_weights=str(inception_weights), clip_arch=CLIP_ARCH, clip_weights=str(clip_weights),
                  batch_size=4, kid_subset_size=5, kid_subsets=10, seed=0)
    before = feature_cache.computed  # Inception features of both sets are already cached by `features`
    result = score_set(gen, prompts, ref, cache=feature_cache, **kwargs)
    # Inception rows of both sets are cached; CLIP needs 8 generated + 30 reference images (CMMD) + 8 prompts
    assert feature_cache.computed - before == 8 + 30 + 8
    assert set(result) == {"fid", "kid", "kid_subsets_mean", "kid_subsets_std", "kid_subsets_seed", "clip_score",
                           "clip_score_per_image", "cmmd", "ci", "ci_level", "bootstrap_samples", "n_generated",
                           "n_reference", "prompts_truncated"}
    assert (result["n_generated"], result["n_reference"], result["prompts_truncated"]) == (8, 30, 1)
    assert result["fid"] == pytest.approx(fid.fid_from_features(features["faces_b_noise8"][:8], features["faces_a"]))
    # the subset KID is torch-fidelity's own, on its own RandomState stream (rng_seed = kid_subsets_seed)
    from torch_fidelity.metric_kid import kid_features_to_metric

    f64 = lambda a: torch.from_numpy(np.asarray(a, np.float64))  # noqa: E731 (both in float64, as ours)
    tf = kid_features_to_metric(f64(features["faces_b_noise8"][:8]), f64(features["faces_a"]), kid_subsets=10,
                                kid_subset_size=5, rng_seed=result["kid_subsets_seed"], verbose=False)
    assert (result["kid_subsets_mean"], result["kid_subsets_std"]) == pytest.approx(
        (tf["kernel_inception_distance_mean"], tf["kernel_inception_distance_std"]), rel=1e-10)
    clip_direct = clip.clip_score(gen, prompts, arch=CLIP_ARCH, weights_path=clip_weights, batch_size=3)
    assert result["clip_score_per_image"] == pytest.approx(clip_direct["clip_score_per_image"], abs=1e-4)
    again = score_set(gen[:6], prompts[:6], ref, cache=feature_cache, **kwargs)  # a "category": all cached
    assert feature_cache.computed - before == 46 and again["n_generated"] == 6


def test_score_set_errors_name_the_numbers(image_sets, features, feature_cache, inception_weights, clip_weights):
    kwargs = dict(inception_weights=str(inception_weights), clip_arch=CLIP_ARCH, clip_weights=str(clip_weights),
                  batch_size=4, kid_subsets=2, seed=0, cache=feature_cache)
    with pytest.raises(ValueError, match=r"generated: 3, reference: 30"):
        score_set(image_sets["faces_a"][:3], ["p"] * 3, image_sets["faces_b"], kid_subset_size=4, **kwargs)
    with pytest.raises(ValueError, match="at least 2 images per set: generated 1"):
        score_set(image_sets["faces_a"][:1], ["p"], image_sets["faces_b"], kid_subset_size=1, **kwargs)


def test_convention_records_both_networks(inception_weights, clip_weights):
    conv = compute.convention(str(inception_weights), CLIP_ARCH, str(clip_weights))
    assert conv["fid_kid"]["weights_sha256"] == sha256_file(inception_weights)
    assert conv["clip_score"]["weights_sha256"] == sha256_file(clip_weights)
    assert conv["clip_score"]["weights_file"] == "clip-ViT-B-32-smoke.pt"
    assert "clamp per pair" in conv["clip_score"]["definition"]
