"""Reference clips for FVD, made locally from still photos with a seeded synthetic camera move.

    motion = plan_motion(rng, "ecommerce_product", n_frames=8, photo_hw=(64, 64), size_wh=(32, 32))
    frames = render_clip(photo, motion, n_frames=8, size_wh=(32, 32))      # uint8 (8, 32, 32, 3)
    clips = category_clips(photo_paths, "ecommerce_product", 8, (32, 32), seed=0)

No real reference videos ship with the smoke suite, so each pinned photo (data/reference/<category>/
*.png) becomes one clip: a camera window moves over the still. This is a plumbing stand-in: it has
real image statistics and smooth motion, but no subject motion; workloads/VIDEO-DATACARD.md says
how to bring real clips. The rules (all stated there too):

Window. Of the photo (Ph x Pw), a centred window of side CROP * min(Ph, Pw), shaped to the output's
aspect (width side * W / max(W, H), height side * H / max(W, H)), is resampled to W x H output pixels.
Frame t (t = 0 .. T-1) moves the window by one of three kinds, drawn per clip:
  pan     centre + (vx * t, vy * t) photo px; one axis, speed k px/frame drawn from the category's range,
          capped at margin / (T - 1) so the window never leaves the photo (margin: window edge to photo edge)
  zoom    window side / z**t (a push-in), z drawn per frame, capped so z**(T - 1) <= MAX_ZOOM
  rotate  window turned by w * t degrees about its centre, capped at |w| * (T - 1) <= MAX_ROTATION_DEG
Sampling. Output pixel (u, v) has its centre at window offset (a, b) = (((u + .5) / W - .5) * side_w / z_t,
((v + .5) / H - .5) * side_h / z_t); the photo point is centre_t + R(theta_t) (a, b); the value is bilinear
between the four nearest photo pixel centres (indices clamped at the border), in float64, rounded half up
to uint8. A pan by an integer k px at 1:1 scale is therefore an exact pixel shift: frame t is
photo[y0 + vy*t : y0 + vy*t + H, x0 + vx*t : x0 + vx*t + W] (tests check it by slicing).
Seeds. Clip i of a category (its photos in name order) draws from
numpy.random.default_rng([seed, crc32(category), i]): the same photos, sizes and seed give the same bytes.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

CROP = 0.5  # the window's side as a share of the photo's shorter side (margin for the moves)
MAX_ZOOM = 1.5  # total push-in over a clip
MAX_ROTATION_DEG = 15.0  # total rotation over a clip
# Per category: kind -> weight, and each kind's per-frame magnitude range (pan: integer px/frame).
MOTION = {
    "ecommerce_product": {"kinds": {"pan": 0.5, "zoom": 0.5, "rotate": 0.0},  # product video: slide or push in
                          "pan_px": (1, 2), "zoom": (1.01, 1.03), "rotate_deg": (0.5, 1.0)},
    "corporate_headshot": {"kinds": {"pan": 0.4, "zoom": 0.3, "rotate": 0.3},  # subtle: 1 px, <= 0.5 deg
                           "pan_px": (1, 1), "zoom": (1.005, 1.01), "rotate_deg": (0.25, 0.5)},
    "creative_portrait": {"kinds": {"pan": 0.4, "zoom": 0.3, "rotate": 0.3},  # creative: larger moves
                          "pan_px": (1, 2), "zoom": (1.01, 1.03), "rotate_deg": (0.5, 1.5)},
}
DEFAULT_MOTION = MOTION["creative_portrait"]  # a user's own category


@dataclass(frozen=True)
class Motion:
    """One clip's camera move, per frame: centre shift (vx, vy) photo px, zoom z, rotation w degrees."""
    kind: str  # pan | zoom | rotate
    vx: float = 0.0
    vy: float = 0.0
    zoom: float = 1.0
    rotate_deg: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def window_size(photo_hw: tuple[int, int], size_wh: tuple[int, int]) -> tuple[float, float]:
    """(width, height) of the frame-0 window in photo px."""
    side = CROP * min(photo_hw)
    w, h = size_wh
    return side * w / max(w, h), side * h / max(w, h)


