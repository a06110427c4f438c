"""Start the real rating app (`python -m sentinel.human.app serve`) on loopback for tests."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from sentinel.images import encode_png
from sentinel.provenance import sha256_bytes, write_jsonl

MODELS = ("flux-secret-alpha", "proprietary-zeta")  # names that must never reach a rater
SECRET = "test-secret-" + "x" * 40


@dataclass
class Server:
    base: str
    links: list[str]
    db_url: str
    records: list[dict]
    proc: subprocess.Popen
    log_path: Path  # the server's stderr: werkzeug's access log and the app's own log lines
    display_px: int


def make_items(root: Path, jobs: int = 3) -> tuple[Path, Path, list[dict]]:
    rng = np.random.default_rng(0)
    rows = []
    for model in MODELS:
        (root / "images" / model).mkdir(parents=True, exist_ok=True)
        for j in range(jobs):
            png = encode_png(Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)))
            (root / "images" / model / f"job-{j}.png").write_bytes(png)
            rows.append({"model": model, "job_id": f"job-{j}", "category": ("corporate_headshot", "creative_portrait")[j % 2],
                         "prompt": f"portrait number {j}", "image": f"{model}/job-{j}.png", "sha256": sha256_bytes(png)})
    write_jsonl(root / "records.jsonl", rows)
    return root / "records.jsonl", root / "images", rows


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(root: Path, raters: int = 2, rate_limit_per_minute: int = 100, jobs: int = 3, db_url: str | None = None,
            display_px: int = 96):
    records_path, images, records = make_items(root, jobs)
    port, db_url = _free_port(), db_url or f"sqlite:///{root / 'ratings.db'}"
    env = {**os.environ, "SENTINEL_RATING_SECRET": SECRET, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "sentinel.human.app", "serve", "--db", db_url, "--records", str(records_path),
           "--images", str(images), "--raters", str(raters), "--port", str(port), "--gold", "1",
           "--attention", "1", "--rate-limit-per-minute", str(rate_limit_per_minute), "--rubric", "human-v2",
           "--display-px", str(display_px)]
    log_path = root / "server.log"
    log = open(log_path, "w")  # a file, not a pipe: a full pipe would stall the server mid-test
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=env, cwd=root)
    try:
        links = [proc.stdout.readline().strip() for _ in range(raters)]
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"rating app did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.1)
        yield Server(f"http://127.0.0.1:{port}", links, db_url, records, proc, log_path, display_px)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
