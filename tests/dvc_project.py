"""Helpers for end-to-end tests: a copy of this project in a temporary git repo, and an MLflow server."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent


def run(cmd, cwd, env=None, timeout=900) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def project_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "HF_HUB_OFFLINE": "1", "DVC_NO_ANALYTICS": "1",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    env.pop("MLFLOW_TRACKING_URI", None)
    return {**env, **extra}


def copy_project(root: Path, dest: Path, env: dict) -> Path:
    """Copy the tracked and untracked-but-not-ignored files into a new git repo, pull data, make weights.

    `env` gets PYTHONPATH=<copy>/src, so the stages run the copy's own code (the files DVC hashes),
    not whatever the editable install points at."""
    env["PYTHONPATH"] = str(dest / "src")
    files = run(["git", "ls-files", "-co", "--exclude-standard"], root).stdout.split()
    for rel in files:
        if (root / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / rel, dest / rel)
    run(["git", "init", "-q"], dest, env)
    run(["git", "add", "-A"], dest, env)
    run(["git", "commit", "-qm", "snapshot"], dest, env)
    run(["dvc", "pull", "-q", "data.dvc"], dest, env)
    run([sys.executable, "-m", "sentinel.smoke_weights", "--out", "weights/"], dest, env)
    return dest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_mlflow(workdir: Path, timeout_s: float = 120.0) -> tuple[subprocess.Popen, str]:
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
                             "--backend-store-uri", f"sqlite:///{workdir}/mlflow.db",
                             "--artifacts-destination", str(workdir / "artifacts"), "--workers", "1"],
                            cwd=workdir, stdout=subprocess.DEVNULL, stderr=open(workdir / "mlflow.log", "w"))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow server exited {proc.returncode}: {(workdir / 'mlflow.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as r:
                if r.status == 200:
                    return proc, uri
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"mlflow server did not answer on {uri} within {timeout_s} s")
