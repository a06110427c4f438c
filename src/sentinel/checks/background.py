"""Background purity for product shots that ask for a plain white background.

Purity is the share of pixels in the image's border band (the outer BORDER_FRACTION of each side,
where a centred product does not reach) that are white in CIELAB: L* >= WHITE_L and chroma
sqrt(a*^2 + b*^2) <= WHITE_CHROMA (D65, scikit-image's rgb2lab). A textured or coloured backdrop
fails even when it is bright.
"""
from __future__ import annotations

import numpy as np

BORDER_FRACTION = 0.08
WHITE_L, WHITE_CHROMA = 92.0, 6.0


def border_mask(h: int, w: int, fraction: float = BORDER_FRACTION) -> np.ndarray:
    by, bx = max(1, round(h * fraction)), max(1, round(w * fraction))
    mask = np.zeros((h, w), dtype=bool)
    mask[:by], mask[-by:], mask[:, :bx], mask[:, -bx:] = True, True, True, True
    return mask


def purity(rgb: np.ndarray) -> float:
    """Share of border pixels that are white (0..1)."""
    from skimage.color import rgb2lab

    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"background.purity: need an HxWx3 image, got {rgb.shape}")
    lab = rgb2lab(rgb)
    band = lab[border_mask(*rgb.shape[:2])]
    white = (band[:, 0] >= WHITE_L) & (np.hypot(band[:, 1], band[:, 2]) <= WHITE_CHROMA)
    return float(white.mean())
