"""Tiny builds of the shipped plug-ins' published formats, random weights made locally, for CI.

Same file format and same loading code as the real checkpoints (hpsv2.py, pickscore.py); only the
network is small. Their numbers are plumbing: they exercise the plug-in path, never judge an image.
"""
from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

import torch

HPSV2_TINY_ARCH = "HPSv2-tiny-test"  # ViT/14 at 224 px like ViT-H-14, two blocks, width 64
_OPEN_CLIP_TINY = {
    HPSV2_TINY_ARCH: {"embed_dim": 32, "vision_cfg": {"image_size": 224, "layers": 2, "width": 64,
                                                      "head_width": 32, "patch_size": 14},
                      "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2}},
}


def register_open_clip_arch(name: str, cfg: dict) -> str:
    """Make `name` an open_clip model config in this process (open_clip.add_model_config of a JSON)."""
    import open_clip

    if open_clip.get_model_config(name) is None:
        folder = Path(tempfile.mkdtemp(prefix="sentinel-open-clip-"))
        (folder / f"{name}.json").write_text(json.dumps(cfg))
        open_clip.add_model_config(folder / f"{name}.json")
    return name


def tiny_hpsv2_arch() -> str:
    return register_open_clip_arch(HPSV2_TINY_ARCH, _OPEN_CLIP_TINY[HPSV2_TINY_ARCH])


def write_tiny_hpsv2(path: str | Path, seed: int = 0) -> Path:
    """A checkpoint in HPSv2's format ({"state_dict": open_clip state dict}) for the tiny arch."""
    import open_clip

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = open_clip.create_model(tiny_hpsv2_arch(), pretrained=None)
    path = Path(path)
    torch.save({"state_dict": model.state_dict()}, path)
    return path


def clip_bpe_files(folder: Path) -> tuple[Path, Path]:
    """vocab.json and merges.txt of CLIP's BPE, derived from the vocabulary open_clip ships offline
    (the construction of open_clip's SimpleTokenizer, written in Hugging Face's CLIPTokenizer files)."""
    from open_clip.tokenizer import bytes_to_unicode, default_bpe

    merges = gzip.open(default_bpe()).read().decode("utf-8").split("\n")[1:49152 - 256 - 2 + 1]
    merges = [tuple(m.split()) for m in merges]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n",
                                       encoding="utf-8")
    return folder / "vocab.json", folder / "merges.txt"


def write_tiny_pickscore(folder: str | Path, seed: int = 0) -> Path:
    """A PickScore-format folder: a tiny random transformers CLIPModel plus a CLIPProcessor with CLIP's
    real tokenizer and the laion ViT-H-14 processor's image settings (224 px, bicubic, CLIP mean/std)."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = CLIPConfig(text_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                                     "num_attention_heads": 2, "max_position_embeddings": 77, "vocab_size": 49408},
                        vision_config={"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                                       "num_attention_heads": 2, "image_size": 224, "patch_size": 14},
                        projection_dim=32)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        CLIPModel(config).save_pretrained(folder)
    with tempfile.TemporaryDirectory() as tmp:
        vocab, merges = clip_bpe_files(Path(tmp))
        tokenizer = CLIPTokenizer(str(vocab), str(merges))
        image = CLIPImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224},
                                   resample=3, do_center_crop=True, do_normalize=True)
        CLIPProcessor(image_processor=image, tokenizer=tokenizer).save_pretrained(folder)
    return folder
