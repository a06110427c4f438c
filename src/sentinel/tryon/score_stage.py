"""Stage `tryon_score@<model>`: both protocols' metrics of one try-on model -> tryon.paths.scores/<model>.json.

Reads only params.yaml and these files (paths from `tryon.paths`, `tryon.workload`, `tryon.score`):

    <workload.jobs>                 the job CSV (sentinel.tryon.jobs; protocol per job, paired | unpaired)
    <records>/<model>.jsonl         one line per job: status ok | failed, result, sha256, protocol
    <results>/<model>/<job>.png     the result of every ok job (its sha256 must equal the record's)
    LPIPS and InceptionV3 weights   local files only (tryon.score.*)

Per protocol (rubrics/tryon-metrics.md):
* paired (the person photo is the ground truth): SSIM and LPIPS against it; FID and KID of the
  results against the ground-truth photos of every paired job of the workload;
* unpaired: FID and KID of the results against `tryon.score.unpaired_reference` (`workload`: the
  person photos of every job, as VITON-HD's unpaired test does; or a folder of PNGs);
* both: garment fidelity in the mask (CIEDE2000 of mean colours, texture/print similarity) and
  preservation outside it (masked SSIM, masked MAE), each a mean over jobs with a seeded
  bootstrap CI and its n.

Failed jobs (status failed, no result): counted per protocol and by cause, with a Wilson interval
on the failure rate; they enter no quality metric (no image to score), so every metric's n counts
successful jobs only and the leaderboard shows the failure rate beside it. The per-job
reference set of FID/KID does not shrink with failures: it is the same for every model.

Everything is computed in job-id order and every generator is seeded from ids, so identical inputs
give byte-identical JSON whatever the order of the records; seconds are not written here.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from collections import Counter
from pathlib import Path

import numpy as np

from sentinel.provenance import read_jsonl, sha256_file, write_json
from sentinel.tryon import score_config
from sentinel.tryon.score_config import TryOnInputError, require as _require
from sentinel.tryon.protocols import JOB_METRICS, PROTOCOLS

FAILED_JOBS_RULE = ("failed jobs have no result: they are counted (n_failed, failures_by_cause, failure_rate "
                    "with a Wilson CI) and enter no quality metric; each metric's n counts the successful jobs "
                    "where it is defined")
MIN_SET, MIN_SET_CI = 2, 4  # FID/KID need 2 images a side; their half-sample interval 4


def cause(failure: str | None) -> str:
    """A failure's cause class: the text up to its first colon (as sentinel.records.failure_summary)."""
    return (failure or "unknown").split(":", 1)[0].strip() or "unknown"


def load_records(path: Path, model: str, jobs: dict) -> dict[str, dict]:
    """job id -> record, checked against the job CSV: one record per job, no stranger, no duplicate."""
    rows = read_jsonl(_require(path, f"records of try-on model {model!r} (run tryon_generate@{model})"))
    out: dict[str, dict] = {}
    for i, r in enumerate(rows, 1):
        where = f"{path}:{i}"
        job = r.get("job_id")
        if r.get("model") != model:
            raise TryOnInputError(f"{where}: model {r.get('model')!r}, expected {model!r}")
        if job not in jobs:
            raise TryOnInputError(f"{where}: job_id {job!r} is not in the job CSV")
        if job in out:
            raise TryOnInputError(f"{where}: job_id {job!r} appears twice")
        if r.get("status") not in ("ok", "failed"):
            raise TryOnInputError(f"{where}: status {r.get('status')!r} is not ok | failed")
        if r.get("protocol") not in PROTOCOLS:
            raise TryOnInputError(f"{where}: protocol {r.get('protocol')!r} is not one of {', '.join(PROTOCOLS)}")
        want = getattr(jobs[job], "protocol", None)
        if want is not None and want != r["protocol"]:
            raise TryOnInputError(f"{where}: protocol {r['protocol']!r}, the job CSV says {want!r}")
        out[job] = r
    missing = sorted(set(jobs) - set(out))
    if missing:
        raise TryOnInputError(f"{path}: no record for job(s) {', '.join(missing[:5])}"
                              f"{' ...' if len(missing) > 5 else ''}; run tryon_generate@{model}")
    return dict(sorted(out.items()))


