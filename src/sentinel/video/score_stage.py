"""Stage `video-score`: every delivered clip of one video model, scored on rubrics/video-metrics.md.

    run("params.yaml", model="tiny-wan")   # DVC's video_score@<model>: video.paths.scores/<model>.json
    run("params.yaml")                     # every model in video.models

Per model, over its delivered clips S (generate records with status ok, k of the N jobs it was given):
content-debiased FVD against the reference clips (video.paths.reference, listed with their frame
counts in its manifest.json, of every category the model was given jobs in; encoder video.score.fvd_encoder, the first video.score.fvd_frames frames
of every clip, half-sample CI when both sides have >= 4 clips), the CLIP score averaged over frames
against the record's prompt (the image CLIP score's weights and 77-token policy), subject consistency (the same CLIP image tower:
DINO is not available offline), temporal flickering, motion smoothness, dynamic degree, and the
frozen / looping flags, each with its interval, n and definition; every per-clip value is kept
under `per_clip` so the composite (rubrics/video-composite.md) can count failed jobs.

FAILED JOBS: the metrics are computed on S only and reported with n = k, beside n_jobs, the failure
rate and failures_by_cause; they never silently drop out: video-composite-v1 (report stage) counts
every failed job at the worst value of every per-clip dimension and scales the FVD component by the
delivered fraction d = k / N, as the image composite-v3 does (rubrics/composite.md).

Every strip must hash to its record's (or the manifest's) sha256. Frozen clips count as failed jobs in
the composite only (rubrics/video-composite.md); here they are a rate like looping.
Determinism: records are scored in job-id order, reference clips in (category, clip id) order, every
interval is seeded from clip ids, and the output holds no timings, so the same inputs give a
byte-identical JSON whatever the record order. Written atomically; a stale file is removed first.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sentinel.errors import ConfigError
from sentinel.provenance import environment, read_jsonl, sha256_file, write_json
from sentinel.records import failure_summary, is_ok
from sentinel.video.stage_params import VideoParams, VideoScoreConfig, load

HALFSAMPLE_MIN = 4  # sentinel.metrics.halfsample: halves of >= 2 clips per side
PLUMBING_NOTE = "plumbing only: random networks and tiny models, the numbers mean nothing"
FAILURES = ("dimensions are over delivered clips (n = n_ok); video-composite-v1 counts each failed job at the worst "
            "value of every per-clip dimension and scales the FVD component by n_ok / n_jobs "
            "(rubrics/video-composite.md)")


# ---------------------------------------------------------------- reading inputs

def _decode(path: Path, n_frames: int) -> np.ndarray:
    from sentinel.video import clipfile

    return clipfile.decode_strip(path, int(n_frames))


def read_clip(path: Path, n_frames: int, sha256: str | None = None, where: str = "clip") -> np.ndarray:
    """A clip strip as (T, H, W, 3) uint8; refuses a missing file or one whose bytes are not the record's."""
    if not path.is_file():
        raise FileNotFoundError(f"{where}: clip file {path} not found (run video-generate first)")
    if sha256 and sha256_file(path) != sha256:
        raise ValueError(f"{where}: {path} has sha256 {sha256_file(path)}, not the record's {sha256}")
    try:
        return _decode(path, n_frames)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None


def reference_clips(root: Path, categories: list[str]) -> dict[str, np.ndarray]:
    """{"<category>/<clip id>": clip} for every reference strip of `categories` (video-reference's
    manifest.json says each strip's frame count and sha256), in (category, clip id) order."""
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{manifest_path}: missing; run video-reference first")
    entries = json.loads(manifest_path.read_text(encoding="utf-8"))["clips"]
    out = {}
    for cat in sorted(set(categories)):
        mine = sorted((e for e in entries if e["category"] == cat), key=lambda e: str(e["clip_id"]))
        if not mine:
            raise FileNotFoundError(f"{manifest_path}: no reference clips for category {cat!r} "
                                    "(video.workload.reference_photos / reference_clips)")
        for e in mine:
            out[f"{cat}/{e['clip_id']}"] = read_clip(root / e["clip"], e["n_frames"], e.get("sha256"),
                                                     where=f"reference clip {e['clip']} ({manifest_path})")
    return out


# ---------------------------------------------------------------- networks

def fvd_encoder(sc: VideoScoreConfig):
    """The FVD feature network of video.score, from its sha256-pinned file."""
    where = "video.score.fvd_weights_sha256"
    if not sc.fvd_weights_sha256:
        raise ConfigError(f"{where}: empty; pin the sha256 of {sc.fvd_weights} (the encoder refuses an unpinned file)")
    if sc.fvd_encoder == "tiny":
        from sentinel.video.tiny_encoder import TinyVideoEncoder

        return TinyVideoEncoder(sc.fvd_weights, sc.fvd_weights_sha256, batch_size=sc.batch_size)
    from sentinel.video.encoders import CdfvdEncoder

    return CdfvdEncoder(sc.fvd_encoder, sc.fvd_weights, sc.fvd_weights_sha256, device=sc.device,
                        batch_size=sc.batch_size)


