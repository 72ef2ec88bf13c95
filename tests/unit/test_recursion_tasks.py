"""The recursion tasks: reference functions on hand-written rows, samplers, splits, registry."""

from __future__ import annotations

import numpy as np
import pytest

from algolens import tasks
from algolens.tasks import Seq2SeqTask, Split, TaskError
from algolens.tasks.recursion import (LEAF, NODE, inorder, parse_tree, postorder, preorder,
                                      sample_bits, serialize, successor, trailing_ones,
                                      tree_depth)

N, L = NODE, LEAF
# (bits LSB first, successor bits): 0->1, 1->2, 3->4, 11->12, 7->8 (grows), 4->5, 0b0110->7
SUCC = [([], [1]), ([0], [1]), ([1], [0, 1]), ([1, 1], [0, 0, 1]), ([1, 1, 0, 1], [0, 0, 1, 1]),
        ([1, 1, 1], [0, 0, 0, 1]), ([0, 0, 1], [1, 0, 1]), ([0, 1, 1, 0], [1, 1, 1, 0])]


@pytest.mark.parametrize("x,y", SUCC, ids=[str(x) for x, _ in SUCC])
def test_successor_hand_rows(x, y) -> None:
    assert successor(x) == y
    as_int = lambda bs: sum(b << i for i, b in enumerate(bs))  # noqa: E731
    assert as_int(successor(x)) == as_int(x) + 1


def test_trailing_ones() -> None:
    assert [trailing_ones(b) for b in ([], [0], [1], [1, 1, 0, 1], [1, 1, 1])] == [0, 0, 1, 2, 3]


#      1
#     / \
#    2   3          prefix: N 1 N 2 L L N 3 N 4 L L L
#       /
#      4
TREE = [N, 1, N, 2, L, L, N, 3, N, 4, L, L, L]


def test_traversals_hand_tree() -> None:
    assert preorder(TREE) == [1, 2, 3, 4]
    assert inorder(TREE) == [2, 1, 4, 3]
    assert postorder(TREE) == [2, 4, 3, 1]
    assert tree_depth(TREE) == 3
    assert preorder([L]) == inorder([L]) == postorder([L]) == [] and tree_depth([L]) == 0
    right_vine = [N, 5, L, N, 6, L, N, 7, L, L]
    assert inorder(right_vine) == [5, 6, 7] and postorder(right_vine) == [7, 6, 5]
    assert tree_depth(right_vine) == 3


def test_parse_round_trip_and_errors() -> None:
    assert serialize(parse_tree(TREE)) == TREE
    with pytest.raises(ValueError, match="ends early"):
        parse_tree([N, 1, L])
    with pytest.raises(ValueError, match="trailing"):
        parse_tree([L, L])


def test_rare_bits_have_long_chains() -> None:
    rng = np.random.default_rng(0)
    plain = [trailing_ones(sample_bits(rng, 12, False)) for _ in range(2000)]
    rare = [trailing_ones(sample_bits(rng, 12, True)) for _ in range(2000)]
    assert np.mean(np.array(plain) >= 6) < 0.05 < 0.4 < np.mean(np.array(rare) >= 6)
    assert 12 in rare           # the all-ones number appears


@pytest.mark.parametrize("name", ["Successor", "Preorder", "Inorder", "Postorder"])
def test_registered_tasks_sample_valid_rows(name) -> None:
    task = tasks.get(name, kind="seq2seq")
    assert name in tasks.names(kind="seq2seq") and name not in tasks.names()
    task.validate(n=16)
    xs = task.sample(50, 1, "train")
    ys = task.targets(xs)
    assert all(len(y) <= task.max_output_len and len(x) <= task.max_input_len
               for x, y in zip(xs, ys))
    assert task.sample(5, 7, "ood") == task.sample(5, 7, "ood")      # a function of the seed


def test_deep_trees_are_rare_and_oversampled() -> None:
    task = tasks.get("Inorder")
    plain = task.features(task.sample(500, 0, "train"))
    over = task.features(task.sample(500, 0, "train", oversample=0.5))
    assert np.mean(plain >= 7) < 0.1 < np.mean(over >= 7)
    ood = task.sample(100, 0, "ood")
    assert min(len(preorder(x)) for x in ood) == task.ood.lo


def test_user_seq2seq_task_and_errors() -> None:
    rev = Seq2SeqTask("User_Reverse", (0, 1, 2), (0, 1, 2), lambda xs: xs[::-1],
                      lambda rng, n, rare: [int(v) for v in rng.integers(0, 3, n)],
                      Split(1, 5), Split(6, 8), len, feature_name="length")
    tasks.register(rev)
    try:
        assert tasks.get("User_Reverse").reference([0, 1, 2]) == [2, 1, 0]
        with pytest.raises(TaskError, match="seq2seq task"):
            tasks.get("User_Reverse", kind="sequence")
    finally:
        tasks.unregister("User_Reverse")
    bad = Seq2SeqTask("User_Bad", (0, 1), (0, 1), lambda xs: [7], sample_bits, Split(1, 3),
                      Split(4, 5), len)
    with pytest.raises(TaskError, match="reference returned"):
        tasks.register(bad)
    with pytest.raises(TaskError, match="unknown split"):
        tasks.get("Successor").sample(3, 0, "tset")
    with pytest.raises(TaskError, match="lo <= hi"):
        Split(5, 2)
