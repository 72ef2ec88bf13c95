"""The self-contained HTML report writer (algolens.report)."""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest

from algolens.report import Report, format_value, render_markdown


@pytest.fixture
def fig():
    import matplotlib.pyplot as plt

    f, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1, 2], [0, 1, 4])
    return f


def full_report(fig) -> Report:
    return (Report("Parity_Last3 <run 1>", subtitle="MIPS study")
            .add_metrics({"accuracy": 0.999999, "hidden": 2, "solved": True})
            .add_text("The RNN is **linear**; see `h_t = W h`.\n\n- one\n- two")
            .add_table([{"task": "Div_3", "states": 3, "fidelity": 1.0},
                        {"task": "Add_Mod_5", "states": 5, "note": "a<b & c"}],
                       caption="state machines")
            .add_figure(fig, caption="loss curve")
            .add_code("def f(x):\n    return x < 3 and '&'\n"))


def test_html_contains_every_block(fig) -> None:
    html = full_report(fig).to_html()
    assert html.startswith("<!DOCTYPE html>")
    assert "<title>Parity_Last3 &lt;run 1&gt;</title>" in html
    assert "MIPS study" in html
    # table: header from the union of keys, cells, empty cell for a missing key, caption
    assert "<th>task</th><th>states</th><th>fidelity</th><th>note</th>" in html
    assert "<td>Div_3</td>" in html and '<td class="num" data-v="5.0">5</td>' in html
    assert '<td class="num" data-v="1.0">1</td><td></td>' in html
    assert "<td>a&lt;b &amp; c</td>" in html
    assert "<caption>state machines</caption>" in html
    # metrics: formatted values
    assert ">accuracy<" in html and ">1<" in html and ">yes<" in html
    # markdown
    assert "<strong>linear</strong>" in html and "<code>h_t = W h</code>" in html
    assert "<ul><li>one</li><li>two</li></ul>" in html
    # code: escaped, verbatim once the highlighting spans are taken out
    code = re.search(r'<pre><code class="language-python">(.*?)</code></pre>', html, re.S).group(1)
    assert re.sub(r"</?span[^>]*>", "", code) == "def f(x):\n    return x &lt; 3 and &#39;&amp;&#39;\n"
    assert '<span class="tok-kw">def</span> <span class="tok-def">f</span>' in code
    assert "<figcaption>loss curve</figcaption>" in html


def test_figure_is_an_embedded_png_and_closed(fig) -> None:
    import matplotlib.pyplot as plt

    num = fig.number
    html = Report("r").add_figure(fig).to_html()
    m = re.search(r'<img alt="figure" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', html)
    assert m is not None
    assert base64.b64decode(m.group(1))[:8] == b"\x89PNG\r\n\x1a\n"
    assert num not in plt.get_fignums()


def test_self_contained(fig) -> None:
    html = full_report(fig).to_html()
    assert "http" not in html                                  # no links, scripts, fonts
    assert "<script src" not in html and "<link" not in html
    assert html.count("<script>") == 1                         # the inline table sorter
    assert not re.search(r'src="(?!data:)', html)              # every src is a data: URI
    assert "url(" not in html


def test_text_is_escaped() -> None:
    html = Report("t").add_text("<script>alert(1)</script> & <b>bold?</b>").to_html()
    assert "<script>" not in html and "<b>bold?</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;" in html


def test_markdown_subset() -> None:
    html = str(render_markdown("# Result\nline *one*\nline two\n\n1. a\n2. b\n\n```\nx<1\n```"))
    assert "<h2>Result</h2>" in html                         # h1 is reserved for the title
    assert "<p>line <em>one</em><br>\nline two</p>" in html
    assert "<ol><li>a</li><li>b</li></ol>" in html
    assert "<pre><code>x&lt;1</code></pre>" in html
    assert str(render_markdown("a * b * c")) == "<p>a * b * c</p>"   # arithmetic is left alone
    assert "<code>**x**</code>" in str(render_markdown("`**x**`"))   # no emphasis inside code


def test_format_value() -> None:
    assert format_value(None) == ""
    assert format_value(0.123456) == "0.1235"
    assert format_value(1e-6) == "1.000e-06"
    assert format_value(np.float32(0.5)) == "0.5"
    assert format_value(np.int64(7)) == "7"
    assert format_value(False) == "no"
    assert format_value(float("nan")) == "nan"


def test_empty_table_and_bad_inputs() -> None:
    r = Report("t").add_table([], caption="nothing")
    assert "(no rows)" in r.to_html()
    with pytest.raises(ValueError, match="list of dicts"):
        r.add_table({"a": 1})
    with pytest.raises(ValueError, match="list of dicts"):
        r.add_table([[1, 2]])
    with pytest.raises(ValueError, match="matplotlib Figure"):
        r.add_figure("not a figure")
    with pytest.raises(ValueError, match="dict of name"):
        r.add_metrics([1, 2])


def test_save_is_atomic_and_readable(tmp_path, fig) -> None:
    path = tmp_path / "run" / "report.html"
    out = full_report(fig).save(path)
    assert out == path and path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]   # no temp file left
    Report("second").save(path)                                         # overwrite in place
    assert "<title>second</title>" in path.read_text(encoding="utf-8")


def test_blocks_keep_order_and_chain() -> None:
    r = Report("t")
    assert r.add_heading("A") is r
    r.add_text("first").add_text("second")
    html = r.to_html()
    assert html.index("<h2>A</h2>") < html.index("first") < html.index("second")
    assert [b.kind for b in r.blocks] == ["heading", "text", "text"]