def result_path(results_dir: Path, record: dict, model: str) -> Path:
    """The ok record's result PNG; refuses one that is missing or whose bytes differ from the record."""
    rel = record.get("result") or f"{model}/{record['job_id']}.png"
    path = _require(Path(results_dir) / rel, f"result of job {record['job_id']!r} ({model})")
    if record.get("sha256") and sha256_file(path) != record["sha256"]:
        raise TryOnInputError(f"{path}: sha256 differs from the record's {record['sha256']}; "
                              f"the result changed after tryon_generate@{model} (run it again)")
    return path


def ground_truth(job) -> str:
    """Paired protocol: the job's ground-truth photo (the person photo unless the CSV names another)."""
    return getattr(job, "ground_truth", None) or job.person


def job_row(job, result_file: Path, root: Path, protocol: str, lpips_net) -> dict[str, float | None]:
    """Every metric of `protocol` for one job (rubrics/tryon-metrics.md); None where undefined."""
    from sentinel.images import decode_rgb
    from sentinel.tryon import lpips, protocols
    from sentinel.tryon import ssim as ssim_mod
    from sentinel.tryon.regions import load_mask

    result, person = decode_rgb(result_file), decode_rgb(root / job.person)
    if result.shape != person.shape:
        raise TryOnInputError(f"{result_file}: result is {result.shape[1]}x{result.shape[0]}, the person photo "
                              f"{root / job.person} {person.shape[1]}x{person.shape[0]}; a result has the person's size")
    mask = None if job.mask is None else load_mask(root / job.mask, person.shape[:2])
    row = protocols.job_metrics(result, person, decode_rgb(root / job.garment), mask, protocol="unpaired")
    if protocol == "paired":
        truth = person if ground_truth(job) == job.person else decode_rgb(root / ground_truth(job))
        row = {"ssim": ssim_mod.ssim(result, truth), "lpips": lpips.lpips(lpips_net, result, truth), **row}
    for name, value in row.items():
        if value is not None and not math.isfinite(value):
            raise ValueError(f"job {job.id!r}: {name} is {value} (not finite); {result_file}")
    return row


@functools.lru_cache(maxsize=4)
def _rows(files: tuple[str, ...], shas: tuple[str, ...], weights: str, weights_sha: str, batch_size: int,
          device: str) -> np.ndarray:
    """Inception rows of `files` (one per distinct sha256, in sha256 order); memoised on the contents, so a
    second pass over the same images in one process (a test's rerun) reuses the same batches' rows."""
    from sentinel.metrics.fid import inception_features

    rows = inception_features(list(files), weights_path=weights, batch_size=batch_size, device=device)
    rows.setflags(write=False)
    return rows


def features_by_content(paths: list[Path], cfg: score_config.TryOnScoreConfig, weights: str) -> dict[str, np.ndarray]:
    """sha256 of the file -> its InceptionV3 row. Every distinct image is computed once, in sha256 order,
    so the batches (and so every float) depend on the set of images only, never on record order."""
    from sentinel.metrics.weights import weights_sha256

    first = {}
    for p in paths:
        first.setdefault(sha256_file(p), str(p))
    shas = tuple(sorted(first))
    if not shas:
        return {}
    rows = _rows(tuple(first[s] for s in shas), shas, str(weights), weights_sha256(weights), cfg.batch_size, cfg.device)
    return dict(zip(shas, rows, strict=True))


