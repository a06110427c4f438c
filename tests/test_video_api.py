"""Closed video models over the `video-submit-poll` protocol, against the real loopback fake vendor.

Every test talks real HTTP to sentinel.video.api.fake_vendor on 127.0.0.1 with a canary key; the
faults (429 + Retry-After, 5xx, a stuck job, short / cut / garbled / wrong-fps / wrong-size video,
malformed poll responses) must each end as GenerationFailed with its cause, and the key must be in
no cause and no repr. The good clip is checked against the content rule recomputed here from the
fake vendor's documented formula, not against the adapter's own output.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import math
import os
import secrets
import time
from dataclasses import dataclass

import numpy as np
import pytest
import yaml

from sentinel.errors import ConfigError
from sentinel.models.outputs import GenerationFailed
from sentinel.video.api import load_video_api, video_deadline_s
from sentinel.video.api.config import FAKE_BASE_URL, parse_video_api
from sentinel.video.api.fake_vendor import DEV_KEY, FakeVideoVendor, FaultPlan, serving_fake_vendor

ENV = "SENTINEL_TEST_VIDEO_KEY"
WHERE = "video.models.vendor.api"


@dataclass(frozen=True)
class Job:
    """The fields of sentinel.video.jobs.VideoJob the adapter reads (n_frames = floor(seconds x fps + 0.5))."""
    id: str = "v1"
    prompt: str = "a red apple on a table"
    negative_prompt: str = ""
    seed: int = 7
    width: int = 48
    height: int = 32
    fps: float = 8.0
    seconds: float = 1.5

    @property
    def n_frames(self) -> int:
        return math.floor(self.seconds * self.fps + 0.5)


@dataclass(frozen=True)
class ModelCfg:
    name: str
    api: object


def expected_frames(seed: int, prompt: str, n: int, w: int, h: int) -> np.ndarray:
    """The fake vendor's documented rule, written out pixel by pixel (independent of its vectorised code)."""
    d = hashlib.sha256(f"{seed}\n{prompt}".encode()).digest()
    a, b, c, v = d[0], d[1], d[2], 1 + d[3] % 7
    out = np.zeros((n, h, w, 3), np.uint8)
    for t in range(n):
        for y in range(h):
            for x in range(w):
                out[t, y, x] = ((a + 4 * x + v * t) % 256, (b + 4 * y + 2 * t) % 256, (c + 2 * x + 2 * y) % 256)
    return out


def api_block(**kw) -> dict:
    base = {"protocol": "video-submit-poll", "base_url": "https://vendor.invalid", "key_env": ENV,
            "vendor_model": "vendor-video", "list_price_usd_per_second": 0.1, "price_source": "test",
            "timeout_s": 2.0, "max_retries": 2, "backoff_s": 0.01, "max_backoff_s": 3.0,
            "poll_interval_s": 0.02, "poll_timeout_s": 5.0, "deadline_s": 20.0}
    return {**base, **kw}


@pytest.fixture
def canary(monkeypatch) -> str:
    key = "sk-canary-" + secrets.token_hex(16)
    monkeypatch.setenv(ENV, key)
    return key


@pytest.fixture
def vendor(canary):
    with FakeVideoVendor(canary, queue_s=0.02, generation_s=0.04) as v:
        yield v


def model_for(vendor, **kw):
    api = parse_video_api(api_block(base_url=vendor.url, **kw), WHERE)
    return load_video_api(ModelCfg("vendor", api))


def spellings(key: str) -> list[str]:
    b64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
    return [key, b64(key), b64(f"Bearer {key}"), b64(f"user:{key}"), key.encode().hex(), key[4:-4]]


def assert_no_key(key: str, *texts: str) -> None:
    for text in texts:
        for s in spellings(key):
            assert s not in text, f"key spelling {s[:6]}... leaked into {text[:120]!r}"


def fails(model, job=Job()) -> str:
    with pytest.raises(GenerationFailed) as e:
        model.generate(job)
    assert_no_key(os.environ[ENV], e.value.cause, str(e.value), repr(e.value), repr(model))
    return e.value.cause


# --- config -------------------------------------------------------------------------------------

def test_config_errors_name_every_bad_key():
    with pytest.raises(ConfigError) as e:
        parse_video_api({**api_block(), "colour": "red", "timeout_s": "slow", "protocol": "images"}, WHERE)
    text = str(e.value)
    assert f"{WHERE}.colour: unknown key" in text and f"{WHERE}.timeout_s: expected float" in text
    missing = {k: v for k, v in api_block().items() if k != "key_env"}
    with pytest.raises(ConfigError, match=rf"{WHERE}\.key_env: missing key"):
        parse_video_api(missing, WHERE)
    with pytest.raises(ConfigError) as e:
        parse_video_api(api_block(protocol="images", base_url="ftp://x", poll_timeout_s=0.0, billing_unit="frame"), WHERE)
    assert [p.split(":")[0] for p in e.value.problems] == [f"{WHERE}.{k}" for k in
                                                           ("protocol", "billing_unit", "base_url", "poll_timeout_s")]


