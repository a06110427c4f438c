"""CLIP score with open_clip, from a local checkpoint.

Definition (ours): for each (image, prompt) pair, s = max(100 · cos(E_img, E_txt), 0); the set's
score is the mean of s over pairs. The clamp is per pair. torchmetrics' `CLIPScore` instead clamps
the *mean* (max(mean(100 · cos), 0)), so the two differ whenever some pair has a negative cosine.
Other conventions in the literature: CLIP-S uses 2.5 · max(cos, 0); many papers report raw cosine.

Prompts are tokenized with `open_clip.get_tokenizer(arch)` (the CLIP BPE vocabulary ships with
open_clip, so this works offline). Prompts longer than the context (77 tokens with start and end
tokens) are truncated *keeping* the end-of-text token, which CLIP's text tower pools at; slicing
ids instead drops it and silently lowers the score (torchmetrics#2883). We count truncated prompts.
Images go through open_clip's own eval transform for `arch` (bicubic resize, centre crop, normalise);
the convention records its size, interpolation, resize mode, mean and std (`preprocess`).

An architecture must match the checkpoint it loads: open_clip loads OpenAI's weights into the plain
(GELU) `ViT-B-32` without complaint, but they were trained with QuickGELU (`ViT-B-32-quickgelu`),
and every embedding is then quietly wrong. `check_pairing` refuses a checkpoint whose sha256 is in
KNOWN_CHECKPOINTS with another architecture than the one it was trained with; an unknown checkpoint
passes (its hash is still recorded), so a new file is pinned by adding its line here.
"""
from __future__ import annotations

import functools
import importlib.metadata as md
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from sentinel.errors import WeightsError
from sentinel.images import QUANTISATION, load_rgb
from sentinel.metrics.weights import require_weights, weights_sha256

SCALE = 100.0

# sha256 of a checkpoint file -> (the open_clip architecture it was trained with, what it is). OpenAI's
# files: the hash is the one in open_clip's (and OpenAI's clip package's) download URL, which both verify
# (tests/test_metrics_clip_convention.py re-derives every one from open_clip's registry).
_OPENAI = {"afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762": "RN50",
           "8fa8567bab74a42d41c5915025a8e4538c3bdbe8804a470a72f30b0d94fab599": "RN101",
           "7e526bd135e493cef0776de27d5f42653e6b4c8bf9e0f653bb11773263205fdd": "RN50x4",
           "52378b407f34354e150460fe41077663dd5b39c54cd0bfd2b27167a4a06ec9aa": "RN50x16",
           "be1cfb55d75a9666199fb2206c106743da0f6468c9d327f3e0d0a543a9919d9c": "RN50x64",
           "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af": "ViT-B-32",
           "5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f": "ViT-B-16",
           "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836": "ViT-L-14",
           "3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02": "ViT-L-14-336"}
KNOWN_CHECKPOINTS: dict[str, tuple[str, str]] = {
    **{sha: (f"{arch}-quickgelu", f"OpenAI CLIP {arch} (trained with QuickGELU)") for sha, arch in _OPENAI.items()},
    "ac4f8c4b88af6d963118cbf40ad93176d092abbedfcb752601ae1866352656e6":
        ("ViT-B-32", "open_clip ViT-B-32 laion2b_s34b_b79k (plain GELU; conf/weights/release.yaml)"),
    "d44939f3d2c0e856d903b84ec3f4807f89db2471a7d463e9c74662637cb5ce40":
        ("ViT-B-32", "the seeded smoke CLIP ViT-B-32 (clip-ViT-B-32-smoke.pt, seed 0)"),
}


def check_pairing(arch: str, weights_path: str | Path) -> str:
    """The checkpoint's sha256, after refusing a known checkpoint paired with another architecture."""
    path = require_weights(weights_path, f"CLIP {arch}")
    sha = weights_sha256(path)
    if sha in KNOWN_CHECKPOINTS and KNOWN_CHECKPOINTS[sha][0] != arch:
        required, what = KNOWN_CHECKPOINTS[sha]
        raise WeightsError(f"score.clip_arch: {arch!r} does not match {path} (sha256 {sha}): that is {what}, "
                           f"which needs architecture {required!r}; set score.clip_arch: {required}")
    return sha


def preprocess(arch: str) -> dict:
    """The eval transform open_clip builds for `arch` with a checkpoint *file* (no tag, so no tag's own
    mean/std): its defaults and the tower's image size. Read from the config, without loading weights."""
    from dataclasses import asdict

    import open_clip
    from open_clip.transform import PreprocessCfg

    cfg, model_cfg = asdict(PreprocessCfg()), open_clip.get_model_config(arch) or {}
    size = model_cfg.get("vision_cfg", {}).get("image_size", cfg["size"])
    cfg["size"] = tuple(size) if isinstance(size, (list, tuple)) else (size, size)
    return {**{k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()},
            "quick_gelu": bool(model_cfg.get("quick_gelu", False))}


@functools.lru_cache(maxsize=2)
def _clip(arch: str, path: str, sha256: str, device: str):
    import open_clip

    model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=path, device=device)
    return model.eval(), preprocess


def load_clip(arch: str, weights_path: str | Path, device: str = "cpu"):
    """(model, eval transform) for `arch` with the weights in `weights_path` (never downloads); a known
    checkpoint with the wrong architecture is refused first (check_pairing)."""
    sha = check_pairing(arch, weights_path)
    return _clip(arch, str(Path(weights_path).resolve()), sha, device)


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
    sha, tokenizer, pp = check_pairing(arch, path), get_tokenizer(arch), preprocess(arch)
    return {
        "definition": "mean over pairs of max(100 * cos(image, text), 0); clamp per pair, not the mean",
        "arch": arch,
        "activation": "QuickGELU" if pp["quick_gelu"] else "GELU",
        "weights_file": path.name,
        "weights_sha256": sha,
        "checkpoint_check": (f"known checkpoint: {KNOWN_CHECKPOINTS[sha][1]}, trained as {KNOWN_CHECKPOINTS[sha][0]}"
                             if sha in KNOWN_CHECKPOINTS else "not in the known-checkpoint table: arch not checked"),
        "preprocess": {"size": pp["size"], "interpolation": pp["interpolation"], "resize_mode": pp["resize_mode"],
                       "crop": "centre crop to size", "mean": pp["mean"], "std": pp["std"]},
        "tokenizer": f"open_clip SimpleTokenizer, context {tokenizer.context_length}, "
                     "truncation keeps the end-of-text token",
        "image_preprocess": "open_clip eval transform for arch (bicubic resize, centre crop, normalise)",
        "quantisation": f"uint8 PNG: {QUANTISATION}",
        "embedding_dtype": "float32 network, float64 cosine",
        "open_clip": md.version("open_clip_torch"),
        "torch": torch.__version__,
    }
