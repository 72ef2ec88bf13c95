"""Bring your own network: the small adapter the distiller needs, and collecting its states.

Any recurrent network can be distilled if it offers four methods (``MIPSRNN`` already does):

    initial_state(batch) -> Tensor [batch, H]       # h_{-1}
    encode(x)            -> Tensor [..., F]         # raw inputs [batch, (time,) C] -> features
    step(h, feat)        -> Tensor [batch, H]       # h_t = step(h_{t-1}, feat_t)
    readout(h)           -> Tensor [batch, D]       # y_t in task units (rounded = prediction)

Example with a hand-written ``torch.nn.RNNCell`` network::

    class MyNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = torch.nn.RNNCell(1, 8, nonlinearity="relu")
            self.out = torch.nn.Linear(8, 1)
        def initial_state(self, batch): return torch.zeros(batch, 8)
        def encode(self, x): return torch.as_tensor(x, dtype=torch.float32).unsqueeze(-1)
        def step(self, h, feat): return self.cell(feat, h)
        def readout(self, h): return self.out(h)

    from algolens.analysis.rnn import FSMExtractor
    fsm = FSMExtractor().fit(MyNet(), task)         # or algolens.studies.mips.run(task, network=...)

The distiller reads only this interface (and ``layers()`` where present), never task labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from ...tasks.spec import SequenceTask


@runtime_checkable
class RNNAdapter(Protocol):
    def initial_state(self, batch: int) -> torch.Tensor: ...
    def encode(self, x: torch.Tensor) -> torch.Tensor: ...
    def step(self, h: torch.Tensor, feat: torch.Tensor) -> torch.Tensor: ...
    def readout(self, h: torch.Tensor) -> torch.Tensor: ...


def check_adapter(net) -> RNNAdapter:
    """Fail fast with the list of missing methods."""
    missing = [m for m in ("initial_state", "encode", "step", "readout")
               if not callable(getattr(net, m, None))]
    if missing:
        raise ValueError(f"{type(net).__name__} lacks {missing}; give it initial_state(batch), "
                         "encode(x), step(h, feat) and readout(h) (see algolens.analysis.rnn."
                         "adapter for an example)")
    return net


def encode_inputs(net: RNNAdapter, xs: np.ndarray) -> torch.Tensor:
    """Raw inputs ``[n, T]`` or ``[n, T, C]`` -> features ``[n, T, F]``."""
    feat = net.encode(torch.as_tensor(xs, dtype=torch.float32))
    return feat if feat.dim() == 3 else feat.unsqueeze(-1)


def symbol_features(net: RNNAdapter, task: SequenceTask) -> torch.Tensor:
    """Features of every input symbol, ``[S, F]`` in the order of ``task.symbols``."""
    sym = np.asarray(task.symbols)
    xs = sym.reshape(len(sym), 1, -1) if task.n_channels > 1 else sym.reshape(len(sym), 1)
    return encode_inputs(net, xs)[:, 0]


@torch.no_grad()
def rollout(net: RNNAdapter, xs: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the recurrence through the adapter: hidden ``[n, T, H]`` and outputs ``[n, T, D]``."""
    feat = encode_inputs(net, xs)                         # [n, T, F]
    h = net.initial_state(feat.shape[0])
    hs = []
    for t in range(feat.shape[1]):
        h = net.step(h, feat[:, t])
        hs.append(h)
    H = torch.stack(hs, 1)                                # [n, T, H]
    Y = net.readout(H.reshape(-1, H.shape[-1])).reshape(H.shape[0], H.shape[1], -1)
    return H, Y


def network_outputs(net: RNNAdapter, xs: np.ndarray) -> np.ndarray:
    """The network's own rounded predictions, ``[n, T]`` or ``[n, T, D]`` ints."""
    Y = torch.round(rollout(net, xs)[1]).to(torch.int64).numpy()
    return Y[..., 0] if Y.shape[-1] == 1 else Y


@dataclass(frozen=True)
class HiddenStates:
    """Fresh inputs with the network's hidden states and rounded outputs (no labels)."""

    xs: np.ndarray           # [n, T(, C)]
    h: np.ndarray            # [n, T, H] float64
    y: np.ndarray            # [n, T(, D)] int64: the network's rounded outputs
    h0: np.ndarray           # [H] initial state

    def head(self, n: int) -> "HiddenStates":
        """The first ``n`` sequences (passes check on as many sequences as they always did)."""
        return HiddenStates(self.xs[:n], self.h[:n], self.y[:n], self.h0)

    @property
    def y3(self) -> np.ndarray:
        """Outputs with the output axis always present, ``[n, T, D]``."""
        return self.y[..., None] if self.y.ndim == 2 else self.y


