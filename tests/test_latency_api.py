"""A vendor-API model measured by the same latency client, through the same loopback server.

The vendor is tests/api_vendor.py's fake on 127.0.0.1 (real HTTP, scripted faults); the model is
conf/model/proprietary-a.yaml pointed at it. The server process is a gateway for API models: it
forwards concurrently, so vendor-side delay is what the open-loop client sees.
"""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from sentinel import config
from sentinel.compose import compose
from sentinel.latency import serving
from sentinel.workloads.jobs import load_jobs

from api_vendor import VendorServer

ROOT = Path(__file__).resolve().parents[1]
KEY_ENV, KEY = "SENTINEL_LATENCY_TEST_KEY", "test-key-latency"
pytestmark = pytest.mark.timeout(120)


@pytest.mark.slow  # one server subprocess importing torch: ~10 s on 2 shared cores
def test_api_model_latency_and_rejections_through_the_same_client(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    params = compose(["model=[proprietary-a]"])
    params["model"]["proprietary-a"]["api"].update(key_env=KEY_ENV, timeout_s=5.0, max_retries=0, backoff_s=0.01)
    path = tmp_path / "params.yaml"
    with VendorServer(KEY) as vendor:
        params["model"]["proprietary-a"]["api"]["base_url"] = vendor.url
        path.write_text(yaml.safe_dump(params, sort_keys=False))
        cfg = replace(config.load(path, sections=("latency",))["latency"], requests=6, load_requests=4,
                      load_fractions=(1.0,), search_steps=0, slo_s=5.0)
        vendor.default = ("slow", 0.05)
        vendor.script = [("slow", 0.05)] + [("slow", 0.05), ("status", 429, {"Retry-After": "0"})] * 3
        jobs = load_jobs(ROOT / "workloads/smoke.csv")[:2]
        result = serving.measure_model(str(path), "proprietary-a", jobs, cfg, expected_sha256=None)
    assert result["weight_load_s"] >= 0 and result["first_inference_s"] >= 0.05  # the vendor's 50 ms
    warm = result["per_request_s"]
    assert [x is None for x in warm] == [False, True] * 3  # every 429 is a miss, in place
    assert all("429" in m["reason"] for m in result["misses"]) and result["failure_rate"] == 0.5
    assert all(x >= 0.05 for x in warm if x is not None)
    assert result["goodput_fraction"] == 0.5 and result["sha256_checked"] is False
    assert len(vendor.requests) >= 1 + 6 + 4 and all(r["auth"] == f"Bearer {KEY}" for r in vendor.requests)
    assert not math.isnan(result["latency_p50_s"])
