"""Stage `score`: FID, KID, CLIP score and CMMD per model, overall and per category, plus the human component.

DVC runs it once per model (`score@<model>`: features and metrics of that model's images only, into
paths.model_scores/<model>.json); `gather` adds the human component, which compares models, and
writes the all-model file. With no model, `run` does both at once (release reruns).

Every number carries its sample sizes and a seeded bootstrap CI, and the file carries the convention
that produced it (weights sha256, resize, precision), so a re-scorer can tell exactly what differs.
Only generate records with `status: "ok"` (a missing status counts as ok) are scored; the others are
counted per model as `n_failed`. The overall FID, KID and CMMD are the per-category values combined by
the workload's declared category mix (metrics/mix.py; the pooled ones kept as `<metric>_pooled`), and
records are scored in (model, job id) order (sentinel.records.canonical). Features are cached under
score.cache_dir (never changes a number); what was recomputed goes to <paths.score's
folder>/cache_stats.json, never into metrics.json.
"""
from __future__ import annotations

from pathlib import Path

from sentinel import config, gather
from sentinel.workloads.references import reference_sets, scored_references
from sentinel.per_model import check_model, model_paths
from sentinel.records import canonical, is_ok
from sentinel.provenance import environment, read_jsonl, write_json, write_jsonl


def score_records(records: list[dict], images_dir: Path, refs: list[Path], cfg: config.ScoreConfig,
                  cache: metrics.FeatureCache | None = None, enabled_preference: list | None = None) -> dict:
    """Every active registered metric of one image set. Optional ones (FD-DINOv2, plug-in scorers named in
    score.preference_models, already resolved by `run`) are switched on by registry.score_options."""
    from sentinel.metrics import compute as metrics, registry  # torch: only when scoring
    from sentinel.metrics.extract import resolve_device

    images, prompts = [images_dir / r["image"] for r in records], [r["prompt"] for r in records]
    return metrics.score_set(
        images, prompts, refs,
        inception_weights=cfg.inception_weights, clip_arch=cfg.clip_arch, clip_weights=cfg.clip_weights,
        batch_size=cfg.batch_size, kid_subset_size=cfg.kid_subset_size, kid_subsets=cfg.kid_subsets,
        seed=cfg.seed, cache=cache, bootstrap_samples=cfg.bootstrap_samples, ci_level=cfg.ci_level,
        device=resolve_device(cfg.device), options=registry.score_options(cfg))


def claim_min(cfg: config.ScoreConfig) -> int:
    """Fewest delivered images a set (a category, or all of a model's) needs for its metrics to be
    claimable: every registered metric is defined (FID needs 2, KID score.kid_subset_size)."""
    return max(2, cfg.kid_subset_size)


def _not_claimable(n: int, need: int) -> dict:
    return {"n_generated": n, "min_n": need,
            "why": f"{n} delivered image(s), fewer than the {need} its metrics need (score.kid_subset_size)"}


def _score_or_name(rows, images_dir, refs, cfg, where: str, **kw) -> dict:
    try:
        return score_records(rows, images_dir, refs, cfg, **kw)
    except ValueError as e:  # a set the metrics refuse: say which model and category it was
        raise ValueError(f"{where}: {e}") from e


def score_model(records: list[dict], images_dir: Path, data_dir: Path, wl: config.WorkloadConfig,
                cfg: config.ScoreConfig, cache: metrics.FeatureCache | None = None,
                enabled_preference: list | None = None, model: str = "") -> dict:
    """Overall and per-category metrics; a set below claim_min is reported under `not_claimable`
    (with its n) instead of scored, so failed jobs never crash the stage."""
    kw = dict(cache=cache, enabled_preference=enabled_preference)
    categories, need = wl.categories, claim_min(cfg)
    refs = {c: scored_references(data_dir, c, wl.reference, cfg.cache_dir) for c in categories}  # JPEG/WebP -> PNG
    per_cat, skipped = {}, {}
    for cat in categories:
        rows = [r for r in records if r["category"] == cat]
        if len(rows) >= need:
            per_cat[cat] = _score_or_name(rows, images_dir, refs[cat], cfg, f"model {model}, category {cat}", **kw)
        elif rows:
            skipped[cat] = _not_claimable(len(rows), need)
    if len(records) >= need:
        overall = _score_or_name(records, images_dir, [p for c in categories for p in refs[c]], cfg,
                                 f"model {model}, all categories", **kw)
    else:
        overall, skipped["overall"] = None, _not_claimable(len(records), need)
    if overall is not None:  # FID, KID, CMMD overall: per category, combined by the declared mix (metrics/mix.py)
        from sentinel.metrics import mix

        overall, why = mix.combine(overall, per_cat, mix.declared_counts(wl.jobs, categories), need)
        if why:
            skipped["overall"] = why
    out = {"overall": overall, "categories": per_cat}
    return {**out, "not_claimable": skipped} if skipped else out


