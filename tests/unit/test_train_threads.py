"""A run is a function of (config, seed) even when the caller's process uses several torch
threads: the recursion and nuclear trainers train on one thread by default (with two, torch's CPU
kernels may sum in another order from run to run; seen as different losses after 100 steps) and
give the caller's thread count back."""

from __future__ import annotations

import torch

from algolens.io import read_json


def _with_threads(n: int, fn):
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        return fn(), torch.get_num_threads()
    finally:
        torch.set_num_threads(old)


def test_recursion_train_run_is_reproducible_under_two_threads(tmp_path) -> None:
    from algolens.store import RunStore
    from algolens.studies.recursion import STUDY, training
    from algolens.studies.registry import run_point
    cfg = STUDY.make_config(task="Successor", steps=30, n_eval=50)
    hist = []
    for i in range(2):
        run, after = _with_threads(2, lambda i=i: run_point(
            STUDY, cfg, 0, RunStore(tmp_path / str(i)), progress=False, analyze=False)[0])
        assert after == 2                                    # the caller's setting is restored
        hist.append([h.loss for h in training(run).history])
    assert hist[0] == hist[1]              # same code path, one thread: the same numbers


def test_nuclear_train_run_is_reproducible_under_two_threads(tmp_path) -> None:
    from algolens.store import RunStore
    from algolens.studies.registry import run_point
    from algolens.studies.nuclear import STUDY
    cfg = STUDY.make_config(d_embed=4, d_model=16, n_blocks=1, steps=20, n_members=1)
    rms = []
    for i in range(2):
        run, after = _with_threads(2, lambda i=i: run_point(
            STUDY, cfg, 0, RunStore(tmp_path / str(i)), progress=False, analyze=False)[0])
        assert after == 2
        rms.append(read_json(run.dir / "metrics.json")["test_rms_keV"])
    assert rms[0] == rms[1]


def test_rnn_search_trains_on_one_thread_and_restores_the_callers(monkeypatch) -> None:
    """``search()`` called from a notebook with 2 threads trains as the CLI does (1 thread)."""
    import importlib
    search_mod = importlib.import_module("algolens.train.search")
    seen = []
    real = search_mod._search
    monkeypatch.setattr(search_mod, "_search",
                        lambda *a: seen.append(torch.get_num_threads()) or real(*a))
    r, after = _with_threads(2, lambda: search_mod.search("Sum_All", out=None, progress=False))
    assert r.solved and seen == [1] and after == 2
    _, after = _with_threads(2, lambda: search_mod.search("Sum_All", out=None, progress=False,
                                                          threads=None))
    assert seen == [1, 2] and after == 2
