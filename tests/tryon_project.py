"""A tiny try-on project in a temp dir for the score and report stage tests: real photos, PNG files,
a job CSV, records and timings as the generate stage writes them, and a params.yaml pointing there.

Persons are 64 x 64 crops of scikit-image's photographs with the torso painted in the garment's
colour (the paired protocol's ground truth: the person already wears the garment); garments are flat
shots on white; masks cover the torso. `results="truth"` writes results equal to the ground truth
(paired) / the person with the garment worn (unpaired); `results="perturbed"` adds seeded noise
everywhere and shifts the garment colour, which must move every metric the wrong way.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from sentinel.images import encode_png
from sentinel.provenance import sha256_bytes

ROOT = Path(__file__).resolve().parents[1]
SIDE = 64
COLOURS = [(190, 30, 40), (30, 60, 170), (40, 140, 60), (200, 160, 40), (120, 40, 140), (20, 130, 150)]
TORSO = (slice(28, 60), slice(14, 50))  # 32 rows: a stripe every 4 rows, as on the photo


def _photo(i: int) -> np.ndarray:
    from skimage import data
    from skimage.transform import resize

    src = [data.astronaut, data.chelsea, data.coffee, data.rocket][i % 4]()
    h, w = src.shape[:2]
    crop = src[(i // 4) * h // 8:, (i // 4) * w // 8:][: min(h, w) * 3 // 4, : min(h, w) * 3 // 4]
    return (resize(crop, (SIDE, SIDE), anti_aliasing=True) * 255).round().astype(np.uint8)


def _garment(colour, stripes: bool) -> np.ndarray:
    g = np.full((SIDE, SIDE, 3), 255, np.uint8)
    g[12:52, 14:50] = colour
    if stripes:
        g[12:52:4, 14:50] = (20, 20, 20)
    return g


def _wear(person: np.ndarray, colour, stripes: bool) -> np.ndarray:
    out = person.copy()
    out[TORSO] = colour
    if stripes:
        out[28:60:4, 14:50] = (20, 20, 20)
    return out


def _png(path: Path, arr: np.ndarray) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = encode_png(Image.fromarray(arr))
    path.write_bytes(data)
    return sha256_bytes(data)


def job_csv_header() -> tuple[str, ...]:
    from sentinel.tryon import jobs

    return jobs.COLUMNS


def make_project(tmp: Path, *, models=("tiny-tryon",), paired: int = 4, unpaired: int = 2, results="truth",
                 failed: dict | None = None, seconds: dict | None = None, api: dict | None = None,
                 latency: bool = True, record_order=None) -> Path:
    """Write everything under `tmp`; returns the params.yaml path. `failed`: {job_id: failure text}
    (for every model); `seconds`: {model: compute_s}; `api`: {model: list price}."""
    from sentinel.tryon import lpips

    tmp.mkdir(parents=True, exist_ok=True)
    failed = failed or {}
    w = lpips.write_smoke_weights(tmp / "weights")
    header = job_csv_header()
    rows, truth = [], {}
    for i in range(paired + unpaired):
        protocol = "paired" if i < paired else "unpaired"
        job = f"{protocol[0]}{i:02d}"
        colour, stripes = COLOURS[i % len(COLOURS)], i % 2 == 1
        base = _photo(i)
        # paired: the person already wears this garment; unpaired: another one
        person = _wear(base, colour, stripes) if protocol == "paired" else _wear(base, COLOURS[-1 - i % 3], False)
        _png(tmp / f"persons/{job}.png", person)
        _png(tmp / f"garments/{job}.png", _garment(colour, stripes))
        mask = np.zeros((SIDE, SIDE, 3), np.uint8)
        mask[TORSO] = 255
        _png(tmp / f"masks/{job}.png", mask)
        truth[job] = (protocol, person if protocol == "paired" else _wear(person, colour, stripes), colour)
        values = {"id": job, "person": f"persons/{job}.png", "garment": f"garments/{job}.png",
                  "mask": f"masks/{job}.png", "category": "upper", "seed": str(i), "protocol": protocol,
                  "ground_truth": "", "width": str(SIDE), "height": str(SIDE)}
        rows.append(",".join(values.get(c, "") for c in header))
    (tmp / "jobs.csv").write_text(",".join(header) + "\n" + "\n".join(rows) + "\n")
    for m_i, model in enumerate(models):
        records, timings = [], []
        for k, (job, (protocol, want, colour)) in enumerate(truth.items()):
            rec = {"model": model, "job_id": job, "category": "upper", "protocol": protocol, "seed": k}
            if job in failed:
                records.append({**rec, "status": "failed", "failure": failed[job]})
            else:
                res = want
                if results == "perturbed":
                    rng = np.random.default_rng(100 + k)
                    res = np.clip(want.astype(int) + rng.integers(-40, 41, want.shape), 0, 255).astype(np.uint8)
                    res[TORSO] = np.clip(np.array(colour) + 60, 0, 255)
                digest = _png(tmp / f"outputs/results/{model}/{job}.png", res)
                records.append({**rec, "status": "ok", "result": f"{model}/{job}.png", "sha256": digest})
            timings.append({"model": model, "job_id": job, "wall_s": 1.5, "device": "cpu",
                            "compute_s": (seconds or {}).get(model, 1.0 + m_i) + 0.01 * k})
        if record_order is not None:
            records = record_order(records)
        (tmp / "outputs/records").mkdir(parents=True, exist_ok=True)
        (tmp / f"outputs/records/{model}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
        (tmp / "outputs/timings").mkdir(parents=True, exist_ok=True)
        (tmp / f"outputs/timings/{model}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in timings))
        if latency:
            d = tmp / f"outputs/latency/{model}"
            d.mkdir(parents=True, exist_ok=True)
            p95 = 2.0 + m_i
            (d / "latency.json").write_text(json.dumps({"models": {model: {
                "model": model, "n_requests": len(truth), "latency_p95_s": p95, "latency_p95_ci95_s": [p95 - 0.5, None],
                "latency_p50_s": p95 / 2, "failures_by_cause": {}, "n_failed": 0}}}))
    params = {
        "suite": {"name": "smoke-media", "description": "test", "plumbing": True},
        "cost": yaml.safe_load((ROOT / "params.yaml").read_text())["cost"],
        "score": {"inception_weights": str(ROOT / "weights/inception-smoke.pt")},
        "tryon": {
            "models": {m: {"display_name": f"{m} (random weights, plumbing only)", "source": "api" if m in (api or {})
                           else "tiny-random", "device": "cpu", "plumbing": True} for m in models},
            "report": ["tryon"],
            "workload": {"name": "tryon-test", "jobs": str(tmp / "jobs.csv"), "root": str(tmp)},
            "score": {"lpips_backbone_weights": str(w["backbone"][0]), "lpips_linear_weights": str(w["linear"][0]),
                      "inception_weights": None, "batch_size": 8, "device": "cpu", "ci_level": 0.95,
                      "set_replicates": 50, "seed": 0, "unpaired_reference": "workload"},
            "cost": {"list_price_usd_per_tryon": dict(api or {})},
            "paths": {k: str(tmp / v) for k, v in {
                "results": "outputs/results", "records": "outputs/records", "timings": "outputs/timings",
                "scores": "outputs/scores", "latency": "outputs/latency",
                "leaderboard": "reports/leaderboard.json", "metrics": "reports/metrics.json",
                "report": "reports/report.md", "report_html": "reports/report.html",
                "triptychs": "reports/triptychs"}.items()},
        },
    }
    path = tmp / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path
