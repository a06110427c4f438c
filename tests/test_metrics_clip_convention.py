"""The CLIP convention records architecture, checkpoint sha256, mean/std and resize, and refuses a known
checkpoint paired with the wrong architecture (OpenAI's weights are QuickGELU-trained: `ViT-B-32-quickgelu`).

The table of known checkpoints is re-derived from open_clip's own registry (OpenAI's download URLs carry
the file's sha256, which open_clip and OpenAI's clip package verify) and from the release manifest. The
refusal is shown on locally built checkpoints only: no download.
"""
from __future__ import annotations

import hashlib

import open_clip
import pytest
import torch
import yaml

from conftest import ROOT
from sentinel.errors import WeightsError
from sentinel.metrics import clip_score as clip
from sentinel.metrics import compute

pytest_plugins = ["metrics_fixtures"]


def test_every_openai_checkpoint_in_open_clips_registry_needs_its_quickgelu_arch():
    seen = 0
    for arch in open_clip.pretrained.list_pretrained_models_by_tag("openai"):
        url = open_clip.pretrained.get_pretrained_cfg(arch, "openai")["url"]
        sha = url.rstrip("/").split("/")[-2]
        base = arch.removesuffix("-quickgelu")
        assert clip.KNOWN_CHECKPOINTS[sha][0] == f"{base}-quickgelu", arch
        seen += 1
    assert seen >= 9 and "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af" in clip.KNOWN_CHECKPOINTS


def test_the_release_checkpoint_is_pinned_to_the_release_profiles_arch():
    manifest = yaml.safe_load((ROOT / "conf/weights/release.yaml").read_text())
    profile = yaml.safe_load((ROOT / "conf/score/release.yaml").read_text())
    name = profile["clip_weights"].split("/")[-1]
    sha = next(f["sha256"] for f in manifest["files"] if f["name"] == name)
    assert clip.KNOWN_CHECKPOINTS[sha][0] == profile["clip_arch"] == "ViT-B-32"


def test_a_known_openai_checkpoint_with_the_gelu_arch_is_refused_naming_file_hash_and_arch(tmp_path, monkeypatch,
                                                                                       inception_weights):
    ckpt = tmp_path / "ViT-B-32.pt"  # built here; registered as OpenAI-trained, as a real OpenAI file is
    torch.save({"visual.proj": torch.zeros(768, 512)}, ckpt)
    sha = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    monkeypatch.setitem(clip.KNOWN_CHECKPOINTS, sha, ("ViT-B-32-quickgelu", "OpenAI CLIP ViT-B-32 (trained with QuickGELU)"))
    for call in (lambda: clip.load_clip("ViT-B-32", ckpt),  # before open_clip reads a byte of it
                 lambda: compute.convention(str(inception_weights), "ViT-B-32", str(ckpt))):  # the score stage's
        with pytest.raises(WeightsError) as err:
            call()
        msg = str(err.value)
        assert str(ckpt) in msg and sha in msg and "'ViT-B-32-quickgelu'" in msg and "score.clip_arch" in msg
    assert clip.check_pairing("ViT-B-32-quickgelu", ckpt) == sha
    unknown = tmp_path / "other.pt"
    torch.save({"x": torch.ones(1)}, unknown)
    assert clip.check_pairing("ViT-B-32", unknown)  # not in the table: passes, its hash recorded


def test_the_smoke_checkpoint_is_refused_with_the_quickgelu_arch(clip_weights):
    with pytest.raises(WeightsError, match="needs architecture 'ViT-B-32'"):
        clip.check_pairing("ViT-B-32-quickgelu", clip_weights)


def test_the_convention_records_arch_hash_and_the_transform_open_clip_actually_builds(clip_weights):
    conv = clip.convention("ViT-B-32", clip_weights)
    assert conv["arch"] == "ViT-B-32" and conv["activation"] == "GELU"
    assert conv["weights_sha256"] == hashlib.sha256(clip_weights.read_bytes()).hexdigest()
    assert "seeded smoke CLIP" in conv["checkpoint_check"]
    model, preprocess = clip.load_clip("ViT-B-32", clip_weights)
    built = open_clip.get_model_preprocess_cfg(model)
    pp = conv["preprocess"]
    assert (tuple(pp["size"]), pp["interpolation"], pp["resize_mode"]) == (
        tuple(built["size"]), built["interpolation"], built["resize_mode"])
    assert pp["mean"] == pytest.approx(built["mean"], abs=0) and pp["std"] == pytest.approx(built["std"], abs=0)
    normalise = preprocess.transforms[-1]
    assert list(normalise.mean) == pp["mean"] and list(normalise.std) == pp["std"]
    assert clip.preprocess("ViT-B-32-quickgelu")["quick_gelu"] and clip.preprocess("ViT-L-14-336")["size"] == [336, 336]
