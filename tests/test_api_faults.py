"""Vendor API adapters against a real HTTP server on 127.0.0.1 that injects faults."""
from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from sentinel.models import loader
from sentinel.api import load_api
from sentinel.api.http import retry_after_s
from sentinel.config import ApiConfig
from sentinel.models.loader import GenerationFailed
from sentinel.workloads.jobs import Job

from api_vendor import PIXELS, VendorServer

pytestmark = pytest.mark.slow  # real HTTP servers on 127.0.0.1
KEY = "sk-test-fault-injection-0123456789"
JOB = Job(id="j1", category="c", prompt="a red apple", negative_prompt="", seed=7, width=64, height=64,
          steps=4, guidance=5.0)


@pytest.fixture
def vendor():
    with VendorServer(KEY) as v:
        yield v


def _model(model_cfgs, monkeypatch, vendor, protocol="openai-images", **api_kw):
    monkeypatch.setenv("SENTINEL_TEST_KEY", KEY)
    api = ApiConfig(protocol=protocol, base_url=vendor.url, key_env="SENTINEL_TEST_KEY", vendor_model="m",
                    list_price_usd_per_image=0.04, price_source="test", timeout_s=2.0, max_retries=3,
                    backoff_s=0.01, max_backoff_s=5.0, poll_interval_s=0.01, poll_timeout_s=5.0)
    api = dataclasses.replace(api, **api_kw)
    cfg = dataclasses.replace(model_cfgs["tiny-sd"], name="vendor", source="api", pipeline="api", api=api,
                              resolution_px=None, steps=None, guidance=None)
    sleeps: list[float] = []
    return load_api(cfg, sleep=sleeps.append), sleeps


@pytest.mark.parametrize("protocol", ["openai-images", "submit-poll"])
@pytest.mark.parametrize("kind", ["ok", "url"])
def test_success_returns_the_vendor_pixels(model_cfgs, monkeypatch, vendor, protocol, kind):
    model, _ = _model(model_cfgs, monkeypatch, vendor, protocol)
    vendor.default = (kind,)
    assert np.array_equal(np.asarray(model.generate(JOB)), PIXELS)
    assert all(r["auth"] == f"Bearer {KEY}" for r in vendor.requests)


def test_429_honours_retry_after_then_succeeds(model_cfgs, monkeypatch, vendor):
    model, sleeps = _model(model_cfgs, monkeypatch, vendor)
    vendor.script = [("status", 429, {"Retry-After": "3"}), ("status", 503, {}), ("ok",)]
    assert np.array_equal(np.asarray(model.generate(JOB)), PIXELS)
    assert sleeps == [3.0, 0.02]  # Retry-After wins; then exponential backoff 0.01 * 2**1
    assert len(vendor.requests) == 3


def test_retry_after_really_waits(model_cfgs, monkeypatch, vendor):
    model, _ = _model(model_cfgs, monkeypatch, vendor)
    model.client.sleep = time.sleep
    vendor.script = [("status", 429, {"Retry-After": "1"}), ("ok",)]
    model.generate(JOB)
    gap = vendor.requests[1]["t"] - vendor.requests[0]["t"]
    assert gap >= 1.0


def test_persistent_500_fails_with_every_attempt_recorded(model_cfgs, monkeypatch, vendor):
    model, sleeps = _model(model_cfgs, monkeypatch, vendor)
    vendor.default = ("status", 500, {})
    with pytest.raises(GenerationFailed) as e:
        model.generate(JOB)
    assert "gave up after 4 attempts" in e.value.cause and e.value.cause.count("HTTP 500") == 4
    assert sleeps == [0.01, 0.02, 0.04] and len(vendor.requests) == 4
    assert KEY not in e.value.cause and "***" in e.value.cause  # the echoed Authorization is redacted


def test_client_error_is_not_retried(model_cfgs, monkeypatch, vendor):
    model, sleeps = _model(model_cfgs, monkeypatch, vendor)
    vendor.script = [("status", 400, {})]
    with pytest.raises(GenerationFailed, match="HTTP 400"):
        model.generate(JOB)
    assert len(vendor.requests) == 1 and sleeps == []


