"""Named hooks (models/hooks.py) and the MIPS RNN family (models/rnn.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from algolens.models import MIPSRNN, RNNConfig, RNNEnsemble

torch.set_num_threads(1)

DEEP = RNNConfig(n_inputs=2, hidden=3, f_depth=2, f_width=4, g_depth=2, g_width=3)
LINEAR = RNNConfig(n_inputs=1, hidden=2)


@pytest.fixture
def x2() -> torch.Tensor:
    return torch.randint(0, 2, (5, 6, 2), generator=torch.Generator().manual_seed(0))


def _n_hooks(model: torch.nn.Module) -> int:
    return sum(len(m._forward_hooks) for m in model.modules())


# ------------------------------------------------------------------ caches and shapes
def test_mipsrnn_cache_shapes(x2) -> None:
    net = MIPSRNN(DEEP, seed=0)
    y, cache = net.run_with_cache(x2)
    assert y.shape == (5, 6, 1)
    assert set(cache) == {"hook_features", "hook_h", "hook_out"}
    assert cache["hook_h"].shape == (5, 6, 3)          # [batch, time, hidden]
    assert cache["hook_features"].shape == (5, 6, 2)
    torch.testing.assert_close(cache["hook_out"], y.detach())
    assert not cache["hook_h"].requires_grad            # detached by default
    assert _n_hooks(net) == 0


def test_ensemble_cache_shapes(x2) -> None:
    ens = RNNEnsemble(DEEP, n_models=4, seed=0)
    y, cache = ens.run_with_cache(x2, names_filter="hook_h")
    assert y.shape == (4, 5, 6, 1)
    assert list(cache) == ["hook_h"]
    assert cache["hook_h"].shape == (4, 5, 6, 3)        # [E, batch, time, hidden]
    assert _n_hooks(ens) == 0


def test_names_filter_callable(x2) -> None:
    _, cache = MIPSRNN(DEEP, seed=0).run_with_cache(x2, names_filter=lambda n: n.endswith("_h"))
    assert list(cache) == ["hook_h"]


def test_member_gives_exactly_member_outputs(x2) -> None:
    ens = RNNEnsemble(DEEP, n_models=3, seed=1)
    y, cache = ens.run_with_cache(x2)
    for i in (0, 2, -1):
        net = ens.member(i)
        yi, ci = net.run_with_cache(x2)
        k = i % 3
        # batched ensemble vs single member: two float32 paths, equal up to rounding
        torch.testing.assert_close(yi, y[k], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(ci["hook_h"], cache["hook_h"][k], rtol=1e-5, atol=1e-6)
    # members differ from each other (so the test above can fail)
    assert (y[0] - y[1]).abs().max() > 1e-6
    # a copy: changing the member leaves the ensemble alone
    with torch.no_grad():
        ens.member(0).core.f0_b.add_(1.0)
    torch.testing.assert_close(ens(x2), y)


def test_member_index_out_of_range() -> None:
    ens = RNNEnsemble(LINEAR, n_models=2, seed=0)
    with pytest.raises(ValueError, match="member index 2 is out of range"):
        ens.member(2)
    with pytest.raises(ValueError, match="out of range"):
        ens.member_state(-3)


# ------------------------------------------------------------------ hook contexts
def test_hooks_removed_after_context_even_when_forward_raises(x2) -> None:
    net = MIPSRNN(DEEP, seed=0)

    def boom(act, hook):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        net.run_with_hooks(x2, fwd_hooks=[("hook_h", boom)])
    assert _n_hooks(net) == 0
    with pytest.raises(RuntimeError, match="boom"), net.hooks([("hook_out", boom)]):
        assert _n_hooks(net) == 1
        net(x2)
    assert _n_hooks(net) == 0
    net(x2)  # works again


def test_hook_can_edit_activation() -> None:
    net = MIPSRNN(LINEAR, seed=0)
    x = torch.tensor([[1.0, 0.0, 1.0]])
    (_Wg, bg), = net.layers()["g"]
    y = net.run_with_hooks(x, fwd_hooks=[("hook_h", lambda act, hook: torch.zeros_like(act))])
    # h = 0 everywhere, so y = g(0) = b_g at every step
    np.testing.assert_allclose(y.detach().numpy(), np.broadcast_to(bg, (1, 3, 1)), rtol=1e-6)
    assert not torch.allclose(net(x), y)
    seen = []
    net.run_with_hooks(x, fwd_hooks=[("hook_out", lambda act, hook: seen.append(hook.name))])
    assert seen == ["hook_out"]                        # the hook knows its name


def test_unknown_hook_name(x2) -> None:
    net = MIPSRNN(DEEP, seed=0)
    with pytest.raises(ValueError, match=r"unknown hook name\(s\) \['hook_hidden'\]"):
        net.run_with_cache(x2, names_filter="hook_hidden")
    with pytest.raises(ValueError, match="unknown hook"):
        net.run_with_hooks(x2, fwd_hooks=[("hook_h", lambda a, h: None), ("nope", lambda a, h: None)])
    assert _n_hooks(net) == 0                          # the first, valid hook was removed too
    assert "core.hook_h" not in net.hook_dict          # the inner ensemble's hooks are private


# ------------------------------------------------------------------ the recurrence itself
def test_depth1_rnn_is_affine_by_hand() -> None:
    cfg = RNNConfig(n_inputs=2, hidden=3, output_scale=2.0)
    net = MIPSRNN(cfg, seed=3)
    (W, b), = net.layers()["f"]                         # W [H + F, H]
    (Wg, bg), = net.layers()["g"]                       # Wg [H, 1]
    W_hh, W_xh = W[:3], W[3:]
    xs = np.array([[[1, 0], [0, 1], [1, 1], [-2, 3]]], dtype=float)   # [1, T, 2]
    h = np.zeros(3)
    hs, ys = [], []
    for t in range(xs.shape[1]):
        h = h @ W_hh + xs[0, t] @ W_xh + b              # h_t = h_{t-1} W_hh + x_t W_xh + b
        hs.append(h)
        ys.append((h @ Wg + bg) * 2.0)
    y, cache = net.run_with_cache(torch.tensor(xs, dtype=torch.float32))
    np.testing.assert_allclose(cache["hook_h"][0].numpy(), np.array(hs), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y[0].detach().numpy(), np.array(ys), rtol=1e-5, atol=1e-5)
    assert cfg.is_linear and cfg.n_params() == sum(p.numel() for p in net.parameters())


def test_step_and_readout_agree_with_forward() -> None:
    net = MIPSRNN(DEEP, seed=2)
    x = torch.randint(0, 2, (4, 5, 2))
    feat = net.encode(x)                                # [B, T, F]
    h = net.initial_state(4)
    outs = []
    for t in range(5):
        h = net.step(h, feat[:, t])
        outs.append(net.readout(h))
    torch.testing.assert_close(torch.stack(outs, 1), net(x))


def test_input_scale_multiplies_numeric_inputs() -> None:
    net = MIPSRNN(RNNConfig(n_inputs=2, hidden=2, input_scale=(0.5, 10.0)), seed=0)
    feat = net.encode(torch.tensor([[[2, 3]]]))
    torch.testing.assert_close(feat, torch.tensor([[[1.0, 30.0]]]))


def test_onehot_encoding() -> None:
    cfg = RNNConfig(n_inputs=2, hidden=2, encoding="onehot", alphabet=((0, 1, 2), (-1, 1)))
    net = MIPSRNN(cfg, seed=0)
    feat = net.encode(torch.tensor([[[2, -1], [0, 1]]]))
    want = torch.tensor([[[0, 0, 1, 1, 0], [1, 0, 0, 0, 1]]], dtype=torch.float32)
    torch.testing.assert_close(feat, want)
    assert cfg.n_features == 5 and not cfg.is_linear
    assert net(torch.tensor([[[2, -1], [0, 1]]])).shape == (1, 2, 1)
    with pytest.raises(ValueError, match="input value 5 in channel 0 is not in the one-hot"):
        net.encode(torch.tensor([[[5, 1]]]))


def test_onehot_needs_alphabet() -> None:
    with pytest.raises(ValueError, match="one-hot encoding needs the alphabet"):
        RNNConfig(n_inputs=2, encoding="onehot", alphabet=((0, 1),))


def test_wrong_channel_count_is_a_clear_error() -> None:
    net = MIPSRNN(RNNConfig(n_inputs=2, hidden=2), seed=0)
    with pytest.raises(ValueError, match="input has 1 channels, the model expects 2"):
        net(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="input has 3 channels, the model expects 2"):
        net(torch.zeros(3, 4, 3))
    one = MIPSRNN(LINEAR, seed=0)
    assert one(torch.zeros(3, 4)).shape == one(torch.zeros(3, 4, 1)).shape == (3, 4, 1)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"hidden": 0}, "must be >= 1"),
    ({"f_depth": 2}, "needs a width"),
    ({"encoding": "binary"}, "encoding must be"),
])
def test_bad_config(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        RNNConfig(**kwargs)


def test_config_round_trip_and_describe() -> None:
    cfg = RNNConfig(n_inputs=2, hidden=3, f_depth=2, f_width=5, encoding="onehot",
                    alphabet=((0, 1), (0, 1, 2)))
    assert RNNConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.describe() == "h=3; f=2x5; g=1"


def test_seed_makes_weights_reproducible() -> None:
    a, b = MIPSRNN(DEEP, seed=5), MIPSRNN(DEEP, seed=5)
    for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0, msg=n)   # same seed: the same draws
