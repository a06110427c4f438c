"""Re-run the pipeline's own stages for a release, in a scratch folder, with the release's params.

The stages run exactly as `dvc repro` runs them (`sentinel.cli.stage`, in the repo root, so
relative weights, data and workload paths resolve as they did), but every output path in
`paths` is moved under the scratch folder, so nothing in the workspace is touched, and tracking is
off (MLflow mirrors DVC; with tracking off every output is the same).

- rescore:    the published images (fetched with DVC), records, timings and latency are the inputs;
              score, cost and report re-run.
- regenerate: generate, score, cost, latency and report all re-run from the release's params.

A release with media models (release/media.py) adds its families' stages after the image ones, the
per-model ones once per model (`video-score@tiny-wan`: `sentinel.cli.stage(name, model=...)`), and
moves `video.paths.*` / `tryon.paths.*` under the scratch folder the same way.
"""
from __future__ import annotations

import copy
import logging
import os
import subprocess
import sys
from pathlib import Path

import yaml

from sentinel.provenance import atomic_write_text
from sentinel.release import media
from sentinel.release.layout import ReleaseError, default_remote, dvc

log = logging.getLogger(__name__)

STAGES = {"rescore": ("score", "cost", "report"),
          "regenerate": ("generate", "score", "cost", "latency", "report")}
# In rescore mode these paths point at the release's frozen copies instead of being re-made.
PUBLISHED_INPUTS = {"records": "records.jsonl", "timings": "timings.jsonl", "latency": "latency.json"}


def scratch_params(params: dict, work: Path, mode: str, release_dir: Path, images_dir: Path | None,
                   media_dirs: dict[str, Path] | None = None) -> dict:
    """The release's params with every output path under `work` (media_dirs: rescore's fetched clips /
    results per family)."""
    out = copy.deepcopy(params)
    paths = out.get("paths") or {}
    for key, value in paths.items():
        if key != "data" and isinstance(value, str):
            paths[key] = str(work / "outputs" / value)
    if mode == "rescore":
        paths["images"] = str(images_dir)
        for key, name in PUBLISHED_INPUTS.items():
            if key in paths:
                paths[key] = str(release_dir.resolve() / name)
    media.scratch_paths(out, work, mode, release_dir, media_dirs or {})
    if isinstance(out.get("tracking"), dict) and "enabled" in out["tracking"]:
        out["tracking"]["enabled"] = False
    return out


def write_params(params: dict, path: Path) -> Path:
    atomic_write_text(path, yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
    return path


def stage_plan(params: dict, mode: str) -> list[tuple[str, str | None]]:
    """(cli stage, model or None) in run order: the image stages of the mode, then each media family's."""
    return [(name, None) for name in STAGES[mode]] + media.plan(params, mode)


def run_stage(root: Path, name: str, params_path: Path, log_dir: Path, model: str | None = None) -> str | None:
    """Run one stage (of one model, for per-model stages); None on success, else its error (the last
    lines it printed)."""
    env = {**os.environ, "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1")}
    code = ("import sys; from sentinel.cli import stage; "
            "stage(sys.argv[1], model=sys.argv[3] or None, params_path=sys.argv[2])")
    proc = subprocess.run([sys.executable, "-c", code, name, str(params_path), model or ""], cwd=root, env=env,
                          capture_output=True, text=True)
    step = media.step_name(name, model)
    log_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(log_dir / f"{step}.log", proc.stdout + proc.stderr)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-8:]
        return f"stage `{step}` exited {proc.returncode}: " + " / ".join(tail)
    return None


def run_stages(root: Path, mode: str, params_path: Path, log_dir: Path,
               plan: list[tuple[str, str | None]] | None = None) -> tuple[list[str], str | None]:
    """Each stage in turn (`plan`, default: the image stages of the mode); its output goes to
    <log_dir>/<stage>[@<model>].log, so progress is a line per stage. Returns the steps done
    (`score`, `video-score@tiny-wan`) and the first error."""
    from sentinel.progress import Progress

    plan = [(name, None) for name in STAGES[mode]] if plan is None else plan
    done = []
    with Progress(len(plan), f"release verify ({mode})", unit="stages", every_n=1) as bar:
        for name, model in plan:
            step = media.step_name(name, model)
            log.info("release verify: running stage %s (output: %s)", step, log_dir / f"{step}.log")
            error = run_stage(root, name, params_path, log_dir, model)
            if error:
                return done, error
            done.append(step)
            bar.update()
    return done, None


def fetch_images(root: Path, images: dict, dest: Path, name: str = "images",
                 manifest_key: str = "images") -> Path:
    """Check out published outputs by their DVC hashes into dest/fetch/<name>/<model>/, from the
    project's cache or, failing that, its default remote (DVC itself, in a throwaway project sharing
    the cache). `images` is a manifest block: per model `models.<m>.md5` (one DVC out per model),
    or, for releases cut before per-model stages, one `md5` for the whole folder. The media families'
    clips / results come the same way (`name` video-clips, `manifest_key` media.video)."""
    hashes = {m: o.get("md5") for m, o in (images.get("models") or {}).items()} or {"": images.get("md5")}
    missing = [m or name for m, h in hashes.items() if not h]
    if missing:
        raise ReleaseError(f"the release manifest has no {name} md5 for {', '.join(missing)} (manifest.json: "
                           f"{manifest_key}.models.<model>.md5)"
                           + ("; pass --images <dir> to re-score images you have" if name == "images" else ""))
    repo = dest / "fetch"
    if not (repo / ".dvc").is_dir():
        repo.mkdir(parents=True, exist_ok=True)
        dvc(repo, "init", "--no-scm", "-q")
        dvc(repo, "config", "cache.dir", dvc(root, "cache", "dir").stdout.strip())
    remote = default_remote(root)
    if remote and not dvc(repo, "remote", "list").stdout.strip():
        dvc(repo, "remote", "add", "-d", "origin", remote[1])
    (repo / name).mkdir()
    targets = []
    for model, md5 in hashes.items():
        out = f"{name}/{model}" if model else name
        dvc_file = f"{name}/{model}.dvc" if model else f"{name}.dvc"
        if not model:
            (repo / name).rmdir()
        (repo / dvc_file).write_text(yaml.safe_dump({"outs": [{"md5": md5, "path": Path(out).name, "hash": "md5"}]}))
        targets.append(dvc_file)
    proc = dvc(repo, "pull" if remote else "checkout", "-q", *targets, check=False)
    if proc.returncode != 0 or not all((repo / t.removesuffix(".dvc")).is_dir() for t in targets):
        where = f"the DVC cache or remote {remote[1]}" if remote else "the DVC cache (no default remote is set)"
        raise ReleaseError(f"cannot fetch the published {name} {', '.join(h for h in hashes.values())} from "
                           f"{where}: {(proc.stderr or proc.stdout).strip()[-800:]}")
    return repo / name


def fetch_media(root: Path, manifest: dict, params: dict, dest: Path) -> dict[str, Path]:
    """Each media family's published clips / results (manifest.json `media.<family>`), fetched by md5."""
    blocks = manifest.get("media") or {}
    out = {}
    for family in media.families(params):
        if family not in blocks:
            raise ReleaseError(f"the release's params name {family} models but manifest.json has no "
                               f"`media.{family}` block (their outputs' DVC md5s): cut it again")
        out[family] = fetch_images(root, blocks[family], dest, f"{family}-{media.FAMILIES[family].outputs}",
                                   f"media.{family}")
    return out
