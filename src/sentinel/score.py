"""Stage `score`: FID, KID, CLIP score and CMMD per model, overall and per category, plus the human component.

DVC runs it once per model (`score@<model>`: features and metrics of that model's images only, into
paths.model_scores/<model>.json); `gather` adds the human component, which compares models, and
writes the all-model file. With no model, `run` does both at once (release reruns).

Every number carries its sample sizes and a seeded bootstrap CI, and the file carries the convention
that produced it (weights sha256, resize, precision), so a re-scorer can tell exactly what differs.
Only generate records with `status: "ok"` (a missing status counts as ok) are scored; the others are
counted per model as `n_failed`. Features are cached under score.cache_dir (never changes a number);
what was recomputed goes to <paths.score's folder>/cache_stats.json, never into metrics.json.
"""
from __future__ import annotations

from pathlib import Path

from sentinel import config, gather
from sentinel.workloads.references import reference_images
from sentinel.per_model import check_model, model_paths
from sentinel.records import is_ok
from sentinel.provenance import environment, read_jsonl, write_json, write_jsonl


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


def _check_weights(sc: config.ScoreConfig) -> None:
    for key in ("inception_weights", "clip_weights"):
        if not Path(getattr(sc, key)).is_file():
            raise FileNotFoundError(
                f"score.{key}: weights file {getattr(sc, key)} not found. For the smoke suite run "
                "`python -m sentinel.metrics.weights --out weights/` (make bench does it); for a real suite "
                f"download the official weights and set score.{key} to their path")


def production_checks(cfg: dict, model_records: list[dict]) -> dict:
    """What a customer checks on each delivered image (sentinel.checks; rubrics/workload-checks-v1.md):
    real pixels, no hub weights, so real numbers even in the plumbing suite. Failed jobs count as failed."""
    from sentinel.checks.run import check_model as run_checks
    from sentinel.workloads.jobs import load_workload

    wl = load_workload(cfg["workload"].jobs, cfg["workload"].categories)
    jobs = {j.id: {"prompt": j.prompt, "attributes": wl.attributes.get(j.id, {})} for j in wl.jobs}
    paths = cfg["paths"]
    return run_checks(model_records, Path(paths.images), jobs, Path(paths.data), level=cfg["score"].ci_level)


def quality(cfg: dict, model: str, model_records: list[dict], cache, enabled_preference) -> dict | None:
    """One model's quality block (everything but the human component, which needs every model), or
    None when every one of its jobs failed (nothing to score)."""
    sc, paths = cfg["score"], cfg["paths"]
    ok = [r for r in model_records if is_ok(r)]
    if not ok:
        return None
    entry = score_model(ok, Path(paths.images), Path(paths.data), cfg["workload"], sc, cache, enabled_preference)
    entry["n_failed"] = len(model_records) - len(ok)
    entry["checks"] = production_checks(cfg, model_records)
    entry["plumbing"] = any(r["plumbing"] for r in ok)
    return entry


def run(params_path: str | Path = "params.yaml", model: str | None = None) -> dict:
    """One model's quality file (DVC's `score@<model>`: the images' features and metrics), or, with
    no model, every model plus the human component into the all-model file (release reruns)."""
    from sentinel.metrics import compute as metrics, preference, profile  # torch: only when scoring

    cfg = config.load(params_path, sections=("score", "workload", "paths", "model", "suite"))
    sc, paths = cfg["score"], cfg["paths"]
    if model is not None:
        check_model(cfg["model"], model)
        mp = model_paths(paths, model)
    _check_weights(sc)
    verdict = profile.assess(sc, Path(paths.data), cfg["workload"])  # plumbing from facts: metrics/profile.py
    profile.require_release(cfg["suite"], verdict)  # a non-plumbing suite refuses before any extraction
    enabled_preference = preference.resolve(sc.preference_models, sc.preference_weights_dir)
    all_records = read_jsonl(mp.records if model is not None else paths.records)
    cache = metrics.FeatureCache(sc.cache_dir or None)
    convention = {**metrics.convention(sc.inception_weights, sc.clip_arch, sc.clip_weights), "profile": verdict}
    names = [model] if model is not None else list(dict.fromkeys(r["model"] for r in all_records))
    entries = {m: quality(cfg, m, [r for r in all_records if r["model"] == m], cache, enabled_preference)
               for m in names}
    for e in (e for e in entries.values() if e is not None):
        e["plumbing"] = e["plumbing"] or verdict["plumbing"]
    stats_path = Path(paths.score).parent / "cache_stats.json"
    if model is not None:
        out = {"model": model, "quality": entries[model], "convention": convention, "environment": environment()}
        write_json(mp.score, out)
        write_json(stats_path.with_name(f"cache_stats.{model}.json"), cache.counters())
        return out
    result, ratings = gather.combine(sc, all_records, entries, convention, environment(), Path(paths.images))
    write_jsonl(paths.ratings, ratings)
    write_json(paths.score, result)
    write_json(stats_path, cache.counters())
    return result
