"""IR and Python rendering of a reconstructed seq2seq shortcut: per-step reads plus a rule table.

Semantics (shared by ``analysis.transformer.shortcuts.Shortcut.run`` and the generated ``f``):
output step i reads the input symbols at positions ``reads[i]`` (None past the end of the
input) and its own previous output (None at step 0); ``rules[(i, symbols read, previous)]``
is the output symbol, or None for end-of-output; a key never seen falls back to
``default[i]``. Steps stop at ``max_steps``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ir import ProgramInfo
from .python import _dict_literal, _self_check, docstring_block

Key = tuple          # (step, (symbol or None, ...), previous output or None)


def from_shortcut(shortcut, info: ProgramInfo) -> ReadTableProgram:
    """The IR of an ``analysis.transformer.shortcuts.Shortcut``."""
    return ReadTableProgram(dict(shortcut.reads), dict(shortcut.rules), dict(shortcut.default),
                            shortcut.max_steps, info)


@dataclass(frozen=True)
class ReadTableProgram:
    reads: dict[int, tuple[int, ...]]
    rules: dict[Key, int | None]
    default: dict[int, int | None]
    max_steps: int
    info: ProgramInfo
    form: str = "read-table"

    @property
    def complexity(self) -> int:
        return len(self.rules)


def to_python(program: ReadTableProgram) -> str:
    """Standalone, standard-library-only source defining ``f(xs)`` (deterministic text)."""
    body = "\n".join([
        "# Output step i reads the input at positions _READS[i] and its previous output.",
        _dict_literal("_READS", program.reads), "",
        "# (step, symbols read, previous output) -> output symbol; None ends the output.",
        _dict_literal("_RULES", program.rules), "",
        "# a combination never seen while reconstructing: the step's most common output",
        _dict_literal("_DEFAULT", program.default), "",
        f"_MAX_STEPS = {program.max_steps}", "", "",
        "def f(xs):",
        '    """Run the reconstructed shortcut on the input symbols xs."""',
        "    ys, prev = [], None",
        "    for i in range(_MAX_STEPS):",
        "        seen = tuple(xs[j] if j < len(xs) else None for j in _READS.get(i, ()))",
        "        y = _RULES.get((i, seen, prev), _DEFAULT.get(i))",
        "        if y is None:",
        "            break",
        "        ys.append(y)",
        "        prev = y",
        "    return ys"])
    parts = [_docstring(program), body, _self_check(program.info)]
    return "\n\n\n".join(p.rstrip() for p in parts) + "\n"


def _docstring(p: ReadTableProgram) -> str:
    info = p.info
    lines = [f"{info.task}: a shortcut reconstructed from a trained transformer by algolens.", "",
             f"Task: {info.task}", f"Network: {info.network or 'unknown'}",
             f"Method: {info.method or p.form} (form: {p.form}, {len(p.rules)} rules)",
             f"Verification: {info.verification}", "",
             "Entry point: f(xs) maps a list of input symbols to the list of output symbols.",
             "Standard library only; importing this module has no side effects."]
    return docstring_block(lines)


# ------------------------------------------------------------------ pointer shortcut (traversals)
@dataclass(frozen=True)
class PointerProgram:
    """Output j copies label slot j (the label after the j-th NODE), or slot j + 1 where a
    decision tree over the slot's structural features says the model's pointer slips."""

    tree: object            # analysis.transformer.pointer.SkipTree
    threshold: float
    node: int
    leaf: int
    info: ProgramInfo
    form: str = "pointer walk + skip tree"

    @property
    def complexity(self) -> int:
        return sum(1 for c in self.tree.left if c < 0)


def from_pointer(shortcut, info: ProgramInfo) -> PointerProgram:
    return PointerProgram(shortcut.tree, shortcut.threshold, shortcut.node, shortcut.leaf, info)


def pointer_to_python(program: PointerProgram) -> str:
    """Standalone source defining ``f(xs)``: the skip tree as nested ifs (deterministic text)."""
    from ..analysis.transformer.pointer import FEATURES
    t = program.tree
    lines = ["def _p_skip(" + ", ".join(FEATURES) + "):",
             '    """P(the model reads slot j + 1 instead of slot j), from the build inputs."""']

    def emit(n: int, ind: int) -> None:
        pad = "    " * ind
        if t.left[n] < 0:
            lines.append(f"{pad}return {t.p_skip[n]!r}")
            return
        lines.append(f"{pad}if {FEATURES[t.feature[n]]} <= {t.threshold[n]!r}:")
        emit(t.left[n], ind + 1)
        lines.append(f"{pad}else:")
        emit(t.right[n], ind + 1)
    emit(0, 1)
    body = "\n".join([
        f"_NODE, _LEAF, _THRESHOLD = {program.node}, {program.leaf}, {program.threshold!r}", "",
        "\n".join(lines), "", "",
        "def f(xs):",
        '    """Run the reconstructed pointer shortcut on the input symbols xs."""',
        "    sl = [p + 1 for p, v in enumerate(xs) if v == _NODE]",
        "    ys = []",
        "    for j, p in enumerate(sl):",
        "        def gap(a):",
        "            return sl[a + 1] - sl[a] if 0 <= a and a + 1 < len(sl) else 0",
        "        before = sum(1 for v in xs[:p] if v == _LEAF)",
        "        after = sum(1 for v in xs[p:] if v == _LEAF)",
        "        skip = _p_skip(j, p, before, gap(j - 1), gap(j), gap(j + 1), gap(j + 2), len(sl),",
        "                       len(xs), after) >= _THRESHOLD",
        "        ys.append(xs[sl[min(j + 1, len(sl) - 1)] if skip else p])",
        "    return ys"])
    doc = ReadTableProgram({}, {}, {}, 0, program.info, form=program.form)
    parts = [_docstring(doc).replace("0 rules", f"{program.complexity} tree leaves"), body,
             _self_check(program.info)]
    return "\n\n\n".join(p.rstrip() for p in parts) + "\n"
