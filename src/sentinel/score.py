"""Stage `score`: FID, KID and CLIP score per model, overall and per category, plus the human component.

Every number carries its sample sizes, and the file carries the convention that produced it
(weights sha256, resize, precision), so a re-scorer can tell exactly what differs.
"""
from __future__ import annotations

from pathlib import Path

from . import config, human
from .metrics import compute as metrics
from .provenance import PLUMBING_NOTE, environment, read_jsonl, write_json, write_jsonl


def reference_images(data_dir: Path, category: str) -> list[Path]:
    folder = data_dir / "reference" / category
    files = sorted(folder.glob("*.png"))
    if not files:
        raise FileNotFoundError(f"{folder}: no reference photos; run `dvc pull` (or "
                                "`python -m sentinel.data prepare --out data` to rebuild them)")
    return files


def score_records(records: list[dict], images_dir: Path, refs: list[Path], cfg: config.ScoreConfig) -> dict:
    return metrics.score_set(
        [images_dir / r["image"] for r in records], [r["prompt"] for r in records], refs,
        inception_weights=cfg.inception_weights, clip_arch=cfg.clip_arch, clip_weights=cfg.clip_weights,
        batch_size=cfg.batch_size, kid_subset_size=cfg.kid_subset_size, kid_subsets=cfg.kid_subsets,
        seed=cfg.seed)


def score_model(records: list[dict], images_dir: Path, data_dir: Path, categories: tuple[str, ...],
                cfg: config.ScoreConfig) -> dict:
    refs = {c: reference_images(data_dir, c) for c in categories}
    per_cat = {}
    for cat in categories:
        rows = [r for r in records if r["category"] == cat]
        if rows:
            per_cat[cat] = score_records(rows, images_dir, refs[cat], cfg)
    overall = score_records(records, images_dir, [p for c in categories for p in refs[c]], cfg)
    return {"overall": overall, "categories": per_cat}


def run(params_path: str | Path = "params.yaml") -> dict:
    cfg = config.load(params_path, sections=("score", "workload", "paths"))
    sc, paths, categories = cfg["score"], cfg["paths"], cfg["workload"].categories
    if sc.human.source != "simulated":
        raise ValueError(f"score.human.source: {sc.human.source!r}: only 'simulated' is implemented so far "
                         "(ratings exports from the rating app are the next step)")
    for key in ("inception_weights", "clip_weights"):
        if not Path(getattr(sc, key)).is_file():
            raise FileNotFoundError(
                f"score.{key}: weights file {getattr(sc, key)} not found. For the smoke suite run "
                "`python -m sentinel.metrics.weights --out weights/` (make bench does it); for a real suite "
                f"download the official weights and set score.{key} to their path")
    records = read_jsonl(paths.records)
    images_dir, data_dir = Path(paths.images), Path(paths.data)
    ratings = human.simulate(records, images_dir, sc.human.raters, sc.human.seed)
    result = {"models": {}, "convention": metrics.convention(sc.inception_weights, sc.clip_arch, sc.clip_weights),
              "environment": environment()}
    for model in dict.fromkeys(r["model"] for r in records):
        recs = [r for r in records if r["model"] == model]
        entry = score_model(recs, images_dir, data_dir, categories, sc)
        entry["human"] = human.summarise([x for x in ratings if x["model"] == model], sc.human.seed)
        entry["plumbing"] = any(r["plumbing"] for r in recs)
        result["models"][model] = entry
    if any(m["plumbing"] for m in result["models"].values()):
        result["note"] = PLUMBING_NOTE
    write_jsonl(paths.ratings, ratings)
    write_json(paths.score, result)
    return result
