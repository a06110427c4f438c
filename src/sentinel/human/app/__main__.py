"""`python -m sentinel.human.app serve|raters|export`: the blind rating app.

    python -m sentinel.human.app serve --db sqlite:///ratings.db --raters 5     # prints one link per rater
    python -m sentinel.human.app export --db sqlite:///ratings.db --out ratings/export.jsonl

Items come from params.yaml's paths.records / paths.images (the generate stage's output) unless
--records / --images are given. It binds 127.0.0.1 only. Set SENTINEL_RATING_SECRET (>= 32
characters) for links that survive a restart; `raters` issues more links against the same secret.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from sentinel.provenance import read_jsonl, write_jsonl
from sentinel.human.app import db, export, server, tokens

HOST = "127.0.0.1"


def _issue(eng: sa.Engine, secret: bytes, n: int, port: int) -> list[str]:
    import secrets
    links = []
    with eng.begin() as conn:
        for _ in range(n):
            rater_id = secrets.token_hex(8)
            conn.execute(db.RATERS.insert().values(id=rater_id, created_at=time.time()))
            links.append(f"http://{HOST}:{port}/rate?t={tokens.issue(secret, rater_id)}")
    return links


def _default_paths() -> tuple[str, str]:
    from sentinel import config
    paths = config.load("params.yaml", sections=("paths",))["paths"]
    return paths.records, paths.images


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sentinel.human.app", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("serve", "raters", "export"):
        s = sub.add_parser(name)
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
    exp.add_argument("--out", required=True, help="ratings JSONL to write (track it with DVC)")
    args = p.parse_args(argv)
    if args.cmd in ("serve", "raters") and args.raters < 0:
        p.error(f"--raters: must be >= 0, got {args.raters}")
    eng = db.engine(args.db)
    if args.cmd == "export":
        rows = export.rows(eng)
        write_jsonl(args.out, rows)
        print(f"wrote {len(rows)} rows to {args.out}")
        return 0
    secret, from_env = tokens.secret_from_env()
    if not from_env:
        print(f"note: {tokens.SECRET_ENV} unset; a random secret was generated and these links stop working "
              "when the server stops", file=sys.stderr)
    if args.cmd == "serve":
        default_records, default_images = _default_paths() if not (args.records and args.images) else ("", "")
        records = read_jsonl(args.records or default_records)
        n = db.load_items(eng, records, Path(args.images or default_images), args.gold, args.attention)
        print(f"{n} new tasks loaded", file=sys.stderr)
    for link in _issue(eng, secret, args.raters, args.port):
        print(link, flush=True)
    if args.cmd == "serve":
        server.create_app(eng, secret, args.rate_limit_per_minute).run(host=HOST, port=args.port, debug=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
