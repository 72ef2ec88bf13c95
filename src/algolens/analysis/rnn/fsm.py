"""Discrete state extraction: quantise a network's hidden states into a Mealy machine.

Breadth-first search from h_{-1} over every input symbol; a new hidden vector joins an existing
state when it lies within ``tol`` (relative to the hidden-state scale), otherwise it becomes a new
state. Each edge carries the network's own rounded output. The machine is then minimised (Moore /
Hopcroft partition refinement: two states are equivalent when every input sequence gives the same
outputs) and checked against the network on fresh sequences. Edges that had to be snapped to the
nearest known state (state budget or depth exhausted: counters) are marked inexact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...tasks.spec import SequenceTask
from .adapter import (Collection, HiddenStates, RNNAdapter, check_adapter, collection_for,
                      symbol_features)


@dataclass
class MealyMachine:
    """``next[s, k]`` and ``out[s][k]`` for symbol index k; state 0 need not be the start."""

    symbols: list                 # ints or tuples, the task's alphabet
    initial: int
    next: np.ndarray              # [n_states, n_symbols] int
    out: list                     # [n_states][n_symbols] ints or tuples
    exact: np.ndarray             # [n_states, n_symbols] bool: edge seen, not snapped
    hidden: np.ndarray            # [n_states, H] a representative hidden vector per state

    @property
    def n_states(self) -> int:
        return self.next.shape[0]

    def run(self, xs: np.ndarray) -> list[list]:
        """Outputs for every row of ``[n, T(, C)]`` inputs."""
        index = {s: k for k, s in enumerate(self.symbols)}
        res = []
        for row in xs:
            s, ys = self.initial, []
            for v in row:
                k = index[tuple(int(u) for u in v) if np.ndim(v) else int(v)]
                ys.append(self.out[s][k])
                s = int(self.next[s, k])
            res.append(ys)
        return res


def minimise(m: MealyMachine) -> MealyMachine:
    """Merge equivalent states (partition refinement), keeping only states reachable from start."""
    reach, stack = {m.initial}, [m.initial]
    while stack:
        for t in m.next[stack.pop()]:
            if int(t) not in reach:
                reach.add(int(t))
                stack.append(int(t))
    states = sorted(reach)
    cls = {s: repr(m.out[s]) for s in states}
    while True:
        sig = {s: (cls[s], tuple(cls[int(t)] for t in m.next[s])) for s in states}
        ids: dict = {}
        new = {s: ids.setdefault(sig[s], len(ids)) for s in states}
        if len(ids) == len(set(cls.values())):
            cls = new
            break
        cls = new
    order = sorted(set(cls.values()), key=lambda c: min(s for s in states if cls[s] == c))
    rank = {c: i for i, c in enumerate(order)}
    rep = {rank[cls[s]]: s for s in reversed(states)}            # smallest original id
    n = len(order)
    nxt = np.array([[rank[cls[int(t)]] for t in m.next[rep[i]]] for i in range(n)], dtype=int)
    exact = np.array([[all(m.exact[s, k] for s in states if rank[cls[s]] == i)
                       for k in range(len(m.symbols))] for i in range(n)])
    return MealyMachine(m.symbols, rank[cls[m.initial]], nxt, [m.out[rep[i]] for i in range(n)],
                        exact, m.hidden[[rep[i] for i in range(n)]])


def _round_out(y: torch.Tensor) -> list:
    y = torch.round(y).to(torch.int64).tolist()
    return [v[0] if len(v) == 1 else tuple(v) for v in y]


@torch.no_grad()
def explore(net: RNNAdapter, task: SequenceTask, tol: float, max_states: int, max_depth: int
            ) -> MealyMachine:
    """Breadth-first quantisation of the reachable hidden states (see module docstring)."""
    feats = symbol_features(net, task)                               # [S, F]
    S = feats.shape[0]
    h0 = net.initial_state(1)[0].float()
    H = torch.empty(max(1, max_states), h0.shape[0])           # the states found, one per row
    H[0], n = h0, 1
    nxt, out, exact = {}, {}, {}
    frontier = [0]
    for depth in range(max_depth):
        if not frontier:
            break
        h = H[frontier].repeat_interleave(S, 0)                                # [len*S, H]
        hn = net.step(h, feats.repeat(len(frontier), 1))
        ys = _round_out(net.readout(hn))
        new_frontier = []
        for r, (src, k) in enumerate((s, k) for s in frontier for k in range(S)):
            d = torch.linalg.vector_norm(H[:n] - hn[r], dim=1)
            j = int(torch.argmin(d))
            if d[j] > tol and n < max_states and depth < max_depth - 1:
                H[n], j, n = hn[r], n, n + 1
                new_frontier.append(j)
                exact[src, k] = True
            else:
                exact[src, k] = bool(d[j] <= tol)
            nxt[src, k], out[src, k] = j, ys[r]
        frontier = new_frontier
    # states never expanded (left in the last frontier) borrow their nearest expanded state's edges
    done = sorted({s for s, _ in nxt})
    Hd = H[done]
    for s in range(n):
        if (s, 0) not in nxt:
            j = done[int(torch.argmin(torch.linalg.vector_norm(Hd - H[s], dim=1)))]
            for k in range(S):
                nxt[s, k], out[s, k], exact[s, k] = nxt[j, k], out[j, k], False
    return MealyMachine(task.symbols, 0, np.array([[nxt[s, k] for k in range(S)] for s in range(n)]),
                        [[out[s, k] for k in range(S)] for s in range(n)],
                        np.array([[exact[s, k] for k in range(S)] for s in range(n)]),
                        H[:n].double().numpy())


def _agreement(m: MealyMachine, states: HiddenStates) -> float:
    """Fraction of the collected sequences on which the machine gives the network's outputs."""
    xs, want = states.xs, states.y
    got = m.run(xs)
    ok = [list(map(lambda v: tuple(v) if np.ndim(v) else int(v), w)) == g
          for w, g in zip(want.tolist() if want.ndim == 2 else
                          [[tuple(v) for v in row] for row in want.tolist()], got)]
    return float(np.mean(ok))


