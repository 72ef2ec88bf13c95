"""Adapters for PyTorch's own recurrent modules: distil a model you trained yourself.

``TorchRNN(rnn, readout, symbols=...)`` wraps ``torch.nn.RNN``, ``nn.GRU``, ``nn.LSTM`` (any number
of layers, ``batch_first`` either way) or their cells ``nn.RNNCell``, ``nn.GRUCell``,
``nn.LSTMCell``, plus a readout module (hidden of the top layer -> outputs), as the four-method
adapter the distiller reads (``adapter.RNNAdapter``):

    >>> gru, head = torch.nn.GRU(2, 8, batch_first=True), torch.nn.Linear(8, 1)
    >>> net = TorchRNN(gru, head, symbols=[0, 1])      # inputs one-hot over the alphabet
    >>> mips.run(task, network=net)                     # doctest: +SKIP

The distiller's hidden state is every layer's h (and, for an LSTM, every layer's c) concatenated,
so the state machine it reads is the module's full state. Inputs: one-hot over ``symbols`` when
given (one channel), else the raw integer values as floats (``input_size`` = channels), or any
``encode`` function of your own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

_MODULES = (torch.nn.RNN, torch.nn.GRU, torch.nn.LSTM)
_CELLS = (torch.nn.RNNCell, torch.nn.GRUCell, torch.nn.LSTMCell)


class TorchRNN(torch.nn.Module):
    """``initial_state / encode / step / readout`` over a torch recurrent module (see module
    docstring). The wrapped modules are used as they are (no copy, no change of mode)."""

    def __init__(self, rnn: torch.nn.Module, readout: torch.nn.Module | Callable,
                 symbols: Sequence[int] | None = None,
                 encode: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        super().__init__()
        if not isinstance(rnn, _MODULES + _CELLS):
            raise ValueError(f"TorchRNN wraps torch.nn.RNN/GRU/LSTM or their cells, got "
                             f"{type(rnn).__name__}; for another network write the four adapter "
                             "methods yourself (see algolens.analysis.rnn.adapter)")
        if getattr(rnn, "bidirectional", False):
            raise ValueError("a bidirectional RNN reads the future: it has no left-to-right "
                             "state machine to distil; use bidirectional=False")
        if getattr(rnn, "proj_size", 0):
            raise ValueError("LSTM with proj_size is not supported; use proj_size=0")
        self.rnn, self.head, self._encode = rnn, readout, encode
        self.symbols = None if symbols is None else [int(s) for s in symbols]
        self.is_cell = isinstance(rnn, _CELLS)
        self.lstm = isinstance(rnn, (torch.nn.LSTM, torch.nn.LSTMCell))
        self.layers = 1 if self.is_cell else rnn.num_layers
        self.H = rnn.hidden_size
        width = len(self.symbols) if self.symbols is not None else None
        if encode is None and width is not None and width != rnn.input_size:
            raise ValueError(f"{len(self.symbols)} symbols one-hot but the RNN's input_size is "
                             f"{rnn.input_size}; give symbols matching input_size or encode=")

    # ---------------------------------------------------------------- the adapter
    def initial_state(self, batch: int) -> torch.Tensor:
        n = self.layers * self.H * (2 if self.lstm else 1)
        p = next(self.rnn.parameters())
        return torch.zeros(batch, n, dtype=p.dtype, device=p.device)

    def encode(self, x) -> torch.Tensor:
        x = torch.as_tensor(x)
        if self._encode is not None:
            return self._encode(x)
        if self.symbols is not None:
            return torch.stack([(x == s).float() for s in self.symbols], -1)
        return x.float() if x.dim() == 3 or self.rnn.input_size > 1 else x.float().unsqueeze(-1)

    def step(self, h: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        hs, cs = self._split(h)
        feat = feat.to(h.dtype)
        if self.is_cell:
            if self.lstm:
                h1, c1 = self.rnn(feat, (hs[0], cs[0]))
                return torch.cat([h1, c1], -1)
            return self.rnn(feat, hs[0])
        x = feat[:, None] if self.rnn.batch_first else feat[None]
        h0 = torch.stack(hs)                                     # [layers, batch, H]
        if self.lstm:
            _, (hn, cn) = self.rnn(x, (h0, torch.stack(cs)))
            return torch.cat(list(hn) + list(cn), -1)
        _, hn = self.rnn(x, h0)
        return torch.cat(list(hn), -1)

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        top = h[:, (self.layers - 1) * self.H: self.layers * self.H]
        return self.head(top)

    def _split(self, h: torch.Tensor) -> tuple[list, list]:
        parts = list(torch.split(h, self.H, -1))
        return parts[: self.layers], parts[self.layers:]
