"""Headshot framing: exactly one face, large enough, near the centre (OpenCV's frontal Haar cascade).

The cascade ships inside opencv-python-headless (`cv2.data.haarcascades`), so nothing is fetched.
Images are analysed in grayscale with the short side scaled to ANALYSIS_PX (the detector works on
faces from ~24 px; at 1024 px it would be slow for no gain); the minimum face is 1/8 of the short
side, so a face too small to be a headshot is not counted as one.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

CASCADE = "haarcascade_frontalface_default.xml"
ANALYSIS_PX = 256
MIN_FACE_FRACTION = 1 / 8  # of the short side
SCALE_FACTOR, MIN_NEIGHBOURS = 1.1, 5


@lru_cache(maxsize=1)
def _detector():
    import cv2

    det = cv2.CascadeClassifier(cv2.data.haarcascades + CASCADE)
    if det.empty():
        raise FileNotFoundError(f"OpenCV face cascade {CASCADE} not found under {cv2.data.haarcascades}")
    return det


@dataclass(frozen=True)
class Faces:
    count: int
    area_fraction: float  # largest face box / image area (0 when no face)
    centre_offset: float  # distance of the largest face's centre from the image centre / half-diagonal


def detect(rgb: np.ndarray) -> Faces:
    """Faces in an HxWx3 uint8 image."""
    import cv2

    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"faces.detect: need an HxWx3 uint8 image, got {rgb.shape} {rgb.dtype}")
    h, w = rgb.shape[:2]
    scale = ANALYSIS_PX / min(h, w)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if scale != 1:
        gray = cv2.resize(gray, (round(w * scale), round(h * scale)),
                          interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    side = int(ANALYSIS_PX * MIN_FACE_FRACTION)
    boxes = _detector().detectMultiScale(gray, scaleFactor=SCALE_FACTOR, minNeighbors=MIN_NEIGHBOURS,
                                         minSize=(side, side))
    if len(boxes) == 0:
        return Faces(0, 0.0, 1.0)
    x, y, bw, bh = max(boxes, key=lambda b: b[2] * b[3])
    gh, gw = gray.shape
    cx, cy = x + bw / 2 - gw / 2, y + bh / 2 - gh / 2
    return Faces(len(boxes), float(bw * bh / (gw * gh)), float(np.hypot(cx, cy) / np.hypot(gw / 2, gh / 2)))
