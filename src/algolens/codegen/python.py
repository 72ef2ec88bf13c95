"""Render a program IR as a standalone, standard-library-only Python module.

The module defines ``f(xs)`` (list of inputs -> list of outputs, same length), a docstring saying
which task, network and verification it came from, ``_EXAMPLES`` produced by the network, and
``_self_check()``. Importing it does nothing else; running it as a script runs the self-check.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from ..analysis.rnn.expr import fold
from .canon import canonical
from .ir import ListProgram, Program, ProgramInfo, SymbolicProgram, TableProgram
from .ir import render as _render


def render(e) -> str:
    """Render after exact constant folding and the canonical form (same function, as a person
    would write it: ``x + 2*r``, ``int(x + r > 3)``)."""
    return _render(canonical(fold(e)))


@dataclass(frozen=True)
class RenderedProgram:
    """A program rendered once: its code (``f``, tables, self-check). ``source(info)`` adds the
    module docstring, so the verification summary can be written in without rendering again."""

    form: str
    code: str

    def source(self, info: ProgramInfo) -> str:
        return _docstring(info, self.form) + "\n\n\n" + self.code


def render_program(program: Program) -> RenderedProgram:
    """Render the code of ``program`` (deterministic: same IR, same text)."""
    if isinstance(program, SymbolicProgram):
        body = _symbolic_body(program)
    elif isinstance(program, TableProgram):
        body = _table_body(program)
    elif isinstance(program, ListProgram):
        body = _list_body(program)
    else:
        raise TypeError(f"cannot render {type(program).__name__}; expected a SymbolicProgram "
                        "or a TableProgram")
    parts = [body, _self_check(program.info)]
    return RenderedProgram(program.form, "\n\n\n".join(p.rstrip() for p in parts) + "\n")


def to_python(program: Program) -> str:
    """Python source of ``program`` (deterministic: same IR, same text)."""
    return render_program(program).source(program.info)


def _docstring(info: ProgramInfo, form: str) -> str:
    lines = [f"{info.task}: a program distilled from a trained RNN by algolens (MIPS).", "",
             f"Task: {info.task}", f"Network: {info.network or 'unknown'}",
             f"Method: {info.method or form} (form: {form})",
             f"Verification: {info.verification}", "",
             "Entry point: f(xs) maps a list of inputs to a list of outputs of the same length.",
             "Standard library only; importing this module has no side effects."]
    return docstring_block(lines)


def docstring_block(lines: list[str]) -> str:
    """A generated module's docstring: ``lines`` wrapped at 96 columns, in triple quotes."""
    wrapped = []
    for line in lines:
        wrapped += textwrap.wrap(line, 96, subsequent_indent="    ") or [""]
    return '"""' + "\n".join(wrapped) + '\n"""'


def _loop_target(inputs: tuple[str, ...]) -> str:
    return inputs[0] if len(inputs) == 1 else "(" + ", ".join(inputs) + ")"


def _symbolic_body(p: SymbolicProgram) -> str:
    ind = " " * 8
    lines = ["def f(xs):", '    """Run the distilled recurrence over the inputs xs."""']
    lines += [f"    {v.name} = {v.init}" for v in p.state]
    lines += ["    ys = []", f"    for t, {_loop_target(p.inputs)} in enumerate(xs):"]
    outs = [f"{ind}{n} = {render(e)}" for n, e in zip(p.output_names, p.outputs)]
    ups = _update_lines(p, ind)
    lines += ups + outs if p.output_after_update else outs + ups
    out = p.output_names[0] if len(p.output_names) == 1 else "(" + ", ".join(p.output_names) + ")"
    lines += [f"{ind}ys.append({out})", "    return ys"]
    if not p.uses_t:                       # no position index where nothing reads it
        lines = [ln.replace(f"for t, {_loop_target(p.inputs)} in enumerate(xs):",
                            f"for {_loop_target(p.inputs)} in xs:") for ln in lines]
    return "\n".join(lines)


def _update_lines(p: SymbolicProgram, ind: str) -> list[str]:
    """One simultaneous assignment of all state variables (split over lines when long)."""
    if not p.state:
        return []
    names = ", ".join(v.name for v in p.state)
    exprs = ", ".join(render(e) for e in p.updates)
    if len(p.state) == 1 or len(names) + len(exprs) < 80:
        return [f"{ind}{names} = {exprs}"]
    return [f"{ind}{names} = ("] + [f"{ind}    {render(e)}," for e in p.updates] + [f"{ind})"]


def _dict_literal(name: str, d: dict) -> str:
    items = [f"{k!r}: {v!r}" for k, v in sorted(d.items(), key=lambda kv: repr(kv[0]))]
    lines, cur = [f"{name} = {{"], "   "
    for it in items:
        if len(cur) + len(it) + 2 > 96:
            lines.append(cur.rstrip())
            cur = "   "
        cur += f" {it},"
    if cur.strip():
        lines.append(cur.rstrip())
    return "\n".join(lines + ["}"])


def _most_common(emit: dict):
    vals = [v for _, v in sorted(emit.items(), key=lambda kv: repr(kv[0]))]
    return max(vals, key=vals.count) if vals else 0


def _table_body(p: TableProgram) -> str:
    n_states = len({s for s, _ in p.transitions})
    key = p.inputs[0] if len(p.inputs) == 1 else "(" + ", ".join(p.inputs) + ")"
    return "\n".join([
        f"# A Mealy machine with {n_states} states: (state, input) -> next state / output.",
        _dict_literal("_NEXT", p.transitions), "", _dict_literal("_EMIT", p.emit), "",
        f"_DEFAULT = {_most_common(p.emit)!r}", "", "",
        "def f(xs):",
        '    """Run the distilled state machine over the inputs xs."""',
        f"    s = {p.initial}", "    ys = []",
        f"    for {_loop_target(p.inputs)} in xs:",
        f"        key = (s, {key})",
        "        if key not in _NEXT:      # never seen while distilling: safe default, stay put",
        "            ys.append(_DEFAULT)",
        "            continue",
        "        ys.append(_EMIT[key])",
        "        s = _NEXT[key]",
        "    return ys"])


def _list_body(p: ListProgram) -> str:
    return "\n".join([
        "def f(xs):",
        '    """Keep the prefix read so far; the output is a formula of the whole prefix."""',
        "    p = []", "    ys = []",
        f"    for {_loop_target(p.inputs)} in xs:",
        f"        p.append({_loop_target(p.inputs)})",
        f"        ys.append({p.output})",
        "    return ys"])


def _self_check(info: ProgramInfo) -> str:
    ex = "[\n" + "".join(f"    ({list(xs)!r}, {list(ys)!r}),\n" for xs, ys in info.examples) + "]"
    return "\n".join([
        "# (inputs, outputs) pairs produced by the network the program was read from",
        f"_EXAMPLES = {ex}", "", "",
        "def _self_check() -> bool:",
        '    """Check f against the embedded examples; raise AssertionError on a mismatch."""',
        "    for xs, ys in _EXAMPLES:",
        "        got = f(xs)",
        '        assert got == ys, f"f({xs}) = {got}, expected {ys}"',
        "    return True", "", "",
        'if __name__ == "__main__":',
        "    _self_check()",
        '    print("self-check passed")'])