def first_frames(clip: np.ndarray, frames: int, where: str) -> np.ndarray:
    """cd-fvd's clip sampling: the first `frames` consecutive frames (sequence_length, every frame)."""
    if len(clip) < frames:
        raise ValueError(f"{where}: FVD uses the first video.score.fvd_frames = {frames} frames, the clip has "
                         f"{len(clip)}")
    return np.ascontiguousarray(clip[:frames])


def encode_all(encoder, clips: dict[str, np.ndarray], frames: int) -> np.ndarray:
    """(n, d) features in the dict's order, one clip at a time (clips may differ in size)."""
    rows = [encoder.features(first_frames(c, frames, cid)[None]) for cid, c in clips.items()]
    return np.concatenate(rows) if rows else np.zeros((0, 0), np.float32)


def fvd_entry(real: np.ndarray, real_ids: list[str], fake: np.ndarray, fake_ids: list[str], sc: VideoScoreConfig,
              convention: dict) -> dict:
    """{"value", "ci", ...}: half-sample CI with >= 4 clips per side, the point alone with 2-3, None below."""
    from sentinel.video import fvd

    base = {"kind": "set", "definition": fvd.DEFINITION, "covariance": fvd.COVARIANCE, "n": len(fake_ids),
            "n_reference": len(real_ids), "ci_level": sc.ci_level, "encoder": convention["encoder"],
            "frames": sc.fvd_frames}
    if min(len(fake_ids), len(real_ids)) < 2:
        return {**base, "value": None, "ci": None, "why": f"FVD needs >= 2 clips per side, got {len(fake_ids)} "
                                                            f"generated and {len(real_ids)} reference"}
    if min(len(fake_ids), len(real_ids)) < HALFSAMPLE_MIN:
        value = fvd.fvd_from_features(real[np.argsort(real_ids)], fake[np.argsort(fake_ids)])
        return {**base, "value": value, "ci": None, "ci_method": None,
                "why_no_ci": f"half-sampling needs >= {HALFSAMPLE_MIN} clips per side"}
    iv = fvd.fvd_interval(real, fake, real_ids=real_ids, fake_ids=fake_ids, level=sc.ci_level,
                          reps=sc.fvd_halfsample_reps)
    return {**base, "value": iv["fvd"], "ci": iv["ci"], "se": iv["se"], "ci_method": iv["ci_method"],
            "replicates": iv["replicates"]}


# ---------------------------------------------------------------- scoring

def per_clip_rows(clips: dict[str, dict], sc: VideoScoreConfig) -> dict[str, dict]:
    """job id -> every per-clip dimension; `clips` maps job id -> {"frames", "prompt", "fps", "category"}.

    One CLIP image pass per clip feeds both the CLIP score and subject consistency."""
    from sentinel.metrics import clip_score as clip
    from sentinel.video import consistency, per_clip, text_alignment

    ids = sorted(clips)
    texts = clip.clip_text_embeddings([clips[i]["prompt"] for i in ids], arch=sc.clip_arch,
                                      weights_path=sc.clip_weights, batch_size=sc.batch_size, device=sc.device) \
        if ids else np.zeros((0, 0))
    truncated = clip.tokenize([clips[i]["prompt"] for i in ids], sc.clip_arch)[1] if ids else []
    rows = {}
    for n, cid in enumerate(ids):
        c = clips[cid]
        row = per_clip.score_clip(c["frames"], fps=c["fps"], where=f"clip {cid}")
        image = text_alignment.clip_frame_embeddings(c["frames"], arch=sc.clip_arch, weights_path=sc.clip_weights,
                                                     batch_size=sc.batch_size, device=sc.device)
        per_frame = clip.clip_scores_from_embeddings(image, np.repeat(texts[n:n + 1], len(image), axis=0))
        row.update({"clip_score": float(per_frame.mean()), "clip_score_per_frame": [float(s) for s in per_frame],
                    "prompt_truncated": bool(truncated[n]),
                    "subject_consistency": consistency.subject_consistency_from_features(image),
                    "category": c["category"], "n_frames": int(len(c["frames"])), "fps": float(c["fps"])})
        rows[cid] = row
    return rows


def plumbing_reasons(model: str, model_plumbing: bool, fvd_convention: dict, sc: VideoScoreConfig) -> list[str]:
    """Why this model's numbers say nothing about quality, one line per fact (empty: a real run)."""
    from sentinel.validate import SMOKE_SHA256, file_sha256

    out = []
    if model_plumbing:
        out.append(f"video.models.{model}.plumbing: true (random weights or a fake vendor)")
    if fvd_convention.get("plumbing"):
        out.append(f"video.score.fvd_encoder: {sc.fvd_encoder} is a seeded random network")
    if Path(sc.clip_weights).is_file() and (d := file_sha256(sc.clip_weights)) in SMOKE_SHA256:
        out.append(f"video.score.clip_weights: {sc.clip_weights} has sha256 {d}, {SMOKE_SHA256[d]}")
    return out


