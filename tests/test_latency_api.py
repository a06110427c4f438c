"""A vendor-API model measured by the same latency client, through the same loopback server.

The vendor is tests/api_vendor.py's fake on 127.0.0.1 (real HTTP, scripted faults); the model is
conf/model/proprietary-a.yaml pointed at it. Its Serve replica is a gateway for API models: it
forwards concurrently, so vendor-side delay is what the open-loop client sees.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from sentinel import config
from sentinel.compose import compose
from sentinel.latency import serving
from sentinel.workloads.jobs import load_workload

from api_vendor import VendorServer

ROOT = Path(__file__).resolve().parents[1]
KEY_ENV, KEY = "SENTINEL_LATENCY_TEST_KEY", "test-key-latency"
pytestmark = pytest.mark.timeout(120)


@pytest.mark.slow  # Ray + Serve + one replica importing torch: ~30 s on 2 shared cores
def test_api_model_latency_and_rejections_through_the_same_client(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)  # before Ray starts: its processes inherit the environment
    params = compose(["model=[proprietary-a]"])
    params["model"]["proprietary-a"]["api"].update(key_env=KEY_ENV, timeout_s=5.0, max_retries=0, backoff_s=0.01)
    path = tmp_path / "params.yaml"
    with VendorServer(KEY) as vendor:
        params["model"]["proprietary-a"]["api"]["base_url"] = vendor.url
        path.write_text(yaml.safe_dump(params, sort_keys=False))
        cfg = replace(config.load(path, sections=("latency",))["latency"], requests=3, probe_min_requests=6,
                      probe_min_duration_s=0.3, probe_warmup_s=0.0, search_steps=0, slo_s=5.0)
        vendor.default = ("slow", 0.05)
        vendor.script = [("slow", 0.05)] * 3 + [("slow", 0.05), ("status", 429, {"Retry-After": "0"})] * 6
        wl = load_workload(ROOT / "workloads/smoke.csv")
        result, rows = serving.measure_model(str(path), "proprietary-a", wl.jobs, cfg, expected_sha256=None,
                                             arrival_s=wl.arrival_s)
    assert len(rows) == 12 and [r["job"] for r in rows] == [j.id for j in wl.jobs]
    assert sum(not r["ok"] for r in rows) == 6 and result["failures_by_cause"] == {"HTTP 429": 6}
    assert result["failure_rate"] == 0.5 and result["n_success"] == 6
    assert result["latency_p90_s"] is None  # p90 over all requests is a miss (+inf -> null) ...
    assert result["success_latency_p90_s"] >= 0.05  # ... success-only figures stay beside it
    assert all(r["latency_s"] >= 0.05 for r in rows if r["ok"])  # the vendor's 50 ms, end to end
    assert result["goodput_fraction"] == 0.5 and result["sha256_checked"] is False
    assert len(vendor.requests) >= 3 + 12 + 6 and all(r["auth"] == f"Bearer {KEY}" for r in vendor.requests)
