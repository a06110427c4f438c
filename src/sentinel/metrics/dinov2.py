"""FD-DINOv2: the Fréchet distance in DINOv2 ViT-L/14 feature space, with dgm-eval's convention.

dgm-eval ("Exposing flaws of generative model evaluation metrics", layer6ai-labs/dgm-eval, the
largest human study of realism metrics) recommends it over Inception FID. Its convention, which we
follow exactly (dgm_eval/models/dinov2.py and dgm_eval/metrics/fd.py):
  - encoder: DINOv2 ViT-L/14 (`dinov2_vitl14`, facebookresearch/dinov2), the CLS token after the
    final LayerNorm (the hub model's forward, head = Identity), float32, not L2-normalised;
  - preprocessing (its default, clean_resize off): the 8-bit RGB PIL image resized to 224 x 224
    with torchvision `Resize((224, 224), BICUBIC)`, `ToTensor()`, then ImageNet mean/std;
  - the official checkpoint's 37 x 37 position grid (518 px) is resized to 16 x 16 the way the
    hub model of dgm-eval's time does it: bicubic, scale factor (16 + 0.1) / 37, no antialiasing;
  - distance: ||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^1/2) with np.cov (ddof 1). We compute
    it with fid.py's eigh-based form, equal to dgm-eval's scipy.linalg.sqrtm form to 1e-9 relative
    (tests/test_fd_dinov2.py).

The network (metrics/dinov2_net.py) is built from plain torch modules whose parameter names are the official
checkpoint's (`dinov2_vitl14_pretrain.pth`: cls_token, pos_embed, mask_token, patch_embed.proj,
blocks.<i>.{norm1,attn.qkv,attn.proj,ls1.gamma,norm2,mlp.fc1,mlp.fc2,ls2.gamma}, norm), so the
official file loads with strict=True and nothing is fetched from torch.hub. The smoke suite uses
`tiny14`, a seeded random ViT/14 of the same format (two blocks, width 96): plumbing only.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from sentinel.metrics.dinov2_net import ARCHS, DinoV2, arch, smoke_state_dict  # noqa: F401 - the API
from sentinel.metrics.weights import require_weights, weights_sha256

RESIZE = 224
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
PREPROCESS = ("torchvision Resize((224, 224), BICUBIC) of the 8-bit RGB PIL image, ToTensor, "
              "Normalize(ImageNet mean, std): dgm-eval's DINOv2Encoder.transform (clean_resize off)")


@functools.lru_cache(maxsize=2)
def _load(name: str, path: str, sha256: str, device: str) -> DinoV2:
    net = DinoV2(arch(name))
    state = torch.load(path, map_location="cpu", weights_only=True)  # tensors only: refuses pickled code
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(f"score.dinov2_weights: {path} is not a DINOv2 {name} checkpoint in the official "
                         f"key format (score.dinov2_arch={name}): {err}") from err
    return net.eval().to(device)


def load(name: str, weights_path: str | Path, device: str = "cpu") -> DinoV2:
    """The DINOv2 `name` network with the weights in `weights_path` (never downloads)."""
    path = require_weights(weights_path, f"DINOv2 {name}")
    return _load(name, str(path.resolve()), weights_sha256(path), device)


@functools.lru_cache(maxsize=1)
def _transform():
    from torchvision import transforms as T

    return T.Compose([T.Resize((RESIZE, RESIZE), T.InterpolationMode.BICUBIC), T.ToTensor(),
                      T.Normalize(np.array(MEAN), np.array(STD))])


def preprocess(img) -> torch.Tensor:
    """dgm-eval's DINOv2Encoder.transform (clean_resize off) of an RGB PIL image: (3, 224, 224)."""
    return _transform()(img)


def features(net: DinoV2, batch: list[torch.Tensor], device: str = "cpu") -> np.ndarray:
    with torch.inference_mode():
        return net(torch.stack(batch).to(device)).float().cpu().numpy()


def extractor(options: dict, batch_size: int, device: str = "cpu"):
    """The `dinov2` feature extractor (metrics/extract.py) for score.dinov2_arch / score.dinov2_weights."""
    from sentinel.metrics.extract import Extractor

    name, path = options["dinov2_arch"], options["dinov2_weights"]
    net = load(name, path, device)
    sha = weights_sha256(path)
    return Extractor(("dinov2", name, sha, "cls-token after norm", PREPROCESS, device), preprocess,
                     lambda items: features(net, items, device), batch_size)


def convention(name: str, weights_path: str | Path) -> dict:
    """What FD-DINOv2 was computed with, for the score stage's provenance."""
    path = Path(weights_path)
    return {"encoder": f"DINOv2 {name} (facebookresearch/dinov2), CLS token after the final norm, float32",
            "weights_file": str(path), "weights_sha256": weights_sha256(path) if path.is_file() else None,
            "preprocess": PREPROCESS, "pos_embed": "official 37x37 grid, bicubic by scale factor (16.1/37)",
            "distance": "Fréchet: |mu1-mu2|^2 + tr(S1+S2-2(S1S2)^1/2), np.cov ddof 1, float64 (fid.py)",
            "reference": "layer6ai-labs/dgm-eval (FD with --model dinov2 --arch vitl14)",
            **({"plumbing": "seeded random tiny14 network: exercises the code path only"} if name == "tiny14" else {})}