def _check_weights(sc: config.ScoreConfig) -> None:
    optional = tuple(k for k in ("dinov2_weights", "cmmd_clip_weights") if getattr(sc, k, ""))  # "" = off
    for key in ("inception_weights", "clip_weights", *optional):
        if not Path(getattr(sc, key)).is_file():
            raise FileNotFoundError(
                f"score.{key}: weights file {getattr(sc, key)} not found. For the smoke suite run "
                "`python -m sentinel.metrics.weights --out weights/` (make bench does it); for a real suite "
                f"download the official weights and set score.{key} to their path")
        _tensors_only(Path(getattr(sc, key)), f"score.{key}")


def optional_conventions(sc: config.ScoreConfig) -> dict:
    """The conventions of the optional metrics this run computes (FD-DINOv2, CMMD's own encoder, plug-ins)."""
    from sentinel.metrics import dinov2, preference_registry

    out = {}
    if sc.dinov2_weights:
        out["fd_dinov2"] = dinov2.convention(sc.dinov2_arch, sc.dinov2_weights)
    if sc.cmmd_clip_arch:
        out["cmmd_encoder"] = {"arch": sc.cmmd_clip_arch, "weights_file": sc.cmmd_clip_weights,
                               "note": "CMMD from its own CLIP encoder (score.cmmd_clip_arch); CLIP score keeps "
                                       "score.clip_arch"}
    if sc.preference_models:
        out["plugins"] = {n: {"weights_file": preference_registry.REGISTRY[n].weights_file,
                              "source": preference_registry.REGISTRY[n].source,
                              "scorer": _qualname(preference_registry.REGISTRY[n].factory)}
                          for n in sc.preference_models}
    return out


def _qualname(factory) -> str:
    """A scorer factory's stable name ("module:function"; never a repr with a memory address)."""
    if isinstance(factory, str):
        return factory
    return f"{getattr(factory, '__module__', '?')}:{getattr(factory, '__qualname__', type(factory).__name__)}"


def _torch_load_tensors(torch, path: Path) -> None:
    """torch.load(weights_only=True), memory-mapped where the file format allows (nothing is read whole)."""
    import warnings

    warnings.filterwarnings("ignore", message="Detected pickle protocol")  # the refusal below says it all
    try:
        torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError as e:
        if "mmap" not in str(e):
            raise
        torch.load(path, map_location="cpu", weights_only=True)  # a legacy (non-zip) file: no mmap


def _tensors_only(path: Path, key: str) -> None:
    """Refuse, naming the key and file, a weights file that is not plain tensors (a pickle that would
    run code, a truncated or foreign file) before any image is read: safetensors by its header,
    anything else by torch.load(weights_only=True), which executes no pickled code."""
    import torch

    from sentinel.errors import WeightsError

    try:
        if path.suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                list(f.keys())
        else:
            _torch_load_tensors(torch, path)
    except Exception as e:  # noqa: BLE001 (any refusal is the same user error: this file is unusable)
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        if "weights only load failed" in first.lower():
            first = "it holds pickled objects other than tensors, which torch.load(weights_only=True) refuses"
        raise WeightsError(f"{key}: {path}: not a tensors-only weights file ({type(e).__name__}: {first})") from None


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
    entry = score_model(ok, Path(paths.images), Path(paths.data), cfg["workload"], sc, cache, enabled_preference,
                        model=model)
    entry["n_failed"], entry["n_jobs"] = len(model_records) - len(ok), len(model_records)
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
    from sentinel.metrics.extract import device_label, resolve_device

    device = resolve_device(sc.device)  # score.device: cuda without a visible CUDA device stops here
    _check_weights(sc)
    verdict = profile.assess(sc, Path(paths.data), cfg["workload"])  # plumbing from facts: metrics/profile.py
    profile.require_release(cfg["suite"], verdict)  # a non-plumbing suite refuses before any extraction
    enabled_preference = preference.resolve(sc.preference_models, sc.preference_weights_dir)
    all_records = canonical(read_jsonl(mp.records if model is not None else paths.records))
    cache = metrics.FeatureCache(sc.cache_dir or None)
    convention = {**metrics.convention(sc.inception_weights, sc.clip_arch, sc.clip_weights),
                  **optional_conventions(sc), "profile": verdict, "device": device_label(device),
                  "reference": reference_sets(paths.data, cfg["workload"])}  # folder, n, sha256 per category
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