def plan_motion(rng: np.random.Generator, category: str, n_frames: int, photo_hw: tuple[int, int],
                size_wh: tuple[int, int]) -> Motion:
    """The seeded camera move of one clip (see the module docstring for the draws and caps)."""
    spec = MOTION.get(category, DEFAULT_MOTION)
    kinds = [k for k, w in spec["kinds"].items() if w > 0]
    p = np.array([spec["kinds"][k] for k in kinds], np.float64)
    kind = kinds[int(rng.choice(len(kinds), p=p / p.sum()))]
    steps = max(n_frames - 1, 1)
    if kind == "pan":
        lo, hi = spec["pan_px"]
        k = int(rng.integers(lo, hi + 1))
        axis, sign = int(rng.integers(2)), (-1 if rng.integers(2) else 1)
        ww, wh = window_size(photo_hw, size_wh)
        margin = ((photo_hw[1] - ww) if axis == 0 else (photo_hw[0] - wh)) / 2
        speed = min(float(k), margin / steps)
        return Motion("pan", vx=sign * speed if axis == 0 else 0.0, vy=sign * speed if axis == 1 else 0.0)
    if kind == "zoom":
        z = round(float(rng.uniform(*spec["zoom"])), 4)
        return Motion("zoom", zoom=min(z, MAX_ZOOM ** (1 / steps)))
    w = round(float(rng.uniform(*spec["rotate_deg"])), 2) * (-1 if rng.integers(2) else 1)
    return Motion("rotate", rotate_deg=math.copysign(min(abs(w), MAX_ROTATION_DEG / steps), w))


def _bilinear(photo: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Photo (Ph, Pw, 3) sampled at pixel-index coordinates (x, y) (centre of pixel i is i): float64."""
    ph, pw = photo.shape[:2]
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    xi0, yi0 = np.clip(x0.astype(np.int64), 0, pw - 1), np.clip(y0.astype(np.int64), 0, ph - 1)
    xi1, yi1 = np.clip(x0.astype(np.int64) + 1, 0, pw - 1), np.clip(y0.astype(np.int64) + 1, 0, ph - 1)
    img = photo.astype(np.float64)
    top = img[yi0, xi0] * (1 - fx) + img[yi0, xi1] * fx
    bottom = img[yi1, xi0] * (1 - fx) + img[yi1, xi1] * fx
    return top * (1 - fy) + bottom * fy


def render_clip(photo: np.ndarray, motion: Motion, n_frames: int, size_wh: tuple[int, int]) -> np.ndarray:
    """uint8 (n_frames, H, W, 3): the window of `motion` over `photo` (uint8 (Ph, Pw, 3)), frame by frame."""
    ph, pw = photo.shape[:2]
    w, h = size_wh
    ww, wh = window_size((ph, pw), size_wh)
    u = ((np.arange(w, dtype=np.float64) + 0.5) / w - 0.5) * ww
    v = ((np.arange(h, dtype=np.float64) + 0.5) / h - 0.5) * wh
    a, b = np.meshgrid(u, v)  # (H, W) offsets from the window centre at frame 0
    frames = np.empty((n_frames, h, w, 3), np.uint8)
    for t in range(n_frames):
        scale = 1.0 / (motion.zoom ** t)
        theta = math.radians(motion.rotate_deg * t)
        cos, sin = math.cos(theta), math.sin(theta)
        cx, cy = pw / 2 + motion.vx * t, ph / 2 + motion.vy * t
        x = cx + (a * cos - b * sin) * scale - 0.5  # -0.5: continuous coords -> pixel-index coords
        y = cy + (a * sin + b * cos) * scale - 0.5
        frames[t] = np.floor(_bilinear(photo, x, y) + 0.5).clip(0, 255).astype(np.uint8)
    return frames


def clip_rng(seed: int, category: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(category.encode("utf-8")), index])


def category_clips(photos: list[Path], category: str, n_frames: int, size_wh: tuple[int, int],
                   seed: int) -> list[tuple[str, np.ndarray, Motion]]:
    """(clip_id, frames, motion) for each photo, in name order; clip_id is the photo's stem."""
    from sentinel.images import decode_rgb

    out = []
    for i, path in enumerate(sorted(photos, key=lambda p: p.name)):
        photo = decode_rgb(path)
        motion = plan_motion(clip_rng(seed, category, i), category, n_frames, photo.shape[:2], size_wh)
        out.append((path.stem, render_clip(photo, motion, n_frames, size_wh), motion))
    return out
