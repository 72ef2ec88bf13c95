"""The documentation site (mkdocs.yml) opened in headless Chromium: nothing missing, nothing remote.

Marked ``docs`` (deselected by default; ``.ci/run`` runs it after ``mkdocs build --strict``):
``python -m pytest -m docs tests/integration/test_docs_site.py``. It uses ``site/`` when it is
already built (``site/index.html`` exists), else builds the site into a temporary folder (which
needs the ``docs`` extra and the executed tutorial notebooks, ``python docs/execute_tutorials.py``).

Each page is opened from disk (file://) with every host name unresolvable, so anything the page
tried to fetch from the network would fail and show in the console. The test checks that every
<link href>, <script src> and <img src> is a local file that exists, that every resource the
browser loaded (Performance API) is local, that every image decoded, and that the console has no
errors. Driven like tests/integration/test_report_browser.py (selenium + Debian chromium-driver).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from _chromium import MISSING, WHY_MISSING, chromium

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.docs, pytest.mark.skipif(MISSING, reason=WHY_MISSING)]
# the home page, one API page (mkdocstrings), one study page with a figure, the CLI reference
PAGES = ["index.html", "api/store.html", "studies/sparse_parity.html", "cli.html"]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    built = ROOT / "site"
    if (built / "index.html").is_file():
        return built
    pytest.importorskip("mkdocs", reason="building the site needs the docs extra "
                                         "(pip install -e '.[docs]')")
    out = tmp_path_factory.mktemp("site")
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                         cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, ("mkdocs build --strict failed (are the tutorial notebooks "
                                 "executed? python docs/execute_tutorials.py)\n" + res.stderr[-4000:])
    return out


@pytest.fixture(scope="module")
def browser():
    # no network: a page that fetches anything remote fails loudly in the console
    yield from chromium(1280, 1600, "--allow-file-access-from-files",
                        "--host-resolver-rules=MAP * ~NOTFOUND")


def _local_file(url: str) -> Path | None:
    parsed = urlparse(url)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


@pytest.mark.parametrize("page", PAGES)
def test_docs_page_has_no_missing_or_remote_resource(page, site, browser) -> None:
    path = site / page
    assert path.is_file(), f"{page} was not built"
    browser.get(path.resolve().as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    assert browser.title, "the page has no title"
    refs = browser.execute_script(
        "return [...document.querySelectorAll('link[href]')].map(e => ['link', e.href])"
        ".concat([...document.querySelectorAll('script[src]')].map(e => ['script', e.src]))"
        ".concat([...document.querySelectorAll('img[src]')].map(e => ['img', e.src]));")
    assert any(tag == "script" for tag, _ in refs), "no scripts: is this the Material page?"
    remote = [(tag, url) for tag, url in refs if _local_file(url) is None]
    assert not remote, f"{page} references non-local resources: {remote}"
    missing = [(tag, url) for tag, url in refs if not _local_file(url).exists()]
    assert not missing, f"{page} references files that are not in the site: {missing}"
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name);")
    assert not [u for u in loaded if not u.startswith(("file:", "data:", "blob:"))], loaded
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.src, i.complete, i.naturalWidth]);")
    broken = [src for src, complete, width in images if not complete or width == 0]
    assert not broken, f"images that did not load: {broken}"
    errors = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert not errors, f"{page}: console errors (a failed load shows here): {errors}"


def test_api_page_is_generated_from_the_code(site, browser) -> None:
    """The API page holds the docstrings of algolens.store (mkdocstrings ran)."""
    browser.get((site / "api/store.html").resolve().as_uri())
    text = browser.execute_script("return document.body.innerText;")
    assert "RunStore" in text and "algolens.store" in text
