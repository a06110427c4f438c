"""Hostile vendors on loopback: the key stays home, every wait ends, every size is capped.

Each test runs the real adapters against tests/api_vendor.py's VendorServer (the configured vendor
origin) and SpyServers (other origins on other ports, which log every request). "Zero requests" in a
spy's log is the ground truth that a URL was not fetched; its headers show whether the key leaked.
"""
from __future__ import annotations

import base64
import resource
import subprocess
import time
import tracemalloc

import numpy as np
import pytest

from sentinel.models.outputs import GenerationFailed

from api_vendor import PIXELS, SpyServer, VendorServer, bomb_png, echoes
from test_api_faults import JOB, KEY, _model

pytestmark = pytest.mark.slow  # real HTTP servers on 127.0.0.1


@pytest.fixture
def vendor():
    with VendorServer(KEY) as v:
        yield v


@pytest.fixture
def spies():
    with SpyServer() as a, SpyServer() as b:
        yield a, b


def _fails(model, match: str) -> str:
    with pytest.raises(GenerationFailed, match=match) as e:
        model.generate(JOB)
    assert KEY not in e.value.cause
    return e.value.cause


def _no_key_anywhere(spies) -> None:
    for spy in spies:
        assert not any(KEY in repr(r) or "authorization" in {h.lower() for h in r["headers"]} for r in spy.requests)


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_redirect_to_another_port_is_refused_on_post(model_cfgs, monkeypatch, vendor, spies, code):
    model, _ = _model(model_cfgs, monkeypatch, vendor)
    vendor.script = [("redirect", code, f"{spies[0].url}/v1/images/generations")]
    _fails(model, f"redirect_refused: HTTP {code}")
    assert spies[0].requests == [] and len(vendor.requests) == 1  # refused, not retried


def test_redirect_on_a_submit_poll_get_is_refused(model_cfgs, monkeypatch, vendor, spies):
    model, _ = _model(model_cfgs, monkeypatch, vendor, "submit-poll")
    vendor.script = [("ok",), ("redirect", 307, f"{spies[1].url}/v1/jobs/job-1")]
    _fails(model, "redirect_refused: HTTP 307")
    assert spies[1].requests == []


def test_same_origin_redirect_is_followed_with_the_key(model_cfgs, monkeypatch, vendor):
    model, _ = _model(model_cfgs, monkeypatch, vendor)
    vendor.script = [("redirect", 307, "/v1/images/generations?moved=1"), ("ok",)]
    assert np.array_equal(np.asarray(model.generate(JOB)), PIXELS)
    assert [r["path"] for r in vendor.requests] == ["/v1/images/generations", "/v1/images/generations?moved=1"]
    assert all(r["auth"] == f"Bearer {KEY}" for r in vendor.requests) and vendor.requests[1]["method"] == "POST"


@pytest.mark.parametrize("protocol", ["openai-images", "submit-poll"])
@pytest.mark.parametrize("url, cause", [
    ("{spy}/cdn/x.png", "url_refused: origin http://127.0.0.1:.* is neither the vendor's"),
    ("file:///etc/passwd", "url_refused: file scheme"),
    ("data:image/png;base64,AAAA", "url_refused: data scheme"),
    ("//127.0.0.1:{spy_port}/x.png", "url_refused: origin"),  # scheme-relative: still another origin
    ("http://10.1.2.3/x.png", "url_refused: origin http://10.1.2.3:80"),
    ("http://169.254.169.254/latest/meta-data", "url_refused: origin"),
])
def test_response_urls_outside_the_allow_list_are_never_fetched(model_cfgs, monkeypatch, vendor, spies, protocol,
                                                                 url, cause):
    model, _ = _model(model_cfgs, monkeypatch, vendor, protocol)
    named = url.format(spy=spies[0].url, spy_port=spies[0].httpd.server_address[1])
    vendor.script = [("ok",)] * (protocol == "submit-poll") + [("url-to", named)]
    _fails(model, cause)
    assert spies[0].requests == [] and spies[1].requests == []


def test_allow_listed_origin_is_fetched_without_the_key(model_cfgs, monkeypatch, vendor, spies):
    model, _ = _model(model_cfgs, monkeypatch, vendor, image_origins=(spies[0].url,), allow_loopback=True)
    vendor.script = [("url-to", f"{spies[0].url}/cdn/x.png?sig=abc")]
    assert np.array_equal(np.asarray(model.generate(JOB)), PIXELS)
    assert [r["path"] for r in spies[0].requests] == ["/cdn/x.png?sig=abc"] and spies[1].requests == []
    _no_key_anywhere(spies)
    assert [r["auth"] for r in vendor.requests] == [f"Bearer {KEY}"]