@dataclass(frozen=True)
class Collection:
    """What the distiller knows about a network: its states and outputs on fresh inputs,
    collected once and handed down the chain of passes (never labels).

    ``fit`` is regression data; ``check`` (length L), ``check_2x`` (length 2L) and
    ``check_10x`` (10L, may be None) are independent sequences on which passes and the final
    program measure agreement with the network (fidelity at 1x, 2x and 10x the length).
    """

    fit: HiddenStates
    check: HiddenStates
    check_2x: HiddenStates
    check_10x: HiddenStates | None = None

    def fidelity_sets(self) -> tuple[tuple[int, HiddenStates], ...]:
        """(length multiple, sequences) at which programs are compared with the network."""
        sets = ((1, self.check), (2, self.check_2x), (10, self.check_10x))
        return tuple((k, s) for k, s in sets if s is not None)

    @property
    def h0(self) -> np.ndarray:
        return self.fit.h0


@torch.no_grad()
def hidden_states(net: RNNAdapter, xs: np.ndarray) -> HiddenStates:
    """Run ``net`` on ``xs`` once: hidden states and rounded outputs.

    Uses the model's ``hook_h`` when it has one (our ``MIPSRNN``), else the adapter loop."""
    if hasattr(net, "run_with_cache") and "hook_h" in getattr(net, "hook_dict", {}):
        out, cache = net.run_with_cache(torch.as_tensor(xs, dtype=torch.float32),
                                        names_filter="hook_h")
        H, Y = cache["hook_h"], out
    else:
        H, Y = rollout(net, xs)
    y = torch.round(Y).to(torch.int64).numpy()
    return HiddenStates(xs, H.double().numpy(), y[..., 0] if y.shape[-1] == 1 else y,
                        net.initial_state(1)[0].double().numpy())


def recollect(net: RNNAdapter, states: Collection) -> Collection:
    """The same inputs run through another network (e.g. a snapped copy of the original)."""
    return Collection(*(None if s is None else hidden_states(net, s.xs)
                        for s in (states.fit, states.check, states.check_2x, states.check_10x)))


class StateCollector:
    """Collect hidden states and the network's own outputs on fresh sequences, once.

    ``n`` sequences at the training length for fitting, ``n_check`` more at L,
    ``n_check // 2`` at 2L and ``n_10x`` at 10L for checks. Results: ``collection_``
    (``Collection``), ``states_`` (its fit part), ``fidelity_`` (1.0 by definition), ``report_``.
    """

    def __init__(self, n: int = 600, length: int | None = None, n_check: int = 1000,
                 seed: int = 1, n_10x: int = 100) -> None:
        self.n, self.length, self.n_check, self.seed = n, length, n_check, seed
        self.n_10x = n_10x

    def fit(self, net: RNNAdapter, task: SequenceTask) -> "StateCollector":
        check_adapter(net)
        rng = np.random.default_rng(self.seed)
        L = self.length or task.length
        xs = [task.sample(self.n, rng, L), task.sample(self.n_check, rng, L),
              task.sample(self.n_check // 2, rng, 2 * L)]
        sets = [hidden_states(net, x) for x in xs]
        note = ""
        if self.n_10x:                      # drawn last: the other sets stay as they were
            try:
                sets.append(hidden_states(net, task.sample(self.n_10x, rng, 10 * L)))
            except Exception as e:          # a network built for short inputs only
                note = f"; the network does not run at 10x the length ({type(e).__name__})"
        self.collection_ = Collection(*sets)
        self.states_ = self.collection_.fit
        self.fidelity_ = 1.0
        self.report_ = (f"collected {self.n} + {self.n_check} sequences x {L} steps and "
                        f"{self.n_check // 2} x {2 * L} of {self.states_.h.shape[-1]}-d hidden "
                        f"states{note}")
        return self


def collection_for(net: RNNAdapter, task: SequenceTask, states: Collection | None,
                   seed: int) -> Collection:
    """``states`` when the distiller handed them down, else a fresh collection (a pass used on
    its own)."""
    return states if states is not None else StateCollector(seed=seed).fit(net, task).collection_


@dataclass
class PassRecord:
    """One attempted pass: name, whether it succeeded, its fidelity and why."""

    name: str
    ok: bool
    fidelity: float | None = None
    reason: str = ""
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)
