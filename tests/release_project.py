"""Helpers for the release tests: a clean project copy, the release CLI, and the three tamperings."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from dvc_project import run

STAGE_OUTPUTS = ("outputs/", "reports/", "releases/")


def copy_clean_project(root: Path, dest: Path, env: dict) -> Path:
    """Like dvc_project.copy_project, minus stage outputs and releases lying in the source workspace,
    so `dvc repro` in the copy makes every output itself."""
    env["PYTHONPATH"] = str(dest / "src")
    for rel in run(["git", "ls-files", "-co", "--exclude-standard"], root).stdout.split():
        if not rel.startswith(STAGE_OUTPUTS) and (root / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / rel, dest / rel)
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "snapshot"],
                ["dvc", "pull", "-q", "data.dvc"],
                [sys.executable, "-m", "sentinel.smoke_weights", "--out", "weights/"]):
        run(cmd, dest, env)
    return dest


def release_cli(project: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sentinel.release", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=1800)


def verification(project: Path, release_id: str) -> dict:
    return json.loads((project / ".cache/sentinel-verify" / release_id / "verification.json").read_text())


def tamper_image(path: Path) -> None:
    """Change one pixel; still a valid PNG of the same size."""
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        r, g, b = im.getpixel((0, 0))
        im.putpixel((0, 0), ((r + 128) % 256, g, b))
        im.save(path)


def tamper_weights(path: Path) -> None:
    """Scale the first tensor of a weights file: still loadable, different bytes and features."""
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    first = next(k for k, v in state.items() if v.is_floating_point())
    state[first] = state[first] * 1.5
    torch.save(state, path)


def tamper_library(release_dir: Path, package: str = "torchmetrics", version: str = "0.0.0+tampered") -> None:
    path = release_dir / "fingerprint.json"
    fp = json.loads(path.read_text())
    fp["libraries"][package] = version
    path.write_text(json.dumps(fp, indent=2, sort_keys=True) + "\n")


class restored:
    """Put a file's bytes back after the block, whatever it did to them."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> Path:
        self.data = self.path.read_bytes()
        return self.path

    def __exit__(self, *exc) -> None:
        self.path.chmod(0o644)
        self.path.write_bytes(self.data)


def assert_fails_naming(proc: subprocess.CompletedProcess, project: Path, release_id: str, field: str) -> dict:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"first differing fingerprint field: {field} " in proc.stderr, proc.stderr
    report = verification(project, release_id)
    assert report["passed"] is False and report["first_difference"]["field"] == field
    text = (project / ".cache/sentinel-verify" / release_id / "discrepancy.md").read_text()
    assert f"`{field}`" in text.split("### First differing fingerprint field", 1)[1].split("###", 1)[0]
    return report


def remote_object(project: Path, image: Path) -> Path:
    """The DVC remote's copy of an image file (the in-repo remote dvc-store/, DVC 3 layout)."""
    import hashlib

    md5 = hashlib.md5(image.read_bytes()).hexdigest()
    return project / "dvc-store/files/md5" / md5[:2] / md5[2:]


class cache_aside:
    """Move the project's DVC cache away for the block, so DVC must fetch from the remote."""

    def __init__(self, project: Path):
        self.cache, self.aside = project / ".dvc/cache", project / ".dvc/cache.aside"

    def __enter__(self) -> None:
        self.cache.rename(self.aside)

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.cache, ignore_errors=True)
        self.aside.rename(self.cache)
