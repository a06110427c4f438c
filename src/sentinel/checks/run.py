"""Every production check for one model's images, per category, with intervals and n.

Failed jobs deliver nothing, so for pass-rate checks they count as failed (a model cannot improve its
rate by failing the hard jobs); means are over delivered images only, with their n beside them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sentinel.checks import background, colour, duplicates, faces, summary
from sentinel.records import is_ok

VERSION = "workload-checks-v1"
WHITE_WORDS = ("white background", "white backdrop", "pure white")
THRESHOLDS = {"face_area_min": 0.05, "centre_offset_max": 0.25, "purity_min": 0.95}


def _rgb(path: Path) -> np.ndarray:
    from sentinel.images import decode_rgb

    return decode_rgb(path)


def asks_white_background(job: dict) -> bool:
    text = f"{job.get('prompt', '')} {job.get('attributes', {}).get('background', '')}".lower()
    return any(w in text for w in WHITE_WORDS)


def _headshots(rows: list[dict], images: dict[str, np.ndarray], level: float) -> dict:
    found = {r["job_id"]: faces.detect(images[r["job_id"]]) for r in rows if r["job_id"] in images}
    one = {r["job_id"]: r["job_id"] in found and found[r["job_id"]].count == 1 for r in rows}
    framed = {j: one[j] and found[j].area_fraction >= THRESHOLDS["face_area_min"]
              and found[j].centre_offset <= THRESHOLDS["centre_offset_max"] for j in one}
    with_face = {j: f for j, f in found.items() if f.count >= 1}
    return {"headshot_one_face": summary.rate(one, level),
            "headshot_framed": summary.rate(framed, level),
            "headshot_face_area": summary.mean({j: f.area_fraction for j, f in with_face.items()}, level),
            "headshot_centre_offset": summary.mean({j: f.centre_offset for j, f in with_face.items()}, level)}


def _products(rows: list[dict], images: dict, jobs: dict, data_dir: Path, level: float) -> dict:
    job = lambda r: jobs.get(r["job_id"]) or {"prompt": r.get("prompt", ""), "attributes": {}}  # noqa: E731
    white = [r for r in rows if asks_white_background(job(r))]
    pure = {r["job_id"]: background.purity(images[r["job_id"]]) for r in white if r["job_id"] in images}
    out = {"product_white_background": summary.rate(
               {r["job_id"]: pure.get(r["job_id"], 0.0) >= THRESHOLDS["purity_min"] for r in white}, level),
           "product_background_purity": summary.mean(pure, level)}
    refs = {r["job_id"]: data_dir / job(r)["attributes"]["reference_image"] for r in rows
            if r["job_id"] in images and job(r)["attributes"].get("reference_image")}
    out["product_colour_delta_e00"] = summary.mean(
        {j: colour.colour_difference(images[j], _rgb(p)) for j, p in refs.items()}, level)
    return out


def check_model(records: list[dict], images_dir: Path, jobs: dict[str, dict], data_dir: Path,
                level: float = 0.95) -> dict:
    """`records`: one model's generate records; `jobs`: job id -> job dict (prompt, attributes)."""
    ok = [r for r in records if is_ok(r)]
    images = {r["job_id"]: _rgb(images_dir / r["image"]) for r in ok}
    by_cat = lambda c: [r for r in records if r["category"] == c]  # noqa: E731
    out = {}
    if by_cat("corporate_headshot"):
        out.update(_headshots(by_cat("corporate_headshot"), images, level))
    if by_cat("ecommerce_product"):
        out.update(_products(by_cat("ecommerce_product"), images, jobs, data_dir, level))
    ids = sorted(images)
    exact, near = duplicates.duplicate_flags([next(r["sha256"] for r in ok if r["job_id"] == j) for j in ids],
                                             [duplicates.dhash(images[j]) for j in ids])
    out["duplicate_exact"] = summary.rate(dict(zip(ids, exact)), level)
    out["duplicate_near"] = summary.rate(dict(zip(ids, near)), level)
    return {"version": VERSION, "thresholds": THRESHOLDS, "checks": out,
            "n_jobs": len(records), "n_failed": len(records) - len(ok)}
