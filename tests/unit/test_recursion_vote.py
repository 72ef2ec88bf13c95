"""The attention-vote shortcut on a hand-built layer 0 whose attention is known: the query of
output step j reads input position 2j + 1 (slot j of a left vine, but not of a right vine), so
the shortcut's outputs, and its slips, can be worked out by hand. The generated program must run
the same function; value patching with an unchanged symbol must change nothing."""

from __future__ import annotations

import numpy as np
import pytest

from algolens.analysis.transformer.interventions import patch_values
from algolens.analysis.transformer.vote import (
    KINDS,
    Layer0,
    VoteShortcut,
    attributions,
    patched_vote,
    vote_features,
)
from algolens.codegen import ProgramInfo
from algolens.codegen.readout import from_vote, vote_to_python
from algolens.codegen.verify import load_program
from algolens.models.seq2seq import Seq2SeqConfig, Seq2SeqTransformer
from algolens.tasks.recursion import LEAF, NODE, preorder, serialize

W, STEPS = 10, 4
N_CTX = W + 1 + STEPS
LEFT = serialize((1, (2, (3, None, None), None), None))      # N 1 N 2 N 3 L L L L
RIGHT = serialize((1, None, (2, None, (3, None, None))))     # N 1 L N 2 L N 3 L L


def _reader(vote: list[float], tau: float = 0.0) -> VoteShortcut:
    """One head, no LayerNorm, one-hot positions: step j's query (position W + j) gives logit
    1000 to the key at input position 2j + 1 and 0 to every other key."""
    pos = np.eye(N_CTX)
    W_Q = np.zeros((1, N_CTX, N_CTX))
    for j in range(STEPS):
        W_Q[0, W + j, 2 * j + 1] = 1000.0 * np.sqrt(N_CTX)
    l0 = Layer0(np.zeros((25, N_CTX)), pos, np.ones(N_CTX), np.zeros(N_CTX), W_Q,
                np.eye(N_CTX)[None], layer_norm=False)
    return VoteShortcut(l0, np.array(vote, dtype=float), tau, NODE, LEAF,
                        {v: v for v in range(12)}, {v: 12 + v for v in range(10)}, 22, W, 10)


# vote weights per kind (one head): label, NODE -> next label, LEAF -> next, LEAF -> previous,
# earlier output
LAGGING = [1.0, 1.0, 0.0, 1.0, 0.0]        # a LEAF read votes for the label before it


def test_attributions_name_the_label_each_token_votes_for() -> None:
    assert attributions(RIGHT, NODE, LEAF) == [
        [(1, 1)], [(0, 1)], [(2, 2), (3, 1)], [(1, 2)], [(0, 2)], [(2, 3), (3, 2)],
        [(1, 3)], [(0, 3)], [(3, 3)], [(3, 3)]]


def test_vote_features_sum_attention_by_kind_and_label() -> None:
    a = np.zeros((1, W + 2))
    a[0, 2], a[0, 4], a[0, W + 1] = 0.5, 0.25, 0.25       # a LEAF, label 2, the first output
    f = vote_features(attributions(RIGHT, NODE, LEAF), [7], a, W, 10)
    assert f.shape == (10, len(KINDS))
    assert f[2, 0] == pytest.approx(0.25) and f[2, 2] == pytest.approx(0.5)
    assert f[1, 3] == pytest.approx(0.5) and f[7, 4] == pytest.approx(0.25)
    assert f.sum() == pytest.approx(1.5)


def test_position_reader_is_right_on_a_left_vine_and_lags_on_a_right_vine() -> None:
    sc = _reader(LAGGING)
    assert sc.run(LEFT) == preorder(LEFT) == [1, 2, 3]
    # slots of the right vine are at 1, 4, 7; step 1 reads the NODE at 3 (-> label 2), step 2
    # reads the LEAF at 5, whose vote goes to the label before it: 2 again
    assert sc.run(RIGHT) == [1, 2, 2]
    assert preorder(RIGHT) == [1, 2, 3]


def test_tau_lets_a_close_runner_up_win() -> None:
    # step 2 of the right vine reads the LEAF at 5: 2 votes for label 3 (the pointer), 1 for
    # label 2 (steps 0 and 1 win by 3); the runner-up wins when it is within tau of the pointer
    leaning = [3.0, 3.0, 2.0, 1.0, 0.0]
    assert _reader(leaning, tau=0.5).run(RIGHT) == [1, 2, 3]
    assert _reader(leaning, tau=1.5).run(RIGHT) == [1, 2, 2]


def test_after_the_first_slip_the_vote_argmax_decides() -> None:
    # step 1 reads the NODE at 3 (0.5 for label 2, the pointer): label 0 (score 0) is within
    # tau 1.5 and slips in; step 2 then emits the argmax (3: 2 votes, 2: 1), although 2 is
    # within tau of the pointer 3
    sc = _reader([3.0, 0.5, 2.0, 1.0, 0.0], tau=1.5)
    assert sc.run(RIGHT) == [1, 0, 3]
    assert sc.step(RIGHT, [1, 0], 3) == 2
    info = ProgramInfo("Preorder", examples=((RIGHT, [1, 0, 3]),))
    assert load_program(vote_to_python(from_vote(sc, info)))(RIGHT) == [1, 0, 3]


def test_patched_vote_moves_the_read_label() -> None:
    sc = _reader(LAGGING)
    assert patched_vote(sc, LEFT, [1], 3, 7, ()) == 2          # step 1 reads position 3
    assert patched_vote(sc, LEFT, [1], 3, 7, (0,)) == 7


def test_generated_program_runs_the_same_function() -> None:
    sc = _reader(LAGGING, tau=0.5)
    info = ProgramInfo("Preorder", examples=((RIGHT, sc.run(RIGHT)), (LEFT, sc.run(LEFT))))
    src = vote_to_python(from_vote(sc, info))
    f = load_program(src)
    tree = serialize((4, (5, None, None), (6, None, None)))
    assert f(RIGHT) == [1, 2, 2] and f(LEFT) == [1, 2, 3] and f(tree) == sc.run(tree)
    assert "import math" in src and "_TAU = 0.5" in src


def test_patching_a_symbol_with_itself_changes_nothing() -> None:
    cfg = Seq2SeqConfig(tuple(range(12)), tuple(range(10)), W, STEPS, d_model=16, n_heads=2,
                        d_mlp=32, n_layers=1)
    model = Seq2SeqTransformer(cfg, seed=0).eval()
    xs, prefixes = [LEFT, RIGHT], [[1], [1, 2]]
    clean = patch_values(model, xs, prefixes, [3, 4], [7, 8], set())
    same = patch_values(model, xs, prefixes, [3, 4], [LEFT[3], RIGHT[4]], {0, 1})
    assert clean == same
    assert all(v is None or 0 <= v < 10 for v in clean)
