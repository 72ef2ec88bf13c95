"""The pointer shortcut: a never-slipping pointer is pre-order; a slip reads the next label; the
emitted program runs the same function."""

from __future__ import annotations

from algolens.analysis.transformer.pointer import PointerShortcut, SkipTree
from algolens.codegen import ProgramInfo
from algolens.codegen.readout import from_pointer, pointer_to_python
from algolens.codegen.verify import load_program
from algolens.tasks.recursion import LEAF, NODE, preorder, serialize

TREE = serialize((1, (2, None, (4, None, None)), (3, None, None)))


def _shortcut(slip_at: int | None) -> PointerShortcut:
    if slip_at is None:                                  # one leaf: never slips
        return PointerShortcut(SkipTree([-2], [-2.0], [-1], [-1], [0.0]), 0.5, NODE, LEAF)
    # root splits on j <= slip_at - 1: left leaf never slips, right leaf slips when j == slip_at
    tree = SkipTree([0, -2, 0, -2, -2], [slip_at - 0.5, -2.0, slip_at + 0.5, -2.0, -2.0],
                    [1, -1, 3, -1, -1], [2, -1, 4, -1, -1], [0.0, 0.0, 0.0, 0.9, 0.0])
    return PointerShortcut(tree, 0.5, NODE, LEAF)


def test_pointer_without_slips_is_preorder() -> None:
    assert _shortcut(None).run(TREE) == preorder(TREE) == [1, 2, 4, 3]


def test_slip_reads_the_next_label_and_program_agrees() -> None:
    sc = _shortcut(1)
    assert sc.run(TREE) == [1, 4, 4, 3]
    info = ProgramInfo("Preorder", examples=((TREE, sc.run(TREE)),))
    f = load_program(pointer_to_python(from_pointer(sc, info)))
    assert f(TREE) == sc.run(TREE)
    assert f(serialize((7, None, None))) == [7]
