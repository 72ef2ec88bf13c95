"""A small, generic, self-contained HTML report writer shared by every study.

    >>> r = Report("Parity_Last3")
    >>> r.add_metrics({"accuracy": 1.0, "hidden": 2}).add_text("The RNN is **linear**.")
    >>> r.add_table([{"states": 4, "fidelity": 1.0}], caption="state machines")
    >>> html = r.to_html()            # one string: inline CSS, figures as base64 PNG
    >>> r.save("runs/mips/x/report.html")   # atomic

Nothing in the page refers to the network: no scripts, fonts or stylesheets are fetched, so the
file opens the same offline, attached to an e-mail, or years later.
"""

from __future__ import annotations

import base64
import io
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from ..io import atomic_write_text
from .highlight import CSS as _TOKEN_CSS
from .highlight import highlight_python

# ---------------------------------------------------------------- formatting helpers


def format_value(v: Any) -> str:
    """A table / metric cell: floats to 4 significant digits, None as empty, rest as str()."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if hasattr(v, "item") and getattr(v, "ndim", 1) == 0:   # numpy / torch scalars
        v = v.item()
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
            return f"{v:.3e}"
        return f"{v:.4g}"
    return str(v)


def _is_number(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    return isinstance(v, (int, float)) or (hasattr(v, "item") and getattr(v, "ndim", 1) == 0)


_EMPHASIS = [
    (re.compile(r"\*\*([^*]+)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])"), r"<em>\1</em>"),
]


def _inline(text: str) -> str:
    """Escape, then apply `code`, **bold** and *italic* (code spans are protected first)."""
    out, pos = [], 0
    for m in re.finditer(r"`([^`]+)`", text):
        out.append(_emphasis(str(escape(text[pos:m.start()]))))
        out.append(f"<code>{escape(m.group(1))}</code>")
        pos = m.end()
    out.append(_emphasis(str(escape(text[pos:]))))
    return "".join(out)


def _emphasis(escaped: str) -> str:
    for pat, rep in _EMPHASIS:
        escaped = pat.sub(rep, escaped)
    return escaped


def render_markdown(text: str) -> Markup:
    """A safe subset of Markdown: #-headings, paragraphs, - / 1. lists, ``` fences, inline
    `code`, **bold**, *italic*. Everything else is escaped, so plain text (even with <, &) shows
    as written."""
    html, lines, i = [], text.strip("\n").splitlines(), 0
    while i < len(lines):
        line = lines[i]
        if line.strip().startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            html.append(f"<pre><code>{escape(chr(10).join(lines[i + 1:j]))}</code></pre>")
            i = j + 1
            continue
        if not line.strip():
            i += 1
            continue
        block = [line]
        i += 1
        while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith("```") \
                and not lines[i].startswith("#"):
            block.append(lines[i])
            i += 1
        html.append(_block(block))
    return Markup("\n".join(html))


_BULLET = re.compile(r"^\s*[-*]\s+")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+")


def _block(block: list[str]) -> str:
    head = re.match(r"^(#{1,6})\s+(.*)$", block[0])
    if head:
        level = min(len(head.group(1)) + 1, 6)        # the report title is the only <h1>
        rest = _block(block[1:]) if len(block) > 1 else ""
        return f"<h{level}>{_inline(head.group(2))}</h{level}>" + rest
    for tag, pat in (("ul", _BULLET), ("ol", _NUMBERED)):
        if all(pat.match(ln) for ln in block):
            items = "".join("<li>" + _inline(pat.sub("", ln)) + "</li>" for ln in block)
            return f"<{tag}>{items}</{tag}>"
    return "<p>" + "<br>\n".join(_inline(ln) for ln in block) + "</p>"


# ---------------------------------------------------------------- the report


@dataclass(frozen=True)
class Link:
    """A table cell or text that links somewhere (``#anchor`` inside the page, or a file)."""

    text: str
    href: str


@dataclass(frozen=True)
class Block:
    """One rendered piece of a report: its kind (text, table, figure, code, metrics) and HTML."""

    kind: str
    html: Markup


_TEMPLATE = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True).from_string(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="algolens">
<title>{{ title }}</title>
<style>
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222;
       max-width: 1000px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.7em; border-bottom: 2px solid #ddd; padding-bottom: .2em; }
h2, h3, h4 { margin-top: 1.4em; }
.subtitle { color: #666; margin-top: -.6em; }
table { border-collapse: collapse; margin: .6em 0 1.2em; font-size: 14px; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
caption, figcaption { caption-side: bottom; color: #555; font-size: 13px; padding-top: .3em;
                      text-align: left; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; border-radius: 4px; font-size: 13px; }
code { font-family: Menlo, Consolas, monospace; }
p code, li code { background: #f3f3f3; padding: 0 .2em; border-radius: 3px; }
.metrics { display: flex; flex-wrap: wrap; gap: .6em; margin: 1em 0; }
.metric { border: 1px solid #ddd; border-radius: 4px; padding: .4em .8em; min-width: 7em; }
.metric .k { color: #666; font-size: 12px; }
.metric .v { font-size: 18px; font-variant-numeric: tabular-nums; }
footer { color: #999; font-size: 12px; margin-top: 3em; }
.row { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
.row figure { flex: 1 1 300px; margin: .4em 0; }
.row .code { flex: 1 1 420px; min-width: 0; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th[aria-sort=ascending]::after { content: " \\25B2"; font-size: 10px; }
table.sortable th[aria-sort=descending]::after { content: " \\25BC"; font-size: 10px; }
.status-done { color: #1a7f37; } .status-failed { color: #cf222e; }
.status-interrupted, .status-running { color: #9a6700; }
.note { background: #fff8c5; border: 1px solid #e6d58a; padding: .4em .8em; border-radius: 4px; }
{{ token_css }}
</style>
</head>
<body>
<h1>{{ title }}</h1>
{% if subtitle %}<p class="subtitle">{{ subtitle }}</p>{% endif %}
{% for block in blocks %}
<section class="{{ block.kind }}">
{{ block.html }}
</section>
{% endfor %}
<footer>Generated by algolens. Self-contained: no external resources.</footer>
{% if script %}<script>{{ script }}</script>{% endif %}
</body>
</html>
""")


# Click a column header of a sortable table to sort by it (again: reverse). Numbers sort by the
# value in data-v, text case-insensitively, empty cells last. Plain ES5, no libraries.
_SORT_SCRIPT = Markup("""
(function () {
  function key(td) {
    if (!td) return null;
    var v = td.getAttribute("data-v");
    if (v !== null) return parseFloat(v);
    var t = td.textContent.trim().toLowerCase();
    return t === "" ? null : t;
  }
  function cmp(x, y) {
    if (x === null || y === null) return x === y ? 0 : (x === null ? 1 : -1);
    if (typeof x !== typeof y) return typeof x === "number" ? -1 : 1;
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  var heads = document.querySelectorAll("table.sortable thead th");
  Array.prototype.forEach.call(heads, function (th) {
    th.addEventListener("click", function () {
      var table = th.closest("table"), body = table.tBodies[0], i = th.cellIndex;
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(table.querySelectorAll("thead th"), function (h) {
        h.removeAttribute("aria-sort");
      });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var c = cmp(key(a.cells[i]), key(b.cells[i]));
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
})();
""")


class Report:
    """An HTML report built block by block; every ``add_*`` returns ``self`` for chaining."""

    def __init__(self, title: str, subtitle: str | None = None) -> None:
        self.title = str(title)
        self.subtitle = subtitle
        self.blocks: list[Block] = []

    def _add(self, kind: str, html: str) -> Report:
        self.blocks.append(Block(kind, Markup(html)))
        return self

    def add_heading(self, text: str, level: int = 2, anchor: str | None = None) -> Report:
        """A heading; ``anchor`` gives it an id so that ``Link(text, "#anchor")`` jumps to it."""
        level = min(max(int(level), 2), 6)
        ident = f' id="{escape(anchor_id(anchor))}"' if anchor else ""
        return self._add("heading", f"<h{level}{ident}>{escape(text)}</h{level}>")

    def add_text(self, text: str) -> Report:
        """Plain text or simple Markdown (headings, lists, `code`, **bold**); always escaped."""
        return self._add("text", render_markdown(str(text)))

    def add_table(self, rows: Sequence[Mapping[str, Any]], caption: str | None = None,
                  sortable: bool = True) -> Report:
        """A table from a list of dicts; columns are the keys in first-seen order.

        ``sortable``: clicking a column header sorts the rows (a small inline script)."""
        if isinstance(rows, Mapping) or not all(isinstance(r, Mapping) for r in rows):
            raise ValueError("add_table takes a list of dicts (one per row), e.g. "
                             "[{'task': 'Div_3', 'solved': True}]")
        cols = list(dict.fromkeys(k for r in rows for k in r))
        cap = f"<caption>{escape(caption)}</caption>" if caption else ""
        if not rows:
            return self._add("table", f"<table>{cap}<tr><td>(no rows)</td></tr></table>")
        head = "".join(f"<th>{escape(str(c))}</th>" for c in cols)
        body = "".join("<tr>" + "".join(_cell(r.get(c)) for c in cols) + "</tr>" for r in rows)
        cls = ' class="sortable"' if sortable else ""
        return self._add("table", f"<table{cls}>{cap}<thead><tr>{head}</tr></thead>"
                                  f"<tbody>{body}</tbody></table>")

    def add_figure(self, fig: Any, caption: str | None = None, dpi: int = 110) -> Report:
        """Embed a matplotlib figure (or PNG bytes) as a base64 PNG; a figure is then closed."""
        return self._add("figure", _figure_html(fig, caption, dpi))

    def add_figures(self, items: Sequence[tuple[Any, str | None]], dpi: int = 110) -> Report:
        """Several figures (matplotlib Figures or PNG bytes, each with a caption) side by side,
        wrapping on narrow screens: evidence that belongs together is read together."""
        figs = "".join(_figure_html(f, c, dpi) for f, c in items)
        return self._add("figure", f'<div class="row">{figs}</div>')

    def add_code(self, source: str, language: str = "python", beside: Any = None,
                 caption: str | None = None) -> Report:
        """A code block (e.g. a generated program), escaped; Python is syntax-highlighted.

        ``beside``: a figure (or PNG bytes) shown to its right, e.g. the state machine that
        the program implements, with ``caption`` under it."""
        lang = re.sub(r"[^A-Za-z0-9_+-]", "", str(language))
        body = highlight_python(source) if lang == "python" else str(escape(source))
        code = f'<pre><code class="language-{lang}">{body}</code></pre>'
        if beside is None:
            return self._add("code", code)
        return self._add("code", f'<div class="row"><div class="code">{code}</div>'
                                 f"{_figure_html(beside, caption, 110)}</div>")

    def add_note(self, text: str) -> Report:
        """A highlighted caveat (e.g. "not trained: accuracy 3%, verdict withheld")."""
        return self._add("note", f'<div class="note">{render_markdown(str(text))}</div>')

    def add_metrics(self, metrics: Mapping[str, Any]) -> Report:
        """Key numbers as a row of small cards (accuracy, hidden size, seconds …)."""
        if not isinstance(metrics, Mapping):
            raise ValueError(f"add_metrics takes a dict of name -> value, got "  # noqa: TRY004
                             f"{type(metrics).__name__}")
        cards = "".join(f'<div class="metric"><div class="k">{escape(str(k))}</div>'
                        f'<div class="v">{escape(format_value(v))}</div></div>'
                        for k, v in metrics.items())
        return self._add("metrics", f'<div class="metrics">{cards}</div>')

    def to_html(self) -> str:
        """The whole report as one self-contained HTML string."""
        return _TEMPLATE.render(title=self.title, subtitle=self.subtitle, blocks=self.blocks,
                                token_css=Markup(_TOKEN_CSS), script=self._script())

    def _script(self) -> Markup | None:
        """The sorting script, only when a sortable table needs it (else the page has none)."""
        sortable = any(b.kind == "table" and 'class="sortable"' in b.html for b in self.blocks)
        return _SORT_SCRIPT if sortable else None

    def save(self, path: str | Path) -> Path:
        """Write the report atomically (readers never see half a file); returns the path."""
        return atomic_write_text(path, self.to_html())


def anchor_id(text: str) -> str:
    """A safe HTML id from any text (run ids, task names)."""
    return "r-" + re.sub(r"[^A-Za-z0-9_.-]", "-", str(text))


def _cell(v: Any) -> str:
    if isinstance(v, Link):
        return f'<td><a href="{escape(v.href)}">{escape(v.text)}</a></td>'
    if _is_number(v):
        num = float(v.item() if hasattr(v, "item") else v)
        sort = f' data-v="{num!r}"' if math.isfinite(num) else ""
        return f'<td class="num"{sort}>{escape(format_value(v))}</td>'
    status = f' class="status-{v}"' if v in ("done", "failed", "interrupted", "running") else ""
    return f"<td{status}>{escape(format_value(v))}</td>"


def _png_bytes(fig: Any, dpi: int) -> bytes:
    """PNG bytes as they are, or a matplotlib figure rendered and closed."""
    if isinstance(fig, (bytes, bytearray)):
        if not bytes(fig[:8]) == b"\x89PNG\r\n\x1a\n":
            raise ValueError("add_figure takes PNG bytes or a matplotlib Figure; these bytes are "
                             "not a PNG file")
        return bytes(fig)
    if not hasattr(fig, "savefig"):
        raise ValueError(f"add_figure takes a matplotlib Figure, got {type(fig).__name__}")
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        _close(fig)
    return buf.getvalue()


def _figure_html(fig: Any, caption: str | None, dpi: int) -> str:
    data = base64.b64encode(_png_bytes(fig, dpi)).decode("ascii")
    alt = escape(caption or "figure")
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">{cap}</figure>'


def _close(fig: Any) -> None:
    """Free a pyplot-made figure; a bare ``matplotlib.figure.Figure`` (what algolens draws: no
    pyplot, no backend switch) needs nothing. pyplot is never imported here."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close(fig)
