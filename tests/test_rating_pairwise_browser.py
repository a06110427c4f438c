"""A study rated in headless Chromium with the pairwise buttons only (no Likert), exported with
`sentinel rate export`, scored by the score stage's own code (gather.combine, score.human.source =
the export) and ranked and rendered by the report's: every model gets a human score, a composite and
a rank, and report.md and report.html show the Bradley–Terry strengths with their CIs.

The raters are scripted: each answers gold and attention items correctly (read from the app's
database, as an attentive person would see them) and otherwise prefers the first model in a stated
pattern, through whichever side the blind page shows it on.
"""
from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

import browser as chromium_browser
from model_configs import plain_model
from rating_app_server import MODELS, running
from sentinel import config, gather
from sentinel.human.app import db
from sentinel.report.fmt import ci, f

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
JOBS = 4
# (rater, job) -> the model the rater prefers, or "tie": MODELS[0] wins 5 of 8, MODELS[1] 2, one tie
PREFER = {(0, 0): 0, (0, 1): 0, (0, 2): 1, (0, 3): 0, (1, 0): 0, (1, 1): "tie", (1, 2): 0, (1, 3): 1}


def _choose(conn, rater: int, task_id: str, left_item: str) -> str:
    task = conn.execute(sa.select(db.TASKS).where(db.TASKS.c.id == task_id)).one()
    if task.kind == "attention":
        return "tie"
    if task.kind == "gold":
        want = task.item_a if task.expected == "a" else task.item_b
    else:
        prefer = PREFER[(rater, int(task.job_id.rsplit("-", 1)[1]))]
        if prefer == "tie":
            return "tie"
        models = {i.id: i.model for i in conn.execute(sa.select(db.ITEMS).where(
            db.ITEMS.c.id.in_([task.item_a, task.item_b])))}
        want = next(item for item, m in models.items() if m == MODELS[prefer])
    return "left" if want == left_item else "right"


def _rate(driver, app, rater: int) -> int:
    """Click only the pairwise buttons until the page says the study is complete; the number of votes."""
    from selenium.webdriver.common.by import By
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(app.links[rater])
    eng, clicks = sa.create_engine(app.db_url), 0
    while "Completed" not in driver.find_element(By.ID, "progress").text:
        before = driver.find_element(By.ID, "progress").text
        task_id = driver.find_element(By.NAME, "task").get_attribute("value")
        left_item = re.search(r"/img/([^?]+)", driver.find_element(By.ID, "img-left").get_attribute("src")).group(1)
        with eng.connect() as conn:
            choice = _choose(conn, rater, task_id, left_item)
        driver.find_element(By.ID, f"choice-{choice}").click()
        clicks += 1
        # The click submits a form: the page is replaced, so between the find and the read the old page's
        # element is stale, missing, or (Chromium) "Node with given id does not belong to the document", a
        # bare WebDriverException. Any of them means "not loaded yet": keep polling; 20 s without the new
        # page still fails the test.
        WebDriverWait(driver, 20, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.find_element(By.ID, "progress").text != before)
    return clicks


def _score_and_report(export: Path, records: list[dict], images: Path) -> tuple[dict, str, str]:
    from sentinel.report.html import render_html
    from sentinel.report.markdown import render
    from sentinel.report.stage import build, plot_data

    cfg = config.load(ROOT / "params.yaml", sections=("suite", "model", "score", "report", "paths", "cost"))
    cfg["model"] = {m: plain_model(m) for m in MODELS}
    sc = dataclasses.replace(cfg["score"], human=dataclasses.replace(cfg["score"].human, source=str(export)))
    block = {"fid": 20.0, "kid_mean": 0.01, "kid_std": 0.001, "clip_score": 30.0, "n_generated": JOBS,
             "n_reference": 8, "fid_ci": [19.0, 21.0], "clip_score_ci": [29.0, 31.0]}  # stated, not measured
    entries = {m: {"overall": block, "categories": {}, "plumbing": False, "n_failed": 0} for m in MODELS}
    ok = [{**r, "status": "ok", "plumbing": False} for r in records]
    score, _ = gather.combine(sc, ok, entries, {}, {}, images)
    card = {k: getattr(cfg["cost"], k) for k in cfg["cost"].__dataclass_fields__}
    board = build(cfg, score, {"models": {}, "price_card": card}, {"models": {}}, ok)
    board["attribute_breakdown"], board["data"], board["judge_agreement"] = {}, None, score.get("judge_agreement")
    return board, render(board, records=ok), render_html(board, ok, images, plot_data(board, {"models": {}}))


def test_pairwise_buttons_only_study_gives_every_model_a_rank_and_bt_strengths_in_the_report(tmp_path):
    driver = chromium_browser.chromium()
    try:
        with running(tmp_path / "app", raters=2, jobs=JOBS) as app:
            votes = [_rate(driver, app, rater) for rater in (0, 1)]
            export = tmp_path / "ratings.jsonl"
            subprocess.run([sys.executable, "-m", "sentinel", "rate", "export", "--db", app.db_url, "--out",
                            str(export)], check=True, capture_output=True, text=True, timeout=120)
            records, images = app.records, tmp_path / "app" / "images"
    finally:
        driver.quit()
    assert votes == [JOBS + 2] * 2  # every compare, gold and attention task, by button
    rows = [json.loads(line) for line in export.read_text().splitlines()]
    assert rows and not [r for r in rows if r.get("kind") == "likert" or r.get("likert_a") or r.get("likert_b")]
    board, md, html = _score_and_report(export, records, images)
    by_model = {r["model"]: r for r in board["models"]}
    assert sorted(by_model) == sorted(MODELS)
    assert [by_model[m]["rank"] for m in MODELS] == [1, 2]  # the preferred model leads
    for m in MODELS:
        r = by_model[m]
        assert r["human_source"] == "pairwise" and r["human"] is not None and r["composite"] is not None
        lo, hi = r["human_bt_ci"]
        assert lo < r["human_bt_strength"] < hi and r["human_bt_n_votes"] == 8
        cell = f"| {m} | pairwise | {f(r['human'], 1)} {ci(r['human_ci'], 1)} | " \
               f"{f(r['human_bt_strength'], 2)} {ci(r['human_bt_ci'], 2)} | 8 |"  # the report's own number format
        assert cell in md, (cell, md)
        assert f"{f(r['human_bt_strength'], 2)} {ci(r['human_bt_ci'], 2)}".replace("[", "") in html.replace("[", "")
    assert "Bradley–Terry θ [CI]" in md and "Bradley–Terry" in html
