"""One pass over the images: each image is decoded once and fed to every extractor that lacks it.

An `Extractor` turns a decoded 8-bit RGB PIL image into a network input (`prepare`) and a list of
inputs into feature rows (`forward`). `extract()` looks up every (extractor, image sha256) in the
FeatureCache, decodes only images some extractor is missing, and batches each extractor's inputs
separately. Adding a metric or a model therefore computes only the missing features.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from sentinel.images import load_rgb
from sentinel.metrics import clip_score as clip
from sentinel.metrics import fid
from sentinel.metrics.cache import FeatureCache
from sentinel.metrics.weights import require_weights, weights_sha256
from sentinel.provenance import sha256_file


def resolve_device(device: str, where: str = "score.device") -> str:
    """The torch device the metric networks run on: `auto` is CUDA when one is visible, else the CPU.
    Asking for CUDA where none is visible is a config error, raised before any image is read."""
    from sentinel.errors import ConfigError

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"{where}: {device!r} requested but no CUDA device is visible "
                              "(torch.cuda.is_available() is False); set it to cpu or auto")
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"{where}: {device!r} requested but only {torch.cuda.device_count()} CUDA "
                              "device(s) are visible")
    elif device != "cpu":
        raise ConfigError(f"{where}: must be cpu, cuda, cuda:<n> or auto, got {device!r}")
    return device


def device_label(device: str) -> str:
    """What the convention records: `cpu`, or the CUDA device with its name (float results differ
    between CPU and GPU kernels, so gather refuses to mix per-model files scored on different ones)."""
    if device.startswith("cuda"):
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return device


@dataclass(frozen=True)
class Extractor:
    namespace: tuple            # everything that changes the rows: network, weights sha256, resize, device
    prepare: Callable[[Any], Any]
    forward: Callable[[list], np.ndarray]
    batch_size: int


def inception_extractor(weights_path: str | Path, batch_size: int, device: str = "cpu") -> Extractor:
    sha = weights_sha256(require_weights(weights_path, "InceptionV3"))
    net = fid.load_inception(weights_path, device)

    def forward(items: list[np.ndarray]) -> np.ndarray:
        out = []  # runs of equal shape: the network batches only same-size images
        start = 0
        for end in range(1, len(items) + 1):
            if end == len(items) or items[end].shape != items[start].shape:
                with torch.inference_mode():
                    out.append(net(torch.from_numpy(np.stack(items[start:end])).to(device)).float().cpu().numpy())
                start = end
        return np.concatenate(out)

    return Extractor(("inception", fid.FEATURE_LAYER, sha, fid.RESIZE, device),
                     lambda img: np.ascontiguousarray(np.asarray(img, np.uint8).transpose(2, 0, 1)),
                     forward, batch_size)


def clip_image_extractor(arch: str, weights_path: str | Path, batch_size: int, device: str = "cpu") -> Extractor:
    sha = weights_sha256(require_weights(weights_path, f"CLIP {arch}"))
    model, preprocess = clip.load_clip(arch, weights_path, device)

    def forward(items: list[torch.Tensor]) -> np.ndarray:
        with torch.inference_mode():
            return model.encode_image(torch.stack(items).to(device)).float().cpu().numpy()

    return Extractor(("clip-image", arch, sha, "open_clip eval transform", device), preprocess, forward, batch_size)


def image_keys(paths: Sequence[str | Path]) -> list[str]:
    return [sha256_file(p) for p in paths]


def _flush(ex: Extractor, pending: list, keys: list[str], cache: FeatureCache) -> None:
    if pending:
        for key, row in zip(keys, ex.forward(pending), strict=True):
            cache.put(ex.namespace, key, row)
        cache.flush()  # one segment file (one fsync) per network batch, not one per row
        pending.clear()
        keys.clear()


def extract(paths: Sequence[str | Path], extractors: Sequence[Extractor], cache: FeatureCache,
            keys: Sequence[str] | None = None) -> list[np.ndarray]:
    """Feature matrices (one per extractor, rows in `paths` order); each missing image decoded once."""
    keys = image_keys(paths) if keys is None else list(keys)
    missing = {ex.namespace: set(cache.missing(ex.namespace, keys)) for ex in extractors}
    todo = {k: p for k, p in zip(keys, paths) if any(k in m for m in missing.values())}
    pending: dict[tuple, tuple[list, list[str]]] = {ex.namespace: ([], []) for ex in extractors}
    for key, path in todo.items():
        img = load_rgb(path)
        cache.decoded += 1
        for ex in extractors:
            if key in missing[ex.namespace]:
                items, item_keys = pending[ex.namespace]
                items.append(ex.prepare(img))
                item_keys.append(key)
                if len(items) >= ex.batch_size:
                    _flush(ex, items, item_keys, cache)
    for ex in extractors:
        _flush(ex, *pending[ex.namespace], cache)
    return [cache.stack(ex.namespace, keys) for ex in extractors]