def test_an_allow_listed_https_origin_is_fetched_over_verified_tls(model_cfgs, monkeypatch, vendor, tmp_path):
    """Connected to the checked address, TLS still verifies the host name (SNI); a name off the certificate fails."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trusted by ssl.create_default_context() for this test only
    with SpyServer(tls=(cert, key)) as cdn:
        port = cdn.httpd.server_address[1]
        good, bad = f"https://localhost:{port}", f"https://127.0.0.1:{port}"
        model, _ = _model(model_cfgs, monkeypatch, vendor, image_origins=(good, bad), allow_loopback=True,
                          max_retries=0)
        vendor.script = [("url-to", f"{good}/cdn/x.png")]
        assert np.array_equal(np.asarray(model.generate(JOB)), PIXELS)
        assert [r["path"] for r in cdn.requests] == ["/cdn/x.png"]
        _no_key_anywhere([cdn])
        vendor.script = [("url-to", f"{bad}/cdn/x.png")]
        _fails(model, "network error: SSLCertVerificationError")
        assert len(cdn.requests) == 1


def test_allow_listed_origins_still_need_https_or_the_loopback_flag(model_cfgs, monkeypatch, vendor, spies):
    model, _ = _model(model_cfgs, monkeypatch, vendor, image_origins=(spies[0].url, "http://10.1.2.3"))
    vendor.script = [("url-to", f"{spies[0].url}/x.png")]
    _fails(model, "url_refused: http://127.0.0.1:.* is plain http")
    model, _ = _model(model_cfgs, monkeypatch, vendor, image_origins=("http://10.1.2.3",), allow_loopback=True)
    vendor.script = [("url-to", "http://10.1.2.3/x.png")]
    _fails(model, "url_refused: 10.1.2.3 resolves to non-public address 10.1.2.3")
    assert spies[0].requests == []


def test_echoed_key_is_redacted_in_every_encoding(model_cfgs, monkeypatch, vendor):
    model, _ = _model(model_cfgs, monkeypatch, vendor)
    vendor.script = [("echo", 400)]
    cause = _fails(model, "HTTP 400")
    for name, spelling in echoes(f"Bearer {KEY}").items():
        assert spelling not in cause, name
    core = base64.b64encode(KEY.encode()).decode()[:20]
    assert core not in cause and "***" in cause


def test_a_drip_feeding_vendor_fails_within_the_job_deadline(model_cfgs, monkeypatch, vendor):
    """One byte every 0.5 s never trips a 1 s read timeout; the 3 s job deadline still ends the job."""
    model, _ = _model(model_cfgs, monkeypatch, vendor, timeout_s=1.0, max_retries=10, deadline_s=3.0)
    vendor.default = ("drip", 0.5)
    start = time.monotonic()
    cause = _fails(model, "deadline_exceeded")
    elapsed = time.monotonic() - start
    assert elapsed < 3.0 + 2.0, (elapsed, cause)  # the deadline plus slack for 2 shared cores, not 4000 x 0.5 s
    assert "timeout after 1.0 s" in cause and len(vendor.requests) >= 2  # each attempt ended at timeout_s


def test_endless_polling_ends_by_the_job_deadline(model_cfgs, monkeypatch, vendor):
    model, _ = _model(model_cfgs, monkeypatch, vendor, "submit-poll", timeout_s=1.0, deadline_s=2.5,
                      poll_timeout_s=600.0)
    vendor.script = [("ok",)]
    vendor.default = ("pending",)
    model.client.sleep = time.sleep  # polls really wait: poll_interval 0.01 s, until the deadline
    start = time.monotonic()
    _fails(model, "deadline_exceeded")
    assert time.monotonic() - start < 2.5 + 2.0


def _peak_growth(fn) -> tuple[int, int]:
    """(tracemalloc peak bytes, ru_maxrss growth in bytes) while running fn."""
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss0


@pytest.mark.parametrize("chunked", [False, True])
def test_a_1_gb_body_is_refused_without_reading_it(model_cfgs, monkeypatch, vendor, chunked):
    model, _ = _model(model_cfgs, monkeypatch, vendor, max_response_bytes=1_000_000)
    vendor.default = ("huge", 10**9, chunked)
    cause = []
    peak, rss = _peak_growth(lambda: cause.append(_fails(model, "response_too_large")))
    assert ("declared 1000000000 bytes" in cause[0]) is not chunked
    assert peak < 20 * 2**20 and rss < 100 * 2**20, (peak, rss)  # vs a 1 GB payload
    assert len(vendor.requests) == 1  # refused at once, not retried


def test_a_12000_px_png_is_refused_from_its_header(model_cfgs, monkeypatch, vendor):
    model, _ = _model(model_cfgs, monkeypatch, vendor)  # the job asks for 64 x 64
    vendor.default = ("bomb",)
    bomb_png()  # build the payload (cached) before measuring
    cause = []
    peak, rss = _peak_growth(lambda: cause.append(_fails(model, r"image_too_large: 12000x12000")))
    assert "16384 pixels" in cause[0]  # 4 x 64 x 64
    assert peak < 20 * 2**20 and rss < 100 * 2**20, (peak, rss)  # decoding it would take 144-576 MB


@pytest.mark.parametrize("payload, cause", [
    (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "not a PNG, JPEG, WEBP image"),  # would run Ghostscript
    (b"GIF89a" + b"\0" * 32, "not a PNG, JPEG, WEBP image"),
])
def test_only_png_jpeg_and_webp_are_decoded(model_cfgs, monkeypatch, vendor, payload, cause):
    model, _ = _model(model_cfgs, monkeypatch, vendor)
    vendor.script = [("b64", payload)]
    _fails(model, cause)


def test_json_nested_past_the_recursion_limit_is_a_malformed_response(model_cfgs, monkeypatch, vendor):
    model, _ = _model(model_cfgs, monkeypatch, vendor)
    vendor.script = [("raw", b"[" * 200_000)]
    _fails(model, "malformed JSON .*RecursionError")
