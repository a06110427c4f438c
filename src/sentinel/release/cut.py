"""`python -m sentinel.release cut <YYYY-Qn>`: freeze the workspace's results into releases/<id>/.

Refuses unless the git tree is clean and `dvc status` is clean, so the frozen numbers are exactly
what the committed code, params and dvc.lock produce; refuses if the numbers were made with other
library versions than this environment's or on another platform. Pushes the images to the default DVC remote (so a fresh
clone can fetch them), writes the release directory atomically, adds a changelog entry and
regenerates releases/HISTORY.md. When the params name media models (`video.models`, `tryon.models`),
each family's results are frozen under <family>/ and its clips / results pushed and recorded by their
DVC md5 in manifest.json's `media` block (release/media.py); without them the cut is as before.
The release folder also gets the feature statistics of every scored
set (features/stats.npz; for the smoke profile the features too: release/features.py), hashed in
manifest.json like every frozen file, so FID can be recomputed without regenerating.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import yaml

from sentinel.provenance import environment, read_jsonl, sha256_file, staged_dir, write_json
from sentinel.release import features as feats
from sentinel.release import fingerprint as fp
from sentinel.release import media
from sentinel.release.history import add_changelog_entry, write_history
from sentinel.release.layout import (FROM_ROOT, FROZEN, RELEASES_DIR, ReleaseError, check_id, default_remote, dvc, load_json, lock_out)


def git_dirty_paths(root: Path) -> list[str]:
    try:
        proc = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True,
                              timeout=60)
    except OSError as e:
        raise ReleaseError(f"cannot run git in {root}: {e}") from None
    if proc.returncode != 0:
        raise ReleaseError(f"{root} is not a git work tree: {proc.stderr.strip()}")
    return [line[3:] for line in proc.stdout.splitlines() if line.strip()]


def preflight(root: Path) -> None:
    """Refuse a dirty git tree or a non-clean `dvc status`, saying what is dirty and what to do."""
    dirty = git_dirty_paths(root)
    if dirty:
        shown = ", ".join(dirty[:10]) + (f" and {len(dirty) - 10} more" if len(dirty) > 10 else "")
        raise ReleaseError(f"refusing to cut a release: the git tree is dirty ({shown}). Commit or "
                           "remove these changes first, so the release names the commit its numbers came from.")
    status = json.loads(dvc(root, "status", "--json").stdout or "{}")
    if status:
        raise ReleaseError(f"refusing to cut a release: `dvc status` is not clean ({', '.join(sorted(status))}). "
                           "Run `dvc repro` (and `dvc pull` for missing data), commit dvc.lock, then cut again.")


def _check_environment(metrics: dict) -> None:
    """The numbers must have been made here: the release's fingerprint describes this machine, and
    `verify` holds quality bit-exact on a matching platform. Two hosts with the same CPU name and
    libraries but another kernel build (`platform`) put FID intervals 5e-13 apart, so `platform`
    counts too."""
    made_with, here = metrics.get("environment") or {}, environment()
    differ = [f"{k} {made_with[k]} (here {here[k]})" for k in made_with
              if k in here and k != "platform" and made_with[k] != here[k]]
    if differ:
        raise ReleaseError("refusing to cut a release: the numbers were made with other library versions "
                           f"than this environment's: {', '.join(differ)}. Cut where they were made, or "
                           "run `dvc repro --force` here first.")
    if made_with.get("platform") and here.get("platform") and made_with["platform"] != here["platform"]:
        raise ReleaseError("refusing to cut a release: the numbers were made on another platform "
                           f"({made_with['platform']}; here {here['platform']}), and the release's fingerprint "
                           "would describe this machine. Cut where they were made, or re-score here first: "
                           "`dvc repro --force --single-item score@<model> ... gather`, then `dvc repro`.")


def _check_images(records: list[dict], images_dir: Path) -> None:
    on_disk = fp.images_on_disk(records, images_dir)
    bad = [name for name, sha in fp.image_hashes(records).items() if on_disk[name] != sha]
    if bad:
        raise ReleaseError(f"refusing to cut a release: {len(bad)} image(s) under {images_dir} do not match "
                           f"their records' sha256 (first: {bad[0]}). Run `dvc checkout` or `dvc repro`.")


def _sources(root: Path, params: dict) -> dict[str, Path]:
    paths = params.get("paths") or {}
    files = {name: root / name for name in FROM_ROOT}
    for name, (key, required) in FROZEN.items():
        src = root / paths[key] if key in paths else None
        if src is not None and src.is_file():
            files[name] = src
        elif required:
            raise ReleaseError(f"refusing to cut a release: {src or f'paths.{key}'} (frozen as {name}) "
                               "does not exist; run `dvc repro` first")
    return files


def _manifest(root: Path, release_id: str, params: dict, files: dict, remote) -> dict:
    images_path = params["paths"]["images"]
    lock = yaml.safe_load((root / "dvc.lock").read_text()) or {}
    # one DVC out per model (generate@<model>): record each folder's hash, so verify can fetch them
    outs = {m: lock_out(lock, f"{images_path}/{m}") or {} for m in params["model"]}
    suite = params.get("suite") or {}
    manifest = {"release": release_id, "cut_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d"),
                "git_commit": fp.git("-C", str(root), "rev-parse", "HEAD"),
                "suite": suite.get("name"), "plumbing": bool(suite.get("plumbing")),
                "images": {"path": images_path, "nfiles": sum(o.get("nfiles") or 0 for o in outs.values()),
                           "models": {m: {"md5": o.get("md5"), "nfiles": o.get("nfiles")} for m, o in outs.items()},
                           "remote": remote[0] if remote else None},
                "files": {name: sha256_file(p) for name, p in sorted(files.items())},
                "verify": f"python -m sentinel.release verify {RELEASES_DIR}/{release_id}"}
    if media.families(params):  # clips / results: one DVC out per model (<family>_generate@<model>)
        manifest["media"] = media.manifest_block(params, lock, remote)
    return manifest


def cut(root: Path, release_id: str, note: str | None = None, push: bool = True) -> Path:
    root = root.resolve()
    check_id(release_id)
    target = root / RELEASES_DIR / release_id
    if target.exists():
        raise ReleaseError(f"{target} already exists: a published release is never rewritten; "
                           "use a new id (e.g. add a tag: 2026-Q4-r2)")
    preflight(root)
    params = yaml.safe_load((root / "params.yaml").read_text())
    files = {**_sources(root, params), **media.sources(root, params)}
    metrics, records = load_json(files["metrics.json"]), read_jsonl(files["records.jsonl"])
    _check_environment(metrics)
    _check_images(records, root / params["paths"]["images"])
    media.check_outputs(root, params)
    remote = default_remote(root)
    if push and remote:
        # the images are one DVC out per model (generate@<model>): push each
        dvc(root, "push", "-q", *(f"{params['paths']['images']}/{m}" for m in params["model"]),
            *media.push_targets(params))
    fingerprint = fp.collect(root, params, fp.image_hashes(records), metrics.get("convention"),
                             media=media.fingerprint_hashes(root, params))
    manifest = _manifest(root, release_id, params, files, remote if push else None)
    with staged_dir(target) as tmp:
        for name, src in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, tmp / name)
        written = feats.freeze(root, params, records, tmp)  # FID recomputable from the release alone
        manifest["files"] = dict(sorted({**manifest["files"], **{n: sha256_file(tmp / n) for n in written}}.items()))
        write_json(tmp / "fingerprint.json", fingerprint)
        write_json(tmp / "manifest.json", manifest)
    add_changelog_entry(root, target, note)
    write_history(root)
    return target
