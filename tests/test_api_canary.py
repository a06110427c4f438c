"""A canary API key reaches the vendor and nothing else: not params.yaml, records, timings, MLflow or logs.

The generate stage runs in a subprocess against the fake vendor on 127.0.0.1 (which echoes the
Authorization header back in its error bodies, as careless vendors do), then the run is logged to a
real MLflow store. Every file written and all captured output are then searched for the key.
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sentinel.compose import compose

from api_vendor import VendorServer

CANARY = "sk-CANARY-7f3a9c2e5b1d4860aa17-do-not-log"
LOG_RUN = """
import json, sys, yaml
from sentinel import generate, tracking
from sentinel.records import failure_summary
from sentinel.provenance import read_jsonl
params = yaml.safe_load(open("params.yaml"))
summary = failure_summary(read_jsonl("out/records.jsonl"))
metrics = {f"{m}.failure_rate": s["failure_rate"] for m, s in summary.items()}
print(tracking.log_run("canary", params, metrics, [__import__("pathlib").Path("out/records.jsonl"),
      __import__("pathlib").Path("out/timings.jsonl")], {"suite": "canary"}))
"""


def _params(root: Path, vendor_url: str) -> dict:
    params = compose(["model=[proprietary-a,proprietary-b]"])
    for name in ("proprietary-a", "proprietary-b"):
        params["model"][name]["api"].update(base_url=vendor_url, list_price_usd_per_image=0.04, backoff_s=0.01,
                                            timeout_s=5.0, poll_interval_s=0.01)
        params["model"][name]["api"]["key_env"] = "SENTINEL_CANARY_KEY"
    params["workload"]["jobs"] = str(root / "workloads/smoke.csv")
    params["paths"].update(images="out/images", records="out/records.jsonl", timings="out/timings.jsonl")
    return params


def _files_containing(folder: Path, needle: bytes) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.mark.slow  # two subprocesses importing torch and MLflow: ~30 s on 2 shared cores
def test_canary_key_is_used_but_never_written(root, tmp_path):
    env = {**os.environ, "SENTINEL_CANARY_KEY": CANARY, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db",
           "PYTHONPATH": str(root / "src")}
    with VendorServer(CANARY) as vendor:
        vendor.script = [("ok",), ("status", 500, {}), ("ok",), ("status", 401, {}), ("black",), ("truncated",),
                         ("malformed",), ("echo", 400), ("url-to", "file:///etc/passwd"),
                         ("redirect", 307, "http://127.0.0.1:9/v1/images/generations")]  # echo: raw, base64, hex...
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(_params(root, vendor.url)))
        gen = subprocess.run([sys.executable, "-c", "from sentinel.cli import stage; stage('generate')"],
                             cwd=tmp_path, env=env, capture_output=True, timeout=300)
        assert gen.returncode == 0, gen.stderr.decode()
        assert any(r["auth"] == f"Bearer {CANARY}" for r in vendor.requests), "the key must reach the vendor"
    log = subprocess.run([sys.executable, "-c", LOG_RUN], cwd=tmp_path, env=env, capture_output=True, timeout=300)
    assert log.returncode == 0, log.stderr.decode()
    records = [json.loads(line) for line in (tmp_path / "out/records.jsonl").read_text().splitlines()]
    failed = [r for r in records if r["status"] == "failed"]
    assert len(records) == 2 * 12 and len(failed) >= 7  # 401, black, truncated, malformed, echo, file:, 307; none dropped
    assert any("***" in r["failure"] for r in failed), "the echoed Authorization header must be redacted"
    causes = {r["failure"].split(":")[0] for r in failed}
    assert {"url_refused", "redirect_refused"} <= causes, causes  # each refusal is recorded with its cause
    assert (tmp_path / "mlflow.db").exists()
    b64 = lambda text: base64.b64encode(text.encode())  # noqa: E731
    for needle in (CANARY.encode(), b64(f"Bearer {CANARY}"), b64(CANARY), b64(f"user:{CANARY}"), CANARY.encode().hex().encode()):
        assert _files_containing(tmp_path, needle) == [], needle
        for stream in (gen.stdout, gen.stderr, log.stdout, log.stderr):
            assert needle not in stream
