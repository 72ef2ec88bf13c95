"""Work bounds and the wall-clock safety cap of the distillation passes.

Every search in a pass is bounded by *work* (expression size, candidates, labellings), so the same
network gives the same program on an idle or a loaded machine. A wall-clock ``Fuse`` is kept only
as a safety cap: when it blows, the search stops and its estimator says ``budget_exhausted_``; the
pass is then recorded as failed with the reason ``"budget exhausted: ..."`` -- never a silently
different answer.
"""

from __future__ import annotations

import time

EXHAUSTED = "budget exhausted"


class Fuse:
    """A wall-clock safety cap shared by the searches of one pass.

    ``blown`` becomes True the first time ``check()`` is called after ``seconds`` have passed;
    searches call ``check()`` between units of work and stop when it returns True.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self._deadline = time.monotonic() + self.seconds
        self.blown = False

    def check(self) -> bool:
        if not self.blown and time.monotonic() > self._deadline:
            self.blown = True
        return self.blown

    def note(self) -> str:
        """The reason text a blown fuse adds to a report."""
        return (f"{EXHAUSTED}: the wall-clock safety cap of {self.seconds:g} s stopped the "
                "search before its work bound; the result is not the bounded search's answer")
