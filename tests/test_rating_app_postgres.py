"""The rating app on a real PostgreSQL server (a throwaway cluster on loopback), through SQLAlchemy.

Skipped with a reason when PostgreSQL's server binaries (Debian `postgresql`) or psycopg are absent.
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import urllib.parse
from pathlib import Path

import pytest
import sqlalchemy as sa

from rating_app_server import running
from sentinel.human.app import db, export
from test_rating_app import call, csrf_of, current_task, token_of

pytestmark = pytest.mark.slow
BINDIR = next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)), "")


def _as_postgres_user() -> list[str]:
    """PostgreSQL refuses to run as root: run its binaries as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@pytest.fixture
def postgres_url():
    pytest.importorskip("psycopg", reason="psycopg not installed (pip install 'psycopg[binary]')")
    if not os.path.exists(f"{BINDIR}/initdb"):
        pytest.skip("PostgreSQL server binaries not installed (apt-get install -y postgresql)")
    data = Path(tempfile.mkdtemp(prefix="sentinel-pg-"))  # outside pytest's root-only tmp tree
    if os.geteuid() == 0:
        shutil.chown(data, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = _as_postgres_user()
    subprocess.run(run + [f"{BINDIR}/initdb", "-D", str(data), "-U", "postgres", "--auth=trust"], check=True,
                   capture_output=True, timeout=120)
    subprocess.run(run + [f"{BINDIR}/pg_ctl", "-D", str(data), "-w", "-l", str(data / "log"), "-o",
                          f"-h 127.0.0.1 -p {port} -k {data}", "start"], check=True, capture_output=True, timeout=120)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            subprocess.run(run + [f"{BINDIR}/pg_ctl", "-D", str(data), "-m", "fast", "stop"], timeout=60,
                           capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


def test_rating_round_trip_on_postgresql(postgres_url, tmp_path):
    app_dir = tmp_path / "app"
    with running(app_dir, raters=1, db_url=postgres_url) as app:
        token = token_of(app.links[0])
        task, _, html = current_task(app.base, token)
        csrf = csrf_of(html)
        assert call(app.base, "POST", "/rate", {"t": token, "task": task, "choice": "tie", "csrf": csrf,
                                                "likert_left_overall": "3"})[0] == 303
        assert call(app.base, "POST", "/rate", {"t": token, "task": task, "choice": "tie", "csrf": csrf})[0] == 409
        assert current_task(app.base, token)[0] != task
    eng = sa.create_engine(postgres_url)
    assert urllib.parse.urlsplit(str(eng.url)).scheme == "postgresql+psycopg"
    with eng.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.RATINGS)).scalar() == 1
    rows = export.rows(eng)
    assert rows and all(r["rater"] == token.split(".")[0] for r in rows)


def test_two_server_processes_on_one_database_keep_the_rate_limit_and_answer_409(postgres_url, tmp_path):
    """The in-process lock cannot see another process: the rater row lock (SELECT ... FOR UPDATE) must."""
    from collections import Counter

    from test_rating_app_blind import _burst

    with running(tmp_path / "one", raters=2, db_url=postgres_url, rate_limit_per_minute=3, jobs=6) as one, \
            running(tmp_path / "two", raters=0, db_url=postgres_url, rate_limit_per_minute=3, jobs=6) as two:
        bases = (one.base, two.base)
        token = token_of(one.links[0])
        task, _, html = current_task(one.base, token)
        form = {"t": token, "task": task, "choice": "left", "csrf": csrf_of(html)}
        statuses = _burst(20, lambda i: call(bases[i % 2], "POST", "/rate", form)[0])
        assert Counter(statuses) == {303: 1, 409: 19}, statuses
        token = token_of(one.links[1])
        with sa.create_engine(postgres_url).connect() as conn:
            tasks = [r.id for r in conn.execute(sa.select(db.TASKS.c.id))]
        form = {"t": token, "choice": "tie", "csrf": csrf_of(current_task(one.base, token)[2])}
        statuses = _burst(len(tasks), lambda i: call(bases[i % 2], "POST", "/rate", {**form, "task": tasks[i]})[0])
        assert Counter(statuses) == {303: 3, 429: len(tasks) - 3}, statuses
    with sa.create_engine(postgres_url).connect() as conn:
        per_rater = Counter(r.rater_id for r in conn.execute(sa.select(db.RATINGS.c.rater_id)))
    assert sorted(per_rater.values()) == [1, 3]
