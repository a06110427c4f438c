"""Product colour fidelity: CIEDE2000 between the product in the image and its reference photo.

Each side's colour is the mean CIELAB colour of its foreground: the pixels outside the border band
(background.border_mask) that are not background-white. ΔE00 is scikit-image's deltaE_ciede2000
(Sharma, Wu & Dalal 2005; kL = kC = kH = 1). ΔE00 <= 1 is not perceptible to most observers and
<= 5 a close match (rubrics/workload-checks-v1.md).
"""
from __future__ import annotations

import numpy as np

from sentinel.checks.background import WHITE_CHROMA, WHITE_L, border_mask


def foreground_lab(rgb: np.ndarray) -> np.ndarray:
    from skimage.color import rgb2lab

    lab = rgb2lab(rgb)
    inner = ~border_mask(*rgb.shape[:2])
    white = (lab[..., 0] >= WHITE_L) & (np.hypot(lab[..., 1], lab[..., 2]) <= WHITE_CHROMA)
    fg = lab[inner & ~white]
    return (fg if len(fg) else lab[inner]).reshape(-1, 3).mean(axis=0)


def delta_e00(lab1, lab2) -> float:
    from skimage.color import deltaE_ciede2000

    return float(deltaE_ciede2000(np.asarray(lab1, dtype=np.float64), np.asarray(lab2, dtype=np.float64)))


def colour_difference(rgb: np.ndarray, reference_rgb: np.ndarray) -> float:
    return delta_e00(foreground_lab(rgb), foreground_lab(reference_rgb))
