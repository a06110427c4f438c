"""Rating-page attacks against the real app on 127.0.0.1: raters stay blind, tokens stay out of logs,
concurrent votes neither crash nor outrun the rate limit, forged posts and hostile fields are refused.

Ground truth: the published PNG files and records.jsonl sha256s (for de-blinding by bytes), the
server's own stderr (for token leaks) and the ratings table (for what was really stored).
"""
from __future__ import annotations

import hashlib
import io
import threading
from collections import Counter

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image

from rating_app_server import running
from sentinel.human.app import db, display
from sentinel.images import encode_png
from test_rating_app import call, csrf_of, current_task, token_of

RATE_LIMIT = 5
JOBS = 16  # 16 comparisons + 1 gold + 1 attention = 18 tasks, more than the rate limit


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running(tmp_path_factory.mktemp("blind"), raters=4, rate_limit_per_minute=RATE_LIMIT, jobs=JOBS) as server:
        yield server


def _png_chunks(png: bytes) -> list[bytes]:
    out, pos = [], 8
    while pos < len(png):
        n = int.from_bytes(png[pos:pos + 4], "big")
        out.append(png[pos + 4:pos + 8])
        pos += 12 + n
    return out


def _burst(n: int, fn) -> list[int]:
    """Run fn(i) in n threads released together; their HTTP statuses."""
    barrier, statuses = threading.Barrier(n), [None] * n

    def worker(i):
        barrier.wait()
        statuses[i] = fn(i)
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return statuses


def _rows(app, rater_id: str) -> int:
    with sa.create_engine(app.db_url).connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(db.RATINGS)
                            .where(db.RATINGS.c.rater_id == rater_id)).scalar()


@pytest.mark.slow
def test_served_images_match_no_published_image_and_share_one_size(app):
    token = token_of(app.links[3])
    with sa.create_engine(app.db_url).connect() as conn:
        item_ids = [r.id for r in conn.execute(sa.select(db.ITEMS.c.id))]
    published = {p.read_bytes() for p in (app.log_path.parent / "images").rglob("*.png")}
    published_sha = {r["sha256"] for r in app.records} | {hashlib.sha256(b).hexdigest() for b in published}
    assert len(published) == 2 * JOBS and len(item_ids) == 2 * JOBS + 1  # + the gold item's degraded twin
    for item in item_ids:
        status, headers, png = call(app.base, "GET", f"/img/{item}?t={token}")
        assert status == 200 and headers["Content-Type"] == "image/png"
        assert png not in published and hashlib.sha256(png).hexdigest() not in published_sha
        assert encode_png(Image.open(io.BytesIO(png))) not in published  # not even its pixels re-encoded
        assert Image.open(io.BytesIO(png)).size == (app.display_px, app.display_px)
        assert _png_chunks(png) == [b"IHDR", b"IDAT", b"IEND"] or set(_png_chunks(png)) == {b"IHDR", b"IDAT", b"IEND"}
        assert headers["Content-Security-Policy"].startswith("default-src 'none'")


@pytest.mark.slow
def test_the_token_appears_in_no_log_line(app):
    token = token_of(app.links[2])
    task, imgs, html = current_task(app.base, token)
    for img in imgs.values():
        call(app.base, "GET", f"/img/{img}?t={token}")
    call(app.base, "GET", f"/rate?t={token}&t={token}")
    call(app.base, "POST", "/rate", {"t": token, "task": task, "choice": "tie", "csrf": csrf_of(html)})
    log = app.log_path.read_text()
    assert log.count("GET /img/") >= 2 and "GET /rate?t=***" in log and "POST /rate" in log  # lines were written
    rater_id, tag = token.split(".")
    assert tag not in log and token not in log and tag[:16] not in log


@pytest.mark.slow
def test_20_concurrent_identical_votes_store_one_row_and_no_5xx(app):
    token = token_of(app.links[0])
    task, _, html = current_task(app.base, token)
    form = {"t": token, "task": task, "choice": "left", "csrf": csrf_of(html)}
    statuses = _burst(20, lambda i: call(app.base, "POST", "/rate", form)[0])
    assert Counter(statuses) == {303: 1, 409: 19}, statuses
    assert _rows(app, token.split(".")[0]) == 1
    assert "Traceback" not in app.log_path.read_text()


@pytest.mark.slow
def test_the_rate_limit_holds_under_concurrent_posts(app):
    token = token_of(app.links[1])
    html = current_task(app.base, token)[2]
    with sa.create_engine(app.db_url).connect() as conn:
        tasks = [r.id for r in conn.execute(sa.select(db.TASKS.c.id))]
    assert len(tasks) == JOBS + 2
    form = {"t": token, "choice": "tie", "csrf": csrf_of(html)}
    statuses = _burst(len(tasks), lambda i: call(app.base, "POST", "/rate", {**form, "task": tasks[i]})[0])
    assert Counter(statuses) == {303: RATE_LIMIT, 429: len(tasks) - RATE_LIMIT}, statuses
    assert _rows(app, token.split(".")[0]) == RATE_LIMIT


