"""Fourier tools for Z_p and read-outs of a modular-addition transformer.

The Fourier basis of Z_p is the orthonormal set {1/√p, √(2/p)·cos(w_k x), √(2/p)·sin(w_k x)},
w_k = 2πk/p, k = 1..⌊(p−1)/2⌋ (plus the Nyquist cosine when p is even): the language in which
both the Clock (Nanda et al.) and the Pizza (Zhong et al.) algorithms are written.

The read-outs run a model on all p² inputs [a, b] (or [a, b, =]) and return the last-position
logits as a float64 array ``[a, b, c]``; an embedding can be swapped in through the
``hook_embed`` hook (never by editing weights), which is how circle isolation ablates PCs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

# --------------------------------------------------------------------------- Fourier basis


def fourier_basis(p: int) -> tuple[np.ndarray, list[str]]:
    """Orthonormal Fourier basis of Z_p: rows ``[p, p]`` and names ("const", "cos 1", "sin 1"…)."""
    if p < 2:
        raise ValueError(f"p must be >= 2, got {p}")
    x = np.arange(p)
    rows, names = [np.full(p, 1 / math.sqrt(p))], ["const"]
    for k in range(1, (p - 1) // 2 + 1):
        w = 2 * math.pi * k / p
        rows += [np.cos(w * x) * math.sqrt(2 / p), np.sin(w * x) * math.sqrt(2 / p)]
        names += [f"cos {k}", f"sin {k}"]
    if p % 2 == 0:
        rows.append(np.cos(math.pi * x) / math.sqrt(p))
        names.append(f"cos {p // 2}")
    return np.stack(rows), names


def frequency_norms(F: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Norm of each frequency's component of ``M`` (rows indexed by Z_p) → ``[n_freq + 1]``.

    Entry 0 is the constant component; entry k sums cos k and sin k: √(‖cos_k·M‖² + ‖sin_k·M‖²).
    """
    comp = (F @ M) ** 2                                   # [p, ...] squared coefficients
    comp = comp.reshape(comp.shape[0], -1).sum(1)         # [p]
    p = F.shape[0]
    out = [comp[0]] + [comp[2 * k - 1] + comp[2 * k] for k in range(1, (p - 1) // 2 + 1)]
    if p % 2 == 0:
        out.append(comp[-1])
    return np.sqrt(np.array(out))


def gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative values: 0 for all equal, (n−1)/n for one-hot."""
    x = np.sort(np.abs(np.asarray(x, dtype=np.float64).ravel()))
    n, total = len(x), x.sum()
    if n == 0 or total == 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * x).sum() / (n * total))


def mod_inverse(x: int, p: int) -> int:
    """x⁻¹ mod p; ValueError when x is not invertible."""
    try:
        return pow(int(x), -1, p)
    except ValueError:
        raise ValueError(f"{x} has no inverse mod {p} (gcd({x}, {p}) != 1)") from None


# --------------------------------------------------------------------------- model read-outs


@dataclass(frozen=True)
class ModelShape:
    """What the analyses need to know about a modular-addition model."""

    p: int            # modulus = number of output classes
    n_ctx: int        # 2 for [a, b], 3 for [a, b, =]
    eq_token: bool    # True when token p is "="


def model_shape(model: torch.nn.Module) -> ModelShape:
    """Read p and n_ctx from the weights (W_U [d, p], W_pos [n_ctx, d])."""
    for name in ("W_E", "W_U", "W_pos"):
        if not hasattr(model, name):
            raise ValueError(f"model has no {name}; the analyses expect a "
                             "algolens.models.transformer.Transformer (TransformerLens names)")
    if "hook_embed" not in getattr(model, "hook_dict", {}):
        raise ValueError("model has no 'hook_embed' hook; call setup_hooks() in its __init__")
    p, n_ctx = int(model.W_U.shape[-1]), int(model.W_pos.shape[0])
    if n_ctx not in (2, 3):
        raise ValueError(f"expected n_ctx 2 ([a, b]) or 3 ([a, b, =]), got {n_ctx}")
    return ModelShape(p=p, n_ctx=n_ctx, eq_token=n_ctx == 3)


def all_pair_tokens(shape: ModelShape) -> torch.Tensor:
    """All p² inputs, row a·p + b = [a, b] (or [a, b, p]) → LongTensor ``[p², n_ctx]``."""
    p = shape.p
    a, b = torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij")
    cols = [a.reshape(-1), b.reshape(-1)]
    if shape.eq_token:
        cols.append(torch.full((p * p,), p))
    return torch.stack(cols, 1)


def token_embedding(model: torch.nn.Module) -> np.ndarray:
    """W_E restricted to the p number tokens (drops an "=" row) → float64 ``[p, d_model]``."""
    p = model_shape(model).p
    return model.W_E.detach().cpu().double().numpy()[:p]


def _last(logits: torch.Tensor) -> torch.Tensor:
    return logits[:, -1] if logits.dim() == 3 else logits            # [batch, p]


@torch.no_grad()
def all_logits(model: torch.nn.Module, W_E: np.ndarray | None = None) -> np.ndarray:
    """Last-position logits on all p² inputs → float64 ``[a, b, c]``.

    ``W_E`` (``[p, d]``, number tokens only) replaces the token embedding through ``hook_embed``;
    an "=" token keeps its own embedding.
    """
    shape = model_shape(model)
    tokens = all_pair_tokens(shape)
    device = model.W_E.device
    if W_E is None:
        out = model(tokens.to(device), last_only=True)
    else:
        full = model.W_E.detach().clone()
        full[: shape.p] = torch.as_tensor(W_E, dtype=full.dtype, device=device)

        def swap(act: torch.Tensor, hook) -> torch.Tensor:
            return full[tokens.to(device)].to(act.dtype)          # [p², n_ctx, d]

        with model.hooks([("hook_embed", swap)]):
            out = model(tokens.to(device), last_only=True)
    p = shape.p
    return _last(out).double().cpu().numpy().reshape(p, p, p)


def embedding_pca(W_E: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """PCA of the centred embedding: (mean [d], scores U·S [p, r], components V [r, d], S [r]).

    W_E = mean + scores @ components exactly; PC i of the tokens is ``scores[:, i]``.
    """
    mean = W_E.mean(0)
    U, S, Vt = np.linalg.svd(W_E - mean, full_matrices=False)
    return mean, U * S, Vt, S
