"""``algolens tasks``: list every registered task of every kind (the MIPS benchmark's sequence
tasks, the recursion study's seq2seq tasks, the table tasks, user tasks), or show one in detail."""

from __future__ import annotations

import inspect
import textwrap

import click

from .. import tasks
from ..tasks import Seq2SeqTask, TableTask
from ..tasks.registry import KINDS
from ..tasks.spec import SequenceTask
from .common import echo_json, json_option, resolve_task, task_file_option


def example_row(task: SequenceTask) -> tuple[list, list]:
    """A deterministic, informative example: of seeds 0..7, the row with the most distinct outputs."""
    rows = [task.example(seed=s) for s in range(8)]
    return max(rows, key=lambda r: len({repr(v) for v in r[1]}))


def _fmt_value(v) -> str:
    """One symbol or output, compactly: 7, or (1,0) for a tuple."""
    if isinstance(v, (tuple, list)):
        return "(" + ",".join(str(int(u)) for u in v) + ")"
    return str(int(v))


def _fmt_row(values: list, max_items: int | None = None) -> str:
    """A row as space-separated values, shortened with '…' past max_items."""
    shown = values if max_items is None else values[:max_items]
    text = " ".join(_fmt_value(v) for v in shown)
    return text + (" …" if len(shown) < len(values) else "")


def _fmt_channel(chan: tuple[int, ...]) -> str:
    """{0,1} for short alphabets, [-100..99] for contiguous long ones."""
    if len(chan) > 4 and list(chan) == list(range(chan[0], chan[-1] + 1)):
        return f"[{chan[0]}..{chan[-1]}]"
    return "{" + ",".join(str(v) for v in chan) + "}"


def format_alphabet(task: SequenceTask) -> str:
    parts = [_fmt_channel(c) for c in task.channels]
    return parts[0] if len(parts) == 1 else " x ".join(parts)


def task_record(task) -> dict:
    """The JSON description of one task of any kind (also used by other commands' --json)."""
    if isinstance(task, TableTask):
        return {"name": task.name, "kind": "table", "origin": tasks.origin(task),
                "inputs": list(task.inputs), "targets": list(task.targets),
                "description": task.description, "properties": dict(task.properties)}
    inp, out = example_row(task)
    if isinstance(task, Seq2SeqTask):
        return {"name": task.name, "kind": "seq2seq", "origin": tasks.origin(task),
                "alphabet": list(task.input_alphabet),
                "output_alphabet": list(task.output_alphabet),
                "sizes": {"train": [task.train.lo, task.train.hi],
                          "ood": [task.ood.lo, task.ood.hi], "unit": task.size_name},
                "feature": task.feature_name, "shortcut": task.shortcut,
                "description": task.description,
                "example_inputs": _plain(inp), "example_outputs": _plain(out)}
    return {
        "name": task.name,
        "kind": "sequence",
        "origin": tasks.origin(task),
        "n_channels": task.n_channels,
        "alphabet": [list(c) for c in task.channels],
        "length": task.length,
        "output_dim": task.output_dim,
        "description": task.description,
        "example_inputs": _plain(inp),
        "example_outputs": _plain(out),
    }


def _plain(values: list) -> list:
    """Ints, or lists of ints for tuple symbols / outputs (JSON has no tuples)."""
    return [[int(u) for u in v] if isinstance(v, (tuple, list)) else int(v) for v in values]


def _table(rows: list[list[str]]) -> list[str]:
    """Left-aligned columns separated by two spaces; the last column is not padded."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1] for r in rows]


def _list_lines(all_tasks: list) -> list[str]:
    """One line per task: NAME KIND IN L DESCRIPTION EXAMPLE. IN: input channels (a table: its
    input columns); L: the length (seq2seq: the largest in-distribution size; a table: -)."""
    rows = [["NAME", "KIND", "IN", "L", "DESCRIPTION", "EXAMPLE (inputs -> outputs)"]]
    for t in all_tasks:
        desc = t.description if len(t.description) <= 48 else t.description[:47] + "…"
        if isinstance(t, TableTask):
            rows.append([t.name, "table", str(len(t.inputs)), "-", desc,
                         f"{' '.join(t.inputs)} -> {_names_row(t.targets, 4)}"])
            continue
        inp, out = example_row(t)
        k = 6 if t.n_channels == 1 and t.output_dim == 1 else 4
        rows.append([t.name, tasks.kind_of(t), str(t.n_channels), str(t.length), desc,
                     f"{_fmt_row(inp, k)} -> {_fmt_row(out, k)}"])
    return _table(rows)


def _names_row(names: tuple[str, ...], k: int) -> str:
    return " ".join(names[:k]) + (" …" if len(names) > k else "")


def _definition(task: SequenceTask) -> str:
    """The reference's docstring, else its source, else nothing."""
    doc = inspect.getdoc(task.reference)
    if doc:
        return doc
    try:
        return textwrap.dedent(inspect.getsource(task.reference)).rstrip()
    except (OSError, TypeError):
        return ""


