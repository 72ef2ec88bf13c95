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
# # Clock or Pizza: which algorithm a modular-addition transformer found
#
# Zhong et al. (NeurIPS 2023, *The Clock and the Pizza: two stories in mechanistic explanation
# of neural networks*) showed that transformers trained on `a + b mod p` do not all learn the
# same algorithm. With standard attention they tend to learn the **Clock** (rotate the angle of
# `a` by the angle of `b`, Nanda et al.'s circuit); with constant, uniform attention (attention
# rate α = 0) they learn the **Pizza**, which averages the embeddings of `a` and `b` and reads
# the answer from the slice of the circle their mean falls in. They tell the two apart by
# *gradient symmetricity* s_g (near 1 for Pizza: the logits depend on a and b symmetrically)
# and *distance irrelevance* q (near 1 for Clock: the correct logit does not depend on a - b),
# plus the circularity c of the embeddings.
#
# The `clock_pizza` study trains the transformer at an attention rate α, measures s_g, q and c
# and gives a verdict (Pizza, Clock, non-circular, hybrid -- or "not trained" below 99% test
# accuracy). This tutorial uses the `reduced-p31-d32` preset (p = 31, width 32, 4000 steps) and
# trains α = 0 and α = 1 as one batched ensemble: about a minute on one core.

# %%
import tempfile

import matplotlib.pyplot as plt
import torch
from IPython.display import Image

from algolens.store import RunStore
from algolens.studies import registry

store = RunStore(tempfile.mkdtemp(prefix="algolens-tutorial-"))   # never the repo's runs/
study = registry.get("clock_pizza")
print(study.summary)
print("presets:", list(study.presets))
print(study.make_config("reduced-p31-d32"))

# %% [markdown]
# ## Train α = 0 and α = 1
#
# Points that differ only in α (and the seed) train together as one ensemble
# (`registry.run_points`, the same path as `algolens sweep`); each still becomes its own run.

# %%
points = [(study.make_config("reduced-p31-d32", attn_rate=alpha), 0) for alpha in (0.0, 1.0)]
pairs = registry.run_points(study, points, store, progress=False)
for _, res in pairs:
    print(f"α = {res.attn_rate}: {res.verdict:<12} test acc {res.val_acc:.3f}  "
          f"s_g {res.s_g:.3f}  q {res.q:.3f}  c {res.circularity:.4f}  "
          f"frequencies {res.frequencies}")

# %% [markdown]
# Each run keeps the measurements beside the paper's Model A and Model B (`analysis.txt`) and
# its figures (`result.plots`):

# %%
(run0, res0), (run1, res1) = pairs
print(run0.artefact("analysis.txt").read_text())
print("figures:", res0.plots)

# %% [markdown]
# The correct logit over (a, b): a Pizza's depends on a - b (stripes), a Clock's does not.
# α = 0 first, then α = 1:

# %%
Image(run0.artefact("logit_table.png"))

# %%
Image(run1.artefact("logit_table.png"))

# %% [markdown]
# The embedding's circles (pairs of principal components at the key frequencies):

# %%
Image(run0.artefact("embedding_circles.png"))

# %% [markdown]
# ## Hooks
#
# `run.load_model()` is the hooked transformer (TransformerLens names). With α = 0 every
# attention pattern is uniform; with α = 1 it depends on the input:

# %%
tokens = torch.tensor([[3, 5], [10, 20], [0, 30]])          # [batch, (a, b)]
fig, axes = plt.subplots(1, 2, figsize=(7, 2.6))
for ax, (run, res) in zip(axes, pairs):
    model = run.load_model()
    logits, cache = model.run_with_cache(tokens)
    pattern = cache["blocks.0.attn.hook_pattern"]                 # [batch, head, q, k]
    ax.imshow(pattern[0].reshape(-1, 2).numpy(), vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_title(f"α = {res.attn_rate}: pattern of (3, 5)")
    ax.set_xlabel("key position")
    ax.set_ylabel("head × query")
    print(f"α = {res.attn_rate}: argmax of the last position {logits[:, -1].argmax(-1).tolist()}"
          f" (true: {[(a + b) % 31 for a, b in tokens.tolist()]})")
plt.show()

# %% [markdown]
# ## At full size
#
# The paper's setting is the `paper-p59-d128` preset (p = 59, width 128, 20,000 steps). README's
# results table (2-core machine), from `algolens clock-pizza train --alpha 0 --seed 3` (seeds
# 0-5, and `--alpha 1`): α = 0 seed 3: s_g 0.992, q 0.213, c 0.9991 -> **Pizza** (the paper's
# Model A: 0.9937, 0.1717, 0.9978); 2 of 6 α = 0 seeds end circular, all 6 have s_g > 0.98 and
# q < 0.6; α = 1: s_g 0.378, q 0.951, c 0.9975 -> **Clock**. One full-size run takes **448 s**
# wall (`algolens clock-pizza train --alpha 0 --seed 2 --threads 2`). The reduced phase diagram
# (110 runs, `algolens clock-pizza sweep --alphas 0:1:0.1 --seeds 0-9 --p 31 --width 32 --steps
# 4000 --lr 2e-3 --jobs 2 --threads 1 --batch 1`, 24 min) switches from Pizza to Clock at
# α = 0.54 (paper, width 128: about 0.5-0.65); the reduced setting disagrees with full size at
# α = 0.7 (`python benchmarks/clock_pizza_check_reduced.py runs`).
