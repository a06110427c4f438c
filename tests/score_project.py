"""A small score-stage project on real PNGs, for the order and release-feature tests.

One model `m`, a workload CSV whose jobs the records name (6 headshots, 4 products, 4 portraits: an
unequal declared mix), 5 reference photos per category; every path absolute under `root`.
"""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import yaml

from sentinel.provenance import sha256_file, write_jsonl

CATEGORIES = ("corporate_headshot", "ecommerce_product", "creative_portrait")
MIX = {"corporate_headshot": 6, "ecommerce_product": 4, "creative_portrait": 4}
COLUMNS = ("id", "category", "prompt", "negative_prompt", "seed", "width", "height", "steps", "guidance")


def jobs() -> list[dict]:
    out = []
    for cat, k in MIX.items():
        out += [{"id": f"{cat[:2]}-{i:03d}", "category": cat, "prompt": f"a {cat.replace('_', ' ')}, take {i}",
                 "negative_prompt": "", "seed": str(100 + i), "width": "64", "height": "64", "steps": "4",
                 "guidance": "5.0"} for i in range(k)]
    return out


def write_workload(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)


def make_project(root: Path, smoke_params: dict, image_sets: dict, inception_weights, clip_weights,
                 cache_dir: Path) -> Path:
    """params.yaml, workload.csv, records.jsonl, images/m/<job>.png and data/reference/<category>/ under root."""
    params = json.loads(json.dumps(smoke_params))
    params["workload"].update(categories=list(CATEGORIES), jobs=str(root / "workload.csv"), reference={})
    params["score"].update(inception_weights=str(inception_weights), clip_weights=str(clip_weights),
                           cache_dir=str(cache_dir), bootstrap_samples=40, kid_subsets=5)
    for key, rel in {"data": "data", "images": "images", "records": "records.jsonl", "score": "out/metrics.json",
                     "ratings": "out/ratings.jsonl"}.items():
        params["paths"][key] = str(root / rel)
    rows, records = jobs(), []
    write_workload(root / "workload.csv", rows)
    for src, job in zip(image_sets["faces_b_noise8"], rows):
        dest = root / "images" / "m" / f"{job['id']}.png"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dest)
        records.append({"model": "m", "category": job["category"], "image": f"m/{job['id']}.png",
                        "prompt": job["prompt"], "job_id": job["id"], "seed": int(job["seed"]), "plumbing": True,
                        "status": "ok", "sha256": sha256_file(dest)})
    write_jsonl(root / "records.jsonl", records)
    write_reference_sets(root, image_sets, CATEGORIES, per_category=5)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    return root


def write_reference_sets(root, image_sets, categories, per_category: int) -> None:
    """data/reference/<category>/<j>.png: consecutive slices of the faces_a photos, one per category."""
    for c, cat in enumerate(categories):
        (root / "data" / "reference" / cat).mkdir(parents=True)
        for j, src in enumerate(image_sets["faces_a"][per_category * c:per_category * (c + 1)]):
            shutil.copy(src, root / "data" / "reference" / cat / f"{j}.png")
