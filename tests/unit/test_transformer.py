"""The Clock/Pizza transformer: interface, init, hooks, and agreement of its forward paths.

Central check (two representations agree): the single model's full forward, its last-only
forward, the ensemble's stacked forward and the ensemble's vocabulary-factored grid forward give
the same last-position logits.
"""

from __future__ import annotations

import math

import pytest
import torch

from algolens.models.ensemble import TransformerEnsemble
from algolens.models.transformer import (
    Transformer,
    TransformerConfig,
    init_params,
    make_inputs,
)

torch.set_num_threads(1)

CASES = {
    "bidir-relu": dict(),
    "causal": dict(causal=True),
    "eq-gelu": dict(eq_token=True, act="gelu"),
    "eq-causal": dict(eq_token=True, causal=True),
    "two-layers": dict(n_layers=2),
}


def _cfg(**kw) -> TransformerConfig:
    return TransformerConfig(**{**dict(p=7, d_model=16, n_heads=2, d_mlp=32), **kw})


@pytest.mark.parametrize("alpha", [0.0, 0.4, 1.0])
@pytest.mark.parametrize("kw", CASES.values(), ids=CASES.keys())
def test_last_only_equals_full(kw, alpha) -> None:
    cfg = _cfg(attn_rate=alpha, **kw)
    net = Transformer(cfg, seed=3)
    tokens, _ = make_inputs(cfg)
    full = net(tokens)
    assert full.shape == (cfg.p ** 2, cfg.n_ctx, cfg.p)
    last = net(tokens, last_only=True)
    assert last.shape == (cfg.p ** 2, cfg.p)
    # Two float32 computation paths (full sequence vs last position only): equal up to rounding,
    # which depends on the CPU's kernels (AVX2 vs AVX-512), so compare with a stated tolerance.
    torch.testing.assert_close(last, full[:, -1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kw", CASES.values(), ids=CASES.keys())
def test_ensemble_paths_agree_with_members(kw) -> None:
    cfg = _cfg(**kw)
    ens = TransformerEnsemble(cfg, seeds=[0, 1, 2], alphas=[0.0, 0.5, 1.0]).double()
    tokens, _ = make_inputs(cfg)
    stacked = ens(tokens)                                           # [E, p², p]
    assert stacked.shape == (3, cfg.p ** 2, cfg.p)
    for i in range(3):
        member = ens.member(i).double()
        assert member.cfg.attn_rate == [0.0, 0.5, 1.0][i]
        torch.testing.assert_close(stacked[i], member(tokens)[:, -1], rtol=0, atol=1e-12)
    if cfg.n_layers == 1:
        torch.testing.assert_close(ens.grid_logits(), stacked, rtol=0, atol=1e-12)
    else:
        with pytest.raises(NotImplementedError):
            ens.grid_logits()


def test_grid_logits_float32_close_and_grads_match() -> None:
    cfg = _cfg(p=11)
    ens = TransformerEnsemble(cfg, seeds=[5, 6], alphas=[0.3, 0.9])
    tokens, labels = make_inputs(cfg)
    grads = []
    for fn in (ens.grid_logits, lambda: ens(tokens)):
        ens.zero_grad()
        torch.nn.functional.cross_entropy(fn().reshape(-1, cfg.p), labels.repeat(2)).backward()
        grads.append({k: v.grad.clone() for k, v in ens.named_parameters()})
    for k in grads[0]:
        torch.testing.assert_close(grads[0][k], grads[1][k], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kw", [CASES["bidir-relu"], CASES["causal"], CASES["eq-causal"]],
                         ids=["bidir", "causal", "eq-causal"])
def test_pair_logits_are_those_rows_of_the_full_grid(kw) -> None:
    cfg = _cfg(**kw)
    ens = TransformerEnsemble(cfg, seeds=[0, 1], alphas=[0.2, 1.0]).double()
    full = ens.grid_logits()
    g = torch.Generator().manual_seed(0)
    rows = torch.stack([torch.randperm(cfg.p ** 2, generator=g)[:20] for _ in range(2)])
    sub = ens.pair_logits(rows)
    assert sub.shape == (2, 20, cfg.p)
    torch.testing.assert_close(sub, torch.gather(full, 1, rows[..., None].expand(-1, -1, cfg.p)),
                               rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="rows must be"):
        ens.pair_logits(rows[0])
    with pytest.raises(ValueError, match="flat pair indices"):
        ens.pair_logits(rows + cfg.p ** 2)


def test_init_matches_spec_scales() -> None:
    cfg = TransformerConfig(p=59, d_model=128)
    params = init_params(cfg, seed=0)
    expect = {"W_E": 1 / math.sqrt(128), "W_U": 1 / math.sqrt(59),
              "blocks.0.attn.W_Q": 1 / math.sqrt(128), "blocks.0.attn.W_O": 1 / math.sqrt(128),
              "blocks.0.mlp.W_in": 1 / math.sqrt(512), "blocks.0.mlp.W_out": 1 / math.sqrt(128)}
    for name, std in expect.items():
        assert abs(params[name].std().item() / std - 1) < 0.05, name
    assert params["blocks.0.mlp.b_in"].abs().sum() == 0
    assert params["blocks.0.mlp.b_out"].abs().sum() == 0


def test_interface_shapes_and_no_attention_bias() -> None:
    cfg = _cfg(eq_token=True)
    net = Transformer(cfg)
    assert cfg.n_ctx == 3 and cfg.d_vocab == 8 and cfg.d_head == 8
    assert net.W_E.shape == (8, 16) and net.W_pos.shape == (3, 16) and net.W_U.shape == (16, 7)
    attn = net.blocks[0].attn
    assert attn.W_Q.shape == (2, 16, 8) and attn.W_O.shape == (2, 8, 16)
    assert not any("b_" in n for n, _ in attn.named_parameters())
    assert net.blocks[0].mlp.W_in.shape == (16, 32) and net.blocks[0].mlp.b_out.shape == (16,)


def test_ensemble_member_starts_like_single_model_with_same_seed() -> None:
    cfg = _cfg()
    ens = TransformerEnsemble(cfg, seeds=[4, 9])
    single = Transformer(cfg, seed=9)
    member = ens.member(1)
    for name, p in single.named_parameters():
        # same seed, same generator, same copy: the initial weights are identical numbers
        torch.testing.assert_close(p, member.get_parameter(name), rtol=0, atol=0, msg=name)
    assert (ens.member(0).W_E - member.W_E).abs().max() > 1e-3


def test_hooks_names_shapes_and_alpha_mixing() -> None:
    cfg = _cfg(attn_rate=0.25)
    net = Transformer(cfg, seed=0)
    tokens, _ = make_inputs(cfg)
    _, cache = net.run_with_cache(tokens[:5])
    assert cache["hook_embed"].shape == (5, 2, 16)
    assert cache["blocks.0.attn.hook_pattern"].shape == (5, 2, 2, 2)
    assert cache["blocks.0.mlp.hook_post"].shape == (5, 2, 32)
    assert cache["hook_logits"].shape == (5, 2, 7)
    # α·softmax + (1-α)·J: each row sums to α + (1-α)·n_ctx
    rows = cache["blocks.0.attn.hook_pattern"].sum(-1)
    torch.testing.assert_close(rows, torch.full_like(rows, 0.25 + 0.75 * 2))
    torch.testing.assert_close(cache["hook_embed"][:, 0], net.W_E[tokens[:5, 0]].detach())
    assert sum(len(m._forward_hooks) for m in net.modules()) == 0


def test_alpha_zero_is_mlp_on_summed_embeddings() -> None:
    """α = 0: the output cannot depend on W_Q / W_K."""
    cfg = _cfg(attn_rate=0.0)
    a, b = Transformer(cfg, seed=0), Transformer(cfg, seed=0)
    with torch.no_grad():
        b.blocks[0].attn.W_Q.normal_()
        b.blocks[0].attn.W_K.normal_()
    tokens, _ = make_inputs(cfg)
    torch.testing.assert_close(a(tokens), b(tokens))


def test_make_inputs_order() -> None:
    cfg = _cfg(p=5, eq_token=True)
    tokens, labels = make_inputs(cfg)
    assert tokens.shape == (25, 3)
    assert tokens[7].tolist() == [1, 2, 5] and labels[7] == 3
    assert labels[24] == (4 + 4) % 5


@pytest.mark.parametrize("bad", [dict(d_model=10, n_heads=4), dict(attn_rate=1.5),
                                 dict(act="tanh"), dict(p=1)], ids=str)
def test_bad_config_raises(bad) -> None:
    with pytest.raises(ValueError):
        _cfg(**bad)


def test_bad_tokens_and_alphas_raise() -> None:
    cfg = _cfg()
    with pytest.raises(ValueError, match="tokens must be"):
        Transformer(cfg)(torch.zeros(3, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="alpha"):
        TransformerEnsemble(cfg, seeds=[0, 1], alphas=[0.5])
    with pytest.raises(ValueError):
        TransformerEnsemble(cfg, seeds=[0], alphas=[2.0])
    cfg2 = TransformerConfig.from_dict(cfg.to_dict())
    assert cfg2 == cfg


def test_labels_are_the_table_tasks_and_transformer_imports_no_ensemble() -> None:
    """(a + b) mod p comes from the table task (one definition); models.transformer does not
    import models.ensemble (which imports it), so the two modules form no cycle."""
    import ast
    import inspect

    from algolens.models import transformer
    from algolens.tasks.table import modular_addition
    cfg = _cfg(p=5, eq_token=True)
    tokens, labels = make_inputs(cfg)
    cols = modular_addition(5).columns()
    assert tokens[:, 0].tolist() == cols["a"].tolist() and tokens[:, 1].tolist() == cols["b"].tolist()
    assert labels.tolist() == cols["c"].tolist()
    imported = {n.module for n in ast.walk(ast.parse(inspect.getsource(transformer)))
                if isinstance(n, ast.ImportFrom)}
    assert "ensemble" not in imported and "models.ensemble" not in str(imported)