def set_metrics(results: dict[str, Path], reference: dict[str, Path], features: dict[str, np.ndarray],
                cfg: score_config.TryOnScoreConfig) -> dict:
    """FID and KID of results vs reference (keys: job ids / reference ids), with n, m and an interval when
    both sides have >= 4 images; a point without interval for 2..3; nothing below 2 (says why)."""
    from sentinel.metrics import bootstrap, fid
    from sentinel.tryon.protocols import set_distances

    n, m = len(results), len(reference)
    sizes = {"n": n, "m_reference": m, "higher_is_better": False}
    if n < MIN_SET or m < MIN_SET:
        why = f"FID/KID need >= {MIN_SET} images a side, got {n} results and {m} reference"
        return {k: {"value": None, "ci": None, **sizes, "not_computed": why} for k in ("fid", "kid")}
    rk, fk = sorted(results), sorted(reference)
    gen = np.stack([features[sha256_file(results[k])] for k in rk])
    ref = np.stack([features[sha256_file(reference[k])] for k in fk])
    if n < MIN_SET_CI or m < MIN_SET_CI:
        why = f"no interval: half-sampling needs >= {MIN_SET_CI} images a side, got {n} and {m}"
        g, r = np.asarray(gen, np.float64), np.asarray(ref, np.float64)
        return {"fid": {"value": max(0.0, fid.fid_from_features(g, r)), "ci": None, "ci_note": why, **sizes},
                "kid": {"value": bootstrap.kid_full(g, r), "ci": None, "ci_note": why, **sizes}}
    return set_distances(gen, ref, rk, fk, level=cfg.ci_level, reps=cfg.set_replicates, seed=cfg.seed)


def unpaired_reference(cfg, jobs: dict, root: Path) -> dict[str, Path]:
    if cfg.unpaired_reference == "workload":
        return {job.person: root / job.person for job in jobs.values()}
    folder = Path(cfg.unpaired_reference)
    files = sorted(folder.glob("*.png")) if folder.is_dir() else []
    if not files:
        raise TryOnInputError(f"{folder}: tryon.score.unpaired_reference names no folder of PNG files "
                              "(or set it to `workload`)")
    return {p.name: p for p in files}


def failures(records: list[dict], level: float) -> dict:
    from sentinel.checks.summary import rate

    failed = [r for r in records if r["status"] != "ok"]
    return {"n_jobs": len(records), "n_ok": len(records) - len(failed), "n_failed": len(failed),
            "failure_rate": rate({r["job_id"]: r["status"] != "ok" for r in records}, level),
            "failures_by_cause": dict(sorted(Counter(cause(r.get("failure")) for r in failed).items())),
            "failed_jobs": sorted(r["job_id"] for r in failed)}


def _weights(cfg: score_config.TryOnScoreConfig, params_path) -> str:
    """The InceptionV3 file: tryon.score.inception_weights, else the image suite's score.inception_weights."""
    from sentinel.config import read_params

    if cfg.inception_weights:
        return cfg.inception_weights
    image_score = read_params(params_path).get("score") or {}
    if not image_score.get("inception_weights"):
        raise score_config.ConfigError("tryon.score.inception_weights: not set, and no score.inception_weights to "
                                       "reuse", path=params_path)
    return image_score["inception_weights"]


def _device(device: str, params_path) -> str:
    """InceptionV3's device: cpu, cuda[:n], or auto (cuda when one is visible); a CUDA device that is not
    there is a config error before any image is read. LPIPS always runs on the CPU in float64."""
    import re

    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device != "cpu" and not re.fullmatch(r"cuda(:\d+)?", device):
        raise score_config.ConfigError(f"tryon.score.device: must be cpu, cuda, cuda:<n> or auto, got {device!r}",
                                       path=params_path)
    if device.startswith("cuda") and int(device.partition(":")[2] or 0) >= torch.cuda.device_count():
        raise score_config.ConfigError(f"tryon.score.device: {device!r} requested but {torch.cuda.device_count()} "
                                       "CUDA device(s) are visible", path=params_path)
    return device


