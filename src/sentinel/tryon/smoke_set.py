"""The try-on smoke set: a tiny paired/unpaired set made from the project's pinned real photos.

Try-on benchmarks (VITON-HD, DressCode) are licensed and cannot ship here, so the smoke suite builds
its own from the real photographs already pinned in data/reference (data/reference/manifest.json,
sentinel.workloads.photos; licences in workloads/TRYON-DATACARD.md), 64 px:

1. Persons: the reference photos whose 64-px crop shows a clothed torso (PERSONS): two crops of
   `astronaut` (an orange flight suit with a printed patch) and two of `camera` (a dark coat).
   The LFW headshots are face crops with no torso in frame, and `chelsea` is a cat, so neither is used.
   Each source's sha256 is checked against data/reference/manifest.json before anything is built.
2. Garment region (the job's mask): a hand-placed torso rectangle per photo, on the clothing
   (PERSONS[..].box, rows top:bottom and columns left:right, half-open, in pixels of the 64-px
   photo); the mask PNG is white (255) inside the rectangle, black outside.
3. Garment image (as an in-shop photo): that rectangle of the person photo, cut out unchanged and
   centred on a 64 x 64 white canvas (top = (64 - h) // 2, left = (64 - w) // 2).
4. Paired job `p-<name>`: the person with their own garment (the person photo is the ground truth).
   Unpaired job `u-<name>`: the person with the garment of the next person in a seeded cyclic order
   (persons sorted by sha256("tryon-smoke-v1:<name>"), each given the next one's garment), so no
   person gets their own garment and no NumPy random stream is involved. The mask is always the
   person's own garment region. Seed of a job: the first 8 hex digits of sha256("tryon-smoke:<id>").
5. The jobs CSV (workloads/tryon-smoke.csv) names the images relative to workloads/tryon, the
   smoke suite's `tryon.workload.root` (so that folder is the generate stage's one image dependency,
   as a DVC-pulled licensed set's folder is).
6. Published pair lists (sentinel.tryon.pairs): smoke-paired.csv and smoke-unpaired.csv, file
   names as in workloads/tryon/{person,garment}/, pinned by sha256 in workloads/tryon-pairs/manifest.json.

Every byte is deterministic (sentinel.images.encode_png, canonical JSON); `check` rebuilds in memory
and names each committed file that differs.

    python -m sentinel.tryon.smoke_set prepare    # writes workloads/tryon/, tryon-smoke.csv, tryon-pairs/
    python -m sentinel.tryon.smoke_set check      # exit 1 and the differing files if any
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from sentinel.errors import WorkloadError
from sentinel.images import decode_rgb, encode_png
from sentinel.provenance import atomic_write_bytes, sha256_bytes, staged_dir, to_json

RECIPE = "sentinel.tryon.smoke_set v1"
SIDE = 64
WHITE = 255
ORDER_SALT = "tryon-smoke-v1"
DATASET = "sentinel-tryon-smoke"
SET_DIR = "workloads/tryon"  # person/, garment/, mask/, manifest.json: `tryon.workload.root`
JOBS_CSV = "workloads/tryon-smoke.csv"  # image paths relative to SET_DIR
PAIRS_DIR = "workloads/tryon-pairs"
PAIR_LISTS = {"paired": "smoke-paired.csv", "unpaired": "smoke-unpaired.csv"}


@dataclass(frozen=True)
class Person:
    name: str
    source: str  # under the reference root (data/reference)
    box: tuple[int, int, int, int]  # garment region: rows top:bottom, columns left:right (half-open)
    category: str = "upper"


PERSONS = (
    Person("astronaut-00", "creative_portrait/astronaut-00.png", (38, 64, 2, 38)),
    Person("astronaut-03", "creative_portrait/astronaut-03.png", (30, 64, 8, 44)),
    Person("camera-00", "creative_portrait/camera-00.png", (24, 64, 0, 20)),
    Person("camera-01", "creative_portrait/camera-01.png", (28, 64, 2, 34)),
)


def _sha_int(text: str, hex_digits: int = 8) -> int:
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:hex_digits], 16)


def job_seed(job_id: str) -> int:
    return _sha_int(f"tryon-smoke:{job_id}")


def unpaired_garment_of(names: list[str]) -> dict[str, str]:
    """person -> the person whose garment they get: the next one in the seeded cyclic order."""
    order = sorted(names, key=lambda n: hashlib.sha256(f"{ORDER_SALT}:{n}".encode()).hexdigest())
    return {order[k]: order[(k + 1) % len(order)] for k in range(len(order))}


def mask_array(box: tuple[int, int, int, int]) -> np.ndarray:
    top, bottom, left, right = box
    m = np.zeros((SIDE, SIDE), dtype=bool)
    m[top:bottom, left:right] = True
    return m


def garment_array(person: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The box of the person photo, unchanged, centred on a white SIDE x SIDE canvas."""
    top, bottom, left, right = box
    h, w = bottom - top, right - left
    canvas = np.full((SIDE, SIDE, 3), WHITE, dtype=np.uint8)
    y, x = (SIDE - h) // 2, (SIDE - w) // 2
    canvas[y:y + h, x:x + w] = person[top:bottom, left:right]
    return canvas


