"""Preview files for the video report: an animated GIF and a frame strip PNG per shown clip.

    <previews>/<model>/<job_id>.gif   every frame up to preview_max_frames (evenly spaced), at the clip's
                                      fps, looping; colours quantised per frame (median cut, no dither)
    <previews>/<model>/<job_id>.png   up to 8 evenly spaced frames side by side (lossless,
                                      sentinel.images.encode_png)

Both are deterministic bytes for the same frames (no timestamps, fixed palette algorithm, no
optimiser), so the DVC output does not change when nothing changed. The GIF is for eyes only:
its colours are quantised, never score from it. The folder is built under a staging name and moved
into place whole (sentinel.provenance.staged_dir).
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

STRIP_FRAMES = 8


def even_frames(n: int, k: int) -> list[int]:
    """k frame indices spread evenly over 0..n-1 (all of them when n <= k), first and last included."""
    if k <= 0 or n <= k:
        return list(range(n))
    return sorted({int(round(i * (n - 1) / (k - 1))) for i in range(k)}) if k > 1 else [0]


def gif_bytes(frames: np.ndarray, fps: float, max_frames: int = 16) -> bytes:
    from PIL import Image

    idx = even_frames(len(frames), max_frames)
    # the duration keeps real time: skipped frames make each kept frame last longer
    step_ms = max(20, int(round(1000.0 / fps * len(frames) / len(idx))))
    images = [Image.fromarray(np.ascontiguousarray(frames[i]), "RGB").quantize(
        colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE) for i in idx]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=step_ms, loop=0,
                   optimize=False, disposal=1)
    return buf.getvalue()


def strip_png(frames: np.ndarray, max_frames: int = STRIP_FRAMES) -> bytes:
    from PIL import Image

    from sentinel.images import encode_png

    idx = even_frames(len(frames), max_frames)
    return encode_png(Image.fromarray(np.ascontiguousarray(np.concatenate([frames[i] for i in idx], axis=1)), "RGB"))


def write_previews(root: Path, shown: dict[str, list[dict]], max_frames: int) -> dict[str, dict[str, dict]]:
    """Write every preview; `shown` maps model -> [{"job_id", "frames", "fps"}]. Returns model -> job ->
    {"gif", "strip"} paths relative to `root`. The whole folder is replaced atomically."""
    from sentinel.provenance import staged_dir

    out: dict[str, dict[str, dict]] = {}
    with staged_dir(root) as tmp:
        for model in sorted(shown):
            for clip in sorted(shown[model], key=lambda c: c["job_id"]):
                rel_gif, rel_png = f"{model}/{clip['job_id']}.gif", f"{model}/{clip['job_id']}.png"
                (tmp / model).mkdir(parents=True, exist_ok=True)
                (tmp / rel_gif).write_bytes(gif_bytes(clip["frames"], clip["fps"], max_frames))
                (tmp / rel_png).write_bytes(strip_png(clip["frames"]))
                out.setdefault(model, {})[clip["job_id"]] = {"gif": rel_gif, "strip": rel_png}
    return out
