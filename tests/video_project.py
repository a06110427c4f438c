"""A tiny video project in a temp folder for the video score and report stage tests.

Clips with known answers are built from a seeded smooth texture (as tests/test_video_metrics.py):
a static clip (frozen, not dynamic), alternating black/white frames (maximal flicker, a period-2
loop) and a window sliding 2 px per frame (dynamic, smooth). They are written as the contract's
strips (sentinel.video.clipfile.encode_strip), with video-reference's manifest.json beside the
reference strips; records and timings follow video-generate's lines. Models are the real
conf/video_model/<name>.yaml mappings (with overrides), so sentinel.video.config validates them. The params file points every video.paths key under the temp folder.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from scipy.ndimage import gaussian_filter

from sentinel.provenance import sha256_bytes, write_json, write_jsonl
from sentinel.video.clipfile import encode_strip, frames_sha256

REPO = Path(__file__).resolve().parents[1]

H = W = 64
FRAMES = 8
FPS = 8.0
PATHS = {"reference": "outputs/video/reference", "clips": "outputs/video/clips", "records": "outputs/video/records",
         "timings": "outputs/video/timings", "scores": "outputs/video/scores", "latency": "outputs/video/latency",
         "leaderboard": "reports/video/leaderboard.json", "metrics": "reports/video/metrics.json",
         "report": "reports/video/report.md", "report_html": "reports/video/report.html",
         "previews": "reports/video/previews"}
# A hand-checkable price card (the top-level `cost` section's keys).
CARD = {"card": "test-card", "source": "tests", "as_of": "2026-01-01", "gpu": "H100 80GB", "price_usd_per_hour": 3.6,
        "orchestration_overhead_usd_per_image": 0.0002, "platform_fee_fraction": 0.1, "utilisation": 0.5,
        "images_per_cold_start": 100, "utilisation_sensitivity": [0.5, 1.0], "list_price_usd_per_image": {}}


def texture(seed: int = 0) -> np.ndarray:
    tex = gaussian_filter(np.random.default_rng(seed).normal(size=(H + 16, 240)), 3.0)
    return (tex - tex.min()) / (tex.max() - tex.min()) * 255.0


def sliding(tex: np.ndarray, dx: int, frames: int = FRAMES, start: int = 100) -> np.ndarray:
    crops = [tex[8:8 + H, start - dx * t:start - dx * t + W] for t in range(frames)]
    grey = np.stack(crops).round().astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


def static(tex: np.ndarray, frames: int = FRAMES) -> np.ndarray:
    return np.repeat(sliding(tex, 0, 1), frames, axis=0)


def alternating(frames: int = FRAMES) -> np.ndarray:
    return np.stack([np.full((H, W, 3), 255 * (t % 2), np.uint8) for t in range(frames)])


def model_config(name: str, **overrides) -> dict:
    """conf/video_model/<name>.yaml's mapping, with `overrides` (an `api` dict is merged into the api block)."""
    cfg = yaml.safe_load((REPO / "conf" / "video_model" / f"{name}.yaml").read_text())[name]
    api = overrides.pop("api", None)
    if api:
        cfg["api"] = {**cfg["api"], **api}
    return {**cfg, **overrides}


def write_model(root: Path, model: str, jobs: list[dict]) -> None:
    """jobs: [{"job_id", "category", "prompt", "frames" (None = failed), "failure"?, "compute_s", "seconds"?}]."""
    records, timings = [], []
    for j in jobs:
        base = {"model": model, "job_id": j["job_id"], "category": j["category"], "prompt": j.get("prompt", "a clip"),
                "seed": 0, "fps": FPS,
                "seconds": j.get("seconds", FRAMES / FPS), "width": W, "height": H, "n_frames": FRAMES}
        if j["frames"] is None:
            records.append({**base, "status": "failed", "failure": j.get("failure", "error: boom"), "clip": None,
                            "sha256": None, "frames_sha256": None})
        else:
            data = encode_strip(j["frames"])
            path = root / PATHS["clips"] / model / f"{j['job_id']}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            records.append({**base, "status": "ok", "clip": f"{model}/{j['job_id']}.png", "sha256": sha256_bytes(data),
                            "frames_sha256": frames_sha256(j["frames"]), "n_frames": len(j["frames"])})
        timings.append({"model": model, "job_id": j["job_id"], "status": records[-1]["status"],
                        "wall_s": j.get("compute_s", 1.0) + 0.5, "compute_s": j.get("compute_s", 1.0),
                        "device": j.get("device", "cpu")})
    write_jsonl(root / PATHS["records"] / f"{model}.jsonl", records)
    write_jsonl(root / PATHS["timings"] / f"{model}.jsonl", timings)


def write_reference(root: Path, refs: dict[str, list[np.ndarray]]) -> None:
    """Strips and the manifest.json video-reference writes beside them (frame count and sha256 per clip)."""
    entries = []
    for cat, clips in refs.items():
        for i, frames in enumerate(clips):
            path = root / PATHS["reference"] / cat / f"ref-{i:02d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            data = encode_strip(frames)
            path.write_bytes(data)
            entries.append({"category": cat, "clip_id": f"ref-{i:02d}", "clip": f"{cat}/ref-{i:02d}.png",
                            "sha256": sha256_bytes(data), "frames_sha256": frames_sha256(frames),
                            "n_frames": len(frames), "width": W, "height": H})
    write_json(root / PATHS["reference"] / "manifest.json", {"clips": entries})


def write_params(root: Path, models: dict, score: dict, cost: dict | None = None) -> Path:
    params = {"cost": CARD, "video": {"models": models, "report": ["video"],
                                      "workload": {"name": "video-test", "jobs": str(root / "jobs.csv"),
                                                   "categories": ["cat_a", "cat_b"],
                                                   "reference_photos": str(root / "photos")},
                                      "score": score, "cost": cost or {},
                                      "paths": {k: str(root / v) for k, v in PATHS.items()}}}
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def smoke_score(tiny_weights: Path, tiny_sha: str, clip_weights: Path, **kw) -> dict:
    return {"fvd_encoder": "tiny", "fvd_weights": str(tiny_weights), "fvd_weights_sha256": tiny_sha, "fvd_frames": 8,
            "fvd_halfsample_reps": 20, "clip_arch": "ViT-B-32", "clip_weights": str(clip_weights), "device": "cpu",
            "batch_size": 16, "bootstrap_samples": 200, "ci_level": 0.95, "previews_per_model": 2,
            "preview_max_frames": 8, **kw}
