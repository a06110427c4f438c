"""Re-run the pipeline's own stages for a release, in a scratch folder, with the release's params.

The stages run exactly as `dvc repro` runs them (`sentinel.cli.stage`, in the repo root, so
relative weights, data and workload paths resolve as they did), but every output path in
`paths` is moved under the scratch folder, so nothing in the workspace is touched, and tracking is
off (MLflow mirrors DVC; with tracking off every output is the same).

- rescore:    the published images (fetched with DVC), records, timings and latency are the inputs;
              score, cost and report re-run.
- regenerate: generate, score, cost, latency and report all re-run from the release's params.
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
from sentinel.release.layout import ReleaseError, default_remote, dvc

log = logging.getLogger(__name__)

STAGES = {"rescore": ("score", "cost", "report"),
          "regenerate": ("generate", "score", "cost", "latency", "report")}
# In rescore mode these paths point at the release's frozen copies instead of being re-made.
PUBLISHED_INPUTS = {"records": "records.jsonl", "timings": "timings.jsonl", "latency": "latency.json"}


def scratch_params(params: dict, work: Path, mode: str, release_dir: Path, images_dir: Path | None) -> dict:
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
    if isinstance(out.get("tracking"), dict) and "enabled" in out["tracking"]:
        out["tracking"]["enabled"] = False
    return out


def write_params(params: dict, path: Path) -> Path:
    atomic_write_text(path, yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
    return path


def run_stage(root: Path, name: str, params_path: Path, log_dir: Path) -> str | None:
    """Run one stage; None on success, else its error (the last lines it printed)."""
    env = {**os.environ, "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1")}
    code = "import sys; from sentinel.cli import stage; stage(sys.argv[1], params_path=sys.argv[2])"
    proc = subprocess.run([sys.executable, "-c", code, name, str(params_path)], cwd=root, env=env,
                          capture_output=True, text=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(log_dir / f"{name}.log", proc.stdout + proc.stderr)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-8:]
        return f"stage `{name}` exited {proc.returncode}: " + " / ".join(tail)
    return None


def run_stages(root: Path, mode: str, params_path: Path, log_dir: Path) -> tuple[list[str], str | None]:
    """Each stage in turn; its output goes to <log_dir>/<stage>.log, so progress is a line per stage."""
    from sentinel.progress import Progress

    done = []
    with Progress(len(STAGES[mode]), f"release verify ({mode})", unit="stages", every_n=1) as bar:
        for name in STAGES[mode]:
            log.info("release verify: running stage %s (output: %s)", name, log_dir / f"{name}.log")
            error = run_stage(root, name, params_path, log_dir)
            if error:
                return done, error
            done.append(name)
            bar.update()
    return done, None


def fetch_images(root: Path, images: dict, dest: Path) -> Path:
    """Check out the published images by their DVC hashes into dest/fetch/images/<model>/, from the
    project's cache or, failing that, its default remote (DVC itself, in a throwaway project sharing
    the cache). `images` is the manifest's block: per model `models.<m>.md5` (one DVC out per model),
    or, for releases cut before per-model stages, one `md5` for the whole folder."""
    hashes = {m: o.get("md5") for m, o in (images.get("models") or {}).items()} or {"": images.get("md5")}
    missing = [m or "images" for m, h in hashes.items() if not h]
    if missing:
        raise ReleaseError(f"the release manifest has no images md5 for {', '.join(missing)} (manifest.json: "
                           "images.models.<model>.md5); pass --images <dir> to re-score images you have")
    repo = dest / "fetch"
    (repo / "images").mkdir(parents=True)
    dvc(repo, "init", "--no-scm", "-q")
    dvc(repo, "config", "cache.dir", dvc(root, "cache", "dir").stdout.strip())
    remote = default_remote(root)
    if remote:
        dvc(repo, "remote", "add", "-d", "origin", remote[1])
    targets = []
    for model, md5 in hashes.items():
        out = f"images/{model}" if model else "images"
        name = f"images/{model}.dvc" if model else "images.dvc"
        if not model:
            (repo / "images").rmdir()
        (repo / name).write_text(yaml.safe_dump({"outs": [{"md5": md5, "path": Path(out).name, "hash": "md5"}]}))
        targets.append(name)
    proc = dvc(repo, "pull" if remote else "checkout", "-q", *targets, check=False)
    if proc.returncode != 0 or not all((repo / t.removesuffix(".dvc")).is_dir() for t in targets):
        where = f"the DVC cache or remote {remote[1]}" if remote else "the DVC cache (no default remote is set)"
        raise ReleaseError(f"cannot fetch the published images {', '.join(h for h in hashes.values())} from "
                           f"{where}: {(proc.stderr or proc.stdout).strip()[-800:]}")
    return repo / "images"
