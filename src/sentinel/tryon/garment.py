"""Garment fidelity in the garment region: colour (CIEDE2000) and texture/print (a Gram statistic).

The garment photo (a flat shot on white, as VITON-HD and DressCode publish them) and the result's
garment region (the job's mask) are compared without any alignment: the garment is warped onto the
body, so pixel-wise comparisons would mostly measure the warp.

* Colour: ΔE00 (sentinel.checks.colour.delta_e00: scikit-image's deltaE_ciede2000, kL = kC = kH = 1)
  between the mean CIELAB colour of the garment photo's foreground (sentinel.checks.colour.
  foreground_lab: the pixels inside the border band that are not background-white) and the mean
  CIELAB colour of the result inside the mask. Lower is better; <= 1 imperceptible, <= 5 close.
* Texture/print: each side's region is cut to its bounding box, pixels outside the region are set to
  the region's mean L* (so the silhouette's edge is not texture), that mean is subtracted (the
  truncated derivative kernels do not sum to exactly 0, and brightness is the colour metric's
  business), and the box is resized to 64 x 64.
  On L* a fixed filter bank of scale-normalised gaussian derivatives (orders x, y, xx, yy, xy at
  sigma 1 and 2: 10 responses r_i, each times sigma^order) gives the Gram matrix
  G_ij = mean over region pixels of r_i r_j (a translation-invariant texture statistic, as in
  Gatys et al. 2015, with a fixed rather than learned filter bank). Similarity is
  1 - ||G_g - G_r||_F / (||G_g||_F + ||G_r||_F), in [0, 1]: 1 for equal statistics, 0 when one side
  is flat and the other textured (a lost print); a Gram norm below 1e-12 is round-off and counts as
  flat (exactly zero). Higher is better.
"""
from __future__ import annotations

import numpy as np

from sentinel.checks import colour
from sentinel.checks.background import WHITE_CHROMA, WHITE_L, border_mask
from sentinel.tryon.regions import bounding_box, check_mask

TEXTURE_SIDE = 64
SIGMAS = (1.0, 2.0)
ORDERS = ((0, 1), (1, 0), (0, 2), (2, 0), (1, 1))  # (rows, cols) derivative orders
FLAT_GRAM = 1e-12  # ||G||_F below this (responses ~1e-6 L*, far below one uint8 level) is round-off: flat


def _lab(rgb: np.ndarray) -> np.ndarray:
    from skimage.color import rgb2lab

    return rgb2lab(rgb)


def garment_foreground(rgb: np.ndarray) -> np.ndarray:
    """The garment photo's foreground, with colour.foreground_lab's rule (inside the band, not white)."""
    lab = _lab(rgb)
    inner = ~border_mask(*rgb.shape[:2])
    white = (lab[..., 0] >= WHITE_L) & (np.hypot(lab[..., 1], lab[..., 2]) <= WHITE_CHROMA)
    fg = inner & ~white
    return fg if fg.any() else inner


def colour_delta_e00(result: np.ndarray, mask: np.ndarray, garment: np.ndarray) -> float | None:
    """ΔE00 between the garment photo's mean foreground colour and the result's mean colour in `mask`."""
    mask = check_mask(mask, result.shape)
    if not mask.any():
        return None
    return colour.delta_e00(colour.foreground_lab(garment), _lab(result)[mask].mean(axis=0))


def _texture_crop(rgb: np.ndarray, region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from skimage.transform import resize

    box = bounding_box(region)
    lum, reg = _lab(rgb)[..., 0][box], region[box]
    lum = np.where(reg, lum, lum[reg].mean()) - lum[reg].mean()  # zero-mean: a flat region gives exact zeros
    side = (TEXTURE_SIDE, TEXTURE_SIDE)
    return (resize(lum, side, order=1, anti_aliasing=True, mode="reflect"),
            resize(reg.astype(float), side, order=0, anti_aliasing=False) >= 0.5)


def texture_gram(rgb: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The 10 x 10 Gram matrix of the filter-bank responses over `region` (see the module docstring)."""
    from scipy.ndimage import gaussian_filter

    lum, reg = _texture_crop(rgb, region)
    if not reg.any():
        reg = np.ones_like(reg)  # a region thinner than a pixel at 64 px: use the whole box
    responses = np.stack([gaussian_filter(lum, s, order=o, mode="reflect")[reg] * s ** sum(o)
                          for s in SIGMAS for o in ORDERS])
    gram = responses @ responses.T / reg.sum()
    return gram if np.linalg.norm(gram) >= FLAT_GRAM else np.zeros_like(gram)


def texture_similarity(result: np.ndarray, mask: np.ndarray, garment: np.ndarray) -> float | None:
    """1 - ||G_garment - G_result||_F / (||G_garment||_F + ||G_result||_F); None for an empty mask."""
    mask = check_mask(mask, result.shape)
    if not mask.any():
        return None
    g1, g2 = texture_gram(garment, garment_foreground(garment)), texture_gram(result, mask)
    total = np.linalg.norm(g1) + np.linalg.norm(g2)
    return 1.0 if total == 0 else float(1.0 - np.linalg.norm(g1 - g2) / total)


def convention() -> dict:
    return {"colour": "CIEDE2000 (skimage deltaE_ciede2000, kL=kC=kH=1) of mean CIELAB (D65): garment photo "
                      "foreground (checks.colour.foreground_lab) vs result inside the mask",
            "texture": f"Gram matrix of scale-normalised gaussian derivatives {ORDERS} at sigma {SIGMAS} on L*, "
                       f"bounding box mean-filled outside the region and resized to {TEXTURE_SIDE}x{TEXTURE_SIDE}; "
                       "similarity 1 - ||G1-G2||_F / (||G1||_F + ||G2||_F)"}
