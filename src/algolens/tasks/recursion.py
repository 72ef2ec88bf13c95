"""Structurally recursive functions (Zhang et al. 2023): binary successor and tree traversals.

Formats (our own design, after ../shared/specs/recursion.md):

* **Successor.** A number is its bit list, least-significant bit first (the inductive binary
  datatype with the LSB outermost): succ([]) = [1]; succ([0] + m) = [1] + m;
  succ([1] + m) = [0] + succ(m). The number of trailing ones k (the run of 1s at the start of
  the list) decides how far the carry reaches; under uniform bits P(k) = 2^-(k+1).
* **Traversals.** A labelled binary tree in prefix form with explicit constructors: a node is
  ``NODE label left right``, an empty subtree is ``LEAF``. Labels are 0..9, NODE = 10, LEAF = 11.
  Outputs are the pre-, in- or post-order label sequences.

Sizes: bits for successor, nodes for trees. Rare cases: long carry chains (k uniform over
0..size) and deep trees (a random vine: each node has one non-empty child).
"""

from __future__ import annotations

from typing import Union

import numpy as np

from .seq2seq import Seq2SeqTask, Split

N_LABELS = 10
NODE, LEAF = N_LABELS, N_LABELS + 1
Tree = Union[None, tuple]          # None (empty) or (label, left, right)


# ------------------------------------------------------------------ successor
def successor(bits: list) -> list:
    """n + 1 on LSB-first bits, by the recursive definition: [1, 1, 0] (3) -> [0, 0, 1] (4)."""
    if not bits:
        return [1]
    head, rest = bits[0], list(bits[1:])
    return [1] + rest if head == 0 else [0] + successor(rest)


def trailing_ones(bits: list) -> int:
    """k: the length of the run of 1s at the least-significant end."""
    k = 0
    while k < len(bits) and bits[k] == 1:
        k += 1
    return k


def sample_bits(rng: np.random.Generator, size: int, rare: bool) -> list:
    """Uniform bits of length ``size``; a rare row has k uniform over 0..size (the all-ones
    number, k = size, included)."""
    if not rare:
        return [int(b) for b in rng.integers(0, 2, size)]
    k = int(rng.integers(0, size + 1))
    tail = [0] + [int(b) for b in rng.integers(0, 2, size - k - 1)] if k < size else []
    return [1] * k + tail


# ------------------------------------------------------------------ trees
def parse_tree(tokens: list) -> Tree:
    """Prefix tokens -> nested ``(label, left, right)``; ValueError if malformed."""
    tree, end = _parse(list(tokens), 0)
    if end != len(tokens):
        raise ValueError(f"trailing tokens after a complete tree: {tokens[end:]}")
    return tree


def _parse(tokens: list, i: int) -> tuple[Tree, int]:
    if i >= len(tokens):
        raise ValueError("tree ends early: a NODE needs a label and two subtrees")
    if tokens[i] == LEAF:
        return None, i + 1
    if tokens[i] != NODE or i + 1 >= len(tokens) or not 0 <= tokens[i + 1] < N_LABELS:
        raise ValueError(f"expected NODE label ... or LEAF at position {i}, got {tokens[i:i + 2]}")
    left, j = _parse(tokens, i + 2)
    right, k = _parse(tokens, j)
    return (tokens[i + 1], left, right), k


def serialize(tree: Tree) -> list:
    """``(3, None, (5, None, None))`` -> [NODE, 3, LEAF, NODE, 5, LEAF, LEAF]."""
    if tree is None:
        return [LEAF]
    label, left, right = tree
    return [NODE, label] + serialize(left) + serialize(right)


def preorder(tokens: list) -> list:
    """Labels root-left-right: [N 1 N 2 L L N 3 L L] -> [1, 2, 3]."""
    return _walk(parse_tree(tokens), "pre")


def inorder(tokens: list) -> list:
    """Labels left-root-right: [N 1 N 2 L L N 3 L L] -> [2, 1, 3]."""
    return _walk(parse_tree(tokens), "in")


def postorder(tokens: list) -> list:
    """Labels left-right-root: [N 1 N 2 L L N 3 L L] -> [2, 3, 1]."""
    return _walk(parse_tree(tokens), "post")


def _walk(tree: Tree, order: str) -> list:
    if tree is None:
        return []
    label, left, right = tree
    lw, rw = _walk(left, order), _walk(right, order)
    return {"pre": [label] + lw + rw, "in": lw + [label] + rw, "post": lw + rw + [label]}[order]


def tree_depth(tokens: list) -> int:
    """Nodes on the longest root-to-leaf path (empty tree 0, one node 1)."""
    return _depth(parse_tree(tokens))


def _depth(tree: Tree) -> int:
    return 0 if tree is None else 1 + max(_depth(tree[1]), _depth(tree[2]))


def random_tree(rng: np.random.Generator, n: int, vine: bool = False) -> Tree:
    """A tree with ``n`` labelled nodes: left-subtree size uniform over 0..n-1 (random-BST
    shapes, depth ~ 2 ln n), or with ``vine`` all n-1 on one random side (depth n)."""
    if n == 0:
        return None
    if vine:
        n_left = (n - 1) * int(rng.integers(0, 2))
    else:
        n_left = int(rng.integers(0, n))
    label = int(rng.integers(0, N_LABELS))
    return (label, random_tree(rng, n_left, vine), random_tree(rng, n - 1 - n_left, vine))


def sample_tree(rng: np.random.Generator, size: int, rare: bool) -> list:
    return serialize(random_tree(rng, size, vine=rare))


# ------------------------------------------------------------------ the registered tasks
SUCCESSOR_TRAIN, SUCCESSOR_OOD = Split(1, 16), Split(17, 20)
TREE_TRAIN, TREE_OOD = Split(1, 10), Split(11, 13)


def _successor_task() -> Seq2SeqTask:
    return Seq2SeqTask(
        "Successor", (0, 1), (0, 1), successor, sample_bits, SUCCESSOR_TRAIN, SUCCESSOR_OOD,
        trailing_ones, feature_name="k", size_name="bits", max_input_len=SUCCESSOR_OOD.hi,
        max_output_len=SUCCESSOR_OOD.hi + 1,
        description="n+1 on LSB-first bits (carry over the k trailing ones)")


def _traversal_task(name: str, fn, what: str, shortcut: str = "read-table") -> Seq2SeqTask:
    return Seq2SeqTask(
        name, tuple(range(N_LABELS + 2)), tuple(range(N_LABELS)), fn, sample_tree, TREE_TRAIN,
        TREE_OOD, tree_depth, feature_name="depth", size_name="nodes",
        max_input_len=3 * TREE_OOD.hi + 1, max_output_len=TREE_OOD.hi,
        description=f"{what} labels of a prefix-serialised tree (10=NODE, 11=LEAF)",
        shortcut=shortcut)


RECURSION_TASKS: tuple[Seq2SeqTask, ...] = (
    _successor_task(),
    # pre-order's j-th label is the label after the j-th NODE: a copy pointer that layer-0
    # attention implements as a vote over label slots (analysis.transformer.vote)
    _traversal_task("Preorder", preorder, "pre-order", shortcut="attention-vote"),
    _traversal_task("Inorder", inorder, "in-order"),
    _traversal_task("Postorder", postorder, "post-order"),
)