class FSMExtractor:
    """Network -> minimal Mealy machine that reproduces its rounded outputs.

    Tries a ladder of quantisation tolerances (relative to the RMS hidden-state norm) and keeps
    the first machine that agrees with the network on every fresh sequence of the training length.

    Results: ``machine_`` (minimised), ``raw_states_`` (before minimisation), ``fidelity_``
    (training length, vs the network), ``fidelity_2x_``, ``closed_`` (no edge had to be snapped),
    ``candidates_`` (tol, raw states, states, fidelity), ``report_``.
    """

    def __init__(self, tols: tuple[float, ...] = (0.05, 0.02, 0.005), max_states: int = 1500,
                 max_symbols: int = 64, n_check: int = 1000, seed: int = 3) -> None:
        self.tols, self.max_states, self.max_symbols = tols, max_states, max_symbols
        self.n_check, self.seed = n_check, seed

    def fit(self, net: RNNAdapter, task: SequenceTask, states: Collection | None = None
            ) -> "FSMExtractor":
        """``states``: the distiller's collection (its check sequences at L and 2L); collected
        here when None."""
        check_adapter(net)
        self.machine_, self.fidelity_, self.fidelity_2x_, self.candidates_ = None, 0.0, 0.0, []
        if len(task.symbols) > self.max_symbols:
            self.report_ = (f"{len(task.symbols)} input symbols > max_symbols="
                            f"{self.max_symbols}: the state machine would be too large")
            return self
        states = collection_for(net, task, states, self.seed)
        xs, x2 = states.check.head(self.n_check), states.check_2x.head(self.n_check // 2)
        scale = float(np.sqrt((xs.h[:200] ** 2).sum(-1).mean())) + 1e-9
        for tol in self.tols:
            raw = explore(net, task, tol * scale, self.max_states, 2 * task.length + 1)
            m = minimise(raw)
            fid = _agreement(m, xs)
            self.candidates_.append((tol, raw.n_states, m.n_states, fid))
            if self.machine_ is None or fid > self.fidelity_:
                self.machine_, self.fidelity_, self.raw_states_ = m, fid, raw.n_states
            if fid == 1.0:
                break
        self.fidelity_2x_ = _agreement(self.machine_, x2)
        self.closed_ = bool(self.machine_.exact.all())
        self.report_ = (f"{self.raw_states_} quantised states -> {self.machine_.n_states} after "
                        f"minimisation; agrees with the network on {self.fidelity_:.1%} of "
                        f"sequences (2x length: {self.fidelity_2x_:.1%}); "
                        f"{'closed' if self.closed_ else 'not closed (some edges snapped)'}")
        return self
