"""Closed try-on models over the `tryon-submit-poll` protocol, against the real loopback fake vendor.

Every test talks real HTTP to sentinel.tryon.api.fake_vendor on 127.0.0.1 with a canary key; the
faults (429 + Retry-After, 5xx, a stuck job, truncated / garbled / wrong-size PNGs, malformed poll
JSON) must each end as GenerationFailed with its cause, recorded by the generate stage as a failed
job, and the key must be in no cause, no repr and no record. The good result is checked against the
content rule recomputed here from the fake vendor's documented formula, not the vendor's own code.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from sentinel.errors import ConfigError
from sentinel.images import encode_png
from sentinel.models.outputs import GenerationFailed
from sentinel.tryon import config as tryon_config
from sentinel.tryon import generate_stage
from sentinel.tryon.api import load_tryon_api, tryon_deadline_s
from sentinel.tryon.api.config import FAKE_BASE_URL, parse_tryon_api
from sentinel.tryon.api.fake_vendor import DEV_KEY, FakeTryOnVendor, serving_fake_vendor
from sentinel.tryon.jobs import TryOnJob
from test_video_api import assert_no_key  # the canary's spellings (raw, base64, hex), shared with the video adapter's

REPO = Path(__file__).resolve().parents[1]
ENV = "SENTINEL_TEST_TRYON_KEY"
WHERE = "tryon.models.vendor.api"
FAKE = yaml.safe_load((REPO / "conf/tryon_model/fake-tryon-api.yaml").read_text())
SMOKE = yaml.safe_load((REPO / "conf/tryon/smoke.yaml").read_text())
JOB = TryOnJob(id="t1", person="p.png", garment="g.png", mask="m.png", category="upper", seed=7)


@dataclass(frozen=True)
class ModelCfg:
    name: str
    api: object


def inputs() -> tuple[Image.Image, Image.Image, Image.Image]:
    rng = np.random.default_rng(0)
    person = rng.integers(0, 256, (40, 32, 3), dtype=np.uint8)
    garment = np.full((24, 24, 3), 255, np.uint8)
    garment[4:20, 6:18] = (180, 40, 60)
    mask = np.zeros((40, 32, 3), np.uint8)
    mask[10:30, 8:24] = 255
    return Image.fromarray(person), Image.fromarray(garment), Image.fromarray(mask)


def expected(person, garment, mask, seed: int, category: str) -> np.ndarray:
    """The documented rule, written out: mean of the non-white garment pixels + sha256 offset, inside the mask."""
    g = np.asarray(garment).reshape(-1, 3).astype(float)
    fg = [px for px in g if min(px) < 245] or list(g)
    d = hashlib.sha256(f"{seed}\n{category}".encode()).digest()
    colour = [min(255, max(0, round(sum(px[k] for px in fg) / len(fg)) + d[k] % 17 - 8)) for k in range(3)]
    out = np.asarray(person).copy()
    m = np.asarray(mask)
    for y in range(out.shape[0]):
        for x in range(out.shape[1]):
            if mask is None or m[y, x].mean() >= 128:
                out[y, x] = colour
    return out


def api_block(**kw) -> dict:
    base = {"protocol": "tryon-submit-poll", "base_url": "https://vendor.invalid", "key_env": ENV,
            "vendor_model": "vendor-tryon", "list_price_usd_per_image": 0.05, "price_source": "test",
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
    with FakeTryOnVendor(canary, queue_s=0.02, generation_s=0.04) as v:
        yield v


def model_for(vendor, **kw):
    api = parse_tryon_api(api_block(base_url=vendor.url, **kw), WHERE)
    return load_tryon_api(ModelCfg("vendor", api))


def fails(model, job=JOB) -> str:
    with pytest.raises(GenerationFailed) as e:
        model.generate(job, *inputs())
    assert_no_key(os.environ[ENV], e.value.cause, str(e.value), repr(e.value), repr(model))
    return e.value.cause


# --- config -------------------------------------------------------------------------------------

def test_config_errors_name_every_bad_key():
    with pytest.raises(ConfigError) as e:
        parse_tryon_api({**api_block(), "colour": "red", "timeout_s": "slow"}, WHERE)
    text = str(e.value)
    assert f"{WHERE}.colour: unknown key" in text and f"{WHERE}.timeout_s: expected float" in text
    missing = {k: v for k, v in api_block().items() if k != "key_env"}
    with pytest.raises(ConfigError, match=rf"{WHERE}\.key_env: missing key"):
        parse_tryon_api(missing, WHERE)
    with pytest.raises(ConfigError) as e:
        parse_tryon_api(api_block(protocol="images", base_url="ftp://x", poll_timeout_s=0.0, billing_unit="frame"), WHERE)
    assert [p.split(":")[0] for p in e.value.problems] == [f"{WHERE}.{k}" for k in
                                                           ("protocol", "billing_unit", "base_url", "poll_timeout_s")]


def test_a_bad_api_key_in_params_is_named_with_the_file(tmp_path):
    block = FAKE["fake-tryon-api"]
    bad = {**block, "api": {**block["api"], "colour": "red", "max_retries": -1}}
    path = _params(tmp_path, {"fake-tryon-api": bad})
    with pytest.raises(ConfigError) as e:
        tryon_config.load_tryon_section(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: ")
    assert "tryon.models.fake-tryon-api.api.colour: unknown key" in msg
    path = _params(tmp_path, {"fake-tryon-api": {**block, "api": {**block["api"], "max_retries": -1}}})
    with pytest.raises(ConfigError, match=r"tryon\.models\.fake-tryon-api\.api\.max_retries: must be >= 0"):
        tryon_config.load_tryon_section(path)
    no_api = {k: v for k, v in block.items() if k != "api"}
    with pytest.raises(ConfigError, match=r"tryon\.models\.fake-tryon-api\.api: missing key"):
        tryon_config.load_tryon_section(_params(tmp_path, {"fake-tryon-api": no_api}))


def test_the_latency_stage_refuses_an_api_tryon_model_before_ray_starts(tmp_path):
    from sentinel.tryon import latency_stage

    path = _params(tmp_path, {"fake-tryon-api": FAKE["fake-tryon-api"]})
    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"tryon\.models\.fake-tryon-api: latency of API try-on models is not wired"):
        latency_stage.run(path, "fake-tryon-api")
    assert time.monotonic() - started < 10  # a config check, not a Serve deployment
    assert not (tmp_path / "outputs").exists()


def test_committed_fake_model_config():
    s = tryon_config.parse_section({**SMOKE, "models": FAKE, "workload": {"name": "w", "jobs": "j.csv"}})
    m = s.models["fake-tryon-api"]
    assert m.source == "api" and m.plumbing and m.api.base_url == FAKE_BASE_URL
    assert m.api.list_price_usd_per_image > 0 and "not a vendor's price" in m.api.price_source
    assert tryon_deadline_s(m.api) == m.api.deadline_s and (REPO / "docs/models/fake-tryon-api.md").is_file()


# --- the good path ------------------------------------------------------------------------------

@pytest.mark.parametrize("delivery", ["url", "b64"])
def test_good_job_is_the_vendors_exact_result_and_repeats_byte_for_byte(vendor, canary, delivery):
    if delivery == "b64":
        vendor.plan.result += [("b64",), ("b64",)]
    model = model_for(vendor)
    person, garment, mask = inputs()
    first = model.generate(JOB, person, garment, mask)
    second = model.generate(JOB, person, garment, mask)
    assert first.mode == "RGB" and first.size == person.size
    assert encode_png(first) == encode_png(second)  # byte-identical across two runs
    assert np.array_equal(np.asarray(first), expected(person, garment, mask, JOB.seed, JOB.category))
    assert all(r["key_ok"] for r in vendor.requests)
    paths = [r["path"] for r in vendor.requests]
    assert paths[0] == "/v1/tryons" and paths[-1].endswith("/result") == (delivery == "url")
    other = model.generate(dataclasses.replace(JOB, seed=8), person, garment, mask)
    assert not np.array_equal(np.asarray(other), np.asarray(first))  # the seed changes the result
    assert_no_key(canary, repr(model), repr(model.client), repr(model.cfg))


def test_no_mask_is_sent_as_null():
    with serving_fake_vendor(ModelCfg("fake", parse_tryon_api(api_block(base_url=FAKE_BASE_URL), WHERE))) as served:
        person, garment, _ = inputs()
        got = load_tryon_api(served).generate(dataclasses.replace(JOB, mask=None), person, garment, None)
    assert np.array_equal(np.asarray(got), expected(person, garment, None, JOB.seed, JOB.category))


# --- faults, each with its cause ----------------------------------------------------------------

def test_429_retry_after_is_honoured_then_succeeds(vendor):
    vendor.plan.submit.append(("status", 429, {"Retry-After": "1"}))
    model = model_for(vendor)
    t0 = time.monotonic()
    result = model.generate(JOB, *inputs())
    elapsed = time.monotonic() - t0
    assert result.size == (32, 40)
    submits = [r["t"] for r in vendor.requests if r["method"] == "POST"]
    assert len(submits) == 2 and submits[1] - submits[0] >= 1.0  # waited the asked second, not backoff_s
    assert 1.0 <= elapsed < 4.0


def test_retry_after_beyond_max_backoff_is_bounded(vendor):
    vendor.plan.submit.append(("status", 429, {"Retry-After": "30"}))
    t0 = time.monotonic()
    model_for(vendor, max_backoff_s=0.3).generate(JOB, *inputs())
    assert time.monotonic() - t0 < 3.0  # capped at max_backoff_s, not the asked 30 s


def test_5xx_then_success(vendor):
    vendor.plan.submit.append(("status", 500, {}))
    vendor.plan.poll.append(("status", 503, {}))
    result = model_for(vendor).generate(JOB, *inputs())
    assert result.size == (32, 40)
    assert [r["method"] for r in vendor.requests][:2] == ["POST", "POST"]


def test_persistent_5xx_fails_with_every_attempt_and_the_echoed_key_redacted(vendor):
    vendor.plan.submit += [("status", 502, {})] * 3
    cause = fails(model_for(vendor))
    assert cause.startswith("gave up after 3 attempts on POST") and cause.count("HTTP 502") == 3, cause
    assert "***" in cause  # the vendor echoed the Authorization header; it was masked


def test_stuck_job_ends_by_poll_timeout(vendor):
    vendor.plan.stuck = True
    t0 = time.monotonic()
    cause = fails(model_for(vendor, poll_timeout_s=0.5))
    assert cause.startswith("poll timeout: job still running after 0.5 s"), cause
    assert 0.5 <= time.monotonic() - t0 < 0.5 + 2.0


def test_stuck_job_ends_by_the_job_deadline(vendor):
    vendor.plan.stuck = True
    t0 = time.monotonic()
    cause = fails(model_for(vendor, poll_timeout_s=60.0, deadline_s=0.7))
    elapsed = time.monotonic() - t0
    assert cause.startswith("deadline_exceeded: job deadline reached"), cause
    assert 0.6 <= elapsed < 0.7 + 2.0  # poll_timeout_s (60 s) never came into it


@pytest.mark.parametrize("fault, prefix", [
    (("truncated",), "undecodable image from {url}/v1/tryons/tryon-000001: "),
    (("garbled",), "undecodable result from {url}/v1/tryons/tryon-000001: not a PNG"),
    (("wrong-size",), "wrong result size from {url}/v1/tryons/tryon-000001: 34x40, the person image is 32x40"),
])
def test_bad_result_png_is_a_failure_with_its_cause(vendor, fault, prefix):
    vendor.plan.result.append(fault)
    cause = fails(model_for(vendor))
    assert cause.startswith(prefix.format(url=vendor.url)), cause


@pytest.mark.parametrize("phase, fault, prefix", [
    ("submit", ("missing-id",), "malformed response from {url}/v1/tryons: no job id"),
    ("submit", ("bad-json",), "malformed JSON from {url}/v1/tryons: JSONDecodeError"),
    ("poll", ("bad-json",), "malformed JSON from {url}/v1/tryons/tryon-000001: JSONDecodeError"),
    ("poll", ("unknown-status",), "malformed response from {url}/v1/tryons/tryon-000001: unknown status 'teleporting'"),
    ("poll", ("vendor-failed",), "vendor job failed at {url}/v1/tryons/tryon-000001: content policy"),
])
def test_malformed_vendor_answers_fail_with_their_cause(vendor, phase, fault, prefix):
    getattr(vendor.plan, phase).append(fault)
    cause = fails(model_for(vendor))
    assert cause.startswith(prefix.format(url=vendor.url)), cause
    if fault == ("vendor-failed",):
        assert "Bearer ***" in cause


def test_canary_key_is_in_no_cause_no_repr_and_no_log(vendor, canary, caplog):
    caplog.set_level(logging.DEBUG)
    vendor.plan.submit += [("status", 400, {}), ("status", 500, {}), ("status", 500, {}), ("status", 500, {})]
    vendor.plan.poll += [("vendor-failed",), ("bad-json",)]
    model = model_for(vendor)
    causes = []
    for _ in range(4):
        with pytest.raises(GenerationFailed) as e:
            model.generate(JOB, *inputs())
        causes.append(e.value.cause)
    assert all(causes)
    assert_no_key(canary, *causes, repr(model), str(model.__dict__), repr(vendor.requests), caplog.text)
    assert sum("***" in c for c in causes) >= 3  # the echoes were there, and masked


def test_missing_key_fails_before_any_request(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(ValueError, match=rf"{WHERE}\.key_env: environment variable {ENV} is not set"):
        load_tryon_api(ModelCfg("vendor", parse_tryon_api(api_block(), WHERE)))


def test_serving_fake_vendor_uses_the_dev_key_only_for_its_block(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    cfg = ModelCfg("fake", parse_tryon_api(api_block(base_url=FAKE_BASE_URL), WHERE))
    with pytest.raises(ValueError, match=r"tryon\.models\.fake\.api\.base_url: fake://loopback is served only inside"):
        load_tryon_api(cfg)
    with serving_fake_vendor(cfg) as served:
        assert served.api.base_url.startswith("http://127.0.0.1:") and os.environ[ENV] == DEV_KEY
        assert load_tryon_api(served).generate(JOB, *inputs()).size == (32, 40)
    assert ENV not in os.environ and cfg.api.base_url == FAKE_BASE_URL
    monkeypatch.setenv(ENV, DEV_KEY)
    with pytest.raises(GenerationFailed, match="network error"):  # stopped: nothing listens there any more
        load_tryon_api(ModelCfg("x", dataclasses.replace(served.api, max_retries=0))).generate(JOB, *inputs())


# --- the generate stage -------------------------------------------------------------------------

def _params(tmp_path: Path, models: dict) -> Path:
    section = json.loads(json.dumps(SMOKE))
    section["models"] = models
    section["workload"] = {"name": "tryon-smoke", "jobs": str(REPO / "workloads/tryon-smoke.csv"),
                           "root": str(REPO / "workloads/tryon"),
                           "pairs": str(REPO / "workloads/tryon-pairs/manifest.json")}
    section["paths"] = {k: str(tmp_path / v) for k, v in SMOKE["paths"].items()}
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"tryon": section}))
    return path


def _fast(**api) -> dict:
    block = FAKE["fake-tryon-api"]
    return {"fake-tryon-api": {**block, "api": {**block["api"], "poll_interval_s": 0.01, **api}}}


def _outputs(path: Path) -> tuple[bytes, dict[str, bytes]]:
    s = tryon_config.load_tryon_section(path)
    results = s.paths.result_dir("fake-tryon-api")
    return (s.paths.records_file("fake-tryon-api").read_bytes(),
            {p.name: p.read_bytes() for p in sorted(results.glob("*.png"))})


def test_generate_stage_serves_the_fake_vendor_and_repeats_byte_for_byte(tmp_path, monkeypatch):
    monkeypatch.delenv("SENTINEL_TRYON_FAKE_KEY", raising=False)
    runs = []
    for i in range(2):
        path = _params(tmp_path / f"run{i}", _fast())
        records = generate_stage.run(path, "fake-tryon-api")
        assert records and all(r["status"] == "ok" and r["plumbing"] for r in records), records
        runs.append(_outputs(path))
    assert runs[0] == runs[1] and len(runs[0][1]) == len(records)
    assert "SENTINEL_TRYON_FAKE_KEY" not in os.environ
    j = generate_stage.load_jobs(tryon_config.load_tryon_section(path))[0]
    person, garment, mask = generate_stage._inputs(j, REPO / "workloads/tryon")
    got = np.asarray(Image.open(tmp_path / "run1" / "outputs/tryon/results/fake-tryon-api" / f"{j.id}.png"))
    assert np.array_equal(got, expected(person, garment, mask, j.seed, j.category))


def test_generate_stage_records_vendor_failures_with_their_cause(tmp_path, monkeypatch, caplog):
    """A vendor that sends a cut PNG: every job is a failed record with its cause, never a crash, no key anywhere."""
    key = "sk-canary-" + secrets.token_hex(16)
    monkeypatch.setenv("SENTINEL_TRYON_FAKE_KEY", key)
    caplog.set_level(logging.DEBUG)
    def cut(self, job):
        job.png = b"\x89PNG\r\n\x1a\n cut short"
        return job.png

    monkeypatch.setattr(FakeTryOnVendor, "render", cut)
    path = _params(tmp_path, _fast())
    records = generate_stage.run(path, "fake-tryon-api")
    assert records and all(r["status"] == "failed" and r["result"] is None for r in records)
    assert all(r["failure"].startswith("undecodable image from http://127.0.0.1:") for r in records), [r["failure"] for r in records]
    s = tryon_config.load_tryon_section(path)
    texts = [s.paths.records_file("fake-tryon-api").read_text(), s.paths.timings_file("fake-tryon-api").read_text(),
             caplog.text]
    assert_no_key(key, *texts)
    assert not list(s.paths.result_dir("fake-tryon-api").glob("*.png"))
