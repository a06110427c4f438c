"""Is this run plumbing? Decided from facts about the files it scores with, never from a flag.

A run is plumbing (its numbers say nothing about model quality) when any of these holds:
  - its score profile is `smoke` (conf/score/smoke.yaml);
  - a metric weights file hashes to a known smoke file: the seeded files `sentinel weights` writes
    (sentinel.metrics.weights) are byte-identical for a seed, so their sha256 are recorded once,
    in sentinel.validate.SMOKE_SHA256;
  - a metric weights file is not pinned by the profile's manifest (score.weights_manifest), or its
    hash differs from its pin;
  - a category's reference set has fewer than score.reference_min_n PNGs, or a PNG whose shorter
    side is below score.reference_min_px.

Every output's plumbing banner comes from `assess` (score's quality files, gather's metrics.json
note, the report's `plumbing` flag), and a suite with `plumbing: false` refuses a run for which it
finds any reason, naming the file and its hash: at config load (sentinel.validate, which holds the
smoke hashes: every stage loads the config) for the smoke profile and smoke weights, and at the
score stage (`require_release`, before any feature) for unpinned weights and small reference sets.
No torch here: hashing and PNG headers only.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sentinel.validate import SMOKE_PROFILE, SMOKE_SHA256, file_sha256, smoke_weight_reasons  # noqa: F401

WEIGHT_KEYS = ("inception_weights", "clip_weights")
OPTIONAL_WEIGHT_KEYS = ("dinov2_weights", "cmmd_clip_weights")  # FD-DINOv2, CMMD's own encoder: "" = off


def weight_keys(sc: Any) -> tuple[str, ...]:
    """The weights keys this run uses: the two always-on networks, plus each optional one that is set."""
    return WEIGHT_KEYS + tuple(k for k in OPTIONAL_WEIGHT_KEYS if getattr(sc, k, ""))


def pins(sc: Any) -> dict[str, str]:
    """file name -> pinned sha256 from score.weights_manifest ({} when the profile names none)."""
    if not sc.weights_manifest or not Path(sc.weights_manifest).is_file():
        return {}  # a missing manifest is a config-load problem (sentinel.validate), not one here
    from sentinel.metrics.fetch import read_manifest

    return {e.name: e.sha256 for e in read_manifest(sc.weights_manifest)}


def weight_reasons(sc: Any, missing_ok: bool = False) -> list[str]:
    """Why the metric weights make this run plumbing, one line per reason naming key, file and hash.
    A missing file is a reason unless `missing_ok` (planning: it can still be fetched)."""
    reasons, pinned = smoke_weight_reasons(sc), pins(sc)
    for key in weight_keys(sc):
        path = Path(getattr(sc, key))
        if not path.is_file():
            if not missing_ok:
                reasons.append(f"score.{key}: {path} not found")
            continue
        digest = file_sha256(path)
        if digest in SMOKE_SHA256:
            continue  # named by smoke_weight_reasons
        if path.name not in pinned:
            where = sc.weights_manifest or "no manifest (score.weights_manifest: null)"
            reasons.append(f"score.{key}: {path} (sha256 {digest}) is not pinned by {where}")
        elif pinned[path.name] != digest:
            reasons.append(f"score.{key}: {path} has sha256 {digest}, not the {pinned[path.name]} pinned by "
                           f"{sc.weights_manifest}")
    return reasons


def _shorter_side(png: Path) -> int:
    from PIL import Image  # reads the header only

    with Image.open(png) as im:
        return min(im.size)


def reference_reasons(sc: Any, data_dir: str | Path, workload: Any) -> list[str]:
    """Why the reference sets make this run plumbing: a category below the stated minimum n or size."""
    from sentinel.workloads.references import check_photo, photo_files, reference_dir

    reasons = []
    for cat in workload.categories:
        folder = reference_dir(data_dir, cat, workload.reference)
        files = photo_files(folder)  # PNG, JPEG and WebP
        for f in files:  # a broken photo is named here, not as a PIL traceback (workloads/references.py)
            check_photo(f, cat)
        if len(files) < sc.reference_min_n:
            reasons.append(f"reference set {cat} ({folder}): {len(files)} images, fewer than "
                           f"score.reference_min_n={sc.reference_min_n}")
        if files and sc.reference_min_px and (px := min(_shorter_side(f) for f in files)) < sc.reference_min_px:
            reasons.append(f"reference set {cat} ({folder}): smallest image {px} px on its shorter side, "
                           f"below score.reference_min_px={sc.reference_min_px}")
    return reasons


def assess(sc: Any, data_dir: str | Path, workload: Any) -> dict:
    """The profile block every score output carries: {profile, plumbing, reasons, weights}."""
    reasons = weight_reasons(sc) + reference_reasons(sc, data_dir, workload)
    weights = {key: file_sha256(getattr(sc, key)) for key in weight_keys(sc) if Path(getattr(sc, key)).is_file()}
    return {"profile": sc.profile, "plumbing": bool(reasons), "reasons": reasons, "weights_sha256": weights,
            "reference_min_n": sc.reference_min_n, "reference_min_px": sc.reference_min_px}


def require_release(suite: Any, verdict: dict) -> None:
    """The score stage's check, before any feature is extracted: a non-plumbing suite runs only when
    `assess` found no reason at all (weights present and pinned, reference sets release-size)."""
    from sentinel.errors import ConfigError

    if not suite.plumbing and verdict["plumbing"]:
        raise ConfigError(*(f"suite.plumbing: false (suite {suite.name}) refuses this run: {r}"
                            for r in verdict["reasons"]))


def describe(sc: Any, data_dir: str | Path | None = None, workload: Any = None) -> list[str]:
    """Lines for `sentinel plan`: the profile, each weights file with its pin and whether it is here,
    and (given the data dir and workload) what would make the run plumbing."""
    lines = [f"score profile: {sc.profile} (manifest: {sc.weights_manifest or 'none'}; reference sets: "
             f">= {sc.reference_min_n} images, >= {sc.reference_min_px} px per category)"]
    pinned = pins(sc)
    for key in weight_keys(sc):
        path = Path(getattr(sc, key))
        pin = pinned.get(path.name)
        here = "present" if path.is_file() else (
            f"not fetched: sentinel fetch --manifest {sc.weights_manifest} --dir {path.parent}" if pin else "missing")
        lines.append(f"  score.{key}: {path}  pinned sha256 {pin or '(none)'}  [{here}]")
    reasons = weight_reasons(sc, missing_ok=True)
    if data_dir is not None and workload is not None:
        reasons += reference_reasons(sc, data_dir, workload)
    lines += [f"  plumbing: {r}" for r in reasons] or ["  plumbing: no reason found so far (weights still to fetch "
                                                      "are checked by the score stage)"]
    return lines
