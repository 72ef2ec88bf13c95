"""One headless Chromium for the browser tests (reports, docs site), driven by selenium through
the Debian chromedriver: nothing is downloaded, the profile is a temp folder removed afterwards."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
MISSING = CHROMIUM is None or CHROMEDRIVER is None
WHY_MISSING = ("headless browser test needs chromium and chromedriver (Debian: apt-get install "
               "chromium chromium-driver; .ci/run installs them)")
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-dev-shm-usage")


def chromium(width: int, height: int, *extra: str) -> Iterator:
    """Yield a webdriver with the browser console logged; ``extra`` Chromium flags."""
    pytest.importorskip("selenium", reason="the browser test drives chromium with selenium "
                                           "(pip install 'algolens[browser]')")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="algolens-chromium-")
    for flag in (*_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}", *extra):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # an explicit driver path: selenium's driver manager never runs (nothing is downloaded)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
