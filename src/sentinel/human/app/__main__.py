"""`sentinel rate serve|raters|export`: the blind rating app.

    sentinel rate serve --db sqlite:///ratings.db --raters 5     # prints one link per rater
    sentinel rate export --db sqlite:///ratings.db --out ratings/export.jsonl

Items come from params.yaml's paths.records / paths.images (the generate stage's output) unless
--records / --images are given. It binds 127.0.0.1 only. Set SENTINEL_RATING_SECRET (>= 32
characters) for links that survive a restart; `raters` issues more links against the same secret.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from sentinel.provenance import read_jsonl, write_jsonl
from sentinel.human.app import db, display, export, guard, server, tokens

HOST = "127.0.0.1"
log = logging.getLogger("sentinel.human.app")


def _issue(eng: sa.Engine, secret: bytes, n: int, port: int) -> list[str]:
    import secrets
    links = []
    with eng.begin() as conn:
        for _ in range(n):
            rater_id = secrets.token_hex(8)
            conn.execute(db.RATERS.insert().values(id=rater_id, created_at=time.time()))
            links.append(f"http://{HOST}:{port}/rate?t={tokens.issue(secret, rater_id)}")
    return links


def _configured_rubric() -> str:
    """score.human.rubric from ./params.yaml: the rubric the score stage will expect of these votes."""
    from sentinel import config
    if not Path("params.yaml").is_file():
        raise config.ConfigError("--rubric: no params.yaml here to read score.human.rubric from; pass --rubric")
    return config.load("params.yaml", sections=("score",))["score"].human.rubric


def _default_paths() -> tuple[str, str]:
    from sentinel import config
    paths = config.load("params.yaml", sections=("paths",))["paths"]
    return paths.records, paths.images


def main(argv: list[str] | None = None, prog: str = "sentinel rate") -> int:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    helps = {"serve": "load the generated images as tasks, print rater links, serve the page on 127.0.0.1",
             "raters": "issue more rater links against the same secret", "export": "write the ratings as JSONL"}
    for name in ("serve", "raters", "export"):
        s = sub.add_parser(name, help=helps[name])
        s.add_argument("--db", default="sqlite:///ratings.db", help="SQLAlchemy URL (SQLite or PostgreSQL)")
    serve, raters, exp = sub.choices["serve"], sub.choices["raters"], sub.choices["export"]
    for s in (serve, raters):
        s.add_argument("--raters", type=int, default=1, help="new rater links to issue")
        s.add_argument("--port", type=int, default=8765)
    serve.add_argument("--records", help="records JSONL (default: params.yaml paths.records)")
    serve.add_argument("--images", help="images folder (default: params.yaml paths.images)")
    serve.add_argument("--gold", type=int, default=4, help="gold items (clean vs degraded image)")
    serve.add_argument("--attention", type=int, default=2, help="attention-check items (identical pair)")
    serve.add_argument("--rate-limit-per-minute", type=int, default=30)
    serve.add_argument("--display-px", type=int, default=display.DISPLAY_PX,
                       help="every image is shown fitted to this square size (pick one no model generates natively)")
    serve.add_argument("--rubric", help="rubric shown and stored on each vote (default: params.yaml score.human.rubric)")
    exp.add_argument("--out", required=True, help="ratings JSONL to write (track it with DVC)")
    args = p.parse_args(argv)
    if args.cmd in ("serve", "raters") and args.raters < 0:
        p.error(f"--raters: must be >= 0, got {args.raters}")
    if args.cmd == "serve" and args.display_px < 16:
        p.error(f"--display-px: must be >= 16, got {args.display_px}")
    if args.cmd == "serve":  # refuse an unknown rubric before any work
        from sentinel.human.rubric import check
        args.rubric = check(args.rubric or _configured_rubric(), "--rubric")
    eng = db.engine(args.db)
    if args.cmd == "export":
        rows = export.rows(eng)
        write_jsonl(args.out, rows)
        log.info("wrote %d rows to %s", len(rows), args.out)
        return 0
    secret, from_env = tokens.secret_from_env()
    if not from_env:
        log.warning("%s unset; a random secret was generated and these links stop working when the server stops",
                    tokens.SECRET_ENV)
    if args.cmd == "serve":
        default_records, default_images = _default_paths() if not (args.records and args.images) else ("", "")
        records = read_jsonl(args.records or default_records)
        n = db.load_items(eng, records, Path(args.images or default_images), args.gold, args.attention,
                          display_px=args.display_px)
        log.info("%d new tasks loaded", n)
    for link in _issue(eng, secret, args.raters, args.port):
        print(link, flush=True)  # the links are this command's output
    if args.cmd == "serve":
        app = server.create_app(eng, secret, args.rate_limit_per_minute, rubric=args.rubric)
        app.run(host=HOST, port=args.port, debug=False, request_handler=guard.RedactingRequestHandler)
    return 0


if __name__ == "__main__":
    from sentinel.console import run_main

    sys.exit(run_main("rate", main))