def _png(arr: np.ndarray) -> bytes:
    return encode_png(Image.fromarray(arr))


def _pinned_sources(reference_root: Path) -> dict[str, str]:
    """source -> sha256 as pinned in the reference manifest; refuses a photo that differs from it."""
    manifest = reference_root / "manifest.json"
    if not manifest.is_file():
        raise WorkloadError(f"{manifest}: reference manifest not found (`dvc pull data.dvc` on a fresh clone)")
    pinned = {r["file"]: r["sha256"] for rows in json.loads(manifest.read_text("utf-8"))["categories"].values()
              for r in rows}
    out = {}
    for p in PERSONS:
        path = reference_root / p.source
        if p.source not in pinned:
            raise WorkloadError(f"{manifest}: {p.source}: not a pinned reference photo")
        actual = sha256_bytes(path.read_bytes()) if path.is_file() else "(missing)"
        if actual != pinned[p.source]:
            raise WorkloadError(f"{path}: sha256 {actual} differs from {pinned[p.source]} pinned in {manifest}")
        out[p.source] = actual
    return out


def _csv(rows: list[list[str]]) -> str:
    return "".join(",".join(r) + "\n" for r in rows)  # no field needs quoting (checked names)


def build(reference_root: str | Path = "data/reference") -> dict[str, bytes]:
    """Every file of the smoke set, by path relative to the repository root."""
    from sentinel.tryon import pairs as pairs_mod

    reference_root = Path(reference_root)
    sources = _pinned_sources(reference_root)
    files: dict[str, bytes] = {}
    for p in PERSONS:
        person = decode_rgb(reference_root / p.source)
        if person.shape != (SIDE, SIDE, 3):
            raise WorkloadError(f"{reference_root / p.source}: expected {SIDE}x{SIDE}, got {person.shape[1]}x{person.shape[0]}")
        mask = mask_array(p.box)
        files[f"{SET_DIR}/person/{p.name}.png"] = _png(person)
        files[f"{SET_DIR}/garment/{p.name}.png"] = _png(garment_array(person, p.box))
        files[f"{SET_DIR}/mask/{p.name}.png"] = _png(np.repeat(mask[..., None] * np.uint8(255), 3, axis=2))
    other = unpaired_garment_of([p.name for p in PERSONS])
    jobs = [["id", "person", "garment", "mask", "category", "seed", "protocol"]]
    lists: dict[str, list[list[str]]] = {"paired": [], "unpaired": []}
    for protocol, prefix in (("paired", "p"), ("unpaired", "u")):
        for p in PERSONS:
            g = p.name if protocol == "paired" else other[p.name]
            job_id = f"{prefix}-{p.name}"
            jobs.append([job_id, f"person/{p.name}.png", f"garment/{g}.png", f"mask/{p.name}.png",
                         p.category, str(job_seed(job_id)), protocol])
            lists[protocol].append([f"{p.name}.png", f"{g}.png"])
    files[JOBS_CSV] = _csv(jobs).encode("utf-8")
    entries = []
    for protocol, name in PAIR_LISTS.items():
        data = _csv([list(pairs_mod.HEADER), *lists[protocol]]).encode("utf-8")
        files[f"{PAIRS_DIR}/{name}"] = data
        entries.append({"file": name, "protocol": protocol, "dataset": DATASET, "rows": len(lists[protocol]),
                        "source": f"{RECIPE} from data/reference (pinned by data/reference/manifest.json)",
                        "sha256": sha256_bytes(data)})
    files[f"{PAIRS_DIR}/manifest.json"] = to_json(
        {"format": pairs_mod.FORMAT, "lists": sorted(entries, key=lambda e: e["file"])}).encode("utf-8")
    set_files = sorted(k for k in files if k.startswith(f"{SET_DIR}/"))
    files[f"{SET_DIR}/manifest.json"] = to_json({
        "recipe": RECIPE, "size_px": SIDE, "garment_background_rgb": [WHITE] * 3,
        "persons": [{"name": p.name, "source": f"data/reference/{p.source}", "source_sha256": sources[p.source],
                     "category": p.category, "box": dict(zip(("top", "bottom", "left", "right"), p.box))}
                    for p in PERSONS],
        "files": [{"file": k[len(SET_DIR) + 1:], "sha256": sha256_bytes(files[k])} for k in set_files],
    }).encode("utf-8")
    return files


