"""Generate a production-like video workload CSV, seeded and versioned (workloads/VIDEO-DATACARD.md).

    python -m sentinel.video.workload_gen generate --profile video-smoke   # -> workloads/video-smoke.csv
    python -m sentinel.video.workload_gen check                            # committed == a fresh generation?
    rows = generate("video-smoke"); data = to_csv_bytes(rows)              # the same, as functions

Three categories, each a production video use case:
  ecommerce_product   a product turntable: the product turns once on a clean set, camera fixed
  corporate_headshot  a subtle-motion portrait: a blink, a nod, a small head turn; camera steady
  creative_portrait   a creative short: a subject in motion, a visual style and a camera move
Each job draws its prompt parts, negative terms, size, fps and duration from the profile's tables
below with numpy.random.default_rng([VERSION_SEED, profile seed]); seeds are distinct draws; arrivals
are a Poisson process (exponential gaps, `mean_gap_s`), categories interleaved in time. The same
version and seed give the same bytes (tests/test_video_jobs.py regenerates the committed CSV).
Pure Python + numpy: no torch.
"""
from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np

from sentinel.errors import WorkloadError
from sentinel.provenance import atomic_write_bytes
from sentinel.video.jobs import COLUMNS, EXTRA_COLUMNS
from sentinel.workloads.jobs import format_attributes

VERSION = "1"  # bump when a table or a draw changes: the same seed then gives other jobs
ROOT = Path(__file__).resolve().parents[3]
CATEGORIES = ("ecommerce_product", "corporate_headshot", "creative_portrait")
PREFIX = {"ecommerce_product": "vep", "corporate_headshot": "vhs", "creative_portrait": "vcp"}

# Prompt parts per category: (attribute value, phrase). The attribute values go to `attributes`.
PARTS = {
    "ecommerce_product": {
        "product": [("mug", "a ceramic coffee mug"), ("handbag", "a leather handbag"),
                    ("sneaker", "a pair of running shoes"), ("headphones", "a pair of wireless headphones"),
                    ("perfume", "a glass perfume bottle"), ("watch", "a wristwatch with a steel band"),
                    ("lamp", "a wooden desk lamp"), ("serum", "a skincare serum bottle")],
        "surface": [("seamless", "a white seamless backdrop"), ("marble", "a marble countertop"),
                    ("pedestal", "a matte grey pedestal"), ("oak", "a light oak table")],
        "lighting": [("studio", "soft studio lighting"), ("high_key", "bright high-key lighting"),
                     ("window", "warm window light")],
    },
    "corporate_headshot": {
        "subject": [("woman_30s", "a woman in her thirties"), ("man_50s", "a man in his fifties"),
                    ("man_20s", "a young man in his twenties"), ("woman_60s", "a woman in her sixties"),
                    ("woman_20s", "a woman in her twenties"), ("man_40s", "a man in his forties")],
        "attire": [("suit", "a navy suit"), ("blouse", "a white blouse"), ("blazer", "a grey blazer"),
                   ("turtleneck", "a dark turtleneck")],
        "background": [("office", "a softly blurred office"), ("wall", "a plain light-grey wall"),
                       ("gradient", "a soft gradient backdrop")],
        "motion": [("blink", "a gentle blink and a slight smile"), ("nod", "a slow, small nod"),
                   ("head_turn", "a small head turn toward the camera"),
                   ("breath", "a calm breath, shoulders settling")],
    },
    "creative_portrait": {
        "subject": [("dancer", "a dancer"), ("astronaut", "an astronaut"), ("violinist", "a violinist"),
                    ("painter", "a painter"), ("skater", "a skateboarder"), ("kite", "a child with a kite")],
        "action": [("light", "turning toward the light"), ("leaves", "walking through falling leaves"),
                   ("rain", "laughing in the rain"), ("neon", "looking up at neon signs")],
        "style": [("noir", "film noir, high contrast"), ("watercolour", "a watercolour look"),
                  ("golden_hour", "a golden-hour film look"), ("cyberpunk", "cyberpunk neon colours"),
                  ("claymation", "stop-motion clay animation")],
        "camera": [("dolly_in", "slow dolly-in"), ("orbit", "orbiting camera"), ("handheld", "handheld tracking shot"),
                   ("crane", "crane up")],
    },
}
TEMPLATES = {
    "ecommerce_product": "A slow 360-degree turntable shot of {product} on {surface}, {lighting}, "
                         "the camera fixed while the product turns once",
    "corporate_headshot": "A professional headshot video of {subject} in {attire} against {background}, "
                          "subtle natural motion: {motion}; steady camera, head and shoulders",
    "creative_portrait": "A cinematic short of {subject} {action}, {style}, {camera}",
}
NEGATIVE = {  # Wan's recommended negative prompt, split into terms, plus each category's failure modes
    "ecommerce_product": ["blurry", "low quality", "warped product", "changing product shape", "text", "watermark",
                          "cluttered background", "jitter"],
    "corporate_headshot": ["blurry", "low quality", "distorted face", "extra fingers", "flicker", "exaggerated motion",
                           "watermark", "overexposed"],
    "creative_portrait": ["blurry", "low quality", "static", "deformed limbs", "subtitles", "watermark",
                          "jpeg artifacts", "messy background"],
}
N_NEGATIVE = 3

