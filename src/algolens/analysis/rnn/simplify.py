"""Simplification: function-preserving snapping of a linear recurrence (the paper's snap step).

For a network whose hidden update is affine, h' = h W + feat U + b (f depth 1; numeric or one-hot
features; any readout g), trained weights are only close to the clean algorithm: W ≈ I with a
small contraction, per-symbol increments ≈ integer multiples of a step. The errors accumulate
over the sequence, so hidden states drift off any integer lattice and counters look unbounded.
``SnapRecurrence``:

1. snaps W entries within ``tol`` of an integer;
2. takes the per-symbol increments d_k = feat_k U + b and fits an ``IntegerLattice`` to
   {0} ∪ {d_k}: d_k ≈ n_k A with n_k integer -- a change of basis in which every increment is an
   integer vector -- and replaces d_k by n_k A exactly;
3. keeps the snapped network only when its rounded outputs equal the original network's on fresh
   sequences (``fidelity_``, vs ``fidelity_before_`` = 1 by definition).

The result ``network_`` is an adapter (same encode/readout) whose states lie exactly on a lattice,
so ``LatticeFormulas`` can read an integer counter out of it.
"""

from __future__ import annotations

import numpy as np
import torch

from ...tasks.spec import SequenceTask
from .adapter import Collection, RNNAdapter, collection_for, network_outputs, rollout, symbol_features
from .lattice import IntegerLattice


class SnappedRecurrence(torch.nn.Module):
    """Adapter: h' = h W + feat U + b with snapped weights; encode/readout from the original."""

    def __init__(self, base: RNNAdapter, W: np.ndarray, U: np.ndarray, b: np.ndarray,
                 readout: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        super().__init__()
        self.base = base
        self.W, self.U, self.b = (torch.tensor(a, dtype=torch.float64) for a in (W, U, b))
        self.C = None if readout is None else [torch.tensor(a, dtype=torch.float64)
                                               for a in readout]

    def initial_state(self, batch: int) -> torch.Tensor:
        return self.base.initial_state(batch).double()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.base.encode(x).double()

    def step(self, h: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        return h.double() @ self.W + feat.double() @ self.U + self.b      # [N, H]

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        if self.C is not None:                      # refitted affine readout [H, D], [D]
            return h.double() @ self.C[0] + self.C[1]
        return self.base.readout(h.float()).double()


class SnapRecurrence:
    """See module docstring. Results: ``network_`` (or None), ``fidelity_``,
    ``fidelity_before_``, ``max_change_`` (largest weight change), ``report_``."""

    def __init__(self, tol: float = 0.1, n: int = 300, seed: int = 4) -> None:
        self.tol, self.n, self.seed = tol, n, seed

    def fit(self, net: RNNAdapter, task: SequenceTask, states: Collection | None = None
            ) -> SnapRecurrence:
        """``states``: the distiller's collection (the snapped network must reproduce the
        original's outputs on its first ``n`` fit sequences); collected here when None."""
        self.network_, self.fidelity_, self.fidelity_before_ = None, 0.0, 1.0
        layers = getattr(net, "layers", lambda: None)()
        if not layers or len(layers["f"]) != 1:
            self.report_ = "not applicable: the hidden update is not affine (f depth > 1)"
            return self
        if getattr(getattr(net, "cfg", None), "cell", "additive") != "additive":
            self.report_ = "not applicable: the hidden update is bilinear in state and input"
            return self
        Wf, b = layers["f"][0]                                  # [H + F, H], [H]
        H = b.shape[0]
        W, U = Wf[:H], Wf[H:]
        Ws = np.where(np.abs(W - np.rint(W)) < self.tol, np.rint(W), W)
        feats = symbol_features(net, task).double().numpy()     # [S, F]
        inc = feats @ U + b                                     # [S, H] increment per symbol
        lat = IntegerLattice(tol=0.3).fit(np.concatenate([np.zeros((1, H)), inc]),
                                          initial=np.zeros(H))
        if lat.basis_ is None or lat.initial_coords_ is None:
            self.report_ = f"increments are not on an integer lattice ({lat.report_})"
            return self
        inc_s = lat.coords_[1:] @ lat.basis_                    # exact integer combinations
        # solve feats @ U' + b' = inc_s (least squares; exact for one-hot and numeric affine)
        A = np.concatenate([feats, np.ones((len(feats), 1))], 1)
        sol = np.linalg.lstsq(A, inc_s, rcond=None)[0]
        Us, bs = sol[:-1], sol[-1]
        snapped = SnappedRecurrence(net, Ws, Us, bs)
        states = collection_for(net, task, states, self.seed)
        xs, want = states.fit.xs[: self.n], states.fit.y[: self.n]
        H0 = torch.as_tensor(states.fit.h[: self.n])                    # [n, T, H] original
        self.fidelity_ = self._agree(snapped, want, xs)
        if self.fidelity_ < 1.0 and len(layers["g"]) == 1:
            # short "retrain" of the affine readout on the network's own real-valued outputs
            Hs, _ = rollout(snapped, xs)                          # [n, T, H]
            Y = net.readout(H0.reshape(-1, H).float()).double().numpy()   # [n*T, D]
            X1 = np.concatenate([Hs.numpy().reshape(-1, H), np.ones((Hs.numel() // H, 1))], 1)
            sol = np.linalg.lstsq(X1, Y.reshape(len(X1), -1), rcond=None)[0]
            refit = SnappedRecurrence(net, Ws, Us, bs, (sol[:-1], sol[-1]))
            fid = self._agree(refit, want, xs)
            if fid > self.fidelity_:
                snapped, self.fidelity_ = refit, fid
        self.max_change_ = float(max(np.abs(Ws - W).max(), np.abs(feats @ Us + bs - inc).max()))
        if self.fidelity_ == 1.0:
            self.network_ = snapped
        self.report_ = (f"snapped W to {np.count_nonzero(Ws == np.rint(Ws))}/{Ws.size} integers "
                        f"and {len(inc)} increments onto a {lat.basis_.shape[0]}-d lattice "
                        f"(largest change {self.max_change_:.3f}); agreement with the network "
                        f"{self.fidelity_before_:.0%} -> {self.fidelity_:.1%}"
                        f"{' (readout refitted)' if snapped.C is not None else ''}")
        return self

    @staticmethod
    def _agree(net: RNNAdapter, want: np.ndarray, xs: np.ndarray) -> float:
        return float((network_outputs(net, xs) == want).reshape(len(xs), -1).all(1).mean())
