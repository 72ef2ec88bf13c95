"""Issue 18, second reliability round (part a): task files that exit, ``mips --all --retrain``,
the search's safety cap reported as "budget exhausted", ``algolens tasks`` listing every kind,
and help texts (an example in every command's --help, checkpoint defaults that agree).

Each test failed on the main of commit e2fcf7f. Tiny settings: seconds each.
  §4 a task file calling sys.exit(3):   test_task_file_that_exits_is_one_error_line
  §5 mips --all --retrain ignored:      test_mips_all_retrain_trains_new_networks
  §5 no "budget exhausted" from mips:   test_mips_says_budget_exhausted_when_the_cap_bites
  §6 tasks lists every kind:            test_tasks_lists_every_kind, test_shipped_tasks_described
  §6 help examples, reindex --json,
     grokking checkpoint default:       test_every_command_help_has_an_example,
                                        test_runs_reindex_json,
                                        test_grokking_checkpoint_help_agrees_with_default
"""

from __future__ import annotations

import json

import click
import pytest
import torch
from click.testing import CliRunner

from algolens import tasks
from algolens.cli import main
from algolens.store import RunStore

torch.set_num_threads(1)

ECHO_TASK = '''from algolens.tasks import SequenceTask, register
register(SequenceTask(name="RelA_Echo", alphabet=[0, 1], length=4,
                      reference=lambda xs: [x for x in xs], description="echo"))
'''
# y_t = the last input: a left-to-right RNN can never solve it, so a small cap always bites
FUTURE_TASK = '''from algolens.tasks import SequenceTask, register
register(SequenceTask(name="RelA_Future", alphabet=[0, 1], length=6,
                      reference=lambda xs: [xs[-1]] * len(xs), description="needs the future"))
'''


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _train_runs(store) -> list[str]:
    return [r.id for r in RunStore(store).list(study="train")]


@pytest.fixture
def user_task_files(tmp_path):
    files = {}
    for name, src in (("echo", ECHO_TASK), ("future", FUTURE_TASK)):
        files[name] = tmp_path / f"{name}.py"
        files[name].write_text(src)
    yield files
    for n in ("RelA_Echo", "RelA_Future"):
        tasks.unregister(n)


# ------------------------------------------------------------------ §4 a task file that exits
@pytest.mark.parametrize("cmd", [
    ["tasks"], ["tasks", "Parity_All"], ["mips", "Parity_All"],
    ["mips", "--all", "--tasks", "Parity_All"], ["train", "Parity_All"],
    ["sweep", "mips", "--grid", "task=Parity_All"],
])
def test_task_file_that_exits_is_one_error_line(cmd, tmp_path) -> None:
    """A task file calling sys.exit(3) used to end the command silently with rc 3."""
    f = tmp_path / "exits.py"
    f.write_text("import sys\nsys.exit(3)\n")
    before = tasks.names(None)
    args = [*cmd, "--task-file", f]
    if cmd[0] != "tasks":
        args += ["--out", tmp_path / "runs"]
    res = cli(*args)
    assert res.exit_code == 2, (res.exit_code, res.output)
    errors = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "exits.py" in errors[0] and "sys.exit(3)" in errors[0], res.output
    assert "Traceback" not in res.output
    assert tasks.names(None) == before                   # nothing half-registered
    assert not (tmp_path / "runs" / "mips").exists()     # refused before any work


# ------------------------------------------------------------------ §5 mips --all --retrain
def test_mips_all_retrain_trains_new_networks(user_task_files, tmp_path) -> None:
    """`mips --all --retrain` used to reuse the store's network (the flag was dropped)."""
    out, echo = tmp_path / "runs", user_task_files["echo"]
    res = cli("mips", "RelA_Echo", "--task-file", echo, "--out", out)
    assert res.exit_code == 0, res.output
    first = _train_runs(out)
    assert len(first) == 1
    res = cli("mips", "--all", "--tasks", "RelA_Echo", "--task-file", echo, "--out", out,
              "--retrain", "--json")
    assert res.exit_code == 0, res.output
    after = _train_runs(out)
    assert len(after) == 2, after                        # a new search, not the old network
    row = json.loads(res.output[res.output.index("{"):])["results"][0]
    assert row["solved"] and row["network_run"] not in first
    assert "--all" in " ".join(cli("mips", "--help").output.split()).split("--retrain", 1)[1]