# Profiles. Tables map a value to its weight. Sizes are (width, height), multiples of 16.
PROFILES: dict[str, dict] = {
    "video-smoke": {  # small enough for 2 CPUs: 6 jobs of 8 frames at 32 px, 2 steps (tiny-wan ~0.3 s each)
        "seed": 18, "per_category": 2, "steps": 2, "guidance": 5.0, "mean_gap_s": 2.0,
        "sizes": {c: {(32, 32): 1.0} for c in CATEGORIES},
        "fps": {c: {8: 1.0} for c in CATEGORIES},
        "seconds": {c: {1.0: 1.0} for c in CATEGORIES},
    },
    "video-2026-q4": {  # production-like: Wan 2.2 TI2V-5B's 720p grid, 24 fps (16 for some social formats)
        "seed": 2026, "per_category": 40, "steps": 50, "guidance": 5.0, "mean_gap_s": 30.0,
        "sizes": {"ecommerce_product": {(1280, 704): 0.6, (704, 704): 0.4},
                  "corporate_headshot": {(704, 1280): 0.5, (1280, 704): 0.3, (704, 704): 0.2},
                  "creative_portrait": {(1280, 704): 0.5, (704, 1280): 0.5}},
        "fps": {"ecommerce_product": {24: 1.0}, "corporate_headshot": {24: 0.7, 16: 0.3},
                "creative_portrait": {24: 0.8, 16: 0.2}},
        "seconds": {"ecommerce_product": {4.0: 0.5, 5.0: 0.5}, "corporate_headshot": {3.0: 0.4, 5.0: 0.6},
                    "creative_portrait": {5.0: 0.7, 8.0: 0.3}},
    },
}


def _draw(rng: np.random.Generator, table: dict, n: int) -> list:
    values = list(table)
    p = np.array([table[v] for v in values], np.float64)
    return [values[i] for i in rng.choice(len(values), size=n, p=p / p.sum())]


def _category_rows(rng: np.random.Generator, category: str, n: int, profile: dict) -> list[dict]:
    parts = PARTS[category]
    picks = {slot: rng.integers(len(options), size=n) for slot, options in parts.items()}
    sizes = _draw(rng, profile["sizes"][category], n)
    fps = _draw(rng, profile["fps"][category], n)
    seconds = _draw(rng, profile["seconds"][category], n)
    rows = []
    for i in range(n):
        chosen = {slot: parts[slot][int(picks[slot][i])] for slot in parts}
        prompt = TEMPLATES[category].format(**{slot: phrase for slot, (_, phrase) in chosen.items()})
        pool = NEGATIVE[category]
        negative = ", ".join(pool[j] for j in sorted(rng.choice(len(pool), size=N_NEGATIVE, replace=False)))
        width, height = sizes[i]
        rows.append({"category": category, "prompt": prompt, "negative_prompt": negative, "width": width,
                     "height": height, "fps": int(fps[i]), "seconds": float(seconds[i]), "steps": profile["steps"],
                     "guidance": profile["guidance"],
                     "attributes": {slot: value for slot, (value, _) in chosen.items()}})
    return rows


def generate(name: str, seed: int | None = None) -> list[dict]:
    """The rows of profile `name`, in arrival order."""
    if name not in PROFILES:
        raise WorkloadError(f"profile: unknown video workload profile {name!r} (valid: {', '.join(PROFILES)})")
    profile = {**PROFILES[name], **({"seed": seed} if seed is not None else {})}
    rng = np.random.default_rng([int(VERSION), profile["seed"]])
    n = profile["per_category"]
    per_cat = {c: _category_rows(rng, c, n, profile) for c in CATEGORIES}
    order = rng.permutation([c for c in CATEGORIES for _ in range(n)])
    seeds = rng.choice(2**31 - 1, size=len(order), replace=False)
    gaps = rng.exponential(profile["mean_gap_s"], size=len(order))
    times = np.round(np.cumsum(gaps) - gaps[0], 3)  # the first job arrives at 0
    taken, rows = dict.fromkeys(CATEGORIES, 0), []
    for i, cat in enumerate(order):
        row = per_cat[cat][taken[cat]]
        taken[cat] += 1
        rows.append({"id": f"{PREFIX[cat]}-{taken[cat]:03d}", **row, "seed": int(seeds[i]),
                     "arrival_s": float(times[i])})
    return rows


def to_csv_bytes(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS + EXTRA_COLUMNS)
    for r in rows:
        writer.writerow([r["id"], r["category"], r["prompt"], r["negative_prompt"], r["seed"], r["width"], r["height"],
                         r["fps"], f"{r['seconds']:g}", r["steps"], f"{r['guidance']:.1f}", f"{r['arrival_s']:.3f}",
                         format_attributes(r["attributes"])])
    return buf.getvalue().encode("utf-8")


def default_path(name: str, root: Path = ROOT) -> Path:
    return root / "workloads" / f"{name}.csv"


def write(name: str, out: Path | None = None, seed: int | None = None) -> Path:
    """Write profile `name` to `out` (default workloads/<name>.csv) atomically; return the path."""
    out = Path(out) if out is not None else default_path(name)
    atomic_write_bytes(out, to_csv_bytes(generate(name, seed)))
    return out


def check(root: Path = ROOT, names: tuple[str, ...] = ("video-smoke",)) -> list[str]:
    """The committed profiles (default: video-smoke) whose CSV differs from a fresh generation."""
    return [n for n in names if not default_path(n, root).is_file()
            or default_path(n, root).read_bytes() != to_csv_bytes(generate(n))]


def main(argv: list[str] | None = None, prog: str = "python -m sentinel.video.workload_gen") -> int:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="write workloads/<profile>.csv")
    g.add_argument("--profile", required=True, choices=sorted(PROFILES))
    g.add_argument("--seed", type=int, default=None, help="override the profile's seed")
    g.add_argument("--out", type=Path, default=None, help="default: workloads/<profile>.csv")
    sub.add_parser("check", help="exit 1 if workloads/video-smoke.csv differs from a fresh generation")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if args.cmd == "generate":
        print(f"wrote {write(args.profile, args.out, args.seed)}")
        return 0
    stale = check()
    print("video workloads match their generator" if not stale else f"stale: {', '.join(stale)}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
