"""MkDocs hooks: execute the tutorials that have no up-to-date notebook, and keep the rendered
notebooks offline.

``on_pre_build``: a tutorial ``docs/tutorials/NAME.py`` whose executed ``NAME.ipynb`` is missing
or older than it is run first (``docs/execute_tutorials.py --only NAME``), so ``mkdocs build
--strict`` works from a clean clone in one command; a tutorial that fails fails the build.

nbconvert's template (used by mkdocs-jupyter) adds a MathJax loader (an empty ``<script src="">``
when no MathJax URL is set) and a module script that imports Mermaid from cdnjs.cloudflare.com
when a notebook has a Mermaid diagram. Our notebooks have neither, and the site must work without
a network, so both are dropped from the tutorial pages. Anything else that points at an external
host from a <script>, <link> or <img> fails the build.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

_TUTORIALS = Path(__file__).parent / "tutorials"

_EMPTY_SCRIPT = re.compile(r'<script src="">\s*</script>')
_CDN_MODULE = re.compile(r'<script type="module">(?:(?!</script>).)*?https://cdnjs\.cloudflare\.com'
                         r'.*?</script>', re.S)
_EXTERNAL = re.compile(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="(?:https?:)?//[^"]*"', re.I)


def on_pre_build(config) -> None:
    stale = [p.stem for p in sorted(_TUTORIALS.glob("*.py"))
             if not p.with_suffix(".ipynb").is_file()
             or p.with_suffix(".ipynb").stat().st_mtime < p.stat().st_mtime]
    if not stale:
        return
    args = [a for name in stale for a in ("--only", name)]
    done = subprocess.run([sys.executable, str(Path(__file__).parent / "execute_tutorials.py"),
                           *args], check=False)
    if done.returncode != 0:
        raise SystemExit(f"tutorial notebooks failed to run ({', '.join(stale)}); see above")


def on_post_page(output: str, page, config) -> str:
    if page.file.src_uri.endswith(".ipynb"):
        output = _CDN_MODULE.sub("", _EMPTY_SCRIPT.sub("", output))
    bad = _EXTERNAL.findall(output)
    if bad:
        raise ValueError(f"{page.file.src_uri}: the site must work offline, but it loads "
                         f"{bad[:3]}; serve the file from docs/ instead")
    return output
