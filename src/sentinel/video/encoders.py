"""Video feature extractors for FVD: the interface, and cd-fvd's two networks loaded from files.

A `VideoEncoder` maps a batch of clips, uint8 (N, T, H, W, 3), to one float32 feature row per
clip, and states its convention. Two real ones, both exactly cd-fvd's network and preprocessing
(its own classes and functions from the installed `cd-fvd` package, so features match it):

  videomae  VideoMAE-v2 ViT-g/14, SSv2 fine-tuned (`vit_g_hybrid_pt_1200e_ssv2_ft.pth`),
            `forward_features` (mean-pooled tokens + fc_norm), 1408-d. Frames resized to 224x224
            bilinear (align_corners=False, aspect not kept), scaled to [0, 1], 16 frames.
            The content-debiased FVD of the paper.
  i3d       I3D Kinetics-400 (`i3d_pretrained_400.pt`), 400-d logits averaged over time. Frames
            resized the same way, scaled to [-1, 1], 16 frames. The classic FVD.

Weights are NEVER downloaded: cd-fvd's own loaders fetch a missing checkpoint from the network, so
we build the network here, refuse a file whose sha256 is not the pinned one, and load it with
`torch.load(weights_only=True)`. The tiny seeded-random encoder for the smoke suite is in
`sentinel.video.tiny_encoder`.
"""
from __future__ import annotations

import functools
import importlib.metadata as md
from pathlib import Path
from typing import Protocol

import numpy as np

FRAMES = 16
KINDS = {
    "videomae": {"file": "vit_g_hybrid_pt_1200e_ssv2_ft.pth", "dim": 1408, "scale": "[0, 1]",
                 "output": "forward_features (mean of patch tokens, fc_norm)"},
    "i3d": {"file": "i3d_pretrained_400.pt", "dim": 400, "scale": "[-1, 1]", "output": "logits averaged over time"},
}


class VideoEncoder(Protocol):
    name: str

    def features(self, clips: np.ndarray) -> np.ndarray:
        """(N, T, H, W, 3) uint8 -> (N, d) float32."""

    def convention(self) -> dict:
        """Everything that can move the features, recorded beside FVD."""


HOW_TO_GET = ("run `sentinel weights --out weights/` (the smoke suite's tiny encoder) or fetch the pinned cd-fvd "
              "checkpoint and set video.score.fvd_weights / fvd_weights_sha256")


def require_pinned(path: str | Path, sha256: str, what: str) -> Path:
    """`path` if it exists and hashes to `sha256`; otherwise an error saying which and why.

    Hashes with sentinel.provenance (not sentinel.metrics.weights), so that metrics.weights can write the
    video smoke file without an import cycle."""
    from sentinel.provenance import sha256_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} weights file not found: {path}. To get it, {HOW_TO_GET}.")
    if not sha256:
        raise ValueError(f"{what} weights {path}: no sha256 pin given; pin the file you mean to use")
    got = sha256_file(path)
    if got != sha256.lower():
        raise ValueError(f"{what} weights {path}: sha256 {got} does not match the pinned {sha256}")
    return path


def as_clip_batch(clips, frames: int | None = None) -> np.ndarray:
    """`clips` as uint8 (N, T, H, W, 3); `frames` if given must equal T."""
    x = np.asarray(clips)
    if x.dtype != np.uint8 or x.ndim != 5 or x.shape[-1] != 3:
        raise ValueError(f"video encoder: expected uint8 clips (N, T, H, W, 3), got {x.dtype} {x.shape}")
    if frames is not None and x.shape[1] != frames:
        raise ValueError(f"video encoder: its convention is {frames}-frame clips, got {x.shape[1]} frames "
                         "(sample the clip to that length first)")
    return x


@functools.lru_cache(maxsize=2)
def _cdfvd_network(kind: str, path: str, sha256: str, device: str):
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    if kind == "i3d":
        from cdfvd.third_party.i3d.pytorch_i3d import InceptionI3d

        net = InceptionI3d(400, in_channels=3)
    else:
        from cdfvd.third_party.VideoMAEv2.videomaev2_finetune import vit_giant_patch14_224

        net = vit_giant_patch14_224(img_size=224, pretrained=False, num_classes=174, all_frames=FRAMES,
                                    tubelet_size=2, drop_path_rate=0.3, use_mean_pooling=True)
        for key in ("model", "module"):  # cd-fvd's unwrapping of the released checkpoint
            if key in state:
                state = state[key]
                break
    net.load_state_dict(state)
    return net.to(device).eval()


class CdfvdEncoder:
    """cd-fvd's VideoMAE-v2 or I3D from a local, sha256-pinned weights file."""

    def __init__(self, kind: str, weights_path: str | Path, sha256: str, device: str = "cpu", batch_size: int = 4):
        if kind not in KINDS:
            raise ValueError(f"unknown video encoder {kind!r}; valid: {sorted(KINDS)}")
        self.name, self.device, self.batch_size = kind, device, batch_size
        self.path = require_pinned(weights_path, sha256, f"cd-fvd {kind}")
        self.sha256 = sha256.lower()

    def features(self, clips) -> np.ndarray:
        import torch
        from cdfvd.third_party.i3d.utils import preprocess_i3d
        from cdfvd.third_party.VideoMAEv2.utils import preprocess_videomae

        x = as_clip_batch(clips, FRAMES)
        net = _cdfvd_network(self.name, str(self.path.resolve()), self.sha256, self.device)
        out = [np.zeros((0, KINDS[self.name]["dim"]), dtype=np.float32)]
        with torch.no_grad():
            for start in range(0, len(x), self.batch_size):
                batch = x[start:start + self.batch_size]
                if self.name == "i3d":
                    feats = net(preprocess_i3d(batch).to(self.device))
                else:
                    feats = net.forward_features(preprocess_videomae(batch).to(self.device))
                out.append(feats.float().cpu().numpy())
        return np.concatenate(out)

    def convention(self) -> dict:
        import torch

        spec = KINDS[self.name]
        return {"encoder": f"cd-fvd {self.name}", "weights_file": self.path.name, "weights_sha256": self.sha256,
                "released_file": spec["file"], "feature": f"{spec['dim']}-d {spec['output']}",
                "preprocess": f"bilinear resize to 224x224 (align_corners=False), scale {spec['scale']}",
                "frames": FRAMES, "network_dtype": "float32", "cd_fvd": md.version("cd-fvd"),
                "torch": torch.__version__, "plumbing": False}
