"""Flask app: blind pairwise comparisons with tie and optional Likert per rubric dimension.

Routes: GET /rate?t=TOKEN (next comparison), POST /rate (submit), GET /img/<opaque id>?t=TOKEN.
A missing token is refused with 401, a forged one with 403, a malformed submission with 400,
a duplicate with 409 and more than `rate_limit_per_minute` submissions a minute with 429; refusals
are plain text that never echoes the request. A POST also needs the page's CSRF token and, when the
browser sends one, this server's Origin (guard.py); a Host other than 127.0.0.1/localhost is a
400 (DNS rebinding). Votes are written under one lock per app and a
row lock on the rater, so concurrent posts cannot exceed the rate limit and a duplicate is a 409.
"""
from __future__ import annotations

import secrets
import threading
import time

import sqlalchemy as sa
from flask import Flask, Response, abort, redirect, render_template_string, request

from sentinel.human.app import db, guard, tokens
from sentinel.human.app.guard import refuse
from sentinel.human.app.page import DIMENSIONS, PAGE

CHOICES = ("left", "right", "tie")
TASK_ID_CHARS = 16
ALLOWED_FIELDS = {"t", "task", "choice", "csrf"} | {f"likert_{s}_{d}" for s in ("left", "right") for d in DIMENSIONS}
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin", "X-Content-Type-Options": "nosniff",
           "X-Frame-Options": "DENY"}


def _rater(app: Flask, token: str | None) -> str:
    if not token:
        refuse("missing rater token: open the link you were given (…/rate?t=<token>)", 401)
    rater_id = tokens.verify(app.config["SECRET"], token)
    if rater_id is None:
        refuse("invalid rater token", 403)
    with app.config["ENGINE"].connect() as conn:
        if conn.execute(sa.select(db.RATERS.c.id).where(db.RATERS.c.id == rater_id)).first() is None:
            refuse("unknown rater", 403)
    return rater_id


def _pending(app: Flask, rater_id: str) -> tuple[list[sa.Row], int]:
    """This rater's unrated tasks in their own random order, and the total task count."""
    with app.config["ENGINE"].connect() as conn:
        tasks = conn.execute(sa.select(db.TASKS)).all()
        done = {r.task_id for r in conn.execute(sa.select(db.RATINGS.c.task_id)
                                                .where(db.RATINGS.c.rater_id == rater_id))}
    todo = sorted((t for t in tasks if t.id not in done),
                  key=lambda t: tokens.order_key(app.config["SECRET"], rater_id, t.id))
    return todo, len(tasks)


def _parse(form) -> tuple[str, str, dict, dict]:
    """(task id, choice, likert left, likert right) or abort 400 naming the bad field."""
    unknown = sorted(set(form) - ALLOWED_FIELDS)
    if unknown:
        refuse(f"unknown field(s): {len(unknown)} field name(s) not accepted; the form sends only t, task, "
               "choice, csrf and likert_<left|right>_<dimension>", 400)  # never echoed: no reflected markup
    task, choice = form.get("task", ""), form.get("choice", "")
    if len(task) != TASK_ID_CHARS or not all(c in "0123456789abcdef" for c in task):
        refuse("field 'task': expected a 16-character hex id", 400)
    if choice not in CHOICES:
        refuse(f"field 'choice': expected one of {list(CHOICES)}", 400)
    likert = {"left": {}, "right": {}}
    for side in likert:
        for dim in DIMENSIONS:
            value = form.get(f"likert_{side}_{dim}", "")
            if value == "":
                continue
            if value not in {"1", "2", "3", "4", "5"}:
                refuse(f"field 'likert_{side}_{dim}': expected an integer 1-5 or empty", 400)
            likert[side][dim] = int(value)
    return task, choice, likert["left"], likert["right"]


def _record(app: Flask, rater_id: str, task_id: str, choice: str, left: dict, right: dict) -> None:
    """Store one vote: 400/429/409 refusals are decided and the row written under one lock."""
    try:
        with app.config["VOTE_LOCK"]:
            _insert(app, rater_id, task_id, choice, left, right)
    except sa.exc.IntegrityError:  # another process stored the same (rater, task) first
        refuse("this comparison is already rated", 409)


