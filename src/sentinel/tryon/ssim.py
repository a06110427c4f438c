"""SSIM with its convention pinned: torchmetrics' map, averaged where its window fits.

Convention (recorded by `convention()` next to every number):
* torchmetrics.functional.image.structural_similarity_index_measure (the home of
  `torchmetrics.functional.structural_similarity_index_measure`, which torchmetrics 1.9 keeps only
  as a wrapper that warns of its deprecation and calls this one), gaussian window of 11 taps
  (int(3.5 sigma + 0.5) * 2 + 1), sigma 1.5, k1 0.01, k2 0.03, population (not sample) covariances;
* images as float64 in [0, 1] (uint8 / 255), data_range 1.0, every RGB channel, then averaged;
* the map is averaged over the pixels whose 11 x 11 window lies inside the image (a 5-pixel border
  left out), as Wang et al.'s reference code and scikit-image's `structural_similarity` do.
  torchmetrics' own reduction also averages the reflect-padded border, which moved SSIM by 0.026
  on a noisy 96 x 80 photo (0.636 vs 0.662, measured); with the border left out it equals scikit-image's
  `structural_similarity(..., gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
  data_range=1.0, channel_axis=-1)` (tests/test_tryon_metrics.py states the tolerance).
"""
from __future__ import annotations

import importlib.metadata as md

import numpy as np

SIGMA, K1, K2, DATA_RANGE = 1.5, 0.01, 0.03, 1.0
KERNEL = int(3.5 * SIGMA + 0.5) * 2 + 1  # 11: torchmetrics' gaussian size for this sigma
RADIUS = (KERNEL - 1) // 2


def _tensor(rgb: np.ndarray):
    import torch

    a = np.asarray(rgb)
    if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8:
        raise ValueError(f"SSIM: need an HxWx3 uint8 image, got {a.dtype} {a.shape}")
    return torch.from_numpy(a.astype(np.float64) / 255.0).permute(2, 0, 1)[None]


def ssim_map(result: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The HxW SSIM map (channels averaged) of two same-size uint8 RGB images, torchmetrics' convention."""
    from torchmetrics.functional.image import structural_similarity_index_measure

    if np.shape(result) != np.shape(reference):
        raise ValueError(f"SSIM: images differ in size: {np.shape(result)} vs {np.shape(reference)}")
    if min(np.shape(result)[:2]) <= 2 * RADIUS:
        raise ValueError(f"SSIM: images must be larger than {2 * RADIUS} px on each side, got {np.shape(result)}")
    _, full = structural_similarity_index_measure(
        _tensor(result), _tensor(reference), gaussian_kernel=True, sigma=SIGMA, kernel_size=KERNEL,
        data_range=DATA_RANGE, k1=K1, k2=K2, return_full_image=True)
    return full[0].mean(dim=0).numpy()


def ssim(result: np.ndarray, reference: np.ndarray) -> float:
    """Mean SSIM over the pixels whose window lies inside the image."""
    return float(ssim_map(result, reference)[RADIUS:-RADIUS, RADIUS:-RADIUS].mean())


def convention() -> dict:
    return {"implementation": "torchmetrics.functional.image.structural_similarity_index_measure (return_full_image)",
            "window": f"gaussian, {KERNEL} taps, sigma {SIGMA}", "k1": K1, "k2": K2,
            "data_range": f"{DATA_RANGE} (uint8 / 255, float64)", "channels": "RGB, each channel, then averaged",
            "average": f"pixels whose window lies inside the image ({RADIUS}-px border left out), as scikit-image",
            "torchmetrics": md.version("torchmetrics")}
