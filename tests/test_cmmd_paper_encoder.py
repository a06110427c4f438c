"""CMMD with the paper's encoder (score.cmmd_clip_arch: CLIP ViT-L/14 at 336 px), for comparability.

The full ViT-L-14-336 (428 M parameters, ~1.7 GB of random weights) is too big to build and save in
CI, so: its architecture and preprocessing size are checked on the meta device (no memory), and the
option's whole path (registry.active -> the `cmmd_clip` extractor -> open_clip loading a local
checkpoint -> CMMD) runs on a tiny ViT/14 at 336 px with a locally built random checkpoint, against
CMMD computed directly from that encoder's embeddings. CLIP score keeps score.clip_arch.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from sentinel.metrics import cmmd, registry
from sentinel.metrics.plugins.tiny import register_open_clip_arch

pytest_plugins = ["metrics_fixtures"]
TINY_336 = "ViT-14-336-tiny-test"
TINY_CFG = {"embed_dim": 32, "quick_gelu": True,
            "vision_cfg": {"image_size": 336, "layers": 2, "width": 64, "head_width": 32, "patch_size": 14},
            "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2}}


def test_the_paper_arch_is_vit_l_14_at_336_px_with_a_336_px_transform():
    import open_clip

    model, _, preprocess = open_clip.create_model_and_transforms("ViT-L-14-336-quickgelu", pretrained=None,
                                                                 device="meta")
    assert model.visual.image_size == (336, 336) and tuple(model.visual.conv1.weight.shape) == (1024, 3, 14, 14)
    assert len(model.visual.transformer.resblocks) == 24
    assert sum(p.numel() for p in model.parameters()) == 427_944_193  # ViT-L/14-336: 428 M
    sizes = [t.size for t in preprocess.transforms if type(t).__name__ in ("Resize", "CenterCrop")]
    assert sizes == [336, (336, 336)]


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    import open_clip

    register_open_clip_arch(TINY_336, TINY_CFG)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = open_clip.create_model(TINY_336, pretrained=None)
    path = tmp_path_factory.mktemp("cmmd") / "tiny-336.pt"
    torch.save(model.state_dict(), path)
    return path


@pytest.mark.slow  # two score_set runs (~70 s on two busy cores)
def test_the_option_scores_cmmd_with_its_own_encoder(tmp_path, image_sets, smoke_weights, tiny_checkpoint):
    from sentinel.images import load_rgb
    from sentinel.metrics.clip_score import load_clip
    from sentinel.metrics.compute import FeatureCache, score_set

    gen = [Path(shutil.copy(p, tmp_path / f"g{i}.png")) for i, p in enumerate(image_sets["faces_b_noise32"][:6])]
    ref = [Path(shutil.copy(p, tmp_path / f"r{i}.png")) for i, p in enumerate(image_sets["faces_a"][:6])]
    kw = dict(inception_weights=str(smoke_weights["inception"]), clip_arch="ViT-B-32",
              clip_weights=str(smoke_weights["clip"]), batch_size=8, kid_subset_size=3, kid_subsets=3, seed=0,
              cache=FeatureCache(), bootstrap_samples=30)
    opts = {"cmmd_clip_arch": TINY_336, "cmmd_clip_weights": str(tiny_checkpoint)}
    assert [m.extractor for m in registry.active(opts) if m.name == "cmmd"] == ["cmmd_clip"]
    paper, default = score_set(gen, ["a face"] * 6, ref, options=opts, **kw), score_set(gen, ["a face"] * 6, ref, **kw)

    model, preprocess = load_clip(TINY_336, tiny_checkpoint)
    assert preprocess.transforms[1].size == (336, 336)  # the encoder's own input size

    def embed(paths):
        with torch.inference_mode():
            return model.encode_image(torch.stack([preprocess(load_rgb(p)) for p in sorted(paths)])).numpy()

    assert paper["cmmd"] == pytest.approx(cmmd.cmmd(embed(gen), embed(ref)), rel=1e-6)
    assert paper["cmmd"] != pytest.approx(default["cmmd"], rel=1e-3)
    assert paper["clip_score"] == default["clip_score"]  # CLIP score keeps score.clip_arch
    ci = paper["ci"]["cmmd"]
    assert ci["low"] <= paper["cmmd"] <= ci["high"] and ci["n_generated"] == 6 and np.isfinite(ci["se"])
