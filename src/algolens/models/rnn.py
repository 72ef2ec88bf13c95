"""The MIPS RNN family: h_t = f([h_{t-1}, x_t]), y_t = g(h_t), h_{-1} = 0.

f and g are ReLU MLPs with no nonlinearity on the state or the output; depth 1 is affine, so
f = g = depth 1 is a linear RNN. The ``bilinear`` cell also feeds f the products of every state
unit with every input feature, f([h, x, h (x) x]): with one-hot inputs that is one affine map of
the state per symbol (a second-order RNN), which represents updates such as s' = s (x + 1) + x
that the additive cell has to approximate piece by piece. Inputs are raw numbers (times a fixed
per-channel scale, which is function-preserving and folded back by the distiller) or, optionally,
one-hot.

``RNNEnsemble`` holds E independent networks of one shape in stacked parameters ``[E, in, out]``
so that many seeds train as one batched computation. ``MIPSRNN`` is one network (E = 1) with
hooks shaped ``[batch, time, ...]``; ``RNNEnsemble.member(i)`` extracts one.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from .hooks import HookedModule, HookPoint


@dataclass(frozen=True)
class RNNConfig:
    """Shape of one RNN. ``f_width``/``g_width`` are used only when the depth is > 1."""

    n_inputs: int = 1            # input channels
    n_outputs: int = 1
    hidden: int = 2
    f_depth: int = 1
    f_width: int = 0
    g_depth: int = 1
    g_width: int = 0
    encoding: str = "numeric"    # "numeric" (raw values x scale) or "onehot"
    alphabet: tuple = ()         # per-channel tuples of symbols (needed for one-hot)
    input_scale: tuple = ()      # per-channel multiplier for numeric inputs (default 1)
    output_scale: float = 1.0    # y = g(h) * output_scale
    cell: str = "additive"       # "additive": f([h, x]); "bilinear": f([h, x, h (x) x])
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.hidden < 1 or self.f_depth < 1 or self.g_depth < 1:
            raise ValueError(f"hidden, f_depth and g_depth must be >= 1, got {self}")
        if self.f_depth > 1 and self.f_width < 1 or self.g_depth > 1 and self.g_width < 1:
            raise ValueError("an MLP of depth > 1 needs a width >= 1 (f_width / g_width)")
        if self.encoding not in ("numeric", "onehot"):
            raise ValueError(f"encoding must be 'numeric' or 'onehot', got {self.encoding!r}")
        if self.cell not in ("additive", "bilinear"):
            raise ValueError(f"cell must be 'additive' or 'bilinear', got {self.cell!r}")
        if self.encoding == "onehot" and len(self.alphabet) != self.n_inputs:
            raise ValueError("one-hot encoding needs the alphabet of every input channel")

    @property
    def n_features(self) -> int:
        if self.encoding == "onehot":
            return sum(len(a) for a in self.alphabet)
        return self.n_inputs

    @property
    def f_inputs(self) -> int:
        """Width of f's input: [h, x] (+ the H x F products for the bilinear cell)."""
        products = self.hidden * self.n_features if self.cell == "bilinear" else 0
        return self.hidden + self.n_features + products

    @property
    def is_linear(self) -> bool:
        return (self.f_depth == 1 and self.g_depth == 1 and self.encoding == "numeric"
                and self.cell == "additive")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["alphabet"] = [list(a) for a in self.alphabet]
        d["input_scale"] = list(self.input_scale)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RNNConfig":
        d = dict(d)
        d["alphabet"] = tuple(tuple(a) for a in d.get("alphabet", ()))
        d["input_scale"] = tuple(d.get("input_scale", ()))
        return cls(**d)

    def describe(self) -> str:
        f = "1" if self.f_depth == 1 else f"{self.f_depth}x{self.f_width}"
        g = "1" if self.g_depth == 1 else f"{self.g_depth}x{self.g_width}"
        cell = "; bilinear" if self.cell == "bilinear" else ""
        return f"h={self.hidden}; f={f}; g={g}{cell}"

    def n_params(self) -> int:
        def mlp(i, o, depth, width):
            dims = [i] + [width] * (depth - 1) + [o]
            return sum(a * b + b for a, b in zip(dims[:-1], dims[1:]))
        return (mlp(self.f_inputs, self.hidden, self.f_depth, self.f_width)
                + mlp(self.hidden, self.n_outputs, self.g_depth, self.g_width))


def _mlp_dims(cfg: RNNConfig) -> tuple[list[int], list[int]]:
    f = [cfg.f_inputs] + [cfg.f_width] * (cfg.f_depth - 1) + [cfg.hidden]
    g = [cfg.hidden] + [cfg.g_width] * (cfg.g_depth - 1) + [cfg.n_outputs]
    return f, g