def test_mips_says_budget_exhausted_when_the_cap_bites(user_task_files, tmp_path) -> None:
    """`mips TASK --budget-seconds 2` printed "NOT SOLVED ... failed pass" only: the cap that
    stopped the search is named on the CLI and kept in the run's result and index row."""
    out = tmp_path / "runs"
    res = cli("mips", "RelA_Future", "--task-file", user_task_files["future"],
              "--budget-seconds", 2, "--out", out)
    assert res.exit_code == 1, res.output
    assert "budget exhausted" in res.output and "--budget-seconds" in res.output
    assert "failed pass: None" not in res.output
    run = next((out / "mips").iterdir())
    result = json.loads((run / "result.json").read_text())
    assert result["budget_exhausted"] is True
    assert result["reason"].startswith("budget exhausted")
    (row,) = RunStore(out).list(study="mips")
    assert row.status == "failed" and "budget exhausted" in row.reason


# ------------------------------------------------------------------ §6 algolens tasks
def test_tasks_lists_every_kind() -> None:
    """`algolens tasks` listed the 62 sequence tasks only: no Successor, no traversals."""
    res = cli("tasks")
    assert res.exit_code == 0, res.output
    rows = {ln.split()[0]: ln.split()[1] for ln in res.output.splitlines()[1:]}
    assert list(rows) == tasks.names(None)
    for name, kind in (("Successor", "seq2seq"), ("Preorder", "seq2seq"), ("Inorder", "seq2seq"),
                       ("Postorder", "seq2seq"), ("ModAdd_p31", "table"), ("AME2020", "table"),
                       ("AME2016", "table"), ("Parity_All", "sequence")):
        assert rows[name] == kind, (name, rows.get(name))
    only = cli("tasks", "--kind", "seq2seq")
    assert [ln.split()[0] for ln in only.output.splitlines()[1:]] == tasks.names("seq2seq")
    records = json.loads(cli("tasks", "--json").output)
    assert {r["name"]: r["kind"] for r in records} == {
        n: tasks.kind_of(tasks.get(n)) for n in tasks.names(None)}


def test_shipped_tasks_described() -> None:
    """`algolens tasks Successor` called it a "[user task]"."""
    out = cli("tasks", "Successor").output
    assert "user task" not in out and "algolens recursion" in out and "seq2seq" in out
    assert "17..20 bits out of distribution" in out
    out = cli("tasks", "AME2020").output
    assert "user task" not in out and "table" in out and "binding" in out
    assert "[benchmark (MIPS)]" in cli("tasks", "Div_3").output
    rec = json.loads(cli("tasks", "Preorder", "--json").output)
    assert rec["kind"] == "seq2seq" and rec["shortcut"] == "attention-vote"
    assert rec["origin"] == "shipped: algolens recursion"


def test_user_task_is_still_a_user_task(user_task_files) -> None:
    out = cli("tasks", "RelA_Echo", "--task-file", user_task_files["echo"]).output
    assert "[user task from" in out and "echo.py" in out


# ------------------------------------------------------------------ §6 help texts
def _commands(cmd: click.Command, path: list[str]):
    yield path, cmd
    if isinstance(cmd, click.Group):
        ctx = click.Context(cmd)
        for name in cmd.list_commands(ctx):
            yield from _commands(cmd.get_command(ctx, name), [*path, name])


def test_every_command_help_has_an_example() -> None:
    """Eight subcommands had no example in --help (runs list/show/verify among them)."""
    missing = [" ".join(path) or "algolens" for path, _ in _commands(main, [])
               if "Example" not in cli(*path, "--help").output]
    assert not missing, f"no example in --help of: {missing}"


def test_runs_reindex_json(tmp_path) -> None:
    (tmp_path / "store").mkdir()
    res = cli("runs", "reindex", "--out", tmp_path / "store", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["added"] == 0


def test_grokking_checkpoint_help_agrees_with_default() -> None:
    """`grokking train --help` said "default steps/40" while the option said "(0: none)
    [default: 0]"; the option's 0 now means steps // 40, and the help says so everywhere."""
    text = " ".join(cli("grokking", "train", "--help").output.split())
    opt = text[text.index("--checkpoint-every INTEGER"):][:200]
    assert "0: none" not in opt and "steps // 40" in opt and "default: 0" in opt
    from algolens.studies.grokking import GrokkingConfig
    cfg = GrokkingConfig(steps=400, checkpoint_every=0)
    assert cfg.train().checkpoint_every == 400 // 40
