"""Per-frame text alignment: the project's CLIP score on every frame, averaged over the clip.

    clip_score(clip, prompt) = mean over frames t of max(100 · cos(E_img(I_t), E_txt(prompt)), 0)

Everything but the average over frames is `sentinel.metrics.clip_score`, imported, not copied:
its local, sha256-pinned weights loader, open_clip's eval transform, the per-pair clamp, and its
77-token policy (truncation keeps the end-of-text token; a truncated prompt is counted). Frames
go to the transform as PIL images made from the uint8 array, exactly what `load_rgb` gives for
the same frame saved as PNG. A model's value is the mean over its clips (bootstrap CI over clips).
"""
from __future__ import annotations

import numpy as np

from sentinel.video.clips import as_clip

DEFINITION = "mean over frames of max(100 * cos(frame, prompt), 0), then mean over clips"


def clip_frame_embeddings(frames: np.ndarray, *, arch: str, weights_path, batch_size: int = 16,
                          device: str = "cpu") -> np.ndarray:
    """Unnormalised CLIP image embeddings (T, d), float32, one per frame of a uint8 (T, H, W, 3) clip."""
    import torch
    from PIL import Image

    from sentinel.metrics import clip_score as clip

    model, preprocess = clip.load_clip(arch, weights_path, device)
    x = as_clip(frames, min_frames=1)
    out = [np.zeros((0, model.visual.output_dim), dtype=np.float32)]
    with torch.inference_mode():
        for start in range(0, len(x), batch_size):
            batch = torch.stack([preprocess(Image.fromarray(f, "RGB")) for f in x[start:start + batch_size]])
            out.append(model.encode_image(batch.to(device)).float().cpu().numpy())
    return np.concatenate(out)


def clip_frame_encoder(*, arch: str, weights_path, batch_size: int = 16, device: str = "cpu"):
    """A FrameEncoder (for subject consistency) backed by the CLIP image tower."""
    def encode(frames: np.ndarray) -> np.ndarray:
        return clip_frame_embeddings(frames, arch=arch, weights_path=weights_path, batch_size=batch_size,
                                     device=device)
    return encode


def clip_score_over_frames(frames: np.ndarray, prompt: str, *, arch: str, weights_path, batch_size: int = 16,
                           device: str = "cpu") -> dict:
    """{"clip_score": mean over frames, "clip_score_per_frame": [...], "prompt_truncated": bool}."""
    from sentinel.metrics import clip_score as clip

    image = clip_frame_embeddings(frames, arch=arch, weights_path=weights_path, batch_size=batch_size,
                                  device=device)
    text = clip.clip_text_embeddings([prompt], arch=arch, weights_path=weights_path, batch_size=1, device=device)
    per = clip.clip_scores_from_embeddings(image, np.repeat(text, len(image), axis=0))
    truncated = bool(clip.tokenize([prompt], arch)[1][0])
    return {"clip_score": float(per.mean()), "clip_score_per_frame": [float(s) for s in per],
            "prompt_truncated": truncated}


def convention(arch: str, weights_path) -> dict:
    """The image CLIP score's convention plus how frames are combined."""
    from sentinel.metrics import clip_score as clip

    return {**clip.convention(arch, weights_path), "video_aggregation": DEFINITION,
            "frame_source": "uint8 RGB frames -> PIL.Image.fromarray (identical to load_rgb of the PNG)"}
