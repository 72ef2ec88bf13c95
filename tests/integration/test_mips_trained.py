"""Real (short) training runs: network, state machine / recurrence and program agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from algolens import tasks
from algolens.analysis.rnn import FSMExtractor, network_outputs
from algolens.codegen import load_program
from algolens.studies import mips
from algolens.train.rnn import TaskData, default_config, train_ensemble

torch.set_num_threads(1)

CASES = {   # task: (hidden, f_depth, f_width, kind)
    "Sum_Last2": (2, 1, 0, "linear"),
    "Parity_All": (1, 2, 4, "boolean"),
    "Add_Mod_3": (2, 2, 16, "modular"),
    "Max_Seen": (1, 2, 16, "counter-like"),
}


def _train(name):
    h, fd, fw, _ = CASES[name]
    task = tasks.get(name)
    tr, va = TaskData.generate(task, 20000, 0), TaskData.generate(task, 2000, 1)
    cfg = default_config(task, h, f_depth=fd, f_width=fw, data=tr)
    res = train_ensemble(task, cfg, 8, train=tr, val=va, max_steps=4000,
                         lr=1e-2 if fd > 1 else 3e-3)
    assert res.solved, f"{name} did not train: {res.val_accuracy}"
    return task, res.model.member(res.best)


@pytest.mark.parametrize("name", list(CASES))
def test_trained_network_program_agree(name):
    task, net = _train(name)
    res = mips.run(task, network=net, write=False)
    assert res.solved, res.passes
    f = load_program(res.program_source)
    xs = task.sample(300, np.random.default_rng(9), task.length)
    assert [f(task._row_to_list(r)) for r in xs] == network_outputs(net, xs).tolist()
    if CASES[name][3] != "linear":
        fsm = FSMExtractor().fit(net, task)
        assert fsm.machine_.run(xs) == network_outputs(net, xs).tolist()


def test_cli_json(tmp_path):
    import json

    from click.testing import CliRunner

    from algolens.cli import main
    out = CliRunner().invoke(main, ["mips", "Parity_All", "--json", "--out", str(tmp_path),
                                    "--budget-seconds", "60"])
    rec = json.loads(out.output)
    assert rec["solved"] and rec["form"] == "symbolic" and rec["accuracy"] == 1.0
    assert "def f(xs)" in rec["program"]
