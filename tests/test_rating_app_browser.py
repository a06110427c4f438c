"""A rater in headless Chromium (Debian's `chromium` + `chromium-driver`, driven by Selenium).

Skipped with a reason when Chromium is absent outside CI; with the env var CI set it fails instead.
"""
from __future__ import annotations

import base64
import json
import os
import shutil

import pytest
import sqlalchemy as sa

from rating_app_server import MODELS, running
from sentinel.human.app import db

CHROMIUM, CHROMEDRIVER = shutil.which("chromium") or "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage")
pytestmark = pytest.mark.slow


def _require_chromium() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(p)]
    if missing:
        reason = f"{missing} not installed (apt-get install -y chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {reason}")
        pytest.skip(reason)


@pytest.fixture
def browser(tmp_path):
    _require_chromium()
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never download a browser or driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=CHROMEDRIVER))
    driver.execute_cdp_cmd("Network.enable", {})
    try:
        yield driver
    finally:
        driver.quit()


def _received(driver) -> list[bytes]:
    """Every URL, header and body the browser received so far (from the DevTools network log)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script("return Array.from(document.images).every(i => i.complete)"))
    out = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] != "Network.responseReceived":
            continue
        resp = msg["params"]["response"]
        out.append((resp["url"] + json.dumps(resp.get("headers", {}))).encode())
        try:
            body = driver.execute_cdp_cmd("Network.getResponseBody", {"requestId": msg["params"]["requestId"]})
        except Exception:  # noqa: BLE001 - bodies of redirects are not kept by Chromium
            continue
        out.append(base64.b64decode(body["body"]) if body["base64Encoded"] else body["body"].encode())
    return out


def wait_text(driver, element_id: str, text: str) -> None:
    """Wait for the next page: the element shows `text` (stale elements of the old page are retried)."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def shown(d):
        try:
            return d.find_element(By.ID, element_id).text == text
        except (NoSuchElementException, StaleElementReferenceException):
            return False
    WebDriverWait(driver, 20, ignored_exceptions=()).until(shown, f"#{element_id} never showed {text!r}")


def test_rater_completes_comparisons_by_click_and_keyboard(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    with running(tmp_path / "app", raters=1, rate_limit_per_minute=100) as app:
        received: list[bytes] = []
        browser.get(app.base + "/rate")
        assert "missing rater token" in browser.find_element(By.TAG_NAME, "body").text
        browser.get(app.links[0])
        wait_text(browser, "progress", "1 of 5")
        received += _received(browser)
        browser.find_element(By.ID, "choice-right").click()                       # 1: mouse
        wait_text(browser, "progress", "2 of 5")
        received += _received(browser)
        browser.find_element(By.TAG_NAME, "body").send_keys("1")                  # 2: key "1" = left
        wait_text(browser, "progress", "3 of 5")
        received += _received(browser)
        select = browser.find_element(By.NAME, "likert_left_overall")            # 3: Likert by keyboard
        select.send_keys("4")
        assert Select(select).first_selected_option.text == "4"
        for _ in range(40):  # keyboard only: Tab through the form to "Right is better", then Enter
            browser.switch_to.active_element.send_keys(Keys.TAB)
            if browser.switch_to.active_element.get_attribute("id") == "choice-right":
                break
        browser.switch_to.active_element.send_keys(Keys.ENTER)
        wait_text(browser, "progress", "4 of 5")
        received += _received(browser)
        browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_DOWN)     # 4: arrow down = tie
        wait_text(browser, "progress", "5 of 5")
        received += _received(browser)
        browser.find_element(By.ID, "choice-left").click()                       # 5: mouse
        wait_text(browser, "progress", "Completed 5 of 5.")
        received += _received(browser)
        assert len(received) > 10  # pages, images and headers really were captured
        assert any(b.startswith(b"\x89PNG") for b in received) and any(b"<html" in b for b in received)
        assert not [m for m in MODELS for blob in received if m.encode() in blob]
        with sa.create_engine(app.db_url).connect() as conn:
            rows = conn.execute(sa.select(db.RATINGS).order_by(db.RATINGS.c.id)).all()
    assert len(rows) == 5
    assert [r.outcome == "tie" for r in rows] == [False, False, False, True, False]
    assert sum(bool(r.likert_a) + bool(r.likert_b) for r in rows) == 1
    assert {**rows[2].likert_a, **rows[2].likert_b} == {"overall": 4}
