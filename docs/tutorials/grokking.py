# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Grokking: progress measures and the three phases
#
# Nanda et al. (ICLR 2023, *Progress measures for grokking via mechanistic interpretability*)
# trained a one-layer transformer on modular addition `a + b mod p` from 30% of the pairs. It
# memorises the training pairs first and only much later generalises ("grokking"). They reverse
# engineered the algorithm it ends with -- a Fourier multiplication circuit built on a few key
# frequencies -- and asked whether the sudden jump is sudden inside the network too. Progress
# measures computed from checkpoints (restricted and excluded loss, Gini coefficients of the
# Fourier norms, weight norm) show three phases: memorisation, circuit formation, cleanup.
#
# The `grokking` study trains the `[a, b, =]` transformer with full-batch AdamW, keeps
# checkpoints in the run, computes the progress measures over every checkpoint and locates the
# phases. This tutorial uses the `quick-p31-d32` preset (p = 31, width 32, 3000 steps, half of
# the pairs): under a minute on one core.

# %%
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Image

from algolens.store import RunStore
from algolens.studies import registry

store = RunStore(tempfile.mkdtemp(prefix="algolens-tutorial-"))   # never the repo's runs/
study = registry.get("grokking")
print(study.summary)
print("presets:", list(study.presets))
config = study.make_config("quick-p31-d32")
print(config)

# %% [markdown]
# ## Train and analyze
#
# `registry.run_point` trains (one thread) and runs the analysis; with `checkpoint_every = 0`
# the run keeps a checkpoint every `steps // 40` steps.

# %%
run, result = registry.run_point(study, config, seed=0, store=store, progress=False)
print(run.id, "| trained:", study.trained(result))
print(f"steps {result.steps_done}: train accuracy {result.train_acc:.3f}, "
      f"test accuracy {result.val_acc:.3f}")
print("key frequencies:", result.key_freqs)
print("phases (steps):", result.phases.memorisation, result.phases.circuit_formation,
      result.phases.cleanup)
print("rule:", result.phases.rule)

# %% [markdown]
# The analysis saved its figure in the run: the losses (with the restricted and excluded loss),
# the Gini coefficients and the weight norm, phases shaded.

# %%
Image(run.artefact("progress.png"))

# %% [markdown]
# The numbers behind it are in `result.table`, one row per checkpoint:

# %%
steps = [r.step for r in result.table]
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(steps, [r.train_acc for r in result.table], label="train accuracy")
ax.plot(steps, [r.test_acc for r in result.table], label="test accuracy")
for (a, b), c in zip([result.phases.memorisation, result.phases.circuit_formation,
                      result.phases.cleanup], ["tab:gray", "tab:orange", "tab:green"]):
    ax.axvspan(a, b, color=c, alpha=0.15)
ax.set_xlabel("step")
ax.legend()
ax.set_title("memorisation (gray), circuit formation (orange), cleanup (green)")
plt.show()

# %% [markdown]
# ## The circuit, read from the weights
#
# `run.load_model()` is the trained transformer (TransformerLens names and hooks). The
# embedding of the p residues, Fourier transformed along the residue axis, puts its norm on the
# key frequencies:

# %%
model = run.load_model()
p = config.p
W_E = model.W_E.detach()[:p].double().numpy()                  # [p, d_model], '=' dropped
F = np.fft.rfft(W_E, axis=0)                                   # [p // 2 + 1, d_model]
norm = np.linalg.norm(F, axis=1)[1:]                           # frequency 1 .. p // 2
fig, ax = plt.subplots(figsize=(6, 3))
ax.bar(np.arange(1, len(norm) + 1), norm,
       color=["tab:red" if k in result.key_freqs else "tab:gray" for k in range(1, len(norm) + 1)])
ax.set_xlabel("frequency k")
ax.set_ylabel("embedding norm")
ax.set_title("Fourier norm of W_E (red: the study's key frequencies)")
plt.show()

# %% [markdown]
# Every activation is available through hooks. The attention pattern of the `=` token over
# `a`, `b`, `=` for a few pairs, and the whole table of answers:

# %%
a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
tokens = torch.as_tensor(np.stack([a.ravel(), b.ravel(), np.full(p * p, p)], axis=1))  # [p², 3]
logits, cache = model.run_with_cache(tokens)
print("logits", tuple(logits.shape), "| pattern", tuple(cache["blocks.0.attn.hook_pattern"].shape))
print("attention of '=' (head 0) for the first 3 pairs:\n",
      cache["blocks.0.attn.hook_pattern"][:3, 0, -1].numpy().round(2))
pred = logits[:, -1].argmax(-1).reshape(p, p).numpy()
print("accuracy over all p² pairs:", float((pred == (a + b) % p).mean()))

# %% [markdown]
# ## At full size
#
# Nanda's setting is the `nanda-p113` preset (p = 113, width 128, 30% of the pairs, 40,000
# steps). README's results table, from `algolens grokking train --steps 20000
# --checkpoint-every 250 --threads 2`: **16.8 min** on a 2-core machine; test accuracy 0.006 ->
# 1.000; key frequencies 6, 10, 45, 48; memorisation 0-200, circuit formation 200-12.5k, cleanup
# 12.5k-15.7k (Nanda: 0-1.4k, 1.4k-9.4k, 9.4k-14k). The default 40k steps take about 35 minutes
# at `--threads 2` on an idle machine (about an hour at one thread on a busy one).
