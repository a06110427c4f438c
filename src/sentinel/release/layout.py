"""What a release directory holds, and how to read one back.

releases/<YYYY-Qn>[-<tag>]/
    manifest.json      release id, commit, suite, the images' DVC hash and remote, the frozen files
    fingerprint.json   every input and setting the numbers depend on (see fingerprint.py)
    params.yaml        the params the numbers came from
    dvc.lock           the lock file they came from
    records.jsonl      one row per image: model, job, prompt, seed, sha256
    timings.jsonl      per-image timings (cost is recomputed from them)
    metrics.json       quality numbers with their convention
    ratings.jsonl      human ratings (or the labelled simulation)
    cost.json  latency.json  leaderboard.json  report.md  report.html
    features/stats.npz     per model x category and per reference set: Inception mean, covariance root, n
    features/features.npz  smoke profile: the features themselves (release/features.py)
    video/  tryon/     only when the params name media models: each family's leaderboard, metrics,
                       report, per-model scores, records, timings and latency (release/media.py)
"""
from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

from sentinel.errors import ReleaseError  # noqa: F401 (re-exported: importable here as before)
from sentinel.provenance import read_jsonl

RELEASE_ID = re.compile(r"^(\d{4})-Q([1-4])(?:-([a-z0-9][a-z0-9-]*))?$")
RELEASES_DIR = "releases"

# release file -> the params.yaml `paths` key of the output it freezes; False: optional output.
FROZEN: dict[str, tuple[str, bool]] = {
    "leaderboard.json": ("leaderboard", True),
    "report.md": ("report", True),
    "report.html": ("report_html", False),
    "metrics.json": ("score", True),
    "records.jsonl": ("records", True),
    "timings.jsonl": ("timings", True),
    "cost.json": ("cost", True),
    "latency.json": ("latency", True),
    "ratings.jsonl": ("ratings", False),
}
FROM_ROOT = ("params.yaml", "dvc.lock")


def check_id(release_id: str) -> str:
    m = RELEASE_ID.match(release_id)
    if not m:
        raise ReleaseError(f"release id {release_id!r} is not YYYY-Qn or YYYY-Qn-<tag> "
                           "(e.g. 2026-Q4, 2026-Q4-smoke)")
    return release_id


def sort_key(release_id: str) -> tuple:
    m = RELEASE_ID.match(release_id)
    return (int(m.group(1)), int(m.group(2)), m.group(3) or "") if m else (0, 0, release_id)


def release_dirs(root: Path) -> list[Path]:
    base = root / RELEASES_DIR
    dirs = [p for p in base.iterdir() if p.is_dir() and (p / "manifest.json").is_file()] if base.is_dir() else []
    return sorted(dirs, key=lambda p: sort_key(p.name))


def load_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ReleaseError(f"{path}: missing; is this a release directory (cut by "
                           "`python -m sentinel.release cut`)?") from None
    except json.JSONDecodeError as e:
        raise ReleaseError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None


def load_release(release_dir: Path) -> dict:
    """Everything verify needs from a release directory, read once."""
    if not release_dir.is_dir():
        raise ReleaseError(f"{release_dir}: no such release directory")
    rel = {"dir": release_dir, "manifest": load_json(release_dir / "manifest.json"),
           "fingerprint": load_json(release_dir / "fingerprint.json"),
           "params": yaml.safe_load((release_dir / "params.yaml").read_text()),
           "records": read_jsonl(release_dir / "records.jsonl")}
    for name in ("metrics.json", "cost.json", "latency.json", "leaderboard.json"):
        rel[name] = load_json(release_dir / name)
    media = importlib.import_module("sentinel.release.media")  # by name: media imports this module

    rel["media"] = media.load(release_dir, rel["params"] or {})
    return rel


def dvc(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run DVC (the one installed beside this python) in `root`."""
    proc = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise ReleaseError(f"`dvc {' '.join(args)}` in {root} exited {proc.returncode}: "
                           f"{(proc.stderr or proc.stdout).strip()[-1500:]}")
    return proc


def lock_out(lock: dict, path: str) -> dict | None:
    """The dvc.lock entry of output `path` (its md5, size, nfiles), or None."""
    for stage in (lock.get("stages") or {}).values():
        for out in stage.get("outs", []):
            if out.get("path") == path:
                return out
    return None


def default_remote(root: Path) -> tuple[str, str] | None:
    """(name, url) of the project's default DVC remote, a relative local url resolved; None if unset."""
    name = dvc(root, "remote", "default", check=False).stdout.strip()
    if not name:
        return None
    for line in dvc(root, "remote", "list").stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == name:
            url = parts[1]
            if "://" not in url and not Path(url).is_absolute():
                url = str((root / ".dvc" / url).resolve())
            return name, url
    return None