def test_committed_model_configs_parse(root):
    for name in ("video-api-a", "video-api-b"):
        doc = yaml.safe_load((root / f"conf/video_model/{name}.yaml").read_text())
        api = parse_video_api(doc[name]["api"], f"video.models.{name}.api")
        assert api.billing_unit == "video-second" and api.base_url.startswith("https://")
        assert api.list_price_usd_per_second is None and "not yet known" in api.price_source
        assert video_deadline_s(api) == api.deadline_s and (root / f"docs/models/{name}.md").is_file()
    assert parse_video_api(api_block(base_url=FAKE_BASE_URL), WHERE).base_url == FAKE_BASE_URL


# --- the good path ------------------------------------------------------------------------------

@pytest.mark.parametrize("delivery", ["b64", "url"])
def test_good_job_decodes_to_the_vendors_exact_frames(vendor, canary, delivery):
    if delivery == "url":
        vendor.plan.video.append(("url",))
    model = model_for(vendor)
    job = Job()
    clip = model.generate(job)
    assert clip.dtype == np.uint8 and clip.shape == (12, 32, 48, 3) and clip.flags.c_contiguous
    assert np.array_equal(clip, expected_frames(job.seed, job.prompt, 12, 48, 32))
    assert all(r["key_ok"] for r in vendor.requests)  # the key reached the vendor on every call
    paths = [r["path"] for r in vendor.requests]
    assert paths[0] == "/v1/videos" and paths[-1].endswith("/content") == (delivery == "url")
    assert model.last_timings["queue_s"] == 0.02 and model.last_timings["generation_s"] == 0.04
    assert model.last_timings["encoding_s"] > 0
    other = model.generate(dataclasses.replace(job, seed=8))
    assert not np.array_equal(other, clip)  # the seed changes the clip
    assert_no_key(canary, repr(model), repr(model.client), repr(model.cfg), str(model.last_timings))


# --- faults, each with its cause ----------------------------------------------------------------

def test_429_retry_after_is_honoured_then_succeeds(vendor):
    vendor.plan.submit.append(("status", 429, {"Retry-After": "1"}))
    vendor.plan.poll.append(("status", 503, {}))
    model = model_for(vendor)
    t0 = time.monotonic()
    clip = model.generate(Job())
    elapsed = time.monotonic() - t0
    assert clip.shape[0] == 12
    submits = [r["t"] for r in vendor.requests if r["method"] == "POST"]
    assert len(submits) == 2 and submits[1] - submits[0] >= 1.0  # waited the asked second, not backoff_s
    assert 1.0 <= elapsed < 4.0


def test_persistent_5xx_fails_with_every_attempt_and_the_echoed_key_redacted(vendor, canary):
    vendor.plan.submit += [("status", 500, {})] * 3
    cause = fails(model_for(vendor))
    assert "gave up after 3 attempts on POST" in cause and cause.count("HTTP 500") == 3
    assert "***" in cause  # the vendor echoed the Authorization header; it was masked


def test_5xx_on_polls_is_retried_then_fails(vendor):
    vendor.plan.poll += [("status", 502, {})] * 3
    assert cause_starts(fails(model_for(vendor)), "gave up after 3 attempts on GET")


def cause_starts(cause: str, prefix: str) -> bool:
    assert cause.startswith(prefix), cause
    return True


def test_stuck_job_ends_by_poll_timeout(vendor):
    vendor.plan.stuck = True
    t0 = time.monotonic()
    cause = fails(model_for(vendor, poll_timeout_s=0.6))
    elapsed = time.monotonic() - t0
    assert cause.startswith("poll timeout: job still running after 0.6 s"), cause
    assert 0.6 <= elapsed < 0.6 + 2.0  # slack for 2 shared cores, far below the 5 s a missed limit would cost
    assert sum(r["method"] == "GET" for r in vendor.requests) >= 3  # it kept polling until then


def test_stuck_job_ends_by_the_job_deadline(vendor):
    vendor.plan.stuck = True
    t0 = time.monotonic()
    cause = fails(model_for(vendor, poll_timeout_s=60.0, deadline_s=0.8))
    elapsed = time.monotonic() - t0
    assert cause.startswith("deadline_exceeded: job deadline reached"), cause
    assert 0.7 <= elapsed < 0.8 + 2.0  # poll_timeout_s (60 s) never came into it


