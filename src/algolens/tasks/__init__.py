"""Pure task definitions (no torch): the 62 MIPS sequence tasks, the recursion (seq2seq) and
table tasks, and user tasks.

    >>> from algolens import tasks
    >>> t = tasks.get("Parity_Last2")
    >>> t.reference([1, 0, 0, 1])
    [1, 1, 0, 1]
"""

from .registry import (benchmark_names, get, kind_of, load_task_file, names, origin, register,
                       unregister)
from .seq2seq import Seq2SeqTask, Split
from .table import TableTask, modular_addition, modular_addition_target
from .spec import SequenceTask, TaskError

__all__ = [
           "Seq2SeqTask",
           "SequenceTask",
           "TableTask",
           "Split",
           "TaskError",
           "benchmark_names",
           "get",
           "kind_of",
           "load_task_file",
           "modular_addition",
           "modular_addition_target",
           "names",
           "origin",
           "register",
           "unregister",
]
