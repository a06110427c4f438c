"""CLIP score with open_clip, from a local checkpoint.

Definition (ours): for each (image, prompt) pair, s = max(100 · cos(E_img, E_txt), 0); the set's
score is the mean of s over pairs. The clamp is per pair. torchmetrics' `CLIPScore` instead clamps
the *mean* (max(mean(100 · cos), 0)), so the two differ whenever some pair has a negative cosine.
Other conventions in the literature: CLIP-S uses 2.5 · max(cos, 0); many papers report raw cosine.

Prompts are tokenized with `open_clip.get_tokenizer(arch)` (the CLIP BPE vocabulary ships with
open_clip, so this works offline). Prompts longer than the context (77 tokens with start and end
tokens) are truncated *keeping* the end-of-text token, which CLIP's text tower pools at; slicing
ids instead drops it and silently lowers the score (torchmetrics#2883). We count truncated prompts.
Images go through open_clip's own eval transform for `arch` (bicubic resize, centre crop, normalise).
"""
from __future__ import annotations

import functools
import importlib.metadata as md
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from sentinel.images import QUANTISATION, load_rgb
from sentinel.metrics.weights import require_weights, weights_sha256

SCALE = 100.0


@functools.lru_cache(maxsize=2)
def _clip(arch: str, path: str, sha256: str, device: str):
    import open_clip

    model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=path, device=device)
    return model.eval(), preprocess


def load_clip(arch: str, weights_path: str | Path, device: str = "cpu"):
    """(model, eval transform) for `arch` with the weights in `weights_path` (never downloads)."""
    path = require_weights(weights_path, f"CLIP {arch}")
    return _clip(arch, str(path.resolve()), weights_sha256(path), device)


@functools.lru_cache(maxsize=4)
def get_tokenizer(arch: str):
    import open_clip
    from open_clip.tokenizer import SimpleTokenizer

    tokenizer = open_clip.get_tokenizer(arch)
    if not isinstance(tokenizer, SimpleTokenizer):
        raise ValueError(f"CLIP arch {arch!r} uses {type(tokenizer).__name__}; truncation accounting "
                         "is implemented for open_clip's SimpleTokenizer (CLIP BPE) only")
    return tokenizer


def tokenize(prompts: Sequence[str], arch: str) -> tuple[torch.Tensor, np.ndarray]:
    """Token ids (n, context_length) and a bool mask of prompts that were truncated.

    A prompt is truncated when start + BPE tokens + end exceed the context; open_clip then keeps
    the first context_length - 1 tokens and puts the end-of-text token last. We check that here.
    """
    tokenizer = get_tokenizer(arch)
    lengths = np.array([len(tokenizer.encode(p)) + 2 for p in prompts], dtype=np.int64)
    truncated = lengths > tokenizer.context_length
    tokens = tokenizer(list(prompts))
    if truncated.any() and not bool((tokens[torch.from_numpy(truncated), -1] == tokenizer.eot_token_id).all()):
        raise RuntimeError("open_clip's tokenizer dropped the end-of-text token when truncating")
    return tokens, truncated


def clip_image_embeddings(
    paths: Sequence[str | Path], *, arch: str, weights_path: str | Path, batch_size: int, device: str = "cpu"
) -> np.ndarray:
    """Unnormalised image embeddings (n, d), float32."""
    model, preprocess = load_clip(arch, weights_path, device)
    out = [np.zeros((0, model.visual.output_dim), dtype=np.float32)]
    with torch.inference_mode():
        for start in range(0, len(paths), batch_size):
            batch = torch.stack([preprocess(load_rgb(p)) for p in paths[start:start + batch_size]])
            out.append(model.encode_image(batch.to(device)).float().cpu().numpy())
    return np.concatenate(out)


def clip_text_embeddings(
    prompts: Sequence[str], *, arch: str, weights_path: str | Path, batch_size: int, device: str = "cpu"
) -> np.ndarray:
    """Unnormalised text embeddings (n, d), float32, from EOT-preserving tokens."""
    model, _ = load_clip(arch, weights_path, device)
    tokens, _ = tokenize(prompts, arch)
    out = [np.zeros((0, model.visual.output_dim), dtype=np.float32)]
    with torch.inference_mode():
        for start in range(0, len(tokens), batch_size):
            out.append(model.encode_text(tokens[start:start + batch_size].to(device)).float().cpu().numpy())
    return np.concatenate(out)


def scaled_cosines(image_emb: np.ndarray, text_emb: np.ndarray) -> np.ndarray:
    """Per pair 100 · cos(image, text), float64, before any clamp; row i of each matrix is pair i."""
    img, txt = np.asarray(image_emb, np.float64), np.asarray(text_emb, np.float64)
    if img.shape != txt.shape:
        raise ValueError(f"need one text embedding per image embedding, got {img.shape} and {txt.shape}")
    return SCALE * (img * txt).sum(axis=1) / (np.linalg.norm(img, axis=1) * np.linalg.norm(txt, axis=1))


def clip_scores_from_embeddings(image_emb: np.ndarray, text_emb: np.ndarray) -> np.ndarray:
    """Per pair max(100 · cos, 0), float64."""
    return np.maximum(scaled_cosines(image_emb, text_emb), 0.0)


def clip_score(
    paths: Sequence[str | Path], prompts: Sequence[str], *, arch: str, weights_path: str | Path,
    batch_size: int, device: str = "cpu",
) -> dict:
    """{"clip_score": mean over pairs, "clip_score_per_image": [...], "prompts_truncated": count}."""
    if len(paths) != len(prompts):
        raise ValueError(f"CLIP score needs one prompt per image: {len(paths)} images, {len(prompts)} prompts")
    if not paths:
        raise ValueError("CLIP score of an empty set is undefined")
    kwargs = dict(arch=arch, weights_path=weights_path, batch_size=batch_size, device=device)
    per = clip_scores_from_embeddings(clip_image_embeddings(paths, **kwargs), clip_text_embeddings(prompts, **kwargs))
    return summarise(per, tokenize(prompts, arch)[1])


def summarise(per_pair: np.ndarray, truncated: np.ndarray) -> dict:
    return {"clip_score": float(np.mean(per_pair)), "clip_score_per_image": [float(s) for s in per_pair],
            "prompts_truncated": int(np.sum(truncated))}


def convention(arch: str, weights_path: str | Path) -> dict:
    """Everything that can move the CLIP score, recorded beside the number."""
    path = require_weights(weights_path, f"CLIP {arch}")
    tokenizer = get_tokenizer(arch)
    return {
        "definition": "mean over pairs of max(100 * cos(image, text), 0); clamp per pair, not the mean",
        "arch": arch,
        "weights_file": path.name,
        "weights_sha256": weights_sha256(path),
        "tokenizer": f"open_clip SimpleTokenizer, context {tokenizer.context_length}, "
                     "truncation keeps the end-of-text token",
        "image_preprocess": "open_clip eval transform for arch (bicubic resize, centre crop, normalise)",
        "quantisation": f"uint8 PNG: {QUANTISATION}",
        "embedding_dtype": "float32 network, float64 cosine",
        "open_clip": md.version("open_clip_torch"),
        "torch": torch.__version__,
    }
