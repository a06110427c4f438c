"""Reference photos for FID, prepared deterministically from the photographs inside scikit-image.

`sentinel data prepare --out data` writes data/reference/<category>/*.png plus a manifest.
The published copy is pinned by data.dvc and stored in the in-repo DVC remote `dvc-store/`, so a
fresh clone gets byte-identical files offline with `dvc pull`; `sentinel data check`
proves the pinned pixels are exactly what this recipe produces.

Sources (scikit-image's bundled data; licences per skimage.data docs: public domain / CC0 except
LFW, whose images are for research use): LFW faces for headshots; coffee, rocket and the stereo
motorcycle pair for products; astronaut, chelsea and camera for creative portraits.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data as skdata

from sentinel.images import decode_rgb, encode_png
from sentinel.provenance import sha256_bytes, staged_dir, write_json

log = logging.getLogger(__name__)
SIZE = 64
PER_CATEGORY = 16


def _rgb(a: np.ndarray) -> Image.Image:
    if a.dtype != np.uint8:
        a = np.clip(np.round(a * 255.0), 0, 255).astype(np.uint8)
    return Image.fromarray(a).convert("RGB")


def _crops(name: str, img: Image.Image, n: int) -> list[tuple[str, Image.Image]]:
    """n square crops on a fixed grid (then mirrored), each resized with PIL bicubic to SIZE."""
    w, h = img.size
    side = int(min(w, h) * 0.8)
    spots = [(0.5, 0.5), (0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0), (0.5, 0.0), (0.5, 1.0), (0.0, 0.5)]
    out = []
    for i in range(n):
        fx, fy = spots[i % len(spots)]
        x, y = int((w - side) * fx), int((h - side) * fy)
        crop = img.crop((x, y, x + side, y + side)).resize((SIZE, SIZE), Image.Resampling.BICUBIC)
        if i >= len(spots):
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        out.append((f"{name}-{i:02d}", crop))
    return out


def _headshots() -> list[tuple[str, Image.Image]]:
    faces = skdata.lfw_subset()[:PER_CATEGORY]  # the first 100 of the 200 are faces
    return [(f"lfw-{i:03d}", _rgb(f).resize((SIZE, SIZE), Image.Resampling.BICUBIC)) for i, f in enumerate(faces)]


def _products() -> list[tuple[str, Image.Image]]:
    left, right, _ = skdata.stereo_motorcycle()
    sources = [("coffee", skdata.coffee()), ("rocket", skdata.rocket()), ("motorcycle-l", left), ("motorcycle-r", right)]
    return [c for name, a in sources for c in _crops(name, _rgb(a), PER_CATEGORY // len(sources))]


def _portraits() -> list[tuple[str, Image.Image]]:
    sources = [("astronaut", skdata.astronaut(), 6), ("chelsea", skdata.chelsea(), 5), ("camera", skdata.camera(), 5)]
    return [c for name, a, n in sources for c in _crops(name, _rgb(a), n)]


CATEGORIES = {"corporate_headshot": _headshots, "ecommerce_product": _products, "creative_portrait": _portraits}


def build() -> dict[str, list[tuple[str, Image.Image]]]:
    return {cat: fn() for cat, fn in CATEGORIES.items()}


def prepare(out: Path) -> dict:
    """Write out/reference/<category>/<name>.png and out/reference/manifest.json, atomically."""
    manifest = {"recipe": "sentinel.workloads.photos v1", "size_px": SIZE, "resize": "PIL bicubic", "categories": {}}
    with staged_dir(out / "reference") as tmp:
        for cat, images in build().items():
            (tmp / cat).mkdir()
            rows = []
            for name, img in images:
                png = encode_png(img)
                (tmp / cat / f"{name}.png").write_bytes(png)
                rows.append({"file": f"{cat}/{name}.png", "sha256": sha256_bytes(png)})
            manifest["categories"][cat] = rows
        write_json(tmp / "manifest.json", manifest)
    return manifest


def check(root: Path) -> list[str]:
    """Compare the pinned reference pixels with a fresh build; return the mismatching files."""
    bad = []
    for cat, images in build().items():
        for name, img in images:
            path = root / "reference" / cat / f"{name}.png"
            if not path.exists() or not np.array_equal(decode_rgb(path), np.asarray(img.convert("RGB"))):
                bad.append(str(path))
    return bad


def main(argv: list[str] | None = None, prog: str = "sentinel data") -> int:
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=["prepare", "check"],
                    help="prepare: write the photos; check: compare the pinned photos with the recipe")
    ap.add_argument("--out", type=Path, default=Path("data"), help="the data folder (default: data)")
    args = ap.parse_args(argv)
    if args.command == "prepare":
        m = prepare(args.out)
        log.info("wrote %d reference photos under %s/reference", sum(len(v) for v in m["categories"].values()), args.out)
        return 0
    bad = check(args.out)
    for b in bad:
        log.error("mismatch: %s", b)
    print("reference photos match the recipe" if not bad else f"{len(bad)} reference photos differ from the recipe")
    return 1 if bad else 0


if __name__ == "__main__":
    from sentinel.console import run_main

    sys.exit(run_main("data", main))
