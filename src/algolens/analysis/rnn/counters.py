"""Counters: integer state coordinates read off the hidden states, with formulas for their update.

For tasks whose state set grows with the sequence length (Evens_Counter, Majority_*, Balanced_
Parenthesis, Sum_All-like nets) a transition table cannot generalise. ``LatticeFormulas``:

1. rolls the network out on fresh sequences (its own outputs, never labels);
2. fits an ``IntegerLattice`` to the hidden states h_t, t >= 0 (h ≈ b + z·A, z integer);
3. regresses z_t = F(z_{t-1}, x_t) per coordinate with ``IntegerSR``; for the output it first
   tries y_t = G(z_{t-1}, x_t), then y_t = G'(z_t) with z_t substituted by F (outputs that read
   the new state, e.g. Majority: y = [z_t > 0]);
4. chooses the initial value z_{-1}: the lattice coordinate of h_{-1} when it lies on the
   lattice, else the small integer vector whose updates reproduce the first step (exact
   initial-state handling rather than rounding);
5. checks the formulas against the network on fresh sequences of length L and 2L.
"""

from __future__ import annotations

import itertools

import numpy as np

from ...tasks.spec import SequenceTask
from .adapter import Collection, HiddenStates, RNNAdapter, collection_for
from .budget import Fuse
from .expr import Expr, Op, Var, evaluate, variables
from .formulas import StateFormulas, input_names
from .integer_sr import IntegerSR
from .lattice import IntegerLattice


def substitute(e: Expr, repl: dict[str, Expr]) -> Expr:
    """Replace variables by expressions."""
    if isinstance(e, Var):
        return repl.get(e.name, e)
    if isinstance(e, Op):
        return Op(e.op, tuple(substitute(a, repl) for a in e.args))
    return e


def simulate(f: StateFormulas, xs: np.ndarray) -> np.ndarray:
    """Run state formulas on ``[n, T(, C)]`` inputs -> outputs ``[n, T, D]`` (vectorised)."""
    xs3 = xs[..., None] if xs.ndim == 2 else xs
    n, T, _ = xs3.shape
    state = {v: np.full(n, init, dtype=np.int64) for v, init in zip(f.state, f.init)}
    ys = np.zeros((n, T, len(f.outputs)), dtype=np.int64)
    for t in range(T):
        env = {**state, **{name: xs3[:, t, c].astype(np.int64) for c, name in enumerate(f.inputs)},
               "t": np.full(n, t, dtype=np.int64)}
        out = [np.broadcast_to(evaluate(e, env), (n,)) for e in f.outputs]
        env.update({("y" if len(out) == 1 else f"y{d}"): o for d, o in enumerate(out)})
        state = {v: np.broadcast_to(evaluate(u, env), (n,)).copy()
                 for v, u in zip(f.state, f.updates)}
        ys[:, t] = np.stack(out, 1)
    return ys