def score_clips(clips: dict[str, dict], reference: dict[str, np.ndarray], sc: VideoScoreConfig, encoder) -> dict:
    """Dimensions, FVD and per-clip rows of one set of delivered clips (arrays in memory)."""
    from sentinel.video import summary, text_alignment

    rows = per_clip_rows(clips, sc)
    fvd_conv = {**encoder.convention(), "frames_used": f"the first {sc.fvd_frames} frames of every clip (cd-fvd "
                                                        "sequence_length, sample_every_n_frames 1)"}
    ref_ids = sorted(reference)
    gen_ids = sorted(clips)
    real = encode_all(encoder, {i: reference[i] for i in ref_ids}, sc.fvd_frames)
    fake = encode_all(encoder, {i: clips[i]["frames"] for i in gen_ids}, sc.fvd_frames)
    dims = summary.summarise({cid: {k: v for k, v in r.items() if k in summary.DIMENSIONS} for cid, r in rows.items()},
                             sc.ci_level, draws=sc.bootstrap_samples) if rows else {}
    return {"dimensions": dims, "fvd": fvd_entry(real, ref_ids, fake, gen_ids, sc, fvd_conv), "per_clip": rows,
            "n_prompt_truncated": sum(r["prompt_truncated"] for r in rows.values()),
            "convention": {"fvd": fvd_conv, "clip_score": text_alignment.convention(sc.clip_arch, sc.clip_weights),
                           "subject_consistency": {"frame_encoder": f"CLIP {sc.clip_arch} image tower, "
                                                   f"{Path(sc.clip_weights).name} (VBench uses DINO ViT-B/16)"},
                           "device": sc.device,
                           "frames": "per-clip dimensions use every frame of the clip (dynamic degree samples "
                                     "every round(fps/8)); FVD the first fvd_frames",
                           "intervals": f"bootstrap over clips ({sc.bootstrap_samples} draws) for means, Wilson "
                                        f"for rates, half-sampling ({sc.fvd_halfsample_reps} reps) for FVD; "
                                        f"level {sc.ci_level}"}}


def score_model(p: VideoParams, model: str, encoder=None) -> dict:
    """One model's scores document (module docstring); reads its records, clips and the reference clips."""
    import dataclasses

    from sentinel.metrics.extract import resolve_device
    from sentinel.video import clipfile

    info = p.model(model)
    p = dataclasses.replace(p, score=dataclasses.replace(p.score, device=resolve_device(p.score.device,
                                                                                        "video.score.device")))
    records_path = p.paths["records"] / f"{model}.jsonl"
    if not records_path.is_file():
        raise FileNotFoundError(f"{records_path}: no generate records for video model {model!r} "
                                "(run video-generate first)")
    records = sorted((r for r in read_jsonl(records_path) if r.get("model", model) == model),
                     key=lambda r: str(r["job_id"]))
    if not records:
        raise ValueError(f"{records_path}: no records for video model {model!r}")
    ok = [r for r in records if is_ok(r)]
    missing = [r["job_id"] for r in ok if not isinstance(r.get("prompt"), str)]
    if missing:
        raise ValueError(f"{records_path}: records of jobs {missing[:5]} carry no prompt (the CLIP score's text)")
    encoder = fvd_encoder(p.score) if encoder is None else encoder  # before reading any clip: a bad pin fails fast
    reference = reference_clips(p.paths["reference"], [r["category"] for r in records])
    clips = {r["job_id"]: {"frames": read_clip(p.paths["clips"] / r["clip"], r["n_frames"], r.get("sha256"),
                                               where=f"{records_path}: job {r['job_id']}"),
                           "prompt": r["prompt"], "fps": float(r["fps"]), "category": r["category"]}
             for r in ok}
    scored = score_clips(clips, reference, p.score, encoder)
    fails = failure_summary([{**r, "model": model} for r in records])[model]
    reasons = plumbing_reasons(model, info.plumbing, scored["convention"]["fvd"], p.score)
    doc = {"model": model, "display_name": info.display_name, "n_jobs": len(records), "n_ok": len(ok),
           **{k: fails[k] for k in ("n_failed", "failure_rate", "failures_by_cause")},
           "delivered_fraction": len(ok) / len(records),
           "failed_jobs": [r["job_id"] for r in records if not is_ok(r)], "failures": FAILURES,
           "jobs": {r["job_id"]: {"category": r["category"], "status": r.get("status", "ok"),
                                  **({"failure": r["failure"]} if not is_ok(r) else {})} for r in records},
           **scored,
           "reference": {"n": len(reference), "clips": {cid: clipfile.frames_sha256(c)
                                                        for cid, c in sorted(reference.items())}},
           "plumbing": bool(reasons), "plumbing_reasons": reasons, "environment": environment()}
    if reasons:
        doc["note"] = PLUMBING_NOTE
    return doc


def run(params_path: str | Path = "params.yaml", model: str | None = None) -> dict:
    p = load(params_path, need_card=False)
    names = list(p.models) if model is None else [p.model(model).name]
    out = {}
    for name in names:
        target = p.paths["scores"] / f"{name}.json"
        target.unlink(missing_ok=True)  # a failed run leaves no stale scores behind
        out[name] = score_model(p, name)
        write_json(target, out[name])
    return out