def test_slow_response_times_out_then_retries(model_cfgs, monkeypatch, vendor):
    model, _ = _model(model_cfgs, monkeypatch, vendor, timeout_s=0.3, max_retries=1)
    vendor.script = [("slow", 1.0), ("ok",)]
    assert np.array_equal(np.asarray(model.generate(JOB)), PIXELS)
    vendor.script = [("slow", 1.0), ("slow", 1.0)]
    with pytest.raises(GenerationFailed, match=r"gave up after 2 attempts.*timeout after 0.3 s"):
        model.generate(JOB)


@pytest.mark.parametrize("protocol", ["openai-images", "submit-poll"])
@pytest.mark.parametrize("kind,cause", [("malformed", "malformed JSON"), ("truncated", "undecodable image"),
                                        ("black", "all black")])
def test_bad_payloads_fail_with_their_cause(model_cfgs, monkeypatch, vendor, protocol, kind, cause):
    model, _ = _model(model_cfgs, monkeypatch, vendor, protocol)
    vendor.default = (kind,)
    if protocol == "submit-poll":
        vendor.script = [("ok",)]  # the submit succeeds; the poll answer is bad
    with pytest.raises(GenerationFailed, match=cause):
        model.generate(JOB)


def test_submit_poll_waits_while_pending_and_reports_vendor_failure(model_cfgs, monkeypatch, vendor):
    model, sleeps = _model(model_cfgs, monkeypatch, vendor, "submit-poll")
    vendor.script = [("ok",), ("pending",), ("pending",), ("ok",)]
    assert np.array_equal(np.asarray(model.generate(JOB)), PIXELS)
    assert sleeps == [0.01, 0.01]
    vendor.script = [("ok",), ("vendor-failed",)]
    with pytest.raises(GenerationFailed, match="vendor job failed.*content policy"):
        model.generate(JOB)


def test_submit_poll_gives_up_at_poll_timeout(model_cfgs, monkeypatch, vendor):
    model, _ = _model(model_cfgs, monkeypatch, vendor, "submit-poll", poll_timeout_s=0.0)
    vendor.script = [("ok",)]
    vendor.default = ("pending",)
    with pytest.raises(GenerationFailed, match="poll timeout: job job-1 still running"):
        model.generate(JOB)


def test_missing_key_and_bad_protocol_fail_clearly(model_cfgs, monkeypatch, vendor):
    model, _ = _model(model_cfgs, monkeypatch, vendor)
    monkeypatch.delenv("SENTINEL_TEST_KEY")
    with pytest.raises(ValueError, match="environment variable SENTINEL_TEST_KEY is not set"):
        loader.load(model.cfg)
    bad = dataclasses.replace(model.cfg, api=dataclasses.replace(model.cfg.api, protocol="grpc"))
    with pytest.raises(ValueError, match=r"model\.vendor\.api\.protocol: 'grpc' is not one of"):
        loader.load(bad)


def test_retry_after_parses_seconds_and_http_dates():
    assert retry_after_s("7", 0.0) == 7.0
    assert retry_after_s("Thu, 01 Jan 1970 00:01:40 GMT", 90.0) == pytest.approx(10.0)
    assert retry_after_s("soon", 0.0) is None and retry_after_s(None, 0.0) is None


def test_retry_after_zero_is_honoured_and_long_waits_are_capped(model_cfgs, monkeypatch, vendor):
    model, sleeps = _model(model_cfgs, monkeypatch, vendor, max_backoff_s=2.0)
    vendor.script = [("status", 503, {"Retry-After": "0"}), ("status", 429, {"Retry-After": "3600"}), ("ok",)]
    model.generate(JOB)
    assert sleeps == [0.0, 2.0]


def test_dropped_connection_mid_body_is_retried(model_cfgs, monkeypatch, vendor):
    model, sleeps = _model(model_cfgs, monkeypatch, vendor)
    vendor.script = [("drop",), ("ok",)]
    assert np.array_equal(np.asarray(model.generate(JOB)), PIXELS)
    assert len(vendor.requests) == 2 and sleeps == [0.01]
    vendor.default = ("drop",)
    with pytest.raises(GenerationFailed, match=r"gave up after 4 attempts.*network error: IncompleteRead"):
        model.generate(JOB)
