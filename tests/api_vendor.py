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
"""
from __future__ import annotations

import base64
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from PIL import Image


def png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


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

    def _success(self, kind: str):
        host = f"http://127.0.0.1:{self.server.server_address[1]}"
        if self.command == "POST" and self.path == "/v1/jobs":
            return self._send(200, json.dumps({"id": "job-1"}).encode())
        image = {"ok": IMAGE, "truncated": IMAGE[: len(IMAGE) // 2], "black": BLACK}.get(kind, IMAGE)
        b64 = base64.b64encode(image).decode()
        if self.path.startswith("/v1/jobs/"):
            doc = {"status": "succeeded", **({"image_url": f"{host}/files/x.png"} if kind == "url" else {"image_b64": b64})}
        else:
            doc = {"data": [{"url": f"{host}/files/x.png"} if kind == "url" else {"b64_json": b64}]}
        return self._send(200, json.dumps(doc).encode())

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
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.vendor = self
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

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
