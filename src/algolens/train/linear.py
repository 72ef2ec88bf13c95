"""Closed-form start for linear RNNs: least-squares impulse response + Ho–Kalman realization.

A linear RNN h_t = A h_{t-1} + B x_t + b, y_t = C h_t + d has outputs
y_t = sum_k C A^k B x_{t-k} + c_t. Least squares on the data gives the Markov parameters
M_k = C A^k B and the position biases c_t; the rank of their block Hankel matrix is the minimal
state size, and its SVD gives (A, B, C) (Ho & Kalman 1966). Used as the starting point of one
ensemble member, so exactly linear tasks are solved after a check instead of thousands of steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..models.rnn import RNNConfig, RNNEnsemble
from .rnn import TaskData


@dataclass
class ImpulseFit:
    """Least-squares fit y_t = sum_k M[k] x_{t-k} + c[t]; ``worst`` is the max abs residual."""

    M: np.ndarray        # [T, D, C]
    c: np.ndarray        # [T, D]
    worst: float

    def hankel(self, bias: bool = True) -> np.ndarray:
        """Block Hankel matrix of the Markov parameters [M_k, c_{k+1} - c_k]."""
        T = self.M.shape[0]
        dc = np.diff(self.c, axis=0)[:, :, None]                          # [T-1, D, 1]
        mk = [np.concatenate([self.M[k], dc[k]], 1) if bias else self.M[k] for k in range(T - 1)]
        a = T // 2
        return np.block([[mk[i + j] for j in range(T - a)] for i in range(a)])


def features(data: TaskData, cfg: RNNConfig, n: int = 2048) -> TaskData:
    """The first ``n`` rows of ``data`` with inputs replaced by the model's raw input features:
    the raw values for numeric inputs; for one-hot inputs the one-hot vectors *without* each
    channel's first symbol (one-hot columns sum to 1, so keeping them all would make the bias
    unidentifiable and inflate the Hankel rank)."""
    x = data.x[:n]
    if cfg.encoding == "onehot":
        x = RNNEnsemble(cfg, 1).encode(x)[..., _kept_onehot(cfg)]          # [n, T, F - C]
    return TaskData(x, data.y[:n])


def _kept_onehot(cfg: RNNConfig) -> list[int]:
    starts = np.cumsum([0] + [len(a) for a in cfg.alphabet[:-1]])
    return [i for i in range(cfg.n_features) if i not in set(starts.tolist())]


def fit_impulse(data: TaskData, n: int = 2048) -> ImpulseFit:
    x = data.x[:n].double().numpy()                  # [n, T, C]
    y = data.y[:n].double().numpy()                  # [n, T, D]
    n, T, C = x.shape
    D = y.shape[-1]
    cols = [np.concatenate([np.zeros((n, k, C)), x[:, : T - k]], 1) for k in range(T)]
    X = np.concatenate(cols + [np.broadcast_to(np.eye(T), (n, T, T))], -1).reshape(n * T, -1)
    # normal equations: ~50x faster than an SVD solve for one-hot designs, and float64 keeps
    # the exact fits exact (the designs here are small and well conditioned)
    coef, *_ = np.linalg.lstsq(X.T @ X, X.T @ y.reshape(n * T, D), rcond=None)  # [T*C + T, D]
    worst = float(np.abs(X @ coef - y.reshape(n * T, D)).max())
    return ImpulseFit(coef[: T * C].reshape(T, C, D).transpose(0, 2, 1), coef[T * C:], worst)


def linear_order(data: TaskData) -> int | None:
    """Minimal state size of a linear RNN that fits ``data`` up to rounding, or None.

    None when the best linear fit is off by >= 0.5 somewhere (rounding cannot rescue it). When the
    fit is exact the Hankel rank is the order; when it is exact only up to rounding the fitted
    coefficients are noisy and their rank means nothing, so we start at 1.
    """
    fit = fit_impulse(data)
    if fit.worst >= 0.49:
        return None
    if fit.worst > 1e-3:
        return 1
    s = np.linalg.svd(fit.hankel(), compute_uv=False)
    return max(1, int((s > 1e-6 * max(s.max(), 1e-12)).sum()))


def realize(fit: ImpulseFit, n: int) -> tuple[np.ndarray, ...]:
    """Ho–Kalman: (A [n,n], B [n,C], b [n], C [D,n], d [D]) reproducing the fitted response."""
    T, D, Cx = fit.M.shape
    H = fit.hankel()
    U, s, Vt = np.linalg.svd(H)
    R = np.sqrt(s[:n])[:, None] * Vt[:n]                                # [n, (T-a)(C+1)]
    O = U[:, :n] * np.sqrt(s[:n])                                       # [a D, n]
    w = Cx + 1
    A = R[:, w:] @ np.linalg.pinv(R[:, :-w])                            # shift of the R blocks
    B, Cm = R[:, :Cx], O[:D]
    # biases: c_t = d + C S_t b with S_t = sum_{k<=t} A^k, solved by least squares
    S, P, rows = np.zeros((n, n)), np.eye(n), []
    for _t in range(T):
        S, P = S + P, P @ A
        rows.append(np.concatenate([Cm @ S, np.eye(D)], 1))             # [D, n + D]
    sol, *_ = np.linalg.lstsq(np.concatenate(rows), fit.c.reshape(-1), rcond=None)
    return A, B, sol[:n], Cm, sol[n:]


@torch.no_grad()
def load_realization(model: RNNEnsemble, member: int, parts: tuple[np.ndarray, ...]) -> None:
    """Write (A, B, b, C, d) into a linear ``member``, undoing the fixed input/output scales."""
    cfg: RNNConfig = model.cfg
    A, B, b, Cm, d = parts
    scale = np.asarray(cfg.input_scale or (1.0,) * cfg.n_inputs)
    if cfg.encoding == "onehot":              # the first symbol of each channel gets weight 0
        full = np.zeros((B.shape[0], cfg.n_features))
        full[:, _kept_onehot(cfg)] = B
        B, scale = full, np.ones(cfg.n_features)
    W_f = np.concatenate([A.T, (B / scale[None, :]).T], 0)              # [H + C, H]
    model.f0_W[member] = torch.as_tensor(W_f, dtype=torch.float32)
    model.f0_b[member] = torch.as_tensor(b, dtype=torch.float32)
    model.g0_W[member] = torch.as_tensor(Cm.T / cfg.output_scale, dtype=torch.float32)
    model.g0_b[member] = torch.as_tensor(d / cfg.output_scale, dtype=torch.float32)
