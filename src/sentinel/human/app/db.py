"""Rating-app storage (SQLAlchemy Core): SQLite by default, any SQLAlchemy URL (PostgreSQL) works.

Model identity lives only in `items.model`; everything a rater's browser sees is an opaque random id.
Every vote stores the rubric it was given under (`ratings.rubric`, from score.human.rubric); a
database created before that column existed gets it on open, filled with LEGACY_RUBRIC.
"""
from __future__ import annotations

import itertools
import secrets

import numpy as np
import sqlalchemy as sa
from PIL import Image, ImageFilter

from sentinel.human.app import display
from sentinel.images import load_rgb

LEGACY_RUBRIC = "human-v2"  # the rubric the page showed before votes stored theirs
META = sa.MetaData()
ITEMS = sa.Table(
    "items", META,
    sa.Column("id", sa.String(32), primary_key=True),      # opaque, random
    sa.Column("model", sa.String(200), nullable=True),     # NULL for gold/attention variants
    sa.Column("job_id", sa.String(200), nullable=False),
    sa.Column("category", sa.String(200), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("png", sa.LargeBinary, nullable=False),      # re-encoded, no metadata
)
TASKS = sa.Table(
    "tasks", META,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),      # compare | gold | attention
    sa.Column("category", sa.String(200), nullable=False),
    sa.Column("job_id", sa.String(200), nullable=False),
    sa.Column("prompt", sa.Text, nullable=False),
    sa.Column("item_a", sa.String(32), sa.ForeignKey("items.id"), nullable=False),
    sa.Column("item_b", sa.String(32), sa.ForeignKey("items.id"), nullable=False),
    sa.Column("expected", sa.String(8), nullable=True),    # a | b | tie for gold/attention
)
RATERS = sa.Table(
    "raters", META,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("created_at", sa.Float, nullable=False),
)
RATINGS = sa.Table(
    "ratings", META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rater_id", sa.String(32), sa.ForeignKey("raters.id"), nullable=False),
    sa.Column("task_id", sa.String(32), sa.ForeignKey("tasks.id"), nullable=False),
    sa.Column("outcome", sa.String(8), nullable=False),    # a | b | tie (after undoing left/right)
    sa.Column("likert_a", sa.JSON, nullable=False),
    sa.Column("likert_b", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("rubric", sa.String(64), nullable=False, server_default=LEGACY_RUBRIC),  # rubrics/<rubric>.md
    sa.UniqueConstraint("rater_id", "task_id"),
)


def engine(url: str) -> sa.Engine:
    eng = sa.create_engine(url)
    META.create_all(eng)
    _add_rubric_column(eng)
    return eng


def _add_rubric_column(eng: sa.Engine) -> None:
    """Older databases lack ratings.rubric: add it (their votes were all cast under LEGACY_RUBRIC)."""
    if "rubric" in {c["name"] for c in sa.inspect(eng).get_columns("ratings")}:
        return
    with eng.begin() as conn:
        conn.execute(sa.text(f"ALTER TABLE ratings ADD COLUMN rubric VARCHAR(64) NOT NULL DEFAULT '{LEGACY_RUBRIC}'"))


def _png_bytes(img: Image.Image, display_px: int, where: str) -> bytes:
    return display.served_png(img, display_px, where)  # one size, fresh encode: matches no published file


def _degraded(img: Image.Image, seed: int) -> Image.Image:
    """Gold 'clearly worse' variant: 8x pixelated, blurred and heavily noised."""
    w, h = img.size
    small = img.resize((max(1, w // 8), max(1, h // 8)), Image.Resampling.NEAREST).resize((w, h))
    arr = np.asarray(small.filter(ImageFilter.GaussianBlur(2)), dtype=np.float64)
    arr += np.random.default_rng(seed).normal(0, 80, arr.shape)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _add_item(conn, rec: dict, img: Image.Image, model: str | None, display_px: int) -> str:
    item_id = secrets.token_hex(8)
    conn.execute(ITEMS.insert().values(id=item_id, model=model, job_id=rec["job_id"], category=rec["category"],
                                       sha256=rec["sha256"], png=_png_bytes(img, display_px, rec["image"])))
    return item_id


def load_items(eng: sa.Engine, records: list[dict], images_dir, n_gold: int, n_attention: int,
               display_px: int = display.DISPLAY_PX) -> int:
    """Fill items and tasks once (no-op if tasks exist): every pair of models per job, plus checks.
    Images are stored as served: fitted to `display_px` and re-encoded (display.py)."""
    with eng.begin() as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(TASKS)).scalar():
            display.check_stored((r.png for r in conn.execute(sa.select(ITEMS.c.png))), display_px)
            return 0
        by_job: dict[str, list[dict]] = {}
        for rec in records:
            by_job.setdefault(rec["job_id"], []).append(rec)
        ids, n = {}, 0
        for job_id, recs in sorted(by_job.items()):
            for rec in recs:
                ids[(rec["model"], job_id)] = _add_item(conn, rec, load_rgb(images_dir / rec["image"]), rec["model"],
                                                     display_px)
            for x, y in itertools.combinations(sorted(recs, key=lambda r: r["model"]), 2):
                conn.execute(TASKS.insert().values(
                    id=secrets.token_hex(8), kind="compare", category=x["category"], job_id=job_id,
                    prompt=x["prompt"], item_a=ids[(x["model"], job_id)], item_b=ids[(y["model"], job_id)]))
                n += 1
        checks = [("gold", i) for i in range(n_gold)] + [("attention", i) for i in range(n_attention)]
        for (kind, i), rec in zip(checks, itertools.cycle(sorted(records, key=lambda r: r["job_id"]))):
            clean = ids[(rec["model"], rec["job_id"])]
            other = clean if kind == "attention" else _add_item(
                conn, rec, _degraded(load_rgb(images_dir / rec["image"]), i), None, display_px)
            prompt = ("Attention check: both images are the same. Choose Tie." if kind == "attention"
                      else rec["prompt"])
            conn.execute(TASKS.insert().values(id=secrets.token_hex(8), kind=kind, category=rec["category"],
                                               job_id=f"{kind}-{i}", prompt=prompt, item_a=clean, item_b=other,
                                               expected="tie" if kind == "attention" else "a"))
            n += 1
    return n


def image_png(eng: sa.Engine, item_id: str) -> bytes | None:
    with eng.connect() as conn:
        return conn.execute(sa.select(ITEMS.c.png).where(ITEMS.c.id == item_id)).scalar()
