"""Where each category's reference photos live: the pinned set, or a folder the config names.

    workload:
      reference: {corporate_headshot: /data/my-headshots}   # any category left out: <paths.data>/reference/<category>

`dvc exp run -S '+workload.reference.corporate_headshot=/data/my-headshots'` points one category at a
user's own folder without a code change (`+`: the key is new to the composed config; a key already
in the workload file takes `-S workload.reference.<category>=...`). The pinned default (data.dvc)
stays untouched.

A folder may hold PNG, JPEG and WebP photos (production sets are mostly JPEG). The metric networks
read one format, lossless PNG (sentinel.images), so `as_png` decodes each JPEG or WebP once with
PIL, applies its EXIF orientation (what a viewer shows), and stores the 8-bit RGB pixels as PNG: the
pixels the metrics see are exactly the decoded photo's, and a PNG photo is used as it is.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from sentinel.errors import ReferenceSetError  # noqa: F401 (re-exported: importable here as before)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")  # case-insensitive


def check_reference(reference: Mapping[str, str], categories: tuple[str, ...]) -> None:
    unknown = sorted(set(reference) - set(categories))
    if unknown:
        raise ReferenceSetError(f"workload.reference.{unknown[0]}: not a workload category "
                             f"(valid: {', '.join(categories)})")


def reference_dir(data_dir: str | Path, category: str, reference: Mapping[str, str] | None = None) -> Path:
    """The folder of `category`'s reference photos."""
    reference = reference or {}
    return Path(reference[category]) if category in reference else Path(data_dir) / "reference" / category


def photo_files(folder: Path) -> list[Path]:
    """The PNG, JPEG and WebP files directly in `folder`, sorted by name; [] for a missing folder."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def reference_images(data_dir: str | Path, category: str, reference: Mapping[str, str] | None = None) -> list[Path]:
    """Sorted photos of `category`'s reference folder; an empty or missing folder is an error naming it and the key."""
    folder = reference_dir(data_dir, category, reference)
    files = photo_files(folder)
    if not files:
        where = f"workload.reference.{category}" if reference and category in reference else "data.dvc"
        hint = ("put PNG, JPEG or WebP files there or fix the path" if where != "data.dvc" else
                "run `dvc pull data.dvc` (or `python -m sentinel.workloads.photos prepare --out data` to rebuild them)")
        raise ReferenceSetError(f"{folder}: no reference photos for {category} (from {where}); {hint}")
    return files


def folder_fingerprint(folder: Path) -> tuple[int, str | None]:
    """(number of reference photos, sha256 of their sorted "name<TAB>sha256" lines); (0, None) if none.

    Names and contents both count, so renaming or replacing a photo changes the fingerprint."""
    from sentinel.provenance import sha256_file

    files = photo_files(folder)
    if not files:
        return 0, None
    lines = "".join(f"{p.name}\t{sha256_file(p)}\n" for p in files)
    return len(files), hashlib.sha256(lines.encode()).hexdigest()


def reference_sets(data_dir: str | Path, workload) -> dict[str, dict]:
    """category -> {folder, n_images, sha256}: which photos a score was made against (metrics.json, report)."""
    out = {}
    for cat in workload.categories:
        folder = reference_dir(data_dir, cat, workload.reference)
        n, digest = folder_fingerprint(folder)
        out[cat] = {"folder": folder.as_posix(), "n_images": n, "sha256": digest}
    return out


MAX_PIXELS = 64_000_000  # 8000 x 8000: above any reference photo; a larger header is a decompression bomb


def check_photo(path: Path, category: str) -> None:
    """Refuse a reference photo PIL cannot read, naming the file and its category (not a PIL traceback)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:  # reads the header only: a bomb is refused before decoding
            if img.width * img.height > MAX_PIXELS:
                raise ReferenceSetError(f"{path}: reference photo for {category} is {img.width}x{img.height} "
                                        f"pixels, above the {MAX_PIXELS:,} limit (a decompression bomb?)")
            img.verify()
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise ReferenceSetError(f"{path}: reference photo for {category} cannot be read ({e}); "
                                "replace or remove it") from None


def _decode_photo(path: Path):
    from PIL import Image, ImageOps

    with Image.open(path) as img:
        img.load()
        img = ImageOps.exif_transpose(img)
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            import numpy as np

            if np.asarray(img.convert("RGBA").getchannel("A")).min() < 255:
                raise ReferenceSetError(f"{path}: reference photo has transparent pixels; flatten it to RGB first")
        return img.convert("RGB")


def as_png(files: list[Path], work: Path) -> list[Path]:
    """The same photos, in order, each as a PNG: PNGs as they are, JPEG/WebP decoded once into
    `work/<sha256 of the file>.png` (the same file always gives the same PNG bytes)."""
    from sentinel.images import encode_png
    from sentinel.provenance import atomic_write_bytes, sha256_file

    out = []
    for path in files:
        if path.suffix.lower() == ".png":
            out.append(path)
            continue
        target = Path(work) / f"{sha256_file(path)}.png"
        if not target.is_file():
            try:
                atomic_write_bytes(target, encode_png(_decode_photo(path)))
            except OSError as e:
                raise ReferenceSetError(f"{path}: cannot decode this reference photo: {e}") from None
        out.append(target)
    return out


_SCRATCH: list = []  # a TemporaryDirectory for this process, when no cache folder is configured


def scored_references(data_dir: str | Path, category: str, reference: Mapping[str, str] | None,
                      cache_dir: str | None) -> list[Path]:
    """`category`'s reference photos as the metrics read them (PNG; see as_png), JPEG/WebP decoded
    under <cache_dir>/reference-png/ (content-addressed, so shared safely) or a temporary folder."""
    files = reference_images(data_dir, category, reference)
    if all(p.suffix.lower() == ".png" for p in files):
        return files
    if cache_dir:
        work = Path(cache_dir) / "reference-png"
    else:
        import tempfile

        if not _SCRATCH:
            _SCRATCH.append(tempfile.TemporaryDirectory(prefix="sentinel-reference-png-"))
        work = Path(_SCRATCH[0].name)
    return as_png(files, work)
