"""HPSv2 (Human Preference Score v2, tgxs002/HPSv2) from its published checkpoint, offline.

Published format: `HPS_v2.1_compressed.pt` (or v2.0), a torch file `{"state_dict": <open_clip ViT-H-14
state dict>}`; HPSv2 builds open_clip `ViT-H-14` and calls `model.load_state_dict(ckpt["state_dict"])`.
Its score (hpsv2/img_score.py) for a pair is `image_features @ text_features.T` on the diagonal: the
cosine of open_clip's L2-normalised image and text features (no logit scale), image through open_clip's
eval transform for the arch (224 px bicubic resize, centre crop, CLIP mean/std), prompt through
open_clip's tokenizer for the arch (77 tokens). Higher is better; typical values 0.2-0.35.
We load with `torch.load(weights_only=True)` (tensors only) and strict key matching; the arch is a
parameter only so the tiny build (plugins/tiny.py) runs the same code on a small open_clip config.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

ARCH = "ViT-H-14"
CONVENTION = ("HPSv2: cosine of open_clip ViT-H-14 image and text features (HPSv2's img_score.py), "
              "checkpoint {'state_dict'} loaded strictly, open_clip eval transform, fp32 on CPU")


def load(path: str | Path, arch: str = ARCH, device: str = "cpu", batch_size: int = 16):
    """scorer(images, prompts) -> per-pair HPSv2 scores, from a checkpoint in HPSv2's format."""
    import open_clip

    ckpt = torch.load(Path(path), map_location="cpu", weights_only=True)
    state = ckpt["state_dict"] if isinstance(ckpt, dict) and "state_dict" in ckpt else ckpt
    model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=None, device="cpu")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(f"hpsv2: {path} is not an open_clip {arch} checkpoint in HPSv2's format: {err}") from err
    model = model.eval().to(device)
    tokenizer = open_clip.get_tokenizer(arch)

    def score(images, prompts) -> list[float]:
        out = []
        for i in range(0, len(images), batch_size):
            imgs = torch.stack([preprocess(im) for im in images[i:i + batch_size]]).to(device)
            text = tokenizer(list(prompts[i:i + batch_size])).to(device)
            with torch.inference_mode():
                feats = model(imgs, text)
                img_f, txt_f = (feats["image_features"], feats["text_features"]) if isinstance(feats, dict) \
                    else feats[:2]
                out.append(torch.diagonal(img_f @ txt_f.T).float().cpu().numpy())
        return np.concatenate(out).astype(np.float64).tolist()

    return score