def _stacked_mlp(n_models: int, dims: list[int], prefix: str, owner: nn.Module,
                 gen: torch.Generator | None = None) -> list[str]:
    """Create parameters ``{prefix}{k}_W [E, in, out]`` and ``{prefix}{k}_b [E, out]``.

    Drawn from ``gen`` (None: torch's global generator, for an unseeded model)."""
    names = []
    for k, (i, o) in enumerate(zip(dims[:-1], dims[1:])):
        bound = 1 / math.sqrt(i)
        W = torch.empty(n_models, i, o).uniform_(-bound, bound, generator=gen)
        b = torch.empty(n_models, o).uniform_(-bound, bound, generator=gen)
        owner.register_parameter(f"{prefix}{k}_W", nn.Parameter(W))
        owner.register_parameter(f"{prefix}{k}_b", nn.Parameter(b))
        names.append(f"{prefix}{k}")
    return names


class RNNEnsemble(HookedModule):
    """E networks of one shape; forward returns ``[E, batch, time, n_outputs]``."""

    def __init__(self, cfg: RNNConfig, n_models: int = 1, seed: int | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.n_models = n_models
        # a private generator: the global RNG (a user's notebook) is neither read nor reseeded
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        fd, gd = _mlp_dims(cfg)
        self.f_layers = _stacked_mlp(n_models, fd, "f", self, gen)
        self.g_layers = _stacked_mlp(n_models, gd, "g", self, gen)
        scale = cfg.input_scale or (1.0,) * cfg.n_inputs
        self.register_buffer("input_scale", torch.tensor(scale, dtype=torch.float32),
                             persistent=False)
        if cfg.encoding == "onehot":
            offsets, table = [], []
            for a in cfg.alphabet:
                offsets.append(sum(len(t) for t in table))
                table.append(tuple(a))
            self._onehot = [(torch.tensor(a), off) for a, off in zip(table, offsets)]
        self.hook_features = HookPoint()   # [E, batch, time, n_features]
        self.hook_h = HookPoint()          # [E, batch, time, hidden]
        self.hook_out = HookPoint()        # [E, batch, time, n_outputs]
        self.setup_hooks()

    # ------------------------------------------------------------ pieces (also used by analysis)
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Raw inputs ``[batch, time]`` or ``[batch, time, C]`` -> features ``[batch, time, F]``."""
        if x.dim() == 2:
            x = x.unsqueeze(-1)
        if x.shape[-1] != self.cfg.n_inputs:
            raise ValueError(f"input has {x.shape[-1]} channels, the model expects "
                             f"{self.cfg.n_inputs}; pass [batch, time] or [batch, time, channels]")
        if self.cfg.encoding == "numeric":
            return x.to(self.input_scale.dtype) * self.input_scale
        parts = []
        for c, (alpha, _off) in enumerate(self._onehot):
            hit = x[..., c : c + 1] == alpha.to(x.device)            # [batch, time, |alphabet|]
            if not bool(hit.any(-1).all()):
                bad = x[..., c][~hit.any(-1)][0].item()
                raise ValueError(f"input value {bad} in channel {c} is not in the one-hot "
                                 f"alphabet {list(alpha.tolist())}")
            parts.append(hit.to(torch.float32))
        return torch.cat(parts, dim=-1)

    # The recurrence runs "units first": activations are [E, units, N] and every layer is
    # W^T @ z. For the narrow layers of these nets (out = hidden or n_outputs, a few units)
    # that is several times faster on a CPU than z @ W over [E, N, units]; the public methods
    # keep the [E, N, units] shapes.
    def _weights_t(self, layers: list[str]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``(W^T [E, out, in], b [E, out, 1])`` per layer: views, made once per sequence."""
        return [(getattr(self, f"{n}_W").mT, getattr(self, f"{n}_b").unsqueeze(2))
                for n in layers]

    @staticmethod
    def _mlp_t(z: torch.Tensor, weights: list[tuple[torch.Tensor, torch.Tensor]]
               ) -> torch.Tensor:
        # z: [E, in, N]; relu between layers, none at the end
        for k, (Wt, b) in enumerate(weights):
            z = torch.baddbmm(b, Wt, z)
            if k < len(weights) - 1:
                z = torch.relu(z)
        return z

    def _step_t(self, h: torch.Tensor, feat: torch.Tensor, f=None) -> torch.Tensor:
        """``step`` units first: h ``[E, H, N]``, feat ``[E, F, N]`` -> ``[E, H, N]``
        (``f``: ``_weights_t(f_layers)``, passed in by a caller that steps many times)."""
        parts = [h, feat]
        if self.cfg.cell == "bilinear":      # products h_i x_k, index i * F + k: [E, H * F, N]
            parts.append((h.unsqueeze(2) * feat.unsqueeze(1)).flatten(1, 2))
        return self._mlp_t(torch.cat(parts, dim=1), f or self._weights_t(self.f_layers))

    def step(self, h: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        """One recurrence step: h ``[E, N, H]``, feat ``[E, N, F]`` -> next h ``[E, N, H]``."""
        return self._step_t(h.mT, feat.mT).mT

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        """g(h) * output_scale for h ``[E, N, H]`` -> ``[E, N, n_outputs]``."""
        return (self._mlp_t(h.mT, self._weights_t(self.g_layers)) * self.cfg.output_scale).mT

    def states(self, feat: torch.Tensor) -> torch.Tensor:
        """Run the recurrence: feat ``[E, B, T, F]`` -> every step's state ``[E, B, T, H]``."""
        E, B, T, _ = feat.shape
        ft = feat.permute(0, 2, 3, 1).contiguous()                   # [E, T, F, B]
        h = feat.new_zeros(E, self.cfg.hidden, B)
        f = self._weights_t(self.f_layers)
        hs = []
        for t in range(T):
            h = self._step_t(h, ft[:, t], f)
            hs.append(h)
        return torch.stack(hs, dim=2).permute(0, 3, 2, 1)            # [E, H, T, B] -> [E, B, T, H]

    def readout_states(self, H: torch.Tensor) -> torch.Tensor:
        """``readout`` of every step at once: states ``[E, B, T, H]`` -> ``[E, B, T, n_outputs]``
        (for the view ``states`` returns, the units-first reshape below is free)."""
        E, B, T, _ = H.shape
        Ht = H.permute(0, 3, 2, 1).reshape(E, -1, T * B)              # [E, H, T * B]
        y = self._mlp_t(Ht, self._weights_t(self.g_layers)) * self.cfg.output_scale
        return y.reshape(E, -1, T, B).permute(0, 3, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.hook_features(self.encode(x).unsqueeze(0).expand(self.n_models, -1, -1, -1))
        H = self.hook_h(self.states(feat))                            # [E, B, T, H]
        return self.hook_out(self.readout_states(H))

    # ------------------------------------------------------------ members
    def _index(self, i: int) -> int:
        """Check a member index; negatives count from the end (p[-1:0] would be empty)."""
        if not -self.n_models <= i < self.n_models:
            raise ValueError(f"member index {i} is out of range for an ensemble of "
                             f"{self.n_models} networks")
        return i % self.n_models

    def member(self, i: int) -> "MIPSRNN":
        """A standalone copy of network ``i``."""
        i = self._index(i)
        net = MIPSRNN(self.cfg)
        with torch.no_grad():
            for name, p in self.named_parameters():
                getattr(net.core, name).copy_(p[i : i + 1])
        return net

    def members(self, idx: list[int]) -> "RNNEnsemble":
        """A standalone ensemble of members ``idx`` (copies), e.g. to score a few of many."""
        idx = [self._index(i) for i in idx]
        sub = RNNEnsemble(self.cfg, len(idx), seed=0)    # seeded: the global RNG is not touched
        with torch.no_grad():
            for name, p in self.named_parameters():
                getattr(sub, name).copy_(p[idx])
        return sub

    def member_state(self, i: int) -> dict[str, torch.Tensor]:
        i = self._index(i)
        return {k: v[i : i + 1].detach().clone() for k, v in self.named_parameters()}


class MIPSRNN(HookedModule):
    """One RNN. ``forward(x)`` maps ``[batch, time(, C)]`` inputs to ``[batch, time, n_outputs]``.

    Hooks: ``hook_features`` [batch, time, F], ``hook_h`` [batch, time, hidden] (every step's
    state), ``hook_out`` [batch, time, n_outputs].
    """

    def __init__(self, cfg: RNNConfig, seed: int | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.core = RNNEnsemble(cfg, 1, seed)
        self.hook_features = HookPoint()
        self.hook_h = HookPoint()
        self.hook_out = HookPoint()
        self.setup_hooks()
        # only our own, unsqueezed hooks are public
        self.hook_dict = {k: v for k, v in self.hook_dict.items() if not k.startswith("core.")}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.hook_features(self.core.encode(torch.as_tensor(x)))     # [B, T, F]
        H = self.hook_h(self.core.states(feat.unsqueeze(0))[0])             # [B, T, H]
        return self.hook_out(self.core.readout_states(H.unsqueeze(0))[0])

    # adapter interface used by the distiller (see analysis.rnn)
    def initial_state(self, batch: int) -> torch.Tensor:
        return torch.zeros(batch, self.cfg.hidden)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.core.encode(torch.as_tensor(x))

    def step(self, h: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        """h [N, H], feat [N, F] -> [N, H]."""
        return self.core.step(h.unsqueeze(0), feat.unsqueeze(0))[0]

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        """h [N, H] -> y [N, n_outputs] (in task units)."""
        return self.core.readout(h.unsqueeze(0))[0]

    def layers(self) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
        """Weights as numpy ``(W [in, out], b [out])`` per layer of f and g (z_next = z @ W + b;
        f's first z is [h, x], or [h, x, h (x) x] in the bilinear cell)."""
        get = lambda n: (getattr(self.core, f"{n}_W")[0].detach().double().numpy(),  # noqa: E731
                         getattr(self.core, f"{n}_b")[0].detach().double().numpy())
        return {"f": [get(n) for n in self.core.f_layers],
                "g": [get(n) for n in self.core.g_layers]}
