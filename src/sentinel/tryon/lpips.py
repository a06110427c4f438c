"""LPIPS (Zhang et al. 2018, AlexNet variant) from local weight files only; never downloads.

torchmetrics' `LearnedPerceptualImagePatchSimilarity` fetches the AlexNet backbone from
torchvision's servers. Here the network is torchmetrics' own `_NoTrainLpips` (its copy of
richzhang/PerceptualSimilarity, torchmetrics pinned exactly in pyproject.toml), built with
`pnet_rand=True, pretrained=False` (nothing fetched, nothing read from the package), and both parts
are then loaded, strictly, from two files the caller names:

* backbone: torchvision's AlexNet state_dict (`features.<i>.weight/bias`, as torchvision publishes
  alexnet-owt-7be5be79.pth; `classifier.*` keys are ignored);
* linear layers: the published LPIPS v0.1 file format (`lin<k>.model.1.weight`, shape (1, C_k, 1, 1),
  k = 0..4), e.g. PerceptualSimilarity's weights/v0.1/alex.pth, which torchmetrics also bundles.

`write_smoke_weights` writes seeded-random files of both formats for the plumbing suite: numbers
from them exercise the code and say nothing about perceptual similarity. Inputs are uint8 RGB,
scaled to [-1, 1]; no resize (both images at their own, equal size); the score is the spatial mean.
"""
from __future__ import annotations

import functools
import importlib.metadata as md
import io
from pathlib import Path

import numpy as np

from sentinel.provenance import atomic_write_bytes, sha256_bytes, sha256_file

NET = "alex"
CHANNELS = (64, 192, 384, 256, 256)  # AlexNet's five LPIPS taps
BACKBONE_SMOKE_FILE, LINEAR_SMOKE_FILE = "lpips-alex-backbone-smoke.pt", "lpips-alex-lin-smoke.pt"


def _read_state(path: str | Path, what: str) -> dict:
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"LPIPS {what} weights file not found: {path} (sentinel.tryon.lpips."
                                "write_smoke_weights writes smoke files; real ones are never downloaded)")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state_dict, got {type(state).__name__}")
    return state


def _source(key: str) -> tuple[int, str]:
    """Which file (0 backbone, 1 linear) and key holds the tensor for `key` of the network's state_dict."""
    part, rest = key.split(".", 1)
    if part == "net":  # net.slice<s>.<i>.<param> is torchvision's features.<i>.<param>
        return 0, "features." + rest.split(".", 1)[1]
    if part == "lins":  # lins.<k>.model.1.weight is an alias of lin<k>.model.1.weight
        k, tail = rest.split(".", 1)
        return 1, f"lin{k}.{tail}"
    return 1, key


def _remap(net, states: tuple[dict, dict], paths: tuple[Path, Path]) -> dict:
    """The network's state_dict filled from the two files; names the file and key that is missing or wrong."""
    out = {}
    for key, want in net.state_dict().items():
        i, name = _source(key)
        if name not in states[i]:
            raise ValueError(f"{paths[i]}: missing {name!r} (LPIPS {NET} needs it)")
        if tuple(states[i][name].shape) != tuple(want.shape):
            raise ValueError(f"{paths[i]}: {name!r} has shape {tuple(states[i][name].shape)}, "
                             f"expected {tuple(want.shape)}")
        out[key] = states[i][name]
    return out


@functools.lru_cache(maxsize=2)
def _network(backbone_path: str, linear_path: str, backbone_sha: str, linear_sha: str):
    import torch
    from torchmetrics.functional.image.lpips import _NoTrainLpips

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # torchvision's init is overwritten below; seeded only so nothing is random
        net = _NoTrainLpips(pretrained=False, net=NET, pnet_rand=True)
    paths = (Path(backbone_path), Path(linear_path))
    state = _remap(net, (_read_state(paths[0], "backbone"), _read_state(paths[1], "linear-layer")), paths)
    net.load_state_dict(state, strict=True)
    return net.double().eval()


def load_lpips(backbone_path: str | Path, linear_path: str | Path):
    """The LPIPS network with both weight files loaded (cached per path and sha256)."""
    for p, what in ((backbone_path, "backbone"), (linear_path, "linear-layer")):
        if not Path(p).is_file():
            _read_state(p, what)  # raises the message that names the missing file
    return _network(str(Path(backbone_path).resolve()), str(Path(linear_path).resolve()),
                    sha256_file(backbone_path), sha256_file(linear_path))


def lpips(net, result: np.ndarray, reference: np.ndarray) -> float:
    """LPIPS distance (lower is closer) between two same-size uint8 RGB images."""
    import torch

    if np.shape(result) != np.shape(reference) or np.ndim(result) != 3:
        raise ValueError(f"LPIPS: need two same-size HxWx3 images, got {np.shape(result)} and {np.shape(reference)}")
    x, y = (torch.from_numpy(np.asarray(a, np.float64) / 127.5 - 1.0).permute(2, 0, 1)[None]
            for a in (result, reference))
    with torch.inference_mode():
        return float(net(x, y, normalize=False).squeeze())


def _serialise(state: dict) -> bytes:
    import torch

    buf = io.BytesIO()  # in memory: the archive name never depends on the file name
    torch.save({k: v.detach().cpu().contiguous().clone() for k, v in state.items()}, buf)
    return buf.getvalue()


def smoke_states(seed: int = 0) -> tuple[dict, dict]:
    """(backbone, linear) state_dicts: torchvision's AlexNet init and |N(0, 1/C)| linear weights, seeded."""
    import torch
    import torchvision

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        features = torchvision.models.alexnet(weights=None).features
        gen = torch.Generator().manual_seed(seed)
        linear = {f"lin{k}.model.1.weight": torch.randn(1, c, 1, 1, generator=gen, dtype=torch.float32).abs() / c ** 0.5
                  for k, c in enumerate(CHANNELS)}  # published LPIPS weights are non-negative too
    return {f"features.{k}": v for k, v in features.state_dict().items()}, linear


def write_smoke_weights(out: str | Path, seed: int = 0) -> dict[str, tuple[Path, str]]:
    """Write both smoke files under `out` atomically; {"backbone"|"linear": (path, sha256)}."""
    written = {}
    for what, name, state in zip(("backbone", "linear"), (BACKBONE_SMOKE_FILE, LINEAR_SMOKE_FILE), smoke_states(seed)):
        data, path = _serialise(state), Path(out) / name
        atomic_write_bytes(path, data)
        written[what] = (path, sha256_bytes(data))
    return written


def convention(backbone_path: str | Path, linear_path: str | Path) -> dict:
    return {"network": f"LPIPS v0.1 {NET} (torchmetrics _NoTrainLpips), float64",
            "backbone_file": Path(backbone_path).name, "backbone_sha256": sha256_file(backbone_path),
            "linear_file": Path(linear_path).name, "linear_sha256": sha256_file(linear_path),
            "input": "uint8 RGB / 127.5 - 1, no resize", "reduction": "spatial mean, summed over the 5 layers",
            "torchmetrics": md.version("torchmetrics")}
