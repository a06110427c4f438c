"""A fake image vendor on 127.0.0.1 for fault-injection tests: a real HTTP server, scripted faults.

`VendorServer.script` is a list of actions consumed one per request (then `default`):
    ("ok",)                      200 with the protocol's success body (b64 image)
    ("url",)                     200 with an image URL served by this server
    ("status", code, headers)    that status with a JSON error body that echoes the Authorization header
    ("slow", seconds)            sleep, then behave as ("ok",)
    ("malformed",)               200 with a body that is not JSON
    ("truncated",)               200 with a PNG cut in half
    ("black",)                   200 with an all-black PNG
    ("drop",)                    headers promise 1000 bytes, 10 are sent, then the connection closes
    ("pending",)                 (submit-poll GETs) {"status": "running"}
    ("vendor-failed",)           (submit-poll GETs) {"status": "failed", "error": ...}
Hostile vendors (tests/test_api_hostile.py):
    ("redirect", code, location) that redirect status with a Location header
    ("url-to", url)              200 with the protocol's success body naming `url` as the image
    ("echo", code)               that status, echoing the Authorization header in several encodings
    ("drip", interval_s)         the whole response (status line, headers, body) one byte per interval
    ("huge", n_bytes, chunked)   a 200 body of n_bytes, generated lazily (never held in memory)
    ("b64", data) / ("raw", body) 200 with `data` as the b64 image / with `body` as the whole body
    ("bomb",)                    200 with a b64 PNG whose header says 12000x12000 (zeros, deflated)
`SpyServer` is another origin that logs every request it gets (headers included) and serves IMAGE.
"""
from __future__ import annotations

import base64
import functools
import io
import json
import ssl
import struct
import threading
import time
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from PIL import Image


def png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


@functools.lru_cache(maxsize=1)
def bomb_png(side: int = 12000) -> bytes:
    """A valid 8-bit greyscale PNG of side x side zeros: ~140 KB on the wire, 144 MB decoded (432 MB as RGB)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    z, rows, idat = zlib.compressobj(9), b"\0" * ((side + 1) * 500), []
    for _ in range(side // 500):
        idat.append(z.compress(rows))
    idat.append(z.flush())
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(idat)) + chunk(b"IEND", b"")


def echoes(auth: str) -> dict:
    """The Authorization header as careless vendors echo it: raw, base64, Basic-style, %-encoded, hex."""
    key = auth.removeprefix("Bearer ")
    b64 = lambda text: base64.b64encode(text.encode()).decode()  # noqa: E731
    return {"raw": auth, "b64_header": b64(auth), "b64_key": b64(key), "basic": "Basic " + b64("user:" + key),
            "b64_urlsafe": base64.urlsafe_b64encode(("x" + key).encode()).decode(),
            "quoted": urllib.parse.quote(auth, safe=""), "hex": key.encode().hex(), "json_in_text": json.dumps(auth)}


PIXELS = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
IMAGE = png_bytes(PIXELS)
BLACK = png_bytes(np.zeros((16, 16, 3), np.uint8))


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, code: int, body: bytes, headers: dict | None = None, ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _success(self, kind: str, url: str | None = None):
        host = f"http://127.0.0.1:{self.server.server_address[1]}"
        if self.command == "POST" and self.path == "/v1/jobs":
            return self._send(200, json.dumps({"id": "job-1"}).encode())
        image = {"ok": IMAGE, "truncated": IMAGE[: len(IMAGE) // 2], "black": BLACK}.get(kind, IMAGE)
        image = bomb_png() if kind == "bomb" else image
        b64 = base64.b64encode(image).decode()
        url = url or (f"{host}/files/x.png" if kind == "url" else None)
        if self.path.startswith("/v1/jobs/"):
            doc = {"status": "succeeded", **({"image_url": url} if url else {"image_b64": b64})}
        else:
            doc = {"data": [{"url": url} if url else {"b64_json": b64}]}
        return self._send(200, json.dumps(doc).encode())

    def _drip(self, interval_s: float):
        raw = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n"
               + b'{"data": [' + b" " * 3990)
        try:
            for i in range(len(raw)):
                self.wfile.write(raw[i:i + 1])
                time.sleep(interval_s)
        except OSError:  # the client gave up and closed: what a deadline should make it do
            self.server.vendor.dropped.append(time.monotonic())
        self.close_connection = True

    def _huge(self, n_bytes: int, chunked: bool):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header(*(("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(n_bytes))))
        self.end_headers()
        block, sent = b"0" * 65536, 0
        try:
            while sent < n_bytes:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
                sent += len(block)
        except OSError:
            self.server.vendor.dropped.append(sent)
        self.close_connection = True

    def _handle(self):
        srv = self.server.vendor
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        auth = self.headers.get("Authorization", "")
        srv.requests.append({"method": self.command, "path": self.path, "auth": auth, "body": body, "t": time.monotonic()})
        if auth != f"Bearer {srv.key}":
            return self._send(401, b'{"error": "bad key"}')
        if self.path == "/files/x.png":
            return self._send(200, IMAGE, ctype="image/png")
        action = srv.next_action()
        kind = action[0]
        if kind == "status":
            echo = json.dumps({"error": f"injected {action[1]}", "received_authorization": auth}).encode()
            return self._send(action[1], echo, action[2] if len(action) > 2 else None)
        if kind == "slow":
            time.sleep(action[1])
            kind = "ok"
        if kind == "redirect":
            return self._send(action[1], b"{}", {"Location": action[2]})
        if kind == "url-to":
            return self._success("ok", action[1])
        if kind == "b64":  # 200 with these bytes as the image
            return self._send(200, json.dumps({"data": [{"b64_json": base64.b64encode(action[1]).decode()}]}).encode())
        if kind == "raw":  # 200 with this body
            return self._send(200, action[1])
        if kind == "echo":
            return self._send(action[1], json.dumps({"error": "bad request", "echo": echoes(auth)}).encode())
        if kind == "drip":
            return self._drip(action[1])
        if kind == "huge":
            return self._huge(action[1], action[2])
        if kind == "drop":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"data": [')
            self.close_connection = True
            return None
        if kind == "malformed":
            return self._send(200, b'{"data": [ {"b64_json": ')
        if kind == "pending":
            return self._send(200, b'{"status": "running"}')
        if kind == "vendor-failed":
            return self._send(200, json.dumps({"status": "failed", "error": "content policy"}).encode())
        return self._success(kind)

    do_GET = do_POST = _handle


class VendorServer:
    def __init__(self, key: str):
        self.key = key
        self.script: list[tuple] = []
        self.default: tuple = ("ok",)
        self.requests: list[dict] = []
        self.dropped: list = []  # hostile responses the client hung up on
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.vendor = self
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def next_action(self) -> tuple:
        with self._lock:
            return self.script.pop(0) if self.script else self.default

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class _SpyHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _handle(self):
        self.server.spy.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers)})
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(IMAGE)))
        self.end_headers()
        self.wfile.write(IMAGE)

    do_GET = do_POST = _handle


class SpyServer(VendorServer):
    """Another origin on loopback: serves IMAGE to anyone and logs every request (it must see none, or no key)."""

    def __init__(self, tls: tuple | None = None):
        """tls=(cert.pem, key.pem) serves https with that certificate."""
        self.requests = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _SpyHandler)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*map(str, tls))
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        self.httpd.spy = self
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