def _detail_lines(task) -> list[str]:
    if isinstance(task, TableTask):
        return _table_detail(task)
    if isinstance(task, Seq2SeqTask):
        return _seq2seq_detail(task)
    lines = [
        f"{task.name}  [{tasks.origin(task)}]",
        "  kind        : sequence (one output per input step)",
        f"  description : {task.description or '(none)'}",
        f"  inputs      : {task.n_channels} channel(s), alphabet {format_alphabet(task)}"
        + ("  (one tuple per step)" if task.n_channels > 1 else ""),
        f"  length      : {task.length}",
        f"  output_dim  : {task.output_dim}",
        f"  sampler     : {'custom' if task.sampler is not None else 'uniform, independent'}",
    ]
    return lines + _definition_lines(task) + _example_lines(task)


def _definition_lines(task) -> list[str]:
    """The task's reference function as written (when its source can be found)."""
    definition = _definition(task)
    return ["  definition  :"] + [f"    {ln}" for ln in definition.splitlines()] \
        if definition else []


def _example_lines(task) -> list[str]:
    lines = ["  examples    :"]
    for seed in range(3):
        inp, out = task.example(seed=seed)
        lines += [f"    x = {_fmt_row(inp)}", f"    y = {_fmt_row(out)}", ""]
    return lines[:-1]


def _seq2seq_detail(task: Seq2SeqTask) -> list[str]:
    tr, ood, unit = task.train, task.ood, task.size_name
    lines = [
        f"{task.name}  [{tasks.origin(task)}]",
        "  kind        : seq2seq (outputs of another length than the input)",
        f"  description : {task.description or '(none)'}",
        f"  inputs      : alphabet {_fmt_channel(task.input_alphabet)}; sizes {tr.lo}..{tr.hi} "
        f"{unit} in distribution, {ood.lo}..{ood.hi} {unit} out of distribution",
        f"  outputs     : alphabet {_fmt_channel(task.output_alphabet)}",
        f"  feature     : {task.feature_name} (accuracy is stratified by it)",
        f"  shortcut    : {task.shortcut} (the read-out `algolens recursion analyze` uses)",
    ]
    return lines + _definition_lines(task) + _example_lines(task)


def _table_detail(task: TableTask) -> list[str]:
    props = ", ".join(f"{k}={v}" for k, v in task.properties.items())
    return [
        f"{task.name}  [{tasks.origin(task)}]",
        "  kind        : table (a dataset with named inputs and targets)",
        f"  description : {task.description or '(none)'}",
        f"  inputs      : {', '.join(task.inputs)}",
        f"  targets     : {', '.join(task.targets)}",
        f"  properties  : {props or '(none)'}",
    ]


def register(group: click.Group) -> None:
    """Add this module's commands to the ``algolens`` group."""

    @group.command("tasks")
    @click.argument("name", required=False)
    @click.option("--kind", type=click.Choice(KINDS), default=None,
                  help="List only the tasks of one kind (default: every kind).")
    @task_file_option
    @json_option
    def tasks_cmd(name: str | None, kind: str | None, task_files: tuple[str, ...],
                  as_json: bool) -> None:
        """List every task of every kind, or show one.

        Three kinds: sequence (one output per input step: the 62 MIPS benchmark tasks, for
        `algolens mips` / `train`), seq2seq (outputs of another length: Successor and the tree
        traversals, for `algolens recursion`) and table (named inputs and targets: ModAdd_p31,
        ..., AME2020, AME2016), plus user tasks. Each line shows the task's name, kind, inputs
        (channels, or a table's input columns), length, a one-line description and one example
        row. With NAME, show where the task comes from, its definition and examples.

        \b
        Examples:
          algolens tasks                          # all tasks, one line each
          algolens tasks --kind seq2seq           # only the recursion study's tasks
          algolens tasks Div_3                    # one task in detail
          algolens tasks Successor --json         # one task, machine-readable
          algolens tasks --task-file my_tasks.py  # include your own tasks
        """
        if name is not None:
            task = resolve_task(name, task_files)
            if as_json:
                echo_json(task_record(task))
            else:
                click.echo("\n".join(_detail_lines(task)))
            return
        for f in task_files:
            tasks.load_task_file(f)
        all_tasks = [tasks.get(n) for n in tasks.names(kind)]
        if as_json:
            echo_json([task_record(t) for t in all_tasks])
        else:
            click.echo("\n".join(_list_lines(all_tasks)))
