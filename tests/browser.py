"""Headless Debian Chromium through Selenium, for tests of pages the project serves or writes.

Never downloads a browser: it uses /usr/bin/chromium and /usr/bin/chromedriver (Debian packages
`chromium` and `chromium-driver`; .ci/run installs them). Without them the test is skipped, except
under CI (env CI set), where a missing browser is a failure.
"""
from __future__ import annotations

import os
import shutil
import tempfile

import pytest

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage")


def require_chromium() -> None:
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        message = f"needs Debian chromium + chromium-driver ({CHROMIUM}, {CHROMEDRIVER})"
        if os.environ.get("CI"):
            pytest.fail(message + " in CI")
        pytest.skip(message)


def chromium():
    """A started headless Chromium WebDriver with browser console logging on; caller quits it."""
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in FLAGS:
        opts.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="sentinel-chromium-")
    opts.add_argument(f"--user-data-dir={profile}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver._sentinel_profile = profile  # removed by quit()
    original_quit = driver.quit

    def quit_and_clean():
        original_quit()
        shutil.rmtree(profile, ignore_errors=True)

    driver.quit = quit_and_clean
    return driver
