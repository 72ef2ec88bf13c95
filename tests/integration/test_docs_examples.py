"""Every code example on the hand-written documentation pages is run or parsed (issue 23).

Marked ``docs`` (deselected by default; ``.ci/run`` runs it):
``python -m pytest -q -p no:cacheprovider -m docs tests/integration/test_docs_examples.py``.

The pages are docs/*.md and docs/studies/*.md (docs/CONTRIBUTING.md included); the tutorials
(docs/tutorials/*.py) are executed by ``docs/execute_tutorials.py`` and the CLI/API references are
generated from the code, so neither is read here.

- Every ```python block is executed: the blocks of one page in order, in one namespace, in a
  temporary working directory (so ``RunStore("runs")`` lands there). A block that cannot run here
  says so in its first line, exactly ``# not run here: <reason>``; it is only compiled, and the
  test prints it.
- Every ``algolens ...`` command in a ```bash / ```console / ```sh block (each segment of a
  ``&&`` / ``;`` / ``|`` chain; ``# comments`` dropped; ``\\`` continuations joined) is parsed by
  the real CLI (``algolens.cli.main``) without running it: an unknown command, an unknown option
  or a bad option value fails the test with the page and the line. Other commands (``pip``,
  ``python -m pytest``, ``mkdocs``, ``python benchmarks/...``) are ignored.

``ALGOLENS_DOCS_DIR`` points the test at another copy of docs/ (used to show that it fails).
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from algolens.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]
DOCS = Path(os.environ.get("ALGOLENS_DOCS_DIR", ROOT / "docs"))
pytestmark = pytest.mark.docs

SHELL_LANGS = {"bash", "console", "sh", "shell"}
SKIP_RE = re.compile(r"^# not run here: \S")
FENCE_RE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")


@dataclass(frozen=True)
class Block:
    page: str        # relative to docs/
    line: int        # 1-based line of the first line of code (after the opening fence)
    lang: str
    src: str


def pages(docs: Path = DOCS) -> list[Path]:
    return sorted([*docs.glob("*.md"), *docs.glob("studies/*.md")])


def blocks(path: Path, docs: Path = DOCS) -> list[Block]:
    """The fenced code blocks of one Markdown page, in order."""
    out, lines, i = [], path.read_text(encoding="utf-8").splitlines(), 0
    rel = path.relative_to(docs).as_posix()
    while i < len(lines):
        m = FENCE_RE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = m.group(1), m.group(2), m.group(3).lower()
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            j += 1
        body = [ln[len(indent):] if ln.startswith(indent) else ln for ln in lines[i + 1:j]]
        out.append(Block(rel, i + 2, lang, "\n".join(body) + "\n"))
        i = j + 1
    return out


def python_pages(docs: Path = DOCS) -> list[str]:
    return [p.relative_to(docs).as_posix() for p in pages(docs)
            if any(b.lang == "python" for b in blocks(p, docs))]


# ---------------------------------------------------------------- python blocks, executed


@pytest.mark.parametrize("page", python_pages())
def test_python_blocks_run(page, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    ns: dict = {"__name__": "__docs_example__"}
    compiled_only = []
    for b in blocks(DOCS / page):
        if b.lang != "python":
            continue
        where = f"docs/{b.page}:{b.line}"
        first = b.src.lstrip("\n").splitlines()[0] if b.src.strip() else ""
        code = compile(b.src, where, "exec")          # a syntax error fails here, in every block
        if SKIP_RE.match(first):
            compiled_only.append(f"{where}: {first[2:]}")
            continue
        assert "not run here" not in first, f"{where}: write it exactly '# not run here: <reason>'"
        try:
            exec(code, ns)
        except Exception as e:                            # noqa: BLE001 - reported with the block
            pytest.fail(f"{where}: the ```python block failed: {type(e).__name__}: {e}\n{b.src}")
    if compiled_only:
        with capsys.disabled():
            print(f"\n[docs examples] compiled only (not run here), {page}:")
            for c in compiled_only:
                print(f"  {c}")


# ---------------------------------------------------------------- shell blocks, parsed by the CLI


def _logical_lines(b: Block) -> list[tuple[int, str]]:
    """(line number, command) for each command of a shell block; continuations joined,
    console prompts ($) stripped, console output lines dropped."""
    out, buf, start = [], "", 0
    for k, raw in enumerate(b.src.splitlines()):
        ln = raw.rstrip()
        if b.lang == "console":
            if not buf:
                if not ln.lstrip().startswith("$ "):
                    continue
                ln = ln.lstrip()[2:]
        if not buf:
            start = b.line + k
        if ln.endswith("\\"):
            buf += ln[:-1] + " "
            continue
        buf += ln
        if buf.strip():
            out.append((start, buf.strip()))
        buf = ""
    if buf.strip():
        out.append((start, buf.strip()))
    return out


def algolens_commands(line: str) -> list[list[str]]:
    """The argument lists of every ``algolens`` segment of a shell line (comments dropped;
    ``&&``, ``||``, ``;`` and ``|`` separate segments)."""
    lex = shlex.shlex(line, posix=True, punctuation_chars=";&|")
    lex.whitespace_split = True
    lex.commenters = "#"
    segs, cur = [], []
    for tok in lex:
        if tok and set(tok) <= set(";&|"):
            segs.append(cur)
            cur = []
        else:
            cur.append(tok)
    segs.append(cur)
    return [s[1:] for s in segs if s and s[0] == "algolens"]


def parse_cli(args: list[str]) -> click.Context:
    """Parse ``algolens ARGS`` with the real CLI, without running anything: each group's options,
    then the subcommand by name, down to the leaf command's make_context."""
    cmd: click.Command = cli_main
    name, parent, rest = "algolens", None, list(args)
    while True:
        ctx = cmd.make_context(name, rest, parent=parent, resilient_parsing=False)
        if not isinstance(cmd, click.Group):
            return ctx
        protected = getattr(ctx, "_protected_args", None) or getattr(ctx, "protected_args", [])
        rest = [*protected, *ctx.args]
        if not rest:
            return ctx
        name, sub, rest = cmd.resolve_command(ctx, rest)
        if sub is None:
            raise click.UsageError(f"No such command {rest[0]!r}.", ctx)
        cmd, parent = sub, ctx


