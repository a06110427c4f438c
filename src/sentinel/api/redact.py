"""Scrub an API key from text in every encoding a careless vendor could echo it back in.

A vendor that echoes the Authorization header may do so raw, JSON-escaped, URL-encoded, as hex, or
as base64 (of the key alone, of "Bearer <key>", of "user:<key>" for Basic auth). Base64 of a text that
*contains* the key depends on the key's offset modulo 3, so for each of the three alignments we
redact the "core": the base64 characters determined by key bytes alone. Any base64 encoding of any
text containing the key contains one of the three cores, whatever precedes or follows it.
"""
from __future__ import annotations

import base64
import json
import re
import urllib.parse

MASK = "***"
MIN_CORE_CHARS = 8  # a shorter core could match innocent text; keys are far longer than 6 bytes


def _base64_cores(raw: bytes) -> set[str]:
    cores = set()
    n = len(raw)
    for pad in range(3):
        enc = base64.b64encode(b"\0" * pad + raw + b"\0\0").decode()
        start, end = -(-8 * pad // 6), 8 * (pad + n) // 6  # chars whose 6 bits all come from the key
        core = enc[start:end]
        if len(core) >= MIN_CORE_CHARS:
            cores |= {core, core.replace("+", "-").replace("/", "_")}  # standard and URL-safe alphabets
    return cores


def variants(secret: str) -> list[str]:
    """Every spelling of `secret` to scrub, longest first (so no variant is left half-masked)."""
    if not secret:
        return []
    raw = secret.encode()
    found = {secret, json.dumps(secret)[1:-1], json.dumps(secret)[1:-1].replace("/", "\\/"),
             urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret), raw.hex(), raw.hex().upper()}
    found |= _base64_cores(raw)
    found |= {urllib.parse.quote(c, safe="") for c in list(found)}  # e.g. base64 inside a query string
    return sorted(found, key=len, reverse=True)


class Redactor:
    """`redact(text)` masks every variant of the secret; case-insensitive for hex and %-escapes."""

    def __init__(self, secret: str):
        parts = [re.escape(v) for v in variants(secret)]
        self._pattern = re.compile("|".join(parts)) if parts else None
        self._hex = re.compile(re.escape(secret.encode().hex()), re.IGNORECASE) if secret else None

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._hex.sub(MASK, self._pattern.sub(MASK, text))

    def __repr__(self) -> str:
        return "Redactor(***)"
