"""A tiny seeded-random 3D conv net standing in for VideoMAE/I3D in the smoke suite. PLUMBING ONLY.

Offline, the smoke suite cannot get VideoMAE-v2 or I3D weights, so FVD there runs on this network:
three strided Conv3d + ReLU layers (3 -> 8 -> 16 -> 32 channels, kernel 3) with Kaiming-normal
(fan_in, ReLU gain) weights from a fixed seed and zero biases, and as features the per-channel mean
and standard deviation of the last layer over time and space (64-d). Being 3D, its features react
to temporal corruption as well as to frame content; being random, they say nothing about quality.
The weights are written to a file (`make_tiny_weights`, byte-identical for a seed) and loaded from it
with a sha256 pin, exactly like the real encoders, so the plumbing is the one production uses.
Frames are resized to 64x64 (bilinear, align_corners=False) and scaled to [-1, 1].
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from sentinel.video.encoders import as_clip_batch, require_pinned

TINY_FILE = "video-tiny-smoke.pt"
SIZE = 64
CHANNELS = (3, 8, 16, 32)


def _network():
    from torch import nn

    layers = []
    for c_in, c_out in zip(CHANNELS[:-1], CHANNELS[1:]):
        layers += [nn.Conv3d(c_in, c_out, kernel_size=3, stride=(1, 2, 2) if c_in == 3 else 2, padding=1), nn.ReLU()]
    return nn.Sequential(*layers)


def tiny_state_dict(seed: int = 0) -> dict:
    """The seeded weights: Kaiming-normal convs (fan_in, ReLU), zero biases."""
    import torch
    from torch import nn

    net, gen = _network(), torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.Conv3d):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu", generator=gen)
                nn.init.zeros_(module.bias)
    return net.state_dict()


def make_tiny_weights(path: str | Path, seed: int = 0) -> str:
    """Write the seeded tiny encoder weights to `path` (atomically, only if changed); return the sha256.

    torch.save of a plain dict of contiguous CPU tensors into memory is byte-identical for a seed.
    """
    import io

    import torch

    from sentinel.provenance import atomic_write_bytes, sha256_bytes, sha256_file

    buf = io.BytesIO()
    torch.save({k: v.detach().cpu().contiguous().clone() for k, v in tiny_state_dict(seed).items()}, buf)
    data, path = buf.getvalue(), Path(path)
    digest = sha256_bytes(data)
    if not (path.is_file() and sha256_file(path) == digest):
        atomic_write_bytes(path, data)
    return digest


@functools.lru_cache(maxsize=2)
def _load(path: str, sha256: str):
    import torch

    net = _network()
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return net.eval()


class TinyVideoEncoder:
    """The smoke suite's video encoder (64-d), from a sha256-pinned file. Plumbing only."""

    name = "tiny-random-3dconv"

    def __init__(self, weights_path: str | Path, sha256: str, batch_size: int = 8):
        self.path = require_pinned(weights_path, sha256, "tiny video encoder")
        self.sha256, self.batch_size = sha256.lower(), batch_size

    def features(self, clips) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        x = as_clip_batch(clips)
        net = _load(str(self.path.resolve()), self.sha256)
        out = [np.zeros((0, 2 * CHANNELS[-1]), dtype=np.float32)]
        with torch.no_grad():
            for start in range(0, len(x), self.batch_size):
                b = torch.from_numpy(np.array(x[start:start + self.batch_size])).float()  # (B, T, H, W, 3), a copy
                n, t = b.shape[:2]
                frames = F.interpolate(b.flatten(0, 1).permute(0, 3, 1, 2), size=(SIZE, SIZE), mode="bilinear",
                                       align_corners=False)
                v = frames.view(n, t, 3, SIZE, SIZE).transpose(1, 2) * (2.0 / 255.0) - 1.0  # (B, 3, T, H, W)
                h = net(v).flatten(2)
                out.append(torch.cat([h.mean(dim=2), h.std(dim=2)], dim=1).numpy())
        return np.concatenate(out)

    def convention(self) -> dict:
        import torch

        return {"encoder": self.name, "weights_file": self.path.name, "weights_sha256": self.sha256,
                "feature": f"{2 * CHANNELS[-1]}-d mean and std of the last Conv3d layer over (T, H, W)",
                "preprocess": f"bilinear resize to {SIZE}x{SIZE} (align_corners=False), scale [-1, 1]",
                "network_dtype": "float32", "torch": torch.__version__,
                "plumbing": True, "note": "seeded random weights: exercises the pipeline, measures nothing"}