def prepare(repo_root: str | Path = ".", reference_root: str | Path | None = None) -> dict[str, bytes]:
    """Write the set under `repo_root`: workloads/tryon/ as one staged folder, the CSV and the
    smoke pair lists + their manifest each atomically (other lists in workloads/tryon-pairs/ stay)."""
    repo_root = Path(repo_root)
    files = build(reference_root if reference_root is not None else repo_root / "data/reference")
    with staged_dir(repo_root / SET_DIR) as tmp:
        for rel, data in files.items():
            if rel.startswith(f"{SET_DIR}/"):
                out = tmp / rel[len(SET_DIR) + 1:]
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data)
    for rel, data in files.items():
        if not rel.startswith(f"{SET_DIR}/"):
            atomic_write_bytes(repo_root / rel, data)
    return files


def check(repo_root: str | Path = ".", reference_root: str | Path | None = None) -> list[str]:
    """The committed files that differ from a fresh build (missing ones included), by relative path."""
    repo_root = Path(repo_root)
    files = build(reference_root if reference_root is not None else repo_root / "data/reference")
    bad = [rel for rel, data in files.items()
           if not (repo_root / rel).is_file() or (repo_root / rel).read_bytes() != data]
    extra = sorted(p.relative_to(repo_root).as_posix() for p in (repo_root / SET_DIR).rglob("*")
                   if p.is_file() and p.relative_to(repo_root).as_posix() not in files)
    return sorted(bad) + extra


def main(argv: list[str] | None = None, prog: str = "python -m sentinel.tryon.smoke_set") -> int:
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=["prepare", "check"])
    ap.add_argument("--root", type=Path, default=Path("."), help="the repository root (default: .)")
    args = ap.parse_args(argv)
    if args.command == "prepare":
        files = prepare(args.root)
        print(f"wrote {len(files)} files of the try-on smoke set under {args.root}")
        return 0
    bad = check(args.root)
    for b in bad:
        print(f"differs: {b}", file=sys.stderr)
    print("try-on smoke set matches its recipe" if not bad else f"{len(bad)} files differ from the recipe")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
