"""Real architecture searches on a few tasks: linear, nonlinear binary, nonlinear one-hot."""

from __future__ import annotations

import pytest
import torch

from algolens import tasks
from algolens.store import RunStore
from algolens.train import search
from algolens.train.rnn import TaskData

torch.set_num_threads(1)


@pytest.mark.parametrize("name, max_hidden", [("Sum_Last3", 3), ("Parity_Last3", 3),
                                              ("Add_Mod_4", 8)])
def test_search_solves_and_checkpoint_agrees(tmp_path, name, max_hidden):
    r = search(name, out=tmp_path, progress=False)         # limits in steps: no time cap
    assert r.solved and not r.budget_exhausted, r.tried
    assert r.config.hidden <= max_hidden
    # the saved network is the reported one and is right on fresh data of another seed
    run = RunStore(tmp_path).open(r.run_id)
    net, meta = run.load_model(), run.result
    task = tasks.get(name)
    fresh = TaskData.generate(task, 2000, seed=12345)
    assert (torch.round(net(fresh.x)) == fresh.y).all()      # integer outputs after rounding
    assert meta.accuracy == 1.0 and meta.n_test >= 10_000
