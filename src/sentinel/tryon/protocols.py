"""The two try-on protocols: per-job metric rows, per-model means with CIs, and set-level FID/KID.

* Paired (the person already wears the garment, so the person photo is the ground truth):
  SSIM and LPIPS of the result against the person photo; FID/KID of the results against the
  person photos of the same jobs.
* Unpaired (another garment, no ground truth): FID/KID of the results against a reference set of
  real garment-person photos (e.g. the dataset's test persons), given by the caller.
* Both: garment fidelity in the mask (garment.py) and preservation outside it (preservation.py).

Per-job metrics get a mean and a percentile-bootstrap CI over jobs (sentinel.checks.summary.mean:
job-keyed, seeded from the sorted job ids, so row order changes no number); a job where a metric is
undefined (no mask, no LPIPS files) leaves that metric's n. FID and KID are the project's own
(sentinel.metrics.fid features, sentinel.metrics.halfsample intervals: both sets half-sampled
without replacement). Definitions: rubrics/tryon-metrics.md.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sentinel.checks import summary
from sentinel.tryon import garment, preservation
from sentinel.tryon import ssim as ssim_mod

PROTOCOLS = ("paired", "unpaired")
# metric -> (higher_is_better, protocols it belongs to)
JOB_METRICS = {
    "ssim": (True, ("paired",)),
    "lpips": (False, ("paired",)),
    "garment_delta_e00": (False, PROTOCOLS),
    "garment_texture": (True, PROTOCOLS),
    "preserved_ssim": (True, PROTOCOLS),
    "preserved_mae": (False, PROTOCOLS),
}


def _check_protocol(protocol: str) -> None:
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol: {protocol!r} is not one of {', '.join(PROTOCOLS)}")


def job_metrics(result: np.ndarray, person: np.ndarray, garment_rgb: np.ndarray, mask: np.ndarray | None, *,
                protocol: str, lpips_net=None) -> dict[str, float | None]:
    """One job's row: every metric of `protocol`, None where undefined (no mask; no LPIPS network)."""
    from sentinel.tryon import lpips as lpips_mod

    _check_protocol(protocol)
    if np.shape(result) != np.shape(person):
        raise ValueError(f"result {np.shape(result)} and person {np.shape(person)} differ in size")
    row: dict[str, float | None] = {}
    if protocol == "paired":
        row["ssim"] = ssim_mod.ssim(result, person)
        row["lpips"] = None if lpips_net is None else lpips_mod.lpips(lpips_net, result, person)
    has_mask = mask is not None
    row["garment_delta_e00"] = garment.colour_delta_e00(result, mask, garment_rgb) if has_mask else None
    row["garment_texture"] = garment.texture_similarity(result, mask, garment_rgb) if has_mask else None
    row["preserved_ssim"] = preservation.masked_ssim(result, person, mask) if has_mask else None
    row["preserved_mae"] = preservation.masked_mae(result, person, mask) if has_mask else None
    return row


def score_job(job, result_path: str | Path, root: str | Path, *, protocol: str, lpips_net=None) -> dict:
    """job_metrics for a TryOnJob whose images lie under `root` and whose result is `result_path`."""
    from sentinel.images import decode_rgb
    from sentinel.tryon.regions import load_mask

    root = Path(root)
    result, person = decode_rgb(result_path), decode_rgb(root / job.person)
    mask = None if job.mask is None else load_mask(root / job.mask, person.shape[:2])
    return job_metrics(result, person, decode_rgb(root / job.garment), mask, protocol=protocol, lpips_net=lpips_net)


def summarise(rows: dict[str, dict[str, float | None]], protocol: str, level: float) -> dict[str, dict]:
    """Per metric of `protocol`: mean, bootstrap CI over jobs, n (jobs where it is defined), direction."""
    _check_protocol(protocol)
    out = {}
    for name, (higher, protocols) in JOB_METRICS.items():
        if protocol in protocols:
            values = {job: r[name] for job, r in rows.items() if r.get(name) is not None}
            out[name] = {**summary.mean(values, level), "higher_is_better": higher}
    return out


def set_distances(results: np.ndarray, reference: np.ndarray, result_keys: list[str], reference_keys: list[str], *,
                  level: float, reps: int, seed: int) -> dict[str, dict]:
    """FID and KID (full unbiased MMD²) of two feature sets, each with its half-sample interval and n, m."""
    from sentinel.metrics import halfsample as hs

    if len(results) != len(result_keys) or len(reference) != len(reference_keys):
        raise ValueError(f"features and keys differ in length: {len(results)}/{len(result_keys)} results, "
                         f"{len(reference)}/{len(reference_keys)} reference")
    gen, ref = hs.in_key_order(result_keys, results), hs.in_key_order(reference_keys, reference)
    keys = [*result_keys, *(f"reference:{k}" for k in reference_keys)]
    g = hs.grams(gen, ref)
    sizes = {"n": len(gen), "m_reference": len(ref)}
    fid = hs.fid_interval(gen, ref, level=level, reps=reps, seed=hs.seed_from_keys(keys, f"tryon-fid:{seed}"), g=g)
    kid = hs.kid_interval(gen, ref, level=level, reps=reps, seed=hs.seed_from_keys(keys, f"tryon-kid:{seed}"), g=g)
    # FID is a squared distance: a round-off negative (-1e-13 for identical sets) is 0, inside its interval
    return {"fid": {"value": max(0.0, fid.pop("fid")), **fid, **sizes, "higher_is_better": False},
            "kid": {**kid, **sizes, "higher_is_better": False}}


def protocol_distances(result_paths: list[Path], reference_paths: list[Path], *, weights_path: str | Path,
                       batch_size: int, level: float, reps: int, seed: int) -> dict[str, dict]:
    """FID/KID through the project's InceptionV3 (sentinel.metrics.fid). Paired: the reference is the
    jobs' person photos; unpaired: a garment-person reference set. Keys are the file names."""
    from sentinel.metrics.fid import inception_features

    feats = [inception_features(p, weights_path=weights_path, batch_size=batch_size)
             for p in (result_paths, reference_paths)]
    return set_distances(feats[0], feats[1], [Path(p).name for p in result_paths],
                         [Path(p).name for p in reference_paths], level=level, reps=reps, seed=seed)


def convention(inception_weights: str | Path | None = None) -> dict:
    """What can move the numbers, recorded beside them."""
    from sentinel.metrics import halfsample as hs

    out = {"ssim": ssim_mod.convention(), "garment": garment.convention(),
           "preservation": "complement of the mask; MAE in uint8 levels; SSIM over window-safe pixels",
           "job_ci": "sentinel.checks.summary.mean: percentile bootstrap over jobs, seeded from sorted job ids",
           "set_ci": hs.METHOD}
    if inception_weights is not None:
        from sentinel.metrics import fid

        out["fid_kid"] = fid.convention(inception_weights)
    return out