@pytest.mark.parametrize("fault, prefix", [
    (("short", 5), "truncated video from http://127.0.0.1:{port}/v1/videos/vid-000001: got 5 of 12 frames"),
    (("truncated",), "truncated video from "),
    (("garbled",), "undecodable video from "),
    (("wrong-fps",), "wrong video fps from "),
    (("wrong-size",), "wrong video size from "),
])
def test_bad_video_is_a_failure_with_its_cause(vendor, fault, prefix):
    vendor.plan.video.append(fault)
    cause = fails(model_for(vendor))
    assert cause.startswith(prefix.format(port=vendor.url.rsplit(":", 1)[1])), cause
    if fault == ("truncated",):
        got, of = cause.split("got ")[1].split(" frames")[0].split(" of ")
        assert of == "12" and 0 <= int(got) < 12


def test_video_over_the_byte_cap_is_refused_unread(vendor):
    cause = fails(model_for(vendor, max_response_bytes=2000))
    assert cause.startswith("response_too_large: http://127.0.0.1:"), cause


@pytest.mark.parametrize("phase, fault, prefix", [
    ("submit", ("missing-id",), "malformed response from {url}/v1/videos: no job id"),
    ("submit", ("bad-json",), "malformed JSON from {url}/v1/videos: JSONDecodeError"),
    ("poll", ("bad-json",), "malformed JSON from {url}/v1/videos/vid-000001: JSONDecodeError"),
    ("poll", ("unknown-status",), "malformed response from {url}/v1/videos/vid-000001: unknown status 'teleporting'"),
    ("poll", ("vendor-failed",), "vendor job failed at {url}/v1/videos/vid-000001: content policy"),
])
def test_malformed_vendor_answers_fail_with_their_cause(vendor, phase, fault, prefix):
    getattr(vendor.plan, phase).append(fault)
    cause = fails(model_for(vendor))
    assert cause.startswith(prefix.format(url=vendor.url)), cause
    if fault == ("vendor-failed",):
        assert "Bearer ***" in cause  # the vendor's echo of the header, masked


def test_wrong_key_is_a_failure_not_a_retry(vendor, monkeypatch):
    model = model_for(vendor)
    vendor.key = "sk-some-other-key-entirely-0000"
    cause = fails(model)
    assert cause.startswith(f"HTTP 401 from {vendor.url}/v1/videos"), cause
    assert len(vendor.requests) == 1


def test_canary_key_is_in_no_cause_and_no_repr(vendor, canary):
    """Every fault once more, collected: the key (in every spelling) appears in none of them."""
    vendor.plan.submit += [("status", 400, {}), ("status", 500, {}), ("status", 500, {}), ("status", 500, {})]
    vendor.plan.poll += [("vendor-failed",), ("bad-json",)]
    model = model_for(vendor)
    causes = []
    for _ in range(4):
        with pytest.raises(GenerationFailed) as e:
            model.generate(Job())
        causes.append(e.value.cause)
    assert len(causes) == 4 and all(c for c in causes)
    assert_no_key(canary, *causes, repr(model), str(model.__dict__), repr(vendor.requests))
    assert sum("***" in c for c in causes) >= 3  # the echoes were there, and masked


# --- the fake vendor as plumbing for DVC stages ---------------------------------------------------

def test_serving_fake_vendor_uses_the_dev_key_only_for_its_block(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    cfg = ModelCfg("fake", parse_video_api(api_block(base_url=FAKE_BASE_URL), WHERE))
    with pytest.raises(ValueError, match=r"video\.models\.fake\.api\.base_url: fake://loopback is served only inside"):
        load_video_api(cfg)
    with serving_fake_vendor(cfg) as served:
        assert served.api.base_url.startswith("http://127.0.0.1:") and os.environ[ENV] == DEV_KEY
        clip = load_video_api(served).generate(Job(seed=3, prompt="p"))
        assert np.array_equal(clip, expected_frames(3, "p", 12, 48, 32))
    assert ENV not in os.environ and cfg.api.base_url == FAKE_BASE_URL
    monkeypatch.setenv(ENV, DEV_KEY)
    with pytest.raises(GenerationFailed, match="network error"):  # stopped: nothing listens there any more
        load_video_api(served.__class__("x", dataclasses.replace(served.api, max_retries=0))).generate(Job())
    real = ModelCfg("real", parse_video_api(api_block(), WHERE))
    with serving_fake_vendor(real) as same:
        assert same is real


def test_serving_fake_vendor_keeps_a_set_key(canary):
    cfg = ModelCfg("fake", parse_video_api(api_block(base_url=FAKE_BASE_URL), WHERE))
    with serving_fake_vendor(cfg) as served:
        load_video_api(served).generate(Job())
    assert os.environ[ENV] == canary


def test_missing_key_fails_before_any_request(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(ValueError, match=rf"{WHERE}\.key_env: environment variable {ENV} is not set"):
        load_video_api(ModelCfg("vendor", parse_video_api(api_block(), WHERE)))