def score_model(params_path, model: str) -> tuple[Path, dict]:
    """Compute the model's score document; returns (output path, document)."""
    from sentinel.checks.summary import mean
    from sentinel.tryon import lpips, protocols
    from sentinel.tryon.jobs import load_tryon_jobs

    section = score_config.read_section(params_path)
    mcfg = score_config.model(section, model, params_path)
    cfg = score_config.parse_score(section.get("score"), params_path)
    paths = score_config.stage_paths(section, ("results", "records", "scores"), params_path)
    wl = score_config.workload(section, params_path)
    weights = _weights(cfg, params_path)
    for key, f in (("lpips_backbone_weights", cfg.lpips_backbone_weights),
                   ("lpips_linear_weights", cfg.lpips_linear_weights), ("inception_weights", weights)):
        if not Path(f).is_file():  # before any work: every weight file is a local file, never downloaded
            raise TryOnInputError(f"{f}: weights file named by tryon.score.{key} not found "
                                  "(smoke files: `sentinel weights --out weights/`)")
    cfg = dataclasses.replace(cfg, device=_device(cfg.device, params_path))
    jobs = {j.id: j for j in load_tryon_jobs(wl["jobs"], wl["root"], pairs=wl["pairs"])}
    records = load_records(paths["records"] / f"{model}.jsonl", model, jobs)
    protocol_of = {j: r["protocol"] for j, r in records.items()}
    ok = {j: result_path(paths["results"], r, model) for j, r in records.items() if r["status"] == "ok"}

    net = lpips.load_lpips(cfg.lpips_backbone_weights, cfg.lpips_linear_weights)
    rows = {j: job_row(jobs[j], ok[j], wl["root"], protocol_of[j], net) for j in ok}
    sets = {}
    for protocol in PROTOCOLS:
        in_protocol = [j for j in records if protocol_of[j] == protocol]
        if protocol == "paired":
            ref = {j: wl["root"] / ground_truth(jobs[j]) for j in in_protocol}
            ref_name = "ground-truth photos of every paired job"
        else:
            ref = unpaired_reference(cfg, jobs, wl["root"]) if in_protocol else {}
            ref_name = ("person photos of every job of the workload" if cfg.unpaired_reference == "workload"
                        else f"PNG files in {cfg.unpaired_reference}")
        sets[protocol] = (in_protocol, {j: ok[j] for j in in_protocol if j in ok}, ref, ref_name)
    needed = [p for _, res, ref, _ in sets.values() if len(res) >= MIN_SET and len(ref) >= MIN_SET
              for p in (*res.values(), *ref.values())]
    features = features_by_content(needed, cfg, weights)
    doc_protocols = {}
    for protocol, (in_protocol, res, ref, ref_name) in sets.items():
        block = {**failures([records[j] for j in in_protocol], cfg.ci_level),
                 "metrics": protocols.summarise({j: rows[j] for j in in_protocol if j in rows}, protocol, cfg.ci_level)}
        block["metrics"].update(set_metrics(res, ref, features, cfg))
        block["set_reference"] = ref_name
        doc_protocols[protocol] = block
    doc = {"model": model, "display_name": mcfg.get("display_name", model), "plumbing": bool(mcfg.get("plumbing")),
           "workload": wl["name"], "jobs_file": str(wl["jobs"]), "jobs_sha256": sha256_file(wl["jobs"]),
           **failures(list(records.values()), cfg.ci_level), "failed_jobs_rule": FAILED_JOBS_RULE,
           "protocols": doc_protocols,
           "jobs": {j: {"protocol": protocol_of[j], "category": jobs[j].category, "status": records[j]["status"],
                        **({"failure": records[j].get("failure")} if records[j]["status"] != "ok" else
                           {"result": records[j].get("result") or f"{model}/{j}.png", "sha256": records[j].get("sha256"),
                            "metrics": rows[j]})}
                    for j in records},
           "ci_level": cfg.ci_level, "metric_directions": {k: v[0] for k, v in JOB_METRICS.items()},
           "convention": {**protocols.convention(weights),
                          "lpips": lpips.convention(cfg.lpips_backbone_weights, cfg.lpips_linear_weights),
                          "job_ci_draws": inspect.signature(mean).parameters["draws"].default,
                          "set_replicates": cfg.set_replicates, "seed": cfg.seed,
                          "inception_device": cfg.device.split(":")[0],  # CPU and GPU kernels differ in float
                          "rubric": "rubrics/tryon-metrics.md"}}
    return paths["scores"] / f"{model}.json", doc


def run(params_path: str | Path = "params.yaml", model: str | None = None) -> dict:
    if not model:
        raise score_config.ConfigError("tryon-score: needs a model name (the stage is tryon_score@<model>)",
                                       path=params_path)
    out, doc = score_model(params_path, model)
    write_json(out, doc)
    return doc
