"""PickScore (yuvalkirstain/PickScore_v1) from a local transformers folder, offline.

Published format: a transformers `CLIPModel` folder (config.json + weights; `PickScore_v1` on the hub)
whose processor is the one of `laion/CLIP-ViT-H-14-laion2B-s32B-b79K`. Our local layout is one folder,
`<score.preference_weights_dir>/PickScore_v1/`, holding the model's files and the processor's
(preprocessor_config.json, tokenizer files): copy both hub folders' files into it.
Its score (the PickScore README) for a pair is `logit_scale.exp() * cos(image_embeds, text_embeds)`,
image through the CLIPProcessor (224 px bicubic shortest-edge resize, centre crop, CLIP mean/std),
prompt padded/truncated to 77 tokens. Higher is better; typical values ~18-23.
Loaded with `local_files_only=True`: nothing is fetched.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

CONVENTION = ("PickScore: logit_scale.exp() * cosine of CLIPModel image and text embeddings (the PickScore "
              "README), CLIPProcessor of the folder, text truncated at 77 tokens, fp32 on CPU")


def _embeds(out) -> torch.Tensor:
    """get_*_features returns a tensor (transformers 4) or an output with the projected pooler (5)."""
    return out if isinstance(out, torch.Tensor) else out.pooler_output


def load(path: str | Path, device: str = "cpu", batch_size: int = 16):
    """scorer(images, prompts) -> per-pair PickScore values, from a CLIPModel + CLIPProcessor folder."""
    from transformers import CLIPModel, CLIPProcessor

    folder = Path(path)
    if not (folder / "config.json").is_file():
        raise ValueError(f"pickscore: {folder} is not a transformers CLIPModel folder (no config.json)")
    processor = CLIPProcessor.from_pretrained(folder, local_files_only=True)
    model = CLIPModel.from_pretrained(folder, local_files_only=True).eval().to(device)

    def score(images, prompts) -> list[float]:
        out = []
        for i in range(0, len(images), batch_size):
            img = processor(images=list(images[i:i + batch_size]), return_tensors="pt")
            txt = processor(text=list(prompts[i:i + batch_size]), padding=True, truncation=True, max_length=77,
                            return_tensors="pt")
            with torch.inference_mode():
                ie = _embeds(model.get_image_features(pixel_values=img["pixel_values"].to(device)))
                te = _embeds(model.get_text_features(input_ids=txt["input_ids"].to(device),
                                                     attention_mask=txt["attention_mask"].to(device)))
                ie, te = ie / ie.norm(dim=-1, keepdim=True), te / te.norm(dim=-1, keepdim=True)
                out.append((model.logit_scale.exp() * (ie * te).sum(-1)).float().cpu().numpy())
        return np.concatenate(out).astype(np.float64).tolist()

    return score