def shell_commands(docs: Path = DOCS) -> list[tuple[str, int, str, list[str]]]:
    out = []
    for p in pages(docs):
        for b in blocks(p, docs):
            if b.lang not in SHELL_LANGS:
                continue
            for lineno, line in _logical_lines(b):
                for args in algolens_commands(line):
                    out.append((b.page, lineno, line, args))
    return out


def check_command(page: str, lineno: int, line: str, args: list[str]) -> None:
    try:
        parse_cli(args)
    except click.exceptions.Exit as e:                    # --help / --version: parsed fine
        if e.exit_code:
            pytest.fail(f"docs/{page}:{lineno}: `{line}` exits {e.exit_code}")
    except click.ClickException as e:
        pytest.fail(f"docs/{page}:{lineno}: `{line}` does not parse with the real CLI: "
                    f"{e.format_message()}")


CMDS = shell_commands()


@pytest.mark.parametrize(("page", "lineno", "line", "args"), CMDS,
                         ids=[f"{p}:{n}:{' '.join(a[:2])}" for p, n, _, a in CMDS])
def test_cli_lines_parse(page, lineno, line, args):
    check_command(page, lineno, line, args)


def test_there_is_something_to_check():
    assert len(CMDS) >= 30, CMDS
    assert len(python_pages()) >= 5


# ---------------------------------------------------------------- the checks can fail


def test_a_bad_option_fails_naming_page_and_line(tmp_path):
    """A copy of a real page with an unknown option, a bad option value and an unknown command."""
    (tmp_path / "studies").mkdir()
    src = (DOCS / "studies" / "sparse_parity.md").read_text(encoding="utf-8")
    bad = src.replace("algolens sparse-parity train --seed 0",
                      "algolens sparse-parity train --seed 0 --no-such-option 3", 1)
    bad = bad.replace("--seeds 0-2 --jobs 2", "--seeds 0-2 --jobs two", 1)
    bad = bad.replace("algolens demo --only", "algolens demoo --only", 1)
    assert bad != src
    (tmp_path / "studies" / "sparse_parity.md").write_text(bad, encoding="utf-8")
    cmds = shell_commands(tmp_path)
    failures = []
    for page, lineno, line, args in cmds:
        try:
            check_command(page, lineno, line, args)
        except pytest.fail.Exception as e:
            failures.append(str(e))
    assert any("docs/studies/sparse_parity.md:14:" in f and "--no-such-option" in f
               for f in failures), failures
    assert any("docs/studies/sparse_parity.md:16:" in f and "two" in f for f in failures), failures
    assert any("docs/studies/sparse_parity.md:17:" in f and "demoo" in f for f in failures), failures
    assert len(failures) == 3, failures