class LatticeFormulas:
    """Network -> integer state coordinates + update/output formulas (see module docstring).

    Results: ``formulas_`` (StateFormulas, labelling "lattice", or None), ``lattice_``,
    ``fidelity_`` / ``fidelity_2x_`` (agreement with the network, length L / 2L), ``report_``.
    """

    def __init__(self, n: int = 400, max_size: int = 7, max_candidates: int = 1_000_000,
                 init_radius: int = 2, time_cap: float = 120.0, seed: int = 5) -> None:
        self.n, self.max_size, self.max_candidates = n, max_size, max_candidates
        self.init_radius, self.time_cap, self.seed = init_radius, time_cap, seed

    def fit(self, net: RNNAdapter, task: SequenceTask, states: Collection | None = None
            ) -> LatticeFormulas:
        """``states``: the collection of ``net`` (for a snapped copy: ``recollect``); its
        first ``n`` fit sequences are the data, its check sequences measure agreement."""
        self.formulas_, self.fidelity_, self.fidelity_2x_ = None, 0.0, 0.0
        self.budget_exhausted_ = False
        states = collection_for(net, task, states, self.seed)
        xs, H, y = states.fit.xs[: self.n], states.fit.h[: self.n], states.fit.y3[: self.n]
        self._h0 = h0 = states.h0
        self.lattice_ = lat = IntegerLattice().fit(H.reshape(-1, H.shape[-1]), initial=h0)
        if lat.basis_ is None or lat.fidelity_ < 1.0:
            self.report_ = f"lattice: {lat.report_}"
            return self
        Z = lat.coords_.reshape(H.shape[0], H.shape[1], -1)      # [n, T, k]
        names = input_names(task)
        self._fuse = Fuse(self.time_cap)
        found = self._regress(xs, Z, y, names)
        self.budget_exhausted_ = self._fuse.blown
        if self.budget_exhausted_:
            found = self._fuse.note()
        if isinstance(found, str):
            self.report_ = f"{lat.report_}; {found}"
            return self
        keep, ups, outs = found
        idx = [int(v[1:]) for v in keep]
        Z = Z[..., idx]
        init = self._initial(lat, idx, ups, outs, xs, Z, y, names)
        if init is None:
            self.report_ = f"{lat.report_}; no initial value z_-1 reproduces the first step"
            return self
        f = StateFormulas("lattice", names, keep, init, ups, outs)
        self.fidelity_ = self._agree(f, states.check.head(self.n))
        self.fidelity_2x_ = self._agree(f, states.check_2x.head(self.n // 2))
        self.formulas_ = f if self.fidelity_ == 1.0 else None
        self.report_ = (f"{lat.report_}; formulas of size {f.complexity} agree with the network "
                        f"on {self.fidelity_:.1%} (2x length {self.fidelity_2x_:.1%})")
        return self

    # ------------------------------------------------------------------ internals
    def _env(self, xs, Zprev, names) -> dict[str, np.ndarray]:
        xs3 = xs[..., None] if xs.ndim == 2 else xs
        env = {n: xs3[..., c].reshape(-1) for c, n in enumerate(names)}
        env.update({f"z{i}": Zprev[..., i].reshape(-1) for i in range(Zprev.shape[-1])})
        return env

    def _points(self, env: dict, targets: dict) -> tuple[dict, dict]:
        """Distinct (inputs, targets) rows: the regression domain."""
        keys = list(env) + list(targets)
        M = np.stack([np.asarray(d[k]) for d in (env, targets) for k in d if k in keys], 1)
        M = np.unique(M, axis=0)
        ne = len(env)
        return ({k: M[:, i] for i, k in enumerate(env)},
                {k: M[:, ne + i] for i, k in enumerate(targets)})

    def _sr(self, env, targets) -> dict:
        consts = (0, 1, 2)
        return IntegerSR(self.max_size, consts, max_candidates=self.max_candidates).fit(
            env, targets, fuse=self._fuse).formulas_

    def _regress(self, xs, Z, y, names):
        """Outputs first; then updates for the coordinates the outputs need (transitively)."""
        k = Z.shape[2]
        Zp, xs_, Zn, yn = Z[:, :-1], xs[:, 1:], Z[:, 1:], y[:, 1:]     # t >= 1: z_{t-1} known
        env = self._env(xs_, Zp, names)
        zvars = [f"z{i}" for i in range(k)]
        outs, via_new = [], []
        for d in range(y.shape[2]):
            tg = {"y": yn[..., d].reshape(-1)}
            g = self._sr(*self._points(env, tg))["y"]
            if g is None:                       # the output reads the new state z_t
                e2 = {f"z{i}": Zn[..., i].reshape(-1) for i in range(k)}
                g = self._sr(*self._points(e2, tg))["y"]
                if g is None:
                    return f"no output formula of size <= {self.max_size} for y{d}"
                via_new.append(d)
            outs.append(g)
        need = set().union(*(variables(g) for g in outs)) & set(zvars)
        ups: dict[str, Expr] = {}
        while need - set(ups):
            todo = sorted(need - set(ups))
            tg = {f"next_{v}": Zn[..., int(v[1:])].reshape(-1) for v in todo}
            up = self._sr(*self._points(env, tg))
            missing = [v for v in todo if up[f"next_{v}"] is None]
            if missing:
                return f"no update formula of size <= {self.max_size} for {missing}"
            for v in todo:
                ups[v] = up[f"next_{v}"]
                need |= variables(ups[v]) & set(zvars)
        keep = sorted(ups, key=lambda v: int(v[1:]))
        outs = [substitute(g, ups) if d in via_new else g for d, g in enumerate(outs)]
        return tuple(keep), tuple(ups[v] for v in keep), tuple(outs)

    def _initial(self, lat, idx, ups, outs, xs, Z, y, names):
        """z_{-1}: on-lattice h_{-1} first, else the nearest small vector that fits step 0."""
        k = Z.shape[2]
        z_real = lat.transform(self._h0[None])[0] if lat.initial_coords_ is None \
            else lat.initial_coords_.astype(float)
        centre = np.round(z_real[idx]).astype(np.int64)
        r = self.init_radius
        cands = sorted(itertools.product(range(-r, r + 1), repeat=k),
                       key=lambda v: (sum(abs(u) for u in v), v))
        if lat.initial_coords_ is not None:
            cands = [(0,) * k] + cands
        for dv in cands:
            z0 = centre + np.array(dv, dtype=np.int64)
            env = self._env(xs[:, :1], np.broadcast_to(z0, (xs.shape[0], 1, k)), names)
            env = {(f"z{idx[int(n[1:])]}" if n.startswith("z") else n): v for n, v in env.items()}
            ok = all(np.array_equal(np.broadcast_to(evaluate(u, env), (xs.shape[0],)),
                                    Z[:, 0, i]) for i, u in enumerate(ups))
            ok = ok and all(np.array_equal(np.broadcast_to(evaluate(g, env), (xs.shape[0],)),
                                           y[:, 0, d]) for d, g in enumerate(outs))
            if ok:
                return tuple(int(v) for v in z0)
        return None

    @staticmethod
    def _agree(f: StateFormulas, states: HiddenStates) -> float:
        try:
            got = simulate(f, states.xs)
        except (ZeroDivisionError, FloatingPointError):
            return 0.0
        return float((got == states.y3).all(axis=(1, 2)).mean())