@pytest.mark.slow
@pytest.mark.parametrize("origin, csrf, reason", [
    ("http://evil.example", "page", b"cross-origin"), ("null", "page", b"cross-origin"),
    (None, None, b"csrf"), (None, "other-rater", b"csrf"), (None, "0" * 64, b"csrf"),
])
def test_forged_posts_are_refused_before_anything_is_stored(app, origin, csrf, reason):
    token, other = token_of(app.links[3]), token_of(app.links[2])
    task, _, html = current_task(app.base, token)
    form = {"t": token, "task": task, "choice": "left"}
    if csrf is not None:
        form["csrf"] = {"page": csrf_of(html), "other-rater": csrf_of(current_task(app.base, other)[2])}.get(csrf, csrf)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **({"Origin": origin} if origin else {})}
    status, resp_headers, body = _post(app, form, headers)
    assert status == 403 and reason in body and resp_headers["Content-Type"].startswith("text/plain")
    assert current_task(app.base, token)[0] == task  # still to do: nothing was stored
    own = {"Content-Type": "application/x-www-form-urlencoded", "Origin": app.base}
    assert _post(app, {**form, "csrf": csrf_of(html)}, own)[0] == 303  # the same vote from the page is taken
    with sa.create_engine(app.db_url).begin() as conn:  # undo it, so every case starts from the same task
        conn.execute(db.RATINGS.delete().where(db.RATINGS.c.task_id == task,
                                               db.RATINGS.c.rater_id == token.split(".")[0]))


def _post(app, form: dict, headers: dict):
    import http.client
    import urllib.parse
    conn = http.client.HTTPConnection("127.0.0.1", urllib.parse.urlsplit(app.base).port, timeout=30)
    conn.request("POST", "/rate", body=urllib.parse.urlencode(form), headers=headers)
    resp = conn.getresponse()
    out = resp.status, dict(resp.getheaders()), resp.read()
    conn.close()
    return out


@pytest.mark.slow
def test_hostile_field_names_are_refused_as_plain_text_without_echo(app):
    token = token_of(app.links[3])
    task, _, html = current_task(app.base, token)
    payload = "<script>alert(document.domain)</script>"
    status, headers, body = call(app.base, "POST", "/rate", {"t": token, "task": task, "choice": "tie",
                                                             "csrf": csrf_of(html), payload: "1"})
    assert status == 400 and b"unknown field" in body
    assert headers["Content-Type"].startswith("text/plain") and b"script" not in body and b"alert" not in body
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    page_csp = call(app.base, "GET", f"/rate?t={token}")[1]["Content-Security-Policy"]
    assert "script-src 'nonce-" in page_csp and "frame-ancestors 'none'" in page_csp


@pytest.mark.slow
def test_a_foreign_host_name_is_refused(app):
    """DNS rebinding: a page on evil.example re-pointed at 127.0.0.1 sends Host: evil.example."""
    import http.client
    import urllib.parse
    token = token_of(app.links[3])
    conn = http.client.HTTPConnection("127.0.0.1", urllib.parse.urlsplit(app.base).port, timeout=30)
    conn.request("GET", f"/rate?t={token}", headers={"Host": f"evil.example:{urllib.parse.urlsplit(app.base).port}"})
    resp = conn.getresponse()
    assert resp.status == 400 and b"Prompt" not in resp.read()
    conn.close()


def test_an_image_already_at_the_display_size_is_refused(tmp_path):
    """Its pixels would be served unchanged, so a re-encode could match the published file."""
    img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"m/j\.png: already 32x32 = the display size"):
        display.fit(img, 32, "m/j.png")
    assert display.fit(img, 48, "m/j.png").size == (48, 48)
    wide = display.fit(img.resize((40, 20)), 48, "w.png")  # aspect kept, centred on grey
    assert wide.size == (48, 48) and wide.getpixel((0, 0)) == display.CANVAS_GREY


def test_a_database_filled_at_another_size_is_refused(tmp_path):
    from rating_app_server import make_items
    from sentinel.provenance import read_jsonl

    records, images, _ = make_items(tmp_path, jobs=1)
    eng = db.engine(f"sqlite:///{tmp_path / 'r.db'}")
    assert db.load_items(eng, read_jsonl(records), images, 0, 0, display_px=40) == 1
    assert db.load_items(eng, read_jsonl(records), images, 0, 0, display_px=40) == 0  # reopened: fine
    with pytest.raises(ValueError, match="holds a 40x40 image, not the 64 px display size"):
        db.load_items(eng, read_jsonl(records), images, 0, 0, display_px=64)
