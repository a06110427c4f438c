"""The rating app's rubric: configured, shown on the page, stored on every vote, carried by the export;
a database from before the rubric column still opens and exports (its votes under the legacy rubric).

In-process (Flask's test client on the real app and a real SQLite file); the loopback server tests
are in test_rating_app.py.
"""
from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa

from rating_app_server import make_items
from sentinel.config import ConfigError
from sentinel.human.app import db, export, server, tokens

SECRET = b"s" * 40


def _rater(eng) -> str:
    with eng.begin() as conn:
        conn.execute(db.RATERS.insert().values(id="r1", created_at=time.time()))
    return tokens.issue(SECRET, "r1")


def _vote(client, token: str) -> str:
    html = client.get(f"/rate?t={token}").get_data(as_text=True)
    form = {"t": token, "task": re.search(r'name="task" value="([0-9a-f]{16})"', html).group(1), "choice": "left",
            "likert_left_overall": "4"}
    csrf = re.search(r'name="csrf" value="([^"]+)"', html)
    if csrf:
        form["csrf"] = csrf.group(1)
    assert client.post("/rate", data=form).status_code == 303
    return html


def test_the_configured_rubric_is_shown_and_stored_on_each_vote(tmp_path):
    records_path, images, records = make_items(tmp_path, jobs=2)
    eng = db.engine(f"sqlite:///{tmp_path / 'r.db'}")
    db.load_items(eng, records, images, 0, 0)
    token = _rater(eng)
    client = server.create_app(eng, SECRET, rubric="human-v1").test_client()
    html = _vote(client, token)
    assert '<span id="rubric">human-v1</span>' in html and "human-v2" not in html
    rows = export.rows(eng)
    assert rows and {r["rubric"] for r in rows} == {"human-v1"}  # pairwise and likert rows alike
    with eng.connect() as conn:
        assert conn.execute(sa.select(db.RATINGS.c.rubric)).scalars().all() == ["human-v1"]
    with pytest.raises(ConfigError, match=r"unknown rubric 'human-v7' \(valid: human-v1, human-v2"):
        server.create_app(eng, SECRET, rubric="human-v7")


OLD_SCHEMA = """
CREATE TABLE items (id VARCHAR(32) PRIMARY KEY, model VARCHAR(200), job_id VARCHAR(200) NOT NULL,
  category VARCHAR(200) NOT NULL, sha256 VARCHAR(64) NOT NULL, png BLOB NOT NULL);
CREATE TABLE tasks (id VARCHAR(32) PRIMARY KEY, kind VARCHAR(16) NOT NULL, category VARCHAR(200) NOT NULL,
  job_id VARCHAR(200) NOT NULL, prompt TEXT NOT NULL, item_a VARCHAR(32) NOT NULL, item_b VARCHAR(32) NOT NULL,
  expected VARCHAR(8));
CREATE TABLE raters (id VARCHAR(32) PRIMARY KEY, created_at FLOAT NOT NULL);
CREATE TABLE ratings (id INTEGER PRIMARY KEY AUTOINCREMENT, rater_id VARCHAR(32) NOT NULL,
  task_id VARCHAR(32) NOT NULL, outcome VARCHAR(8) NOT NULL, likert_a JSON NOT NULL, likert_b JSON NOT NULL,
  created_at FLOAT NOT NULL, UNIQUE (rater_id, task_id));
INSERT INTO items VALUES ('ia', 'm1', 'j', 'c', 'sa', x'00'), ('ib', 'm2', 'j', 'c', 'sb', x'00');
INSERT INTO tasks VALUES ('t1', 'compare', 'c', 'j', 'p', 'ia', 'ib', NULL);
INSERT INTO raters VALUES ('r0', 0);
INSERT INTO ratings (rater_id, task_id, outcome, likert_a, likert_b, created_at)
  VALUES ('r0', 't1', 'a', '{"overall": 5}', '{}', 0);
"""


def test_a_database_from_before_the_rubric_column_opens_and_exports(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    raw = sa.create_engine(url)
    with raw.begin() as conn:
        for statement in filter(str.strip, OLD_SCHEMA.split(";")):
            conn.exec_driver_sql(statement)
    eng = db.engine(url)  # adds ratings.rubric, filled for the old votes
    rows = export.rows(eng)
    assert {r["kind"] for r in rows} == {"pairwise", "likert"}
    assert {r["rubric"] for r in rows} == {db.LEGACY_RUBRIC} == {"human-v2"}
    assert db.engine(url) is not None  # opening again is a no-op
