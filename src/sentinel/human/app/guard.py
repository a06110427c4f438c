"""Request hygiene for the rating app: plain-text refusals, CSRF and Origin checks, a token-free access log.

The rater token travels in `?t=` (the link a rater is given) and in the form, so werkzeug's access log
would write it on every page and image request: `RedactingRequestHandler` masks it (and any 64-hex
HMAC tag) before a line is logged. Every POST carries a per-rater CSRF token (an HMAC only the server
can compute, read from the page) and, when the browser sends an Origin header, it must be this
server's own origin; the page's `Referrer-Policy: same-origin` makes browsers send the real one.
"""
from __future__ import annotations

import hmac
import re

from flask import Response, abort
from werkzeug.serving import WSGIRequestHandler

from sentinel.human.app import tokens

TOKEN_PARAM = re.compile(r"(?<=[?&;]t=)[^&\s\"']*|(?<=[?&;]t%3[Dd])[^&\s\"']*")
HMAC_HEX = re.compile(r"[0-9a-fA-F]{64}")
MASK = "***"
PAGE_CSP = ("default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'"  # images and refusals: nothing may run


def redact_tokens(text: str) -> str:
    return HMAC_HEX.sub(MASK, TOKEN_PARAM.sub(MASK, text))


class RedactingRequestHandler(WSGIRequestHandler):
    """werkzeug's request handler, with rater tokens masked in every line it logs."""

    def log(self, type: str, message: str, *args) -> None:  # noqa: A002 - werkzeug's signature
        super().log(type, "%s", redact_tokens(message % args if args else message))


def refuse(message: str, status: int):
    """Abort with a plain-text body (never HTML, never echoing what the client sent)."""
    abort(Response(message + "\n", status, mimetype="text/plain"))


def csrf_token(secret: bytes, rater_id: str) -> str:
    return tokens.mac(secret, "csrf:" + rater_id)


def check_post(secret: bytes, rater_id: str, form, origin: str | None, own_origin: str) -> None:
    """403 unless the POST comes from this server's page: same Origin (when sent) and the right CSRF token."""
    if origin is not None and origin != own_origin:
        refuse("cross-origin submission refused", 403)
    if not hmac.compare_digest(form.get("csrf", ""), csrf_token(secret, rater_id)):
        refuse("missing or invalid csrf token: reload the rating page", 403)
