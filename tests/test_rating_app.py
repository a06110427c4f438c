"""The rating app served for real on 127.0.0.1: tokens, validation, rate limit, blindness, export."""
from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import urllib.parse

import pytest
import sqlalchemy as sa

from rating_app_server import MODELS, running
from sentinel.human import summarise, summary
from sentinel.human.app import db, export, tokens

pytestmark = pytest.mark.slow
RATE_LIMIT = 5  # = number of tasks: 3 comparisons + 1 gold + 1 attention check


def call(base: str, method: str, path: str, form: dict | None = None):
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    body = urllib.parse.urlencode(form) if form is not None else None
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    out = resp.status, dict(resp.getheaders()), resp.read()
    conn.close()
    return out


def token_of(link: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["t"][0]


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', html).group(1)


def current_task(base: str, token: str) -> tuple[str, dict[str, str], str]:
    status, headers, body = call(base, "GET", f"/rate?t={token}")
    assert status == 200, body
    html = body.decode()
    task = re.search(r'name="task" value="([0-9a-f]{16})"', html).group(1)
    imgs = dict(zip(("left", "right"), re.findall(r'src="/img/([0-9a-f]{16})\?t=', html)))
    return task, imgs, html


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running(tmp_path_factory.mktemp("rating"), raters=3, rate_limit_per_minute=RATE_LIMIT) as server:
        yield server


def test_binds_loopback_only_and_links_are_loopback(app):
    assert all(link.startswith("http://127.0.0.1:") for link in app.links)
    port = urllib.parse.urlsplit(app.base).port
    others = {ip for *_, (ip, *_) in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} - {"127.0.0.1"}
    for ip in others - {ip for ip in others if ip.startswith("127.")}:
        with pytest.raises(OSError):
            socket.create_connection((ip, port), timeout=2).close()


def test_missing_token_is_refused(app):
    assert call(app.base, "GET", "/rate")[0] == 401
    assert call(app.base, "GET", "/rate?t=")[0] == 401
    assert call(app.base, "POST", "/rate", {"task": "0" * 16, "choice": "left"})[0] == 401
    assert call(app.base, "GET", "/img/0123456789abcdef")[0] == 401


def test_forged_token_is_refused(app):
    rater_id = token_of(app.links[0]).split(".")[0]
    other_secret = tokens.issue(b"not-the-server-secret-" * 2, rater_id)
    bad_tag = rater_id + "." + "0" * 64
    unknown_rater = tokens.issue(tokens.secret_from_env()[0], "feedfacecafebeef")  # random secret: forged too
    for forged in (other_secret, bad_tag, unknown_rater, rater_id, "../../etc/passwd"):
        assert call(app.base, "GET", f"/rate?t={urllib.parse.quote(forged)}")[0] == 403, forged
        assert call(app.base, "POST", "/rate", {"t": forged, "task": "0" * 16, "choice": "left"})[0] == 403


def test_cannot_rate_as_another_rater(app):
    """Rater 1's token with rater 0's id swapped in fails: the tag binds the id."""
    id0, tag1 = token_of(app.links[0]).split(".")[0], token_of(app.links[1]).split(".")[1]
    assert call(app.base, "GET", f"/rate?t={id0}.{tag1}")[0] == 403


@pytest.mark.parametrize("change, message", [
    ({"choice": "up"}, b"field 'choice'"),
    ({"choice": ""}, b"field 'choice'"),
    ({"task": "zz" * 8}, b"field 'task'"),
    ({"task": "0" * 16}, b"no such task"),
    ({"task": "a" * 300}, b"field 'task'"),
    ({"likert_left_overall": "7"}, b"likert_left_overall"),
    ({"likert_right_photorealism": "2.5"}, b"likert_right_photorealism"),
    ({"model": "flux"}, b"unknown field"),
])
def test_malformed_submissions_are_refused(app, change, message):
    token = token_of(app.links[0])
    task, _, html = current_task(app.base, token)
    form = {"t": token, "task": task, "choice": "tie", "csrf": csrf_of(html), **change}
    status, headers, body = call(app.base, "POST", "/rate", form)
    assert status == 400 and message in body, body
    assert headers["Content-Type"].startswith("text/plain") and b"flux" not in body  # not echoed
    assert current_task(app.base, token)[0] == task  # nothing was recorded


def test_oversized_submission_is_refused(app):
    token = token_of(app.links[0])
    task, _, _ = current_task(app.base, token)
    assert call(app.base, "POST", "/rate", {"t": token, "task": task, "choice": "tie", "x": "a" * 20000})[0] == 413


def test_full_session_blind_unswapped_exported_and_rate_limited(app, tmp_path):
    token, seen = token_of(app.links[2]), []
    csrf = csrf_of(current_task(app.base, token)[2])
    for i in range(RATE_LIMIT):
        task, imgs, html = current_task(app.base, token)
        assert f"{i + 1} of {RATE_LIMIT}" in html
        for img in imgs.values():
            status, headers, png = call(app.base, "GET", f"/img/{img}?t={token}")
            assert status == 200 and headers["Content-Type"] == "image/png"
            blob = png + repr(headers).encode()
            assert not any(m.encode() in blob for m in MODELS)
        status, headers, _ = call(app.base, "GET", f"/rate?t={token}")
        assert not any(m.encode() in html.encode() + repr(headers).encode() for m in MODELS)
        seen.append((task, imgs))
        assert call(app.base, "POST", "/rate", {"t": token, "task": task, "choice": "left", "csrf": csrf,
                                                "likert_left_overall": "5", "likert_right_overall": "1"})[0] == 303
    status, _, body = call(app.base, "GET", f"/rate?t={token}")
    assert status == 200 and b"All done" in body
    status, _, body = call(app.base, "POST", "/rate", {"t": token, "task": seen[0][0], "choice": "left", "csrf": csrf})
    assert status == 429, body  # rate limit is checked before the duplicate check
    eng = sa.create_engine(app.db_url)
    with eng.connect() as conn:
        item_model = {r.id: r.model for r in conn.execute(sa.select(db.ITEMS.c.id, db.ITEMS.c.model))}
        tasks = {r.id: r for r in conn.execute(sa.select(db.TASKS))}
    rows = [r for r in export.rows(eng) if r["rater"] == token.split(".")[0]]
    pairwise = {r["job_id"]: r for r in rows if r["kind"] == "pairwise"}
    gold = {r["check"]: r for r in rows if r["kind"] == "gold"}
    assert len(pairwise) == 3 and set(gold) == {"gold", "attention"}
    for task_id, imgs in seen:  # the rater always chose the left image
        task = tasks[task_id]
        if task.kind == "compare":
            r = pairwise[task.job_id]
            assert (r["model_a"] if r["outcome"] == "a" else r["model_b"]) == item_model[imgs["left"]]
            assert {r["model_a"], r["model_b"]} == set(MODELS)
        elif task.kind == "gold":  # correct iff the clean image (item a) was on the left
            assert gold["gold"]["correct"] is (imgs["left"] == task.item_a)
        else:
            assert imgs["left"] == imgs["right"] and gold["attention"]["correct"] is False
    likert = [r for r in rows if r["kind"] == "likert"]
    assert len(likert) == 6 and all(r["dimension"] == "overall" for r in likert)
    for r in likert:  # left got 5, right got 1: the winner (left) model's rating is 5
        p = pairwise[r["job_id"]]
        assert r["likert"] == (5 if r["model"] == (p["model_a"] if p["outcome"] == "a" else p["model_b"]) else 1)
    block = summarise(rows, MODELS[0], seed=0, n_boot=50, gold_min_accuracy=0.0)
    assert block["simulated"] is False and block["n_raters"] == 1
    out = tmp_path / "ratings" / "export.jsonl"  # the CLI writes what score.human.source reads
    proc = subprocess.run([sys.executable, "-m", "sentinel.human.app", "export", "--db", app.db_url, "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert summary.load(out) == export.rows(eng)
    with pytest.raises(ValueError, match="all 1 raters fall below gold_min_accuracy"):  # failed the attention check
        summarise(summary.load(out), MODELS[0], seed=0, n_boot=50)


def test_cli_refuses_bad_arguments(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sentinel.human.app", "serve", "--raters", "-1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--raters: must be >= 0" in proc.stderr
    env = {**os.environ, "SENTINEL_RATING_SECRET": "short"}
    proc = subprocess.run([sys.executable, "-m", "sentinel.human.app", "raters", "--db",
                           f"sqlite:///{tmp_path / 'r.db'}"], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode != 0 and "SENTINEL_RATING_SECRET: must be at least 32 characters" in proc.stderr


def test_item_order_and_sides_are_randomised_per_rater_and_secret():
    tasks = [f"{i:016x}" for i in range(6)]
    secret = b"s" * 32
    orders = {tuple(sorted(tasks, key=lambda t: tokens.order_key(secret, f"r{r}", t))) for r in range(40)}
    assert len(orders) > 20  # 720 possible orders; 40 raters almost never share one
    sides = [tokens.swapped(secret, f"r{r}", t) for r in range(200) for t in tasks]
    assert 0.45 < sum(sides) / len(sides) < 0.55  # 1,200 fair coin flips
    assert [tokens.swapped(b"t" * 32, "r0", t) for t in tasks] != [tokens.swapped(secret, "r0", t) for t in tasks] or \
        [tokens.order_key(b"t" * 32, "r0", t) for t in tasks] != [tokens.order_key(secret, "r0", t) for t in tasks]
