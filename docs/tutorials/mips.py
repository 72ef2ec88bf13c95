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
# # MIPS: from a trained RNN to a verified Python program
#
# Michaud et al. (2024, *Opening the AI black box: program synthesis via mechanistic
# interpretability*) asked whether the algorithm a recurrent network learned can be read out
# automatically, as code. They trained the smallest RNN that solves each of 62 sequence tasks and
# converted 32 of them into Python programs.
#
# The `mips` study does the same in two steps, both on the study contract: an architecture search
# trains the smallest RNN that is 100% right on the task (a `train` run), then the distiller
# reads the network -- its weights, hidden states and outputs, never the task's labels -- into a
# standalone program, and verifies that program on 10,000 fresh sequences and on sequences of 2x
# and 10x the training length. This tutorial runs two tasks (about half a minute on one core).

# %%
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import torch

from algolens import tasks
from algolens.store import RunStore
from algolens.studies import registry

store = RunStore(tempfile.mkdtemp(prefix="algolens-tutorial-"))   # never the repo's runs/
study = registry.get("mips")
print(study.summary)
print("presets:", list(study.presets))

# %% [markdown]
# A task is a function from an input sequence to an output sequence of the same length, with a
# reference implementation:

# %%
task = tasks.get("Parity_Last3")
print(task.description, "| alphabet", task.alphabet, "| length", task.length)
print(task.reference([1, 0, 1, 1, 0, 0]))

# %% [markdown]
# ## Train and distil
#
# One point of the study is a config (here the `demo` preset, task `Parity_Last3`) and a seed.
# `registry.run_point` trains (the search, one thread) and analyzes (the distiller) in one call.

# %%
config = study.make_config("demo", task="Parity_Last3")
run, result = registry.run_point(study, config, seed=0, store=store, progress=False)
print(run.id)
print("solved:", result.solved, "| form:", result.form, "| verdict:", result.verdict)
print("network:", result.network, "| hidden units:", result.hidden)
print(f"program accuracy 1x / 2x / 10x: {result.accuracy} / {result.accuracy_2x} / "
      f"{result.accuracy_10x}")
print("fidelity to the network:", result.fidelity)

# %% [markdown]
# The distiller is a chain of checked passes; the first program verified at 1x and 2x the
# training length wins. Each pass records whether it succeeded and why:

# %%
for p in result.passes:
    print(f"{p.name:<20} ok={p.ok!s:<5} fidelity={p.fidelity}  {p.reason}")

# %% [markdown]
# The program itself is an artefact of the run (checksum-verified when read back). It uses the
# standard library only:

# %%
source = run.artefact("program.py").read_text()
print(source[source.index("def f("):source.index("# (inputs, outputs)")])

# %% [markdown]
# Load it as a module and check it against the task on sequences 5x longer than any seen in
# training:

# %%
namespace: dict = {}
exec(compile(source, "program.py", "exec"), namespace)
rng = np.random.default_rng(1)
long = rng.integers(0, 2, size=(200, 5 * task.length))              # [200, 50] bits
agree = np.mean([namespace["f"](list(xs)) == task.reference(list(xs)) for xs in long.tolist()])
print(f"program == task on {len(long)} sequences of length {long.shape[1]}: {agree:.3f}")

# %% [markdown]
# ## The network behind the program
#
# `run.load_model()` returns the trained RNN (from the linked `train` run, its weights checked).
# It has named hooks; `run_with_cache` returns every activation, here the hidden state at each
# step (`hook_h`: `[batch, time, hidden]`).

# %%
net = run.load_model()
xs = torch.as_tensor(task.sample(400, np.random.default_rng(0)))      # [400, 10] int64
out, cache = net.run_with_cache(xs)
H = cache["hook_h"].reshape(-1, cache["hook_h"].shape[-1]).numpy()      # [400 * 10, hidden]
last3 = [tuple(s[max(0, t - 2):t + 1]) for s in xs.tolist() for t in range(len(s))]
labels = np.array([int("".join(map(str, w)).rjust(3, "0"), 2) for w in last3])
print({k: tuple(v.shape) for k, v in cache.items()})

fig, ax = plt.subplots(figsize=(5, 4))
sc = ax.scatter(H[:, 0], H[:, 1], c=labels, cmap="tab10", s=12)
ax.set_xlabel("hidden unit 0")
ax.set_ylabel("hidden unit 1")
ax.set_title("Parity_Last3: hidden states, coloured by the last 3 bits")
fig.colorbar(sc, ax=ax, label="last 3 bits as a number")
plt.show()

# %% [markdown]
# The hidden states fall into a few clusters, one per window of recent inputs: a definite
# memory, which is what the `window` pass found and wrote as the shift register `x1, x2` above.
#
# ## A second task
#
# `Add_Mod_3` (the running sum modulo 3) needs a state machine, not a window:

# %%
run2, res2 = registry.run_point(study, study.make_config("demo", task="Add_Mod_3"), seed=0,
                                store=store, progress=False)
print("solved:", res2.solved, "| form:", res2.form, "| network:", res2.network)
src2 = run2.artefact("program.py").read_text()
print(src2[src2.index("def f("):src2.index("# (inputs, outputs)")])

# %% [markdown]
# Both runs are in the store, as `algolens runs list --out <that folder>` would show them:

# %%
for rec in store.list():
    print(f"{rec.study:<6} {rec.key:<14} {rec.status:<5} {rec.id}")

# %% [markdown]
# ## At full size
#
# The full benchmark runs every one of the 62 tasks the same way (search + distillation, from an
# empty runs folder): `algolens mips --all --jobs 2 --out runs`. Measured on a 2-core machine
# (README, "Results measured on a 2-core CPU"): **62/62 solved, 62 symbolic, 62 exact at 10x the
# training length**, in 4 min 58 s wall / 584 s CPU; the paper's MIPS solved 32/62 (GPT-4 30/62).
# The bilinear cell wins Bit_Palindrome (h=16; paper h=18), Dithering, Add_Mod_6/7/8 and Div_7.