def _insert(app: Flask, rater_id: str, task_id: str, choice: str, left: dict, right: dict) -> None:
    eng, now = app.config["ENGINE"], time.time()
    with eng.begin() as conn:
        # PostgreSQL: serialise this rater's votes across server processes too (SQLite ignores FOR UPDATE)
        conn.execute(sa.select(db.RATERS.c.id).where(db.RATERS.c.id == rater_id).with_for_update())
        if conn.execute(sa.select(db.TASKS.c.id).where(db.TASKS.c.id == task_id)).first() is None:
            refuse("field 'task': no such task", 400)
        recent = conn.execute(sa.select(sa.func.count()).select_from(db.RATINGS).where(
            db.RATINGS.c.rater_id == rater_id, db.RATINGS.c.created_at > now - 60)).scalar()
        if recent >= app.config["RATE_LIMIT_PER_MINUTE"]:
            refuse("rate limit: too many submissions this minute; slow down", 429)
        if conn.execute(sa.select(db.RATINGS.c.id).where(db.RATINGS.c.rater_id == rater_id,
                                                         db.RATINGS.c.task_id == task_id)).first():
            refuse("this comparison is already rated", 409)
        swap = tokens.swapped(app.config["SECRET"], rater_id, task_id)
        outcome = "tie" if choice == "tie" else ("a" if (choice == "left") != swap else "b")
        likert_a, likert_b = (right, left) if swap else (left, right)
        conn.execute(db.RATINGS.insert().values(rater_id=rater_id, task_id=task_id, outcome=outcome,
                                                likert_a=likert_a, likert_b=likert_b, created_at=now,
                                                rubric=app.config["RUBRIC"]))


def create_app(engine: sa.Engine, secret: bytes, rate_limit_per_minute: int = 30, *, rubric: str) -> Flask:
    """`rubric` (score.human.rubric, checked against rubrics/) is shown on the page and stored on each vote."""
    from sentinel.human.rubric import check

    app = Flask(__name__)
    app.config.update(ENGINE=engine, SECRET=secret, RATE_LIMIT_PER_MINUTE=rate_limit_per_minute, RUBRIC=check(rubric),
                      MAX_CONTENT_LENGTH=16 * 1024, VOTE_LOCK=threading.Lock(),
                      TRUSTED_HOSTS=["127.0.0.1", "localhost"])  # a rebinding DNS name gets 400, not the page

    @app.after_request
    def headers(resp: Response) -> Response:
        resp.headers.update(HEADERS)
        resp.headers.setdefault("Content-Security-Policy", guard.DEFAULT_CSP)
        return resp

    @app.get("/rate")
    def page():
        token = request.args.get("t")
        rater_id = _rater(app, token)
        todo, total = _pending(app, rater_id)
        nonce = secrets.token_urlsafe(16)
        if not todo:
            html = render_template_string(PAGE, done=True, n_done=total, n_total=total)
        else:
            task = todo[0]
            a, b = task.item_a, task.item_b
            left, right = (b, a) if tokens.swapped(secret, rater_id, task.id) else (a, b)
            html = render_template_string(PAGE, done=False, token=token, task=task.id, prompt=task.prompt,
                                          csrf=guard.csrf_token(secret, rater_id),
                                          images={"left": left, "right": right}, dimensions=DIMENSIONS,
                                          n_done=total - len(todo), n_total=total, nonce=nonce,
                                          rubric=app.config["RUBRIC"])
        resp = Response(html, mimetype="text/html")
        resp.headers["Content-Security-Policy"] = guard.PAGE_CSP.format(nonce=nonce)
        return resp

    @app.post("/rate")
    def submit():
        rater_id = _rater(app, request.form.get("t"))
        task_id, choice, left, right = _parse(request.form)
        guard.check_post(secret, rater_id, request.form, request.headers.get("Origin"), request.host_url.rstrip("/"))
        _record(app, rater_id, task_id, choice, left, right)
        return redirect(f"/rate?t={request.form['t']}", code=303)

    @app.get("/img/<item_id>")
    def image(item_id: str):
        _rater(app, request.args.get("t"))
        png = db.image_png(engine, item_id) if len(item_id) == TASK_ID_CHARS else None
        if png is None:
            abort(404)
        return Response(png, mimetype="image/png")

    return app
