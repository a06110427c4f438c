"""Seeded random weight files for the metric networks of the smoke suite, and the missing-file error.

The smoke suite runs offline, so it cannot download the official InceptionV3 or CLIP weights.
Instead it generates them here, deterministically: the same seed gives a byte-identical file, so
its sha256 can be pinned like any real weights file. Numbers computed with these weights exercise
the pipeline only; they say nothing about image quality.

    sentinel weights --out weights/
"""
from __future__ import annotations

import argparse
import functools
import io
import math
import os
from pathlib import Path
from unittest import mock

import torch
from torch import nn

from sentinel.provenance import atomic_write_bytes, sha256_bytes, sha256_file

INCEPTION_SMOKE_FILE = "inception-smoke.pt"
DINOV2_SMOKE_FILE = "dinov2-tiny14-smoke.pt"  # metrics/dinov2.py's tiny14: official key format, seeded random
SMOKE_CLIP_ARCH = "ViT-B-32"
HOW_TO_GET = (
    "run `python -m sentinel.metrics.weights --out weights/` (smoke suite) or download the official "
    "weights and set score.inception_weights / score.clip_weights"
)


def clip_smoke_file(arch: str) -> str:
    return f"clip-{arch}-smoke.pt"


def require_weights(path: str | Path, what: str) -> Path:
    """Return `path` as a Path if it is a file; otherwise say which file is missing and how to get it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} weights file not found: {path}. To get it, {HOW_TO_GET}.")
    return path


@functools.lru_cache(maxsize=8)
def _sha256_cached(path: str, mtime_ns: int, size: int) -> str:
    return sha256_file(path)


def weights_sha256(path: str | Path) -> str:
    """sha256 of a weights file, hashed once per (path, mtime, size)."""
    st = os.stat(path)
    return _sha256_cached(str(Path(path).resolve()), st.st_mtime_ns, st.st_size)


def _serialise(state_dict: dict[str, torch.Tensor]) -> bytes:
    """torch.save into memory; a plain dict of contiguous CPU tensors gives byte-identical output."""
    canonical = {k: v.detach().cpu().contiguous().clone() for k, v in state_dict.items()}
    buf = io.BytesIO()  # in memory, so the archive name never depends on the file name
    torch.save(canonical, buf)
    return buf.getvalue()


def _write_if_changed(path: str | Path, data: bytes) -> tuple[str, str]:
    """Write `data` atomically unless `path` already holds exactly it. Returns (sha256, action)."""
    path, digest = Path(path), sha256_bytes(data)
    if path.is_file() and sha256_file(path) == digest:
        return digest, "unchanged"
    action = "replaced" if path.exists() else "written"
    atomic_write_bytes(path, data)
    return digest, action


def _inception_skeleton() -> nn.Module:
    """torch-fidelity's InceptionV3 with freshly constructed layers, built without any download."""
    import torch_fidelity.feature_extractor_inceptionv3 as tf_inception

    class _Skeleton(tf_inception.FeatureExtractorInceptionV3):
        def load_state_dict(self, *args, **kwargs):  # keep the constructed layers
            return None

    def _no_download(*args, **kwargs):
        return {}

    with mock.patch.object(tf_inception, "load_state_dict_from_url", _no_download):
        return _Skeleton("inception-v3-skeleton", ["2048"])


def inception_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state_dict for FeatureExtractorInceptionV3 whose features respond to the image.

    Kaiming-normal (fan_in, ReLU gain) on every conv keeps activations at a stable scale through
    the 90-odd layers; BatchNorm is the identity (weight 1, bias 0, mean 0, var 1) and the fc
    layer is N(0, 1/2048). PyTorch's default init collapses the 2048-d features instead: activations
    ~1e-7, and FID 3e-12 between LFW faces and uniform noise (measured; ours gives ~75).
    """
    net = _inception_skeleton()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu", generator=gen)
            elif isinstance(module, nn.BatchNorm2d):
                module.reset_parameters()  # weight 1, bias 0, running mean 0, var 1, count 0
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=1 / math.sqrt(module.in_features), generator=gen)
                nn.init.zeros_(module.bias)
    return net.state_dict()


def make_inception_weights(path: str | Path, seed: int = 0) -> str:
    """Write the seeded InceptionV3 weights to `path` (atomically) and return their sha256."""
    return _write_if_changed(path, _serialise(inception_state_dict(seed)))[0]


def clip_state_dict(arch: str = SMOKE_CLIP_ARCH, seed: int = 0) -> dict[str, torch.Tensor]:
    """open_clip's own random init for `arch` under torch.manual_seed(seed); the global RNG is restored."""
    import open_clip

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model, _, _ = open_clip.create_model_and_transforms(arch, pretrained=None)
    return model.state_dict()


def make_clip_weights(path: str | Path, arch: str = SMOKE_CLIP_ARCH, seed: int = 0) -> str:
    """Write seeded random CLIP weights that `create_model_and_transforms(arch, pretrained=path)` loads."""
    return _write_if_changed(path, _serialise(clip_state_dict(arch, seed)))[0]


def write_smoke_weights(out: str | Path, seed: int = 0,
                        clip_arch: str = SMOKE_CLIP_ARCH) -> list[tuple[Path, str, str]]:
    """The smoke files under `out` (InceptionV3, CLIP, DINOv2 tiny14): [(path, sha256, action)], action in
    written/unchanged/replaced."""
    out = Path(out)
    inception = out / INCEPTION_SMOKE_FILE
    clip = out / clip_smoke_file(clip_arch)
    from sentinel.metrics.dinov2_net import smoke_state_dict as dinov2_state_dict

    dinov2 = out / DINOV2_SMOKE_FILE
    return [
        (inception, *_write_if_changed(inception, _serialise(inception_state_dict(seed)))),
        (clip, *_write_if_changed(clip, _serialise(clip_state_dict(clip_arch, seed)))),
        (dinov2, *_write_if_changed(dinov2, _serialise(dinov2_state_dict(seed)))),
    ]


def main(argv: list[str] | None = None, prog: str = "sentinel weights") -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Write seeded random InceptionV3, CLIP and DINOv2 (tiny14) weight files for the smoke suite.",
    )
    parser.add_argument("--out", required=True, help="folder for the weight files, e.g. weights/")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clip-arch", default=SMOKE_CLIP_ARCH)
    args = parser.parse_args(argv)
    for path, digest, action in write_smoke_weights(args.out, args.seed, args.clip_arch):
        print(f"{path}  sha256={digest}  ({action})")  # the hashes to pin are this command's output
    return 0


if __name__ == "__main__":
    from sentinel.console import run_main

    raise SystemExit(run_main("weights", main))
