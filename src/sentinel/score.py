"""Stage `score`: FID, KID, CLIP score and CMMD per model, overall and per category, plus the human component.

Every number carries its sample sizes and a seeded bootstrap CI, and the file carries the convention
that produced it (weights sha256, resize, precision), so a re-scorer can tell exactly what differs.
Only generate records with `status: "ok"` (a missing status counts as ok) are scored; the others are
counted per model as `n_failed`. Features are cached under score.cache_dir (never changes a number);
what was recomputed goes to <paths.score's folder>/cache_stats.json, never into metrics.json.
"""
from __future__ import annotations

from pathlib import Path

from sentinel import config, human
from sentinel.workloads.references import reference_images
from sentinel.records import is_ok
from sentinel.provenance import PLUMBING_NOTE, environment, read_jsonl, write_json, write_jsonl


def score_records(records: list[dict], images_dir: Path, refs: list[Path], cfg: config.ScoreConfig,
                  cache: metrics.FeatureCache | None = None, enabled_preference: list | None = None) -> dict:
    from sentinel.metrics import compute as metrics, preference  # torch: only when scoring

    images, prompts = [images_dir / r["image"] for r in records], [r["prompt"] for r in records]
    out = metrics.score_set(
        images, prompts, refs,
        inception_weights=cfg.inception_weights, clip_arch=cfg.clip_arch, clip_weights=cfg.clip_weights,
        batch_size=cfg.batch_size, kid_subset_size=cfg.kid_subset_size, kid_subsets=cfg.kid_subsets,
        seed=cfg.seed, cache=cache, bootstrap_samples=cfg.bootstrap_samples, ci_level=cfg.ci_level)
    if enabled_preference:
        out["preference"] = preference.score(enabled_preference, images, prompts, samples=cfg.bootstrap_samples,
                                             level=cfg.ci_level, seed=cfg.seed)
    return out


def score_model(records: list[dict], images_dir: Path, data_dir: Path, wl: config.WorkloadConfig,
                cfg: config.ScoreConfig, cache: metrics.FeatureCache | None = None,
                enabled_preference: list | None = None) -> dict:
    kw = dict(cache=cache, enabled_preference=enabled_preference)
    categories = wl.categories
    refs = {c: reference_images(data_dir, c, wl.reference) for c in categories}
    per_cat, skipped = {}, {}
    for cat in categories:
        rows = [r for r in records if r["category"] == cat]
        if len(rows) >= 2:
            per_cat[cat] = score_records(rows, images_dir, refs[cat], cfg, **kw)
        elif rows:
            skipped[cat] = len(rows)
    overall = score_records(records, images_dir, [p for c in categories for p in refs[c]], cfg, **kw)
    out = {"overall": overall, "categories": per_cat}
    return {**out, "categories_skipped": skipped} if skipped else out


def run(params_path: str | Path = "params.yaml") -> dict:
    from sentinel.metrics import compute as metrics, preference  # torch: only when scoring

    cfg = config.load(params_path, sections=("score", "workload", "paths"))
    sc, paths = cfg["score"], cfg["paths"]
    for key in ("inception_weights", "clip_weights"):
        if not Path(getattr(sc, key)).is_file():
            raise FileNotFoundError(
                f"score.{key}: weights file {getattr(sc, key)} not found. For the smoke suite run "
                "`python -m sentinel.metrics.weights --out weights/` (make bench does it); for a real suite "
                f"download the official weights and set score.{key} to their path")
    enabled_preference = preference.resolve(sc.preference_models, sc.preference_weights_dir)
    all_records = read_jsonl(paths.records)
    records = [r for r in all_records if is_ok(r)]
    cache = metrics.FeatureCache(sc.cache_dir or None)
    images_dir, data_dir = Path(paths.images), Path(paths.data)
    ratings = human.ratings(sc.human, records, images_dir)
    result = {"models": {}, "convention": metrics.convention(sc.inception_weights, sc.clip_arch, sc.clip_weights),
              "environment": environment()}
    for model in dict.fromkeys(r["model"] for r in records):
        recs = [r for r in records if r["model"] == model]
        entry = score_model(recs, images_dir, data_dir, cfg["workload"], sc, cache, enabled_preference)
        entry["n_failed"] = sum(1 for r in all_records if r["model"] == model and not is_ok(r))
        entry["human"] = human.summarise(ratings, model, sc.human.seed, sc.bootstrap_samples,
                                         sc.human.gold_min_accuracy)
        entry["plumbing"] = any(r["plumbing"] for r in recs)
        result["models"][model] = entry
    failed_only = {m: 0 for m in dict.fromkeys(r["model"] for r in all_records) if m not in result["models"]}
    for r in all_records:
        if r["model"] in failed_only:
            failed_only[r["model"]] += 1
    if failed_only:
        result["models_without_images"] = failed_only  # every record failed: nothing to score
    if any(m["plumbing"] for m in result["models"].values()):
        result["note"] = PLUMBING_NOTE
    write_jsonl(paths.ratings, ratings)
    write_json(paths.score, result)
    write_json(Path(paths.score).parent / "cache_stats.json", cache.counters())
    return result
