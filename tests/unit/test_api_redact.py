"""The key is scrubbed in every encoding a vendor could echo, at every base64 alignment; URLs are fenced."""
from __future__ import annotations

import base64
import json
import urllib.parse
from types import SimpleNamespace

import pytest

from sentinel.api.redact import Redactor, variants
from sentinel.api.urls import Fence, origin
from sentinel.models.outputs import GenerationFailed

KEY = "sk-live-Zq8/x+4Kp0_w7VbT3nR9yLd2Hc6Mf1Ga"  # has the characters base64 and %-encoding change


def _encodings(key: str) -> dict[str, str]:
    b64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
    out = {"raw": key, "json": json.dumps({"k": key}), "quoted": urllib.parse.quote(key, safe=""),
           "quote_plus": urllib.parse.quote_plus(key), "hex": key.encode().hex(), "HEX": key.encode().hex().upper(),
           "bearer_b64": b64(f"Bearer {key}"), "basic": b64(f"user:{key}"), "basic_long_user": b64(f"admin42:{key}"),
           "urlsafe": base64.urlsafe_b64encode(f"xx{key}".encode()).decode(),
           "b64_in_query": urllib.parse.quote(b64(f"token={key}"), safe="")}
    for prefix in range(6):  # every alignment of the key inside a base64-encoded text
        out[f"b64_offset_{prefix}"] = b64("p" * prefix + key + "tail")
    return out


@pytest.mark.parametrize("name", list(_encodings(KEY)))
def test_every_encoding_of_the_key_is_masked(name):
    text = f"vendor said: {_encodings(KEY)[name]} (end)"
    out = Redactor(KEY)(text)
    assert "***" in out
    for spelling in _encodings(KEY).values():  # no spelling of the key survives whole
        assert spelling not in out
    assert "vendor said:" in out and "(end)" in out  # only the key is masked


def test_innocent_text_and_empty_keys_are_untouched():
    assert Redactor(KEY)("HTTP 500: upstream timeout") == "HTTP 500: upstream timeout"
    assert Redactor("")("anything at all") == "anything at all" and variants("") == []
    assert repr(Redactor(KEY)) == "Redactor(***)"


def _fence(**kw) -> Fence:
    api = SimpleNamespace(base_url="https://api.vendor.example/v1", image_origins=(), allow_loopback=False)
    for k, v in kw.items():
        setattr(api, k, v)
    return Fence.from_api(api, "model.m.api")


def test_origins_normalise_scheme_host_and_port():
    assert origin("HTTPS://Api.Vendor.Example/x?y") == "https://api.vendor.example:443"
    assert origin("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    with pytest.raises(ValueError, match="expected an http"):
        origin("file:///etc/passwd")


@pytest.mark.parametrize("url, cause", [
    ("file:///etc/passwd", "file scheme"), ("data:image/png;base64,AA", "data scheme"),
    ("ftp://api.vendor.example/x", "ftp scheme"), ("https://cdn.elsewhere.example/x.png", "neither the vendor"),
    ("http://api.vendor.example/x.png", "neither the vendor"),  # http:80 is another origin than https:443
    ("https://api.vendor.example:8443/x.png", "neither the vendor"),
])
def test_urls_outside_the_fence_are_refused_before_any_lookup(url, cause):
    with pytest.raises(GenerationFailed, match=f"url_refused: .*{cause}"):
        _fence().open(url)


def test_allow_listed_private_and_link_local_addresses_are_refused():
    fence = _fence(image_origins=("https://10.0.0.7", "https://169.254.169.254", "https://[fd00::1]"))
    for url in ("https://10.0.0.7/x.png", "https://169.254.169.254/latest", "https://[fd00::1]/x"):
        with pytest.raises(GenerationFailed, match="non-public address"):
            fence.open(url)
    loop = _fence(image_origins=("https://127.0.0.1:9",))
    with pytest.raises(GenerationFailed, match="non-public address 127.0.0.1"):
        loop.open("https://127.0.0.1:9/x")  # loopback only with api.allow_loopback


def test_the_key_goes_only_to_the_vendor_origin():
    fence = _fence(image_origins=("https://127.0.0.1:9",), allow_loopback=True)
    assert not fence.carries_key(fence.open("https://127.0.0.1:9/x.png"))
    with pytest.raises(ValueError, match=r"model\.m\.api\.base_url: the key would travel in clear text"):
        _fence(base_url="http://api.vendor.example")
    with pytest.raises(ValueError, match=r"model\.m\.api\.image_origins\[0\]"):
        _fence(image_origins=("file:///tmp",))
