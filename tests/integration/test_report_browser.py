"""`algolens report` pages opened in a real browser (headless Chromium): every kind renders.

Each kind of report -- one run of each study (train, mips, clock_pizza, grokking), a benchmark
folder and a whole runs folder -- made from tiny runs made here, is opened from disk; the test
checks that every <img> decoded (naturalWidth > 0), that the console has no errors, that the
sortable tables' script runs, and takes a screenshot whose size and content it checks.

Driver: selenium with the Debian `chromium-driver` (/usr/bin/chromedriver). Why selenium rather
than playwright-over-CDP: it drives the system's chromium through the driver built for exactly
that version (same Debian source package), needs no browser download (playwright's Python package
brings its own Node driver and wants `playwright install`), is a small pure-Python wheel, and gives
the browser console log directly (`get_log("browser")`). Skipped, with the reason, when chromium,
chromedriver or selenium is missing; `.ci/run` installs all three.
"""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

from _chromium import MISSING, WHY_MISSING, chromium
from algolens.cli import main

pytestmark = pytest.mark.skipif(MISSING, reason=WHY_MISSING)
WIDTH, HEIGHT = 1280, 1600


def _cli(*args: str) -> str:
    res = CliRunner().invoke(main, list(args))
    assert res.exit_code == 0, res.output
    return res.output


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """Tiny runs of every study, then one report of each kind: name -> HTML file."""
    store = tmp_path_factory.mktemp("runs")
    s = str(store)
    _cli("train", "Bitwise_Not", "--out", s, "--threads", "1")
    _cli("mips", "--all", "--tasks", "Bitwise_Not", "--out", s)    # reuses the network
    _cli("clock-pizza", "train", "--p", "7", "--width", "8", "--steps", "30", "--quiet",
         "--threads", "1", "--out", s)
    _cli("grokking", "train", "--p", "7", "--width", "8", "--steps", "40",
         "--checkpoint-every", "20", "--quiet", "--threads", "1", "--out", s)
    for study in ("clock-pizza", "grokking"):          # untrained: read out only when forced
        [run] = (store / study.replace("-", "_")).iterdir()
        _cli(study, "analyze", run.name, "--out", s, "--force")
    out = tmp_path_factory.mktemp("html")
    made = {}
    for study in ("train", "mips", "clock_pizza", "grokking"):
        [run] = [d for d in (store / study).iterdir() if (d / "config.json").is_file()]
        made[study] = out / f"{study}.html"
        _cli("report", str(run), "--out", str(made[study]))
    made["benchmark"] = out / "benchmark.html"
    _cli("report", str(store / "mips"), "--out", str(made["benchmark"]))
    made["runs"] = out / "runs.html"
    _cli("report", s, "--out", str(made["runs"]), "--recompute")
    return made


@pytest.fixture(scope="module")
def browser():
    yield from chromium(WIDTH, HEIGHT)


# the fewest images each page must show: the evidence its claim rests on
MIN_IMAGES = {"train": 1, "mips": 1, "clock_pizza": 3, "grokking": 1, "benchmark": 1, "runs": 6}


@pytest.mark.parametrize("kind", list(MIN_IMAGES))
def test_report_renders_in_chromium(kind, pages, browser, tmp_path) -> None:
    browser.get(pages[kind].resolve().as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth]);")
    assert len(images) >= MIN_IMAGES[kind], images
    broken = [alt for alt, complete, width in images if not complete or width == 0]
    assert not broken, f"images that did not decode: {broken}"
    errors = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert not errors, errors
    _sorts(browser)
    shot = tmp_path / f"report_{kind}.png"
    browser.save_screenshot(str(shot))
    w, h = _png_size(shot.read_bytes())
    assert w >= WIDTH // 2 and h >= 400, (w, h)
    assert shot.stat().st_size > 20_000          # a blank page compresses to a few KB
    keep = os.environ.get("ALGOLENS_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, Path(keep) / f"report_screenshot_{kind}.png")


def _sorts(browser) -> None:
    """Clicking a sortable table's header sorts it (the inline script ran)."""
    heads = browser.find_elements("css selector", "table.sortable thead th")
    if not heads:
        return
    heads[0].click()
    assert heads[0].get_attribute("aria-sort") == "ascending"
    heads[0].click()
    assert heads[0].get_attribute("aria-sort") == "descending"
    assert not [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG"
    return struct.unpack(">II", data[16:24])
