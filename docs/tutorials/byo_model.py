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
# # Bring your own model: distil a GRU you trained yourself
#
# The `mips` study normally trains its own RNN by architecture search. The distiller does not
# need that network: it reads any `torch.nn.RNN`, `GRU` or `LSTM` (or their cells) plus a readout
# module through an adapter -- its hidden states and outputs, never the task's labels -- and
# returns a standalone Python program, verified twice: **fidelity** (agreement with *your
# network's* outputs on fresh sequences of 1x, 2x and 10x the training length) and
# **correctness** (agreement with the task at those lengths, beside the network's own accuracy).
# Candidates are chosen by fidelity, so a network that is wrong somewhere still yields the
# program it computes, labelled "faithful, not correct".
#
# Here: a GRU trained by an ordinary PyTorch loop on `Parity_Last2`, then
# `mips.distil_module(...)`. About half a minute on one core.

# %%
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import torch

from algolens import tasks
from algolens.store import RunStore
from algolens.studies import mips

torch.set_num_threads(1)
store = RunStore(tempfile.mkdtemp(prefix="algolens-tutorial-"))   # never the repo's runs/
task = tasks.get("Parity_Last2")
print(task.description, "| alphabet", task.alphabet, "| length", task.length)

# %% [markdown]
# ## Your own network and training loop
#
# Nothing here is algolens except the task's sampler and targets: a GRU with 8 hidden units
# reading one-hot inputs, a linear readout, Adam, mean squared error.

# %%
torch.manual_seed(0)
gru, head = torch.nn.GRU(2, 8, batch_first=True), torch.nn.Linear(8, 1)
opt = torch.optim.Adam([*gru.parameters(), *head.parameters()], lr=0.02)
rng = np.random.default_rng(0)
losses = []
for _ in range(400):                                  # your own training loop
    xs = task.sample(64, rng)                         # [64, 10] int64
    out, _ = gru(torch.nn.functional.one_hot(torch.as_tensor(xs), 2).float())
    loss = torch.nn.functional.mse_loss(head(out)[..., 0],
                                        torch.as_tensor(task.targets(xs)).float())
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.item())

fig, ax = plt.subplots(figsize=(5, 2.8))
ax.semilogy(losses)
ax.set_xlabel("step")
ax.set_ylabel("MSE")
ax.set_title("your GRU on Parity_Last2")
plt.show()

# %% [markdown]
# ## Distil it
#
# `distil_module(task, rnn, readout, symbols=...)`: `symbols` says the inputs are one-hot over
# that alphabet (`encode=` takes your own encoding instead). With `out=` the result is kept as a
# run of the `mips` study in that store, like any other (`write=False` keeps nothing).

# %%
res = mips.distil_module(task, gru, head, symbols=[0, 1], out=store)
print("solved:", res.solved, "| form:", res.form, "| hidden units:", res.hidden)
print("verdict:", res.verification.verdict)
print("fidelity (k x length -> agreement with the network):", res.verification.fidelity)
print("correctness: 1x", res.verification.accuracy, "2x", res.verification.accuracy_2x,
      "10x", res.verification.accuracy_10x)
print(res.program_source[res.program_source.index("def f("):
                         res.program_source.index("# (inputs, outputs)")])

# %% [markdown]
# Which distiller passes ran, and why the winner won:

# %%
for p in res.passes:
    print(f"{p.name:<20} ok={p.ok!s:<5} {p.reason}")

# %% [markdown]
# The run in the store holds the program (checksum-verified when read back) and the typed
# record:

# %%
run = store.open(res.run_id)
print(run.id, run.status)
print("record:", run.result.task, run.result.verdict, run.result.fidelity)
print(run.artefact("program.py").read_text()[:400])

# %% [markdown]
# ## What the program says about the hidden states
#
# The program keeps one previous input (`x1`). Your GRU's 8-d hidden state, projected on its
# first two principal components and coloured by the previous input, shows the same split:

# %%
xs = task.sample(300, np.random.default_rng(1))                       # [300, 10]
with torch.no_grad():
    H, _ = gru(torch.nn.functional.one_hot(torch.as_tensor(xs), 2).float())   # [300, 10, 8]
H = H.reshape(-1, 8).numpy()
H = H - H.mean(0)
pcs = H @ np.linalg.svd(H, full_matrices=False)[2][:2].T
fig, ax = plt.subplots(figsize=(5, 4))
ax.scatter(pcs[:, 0], pcs[:, 1], c=xs.reshape(-1), cmap="coolwarm", s=8)
ax.set_xlabel("PC 1")
ax.set_ylabel("PC 2")
ax.set_title("GRU hidden state after each input (colour: that input)")
plt.show()

# %% [markdown]
# ## At full size, and what comes next
#
# Any `nn.RNN`/`GRU`/`LSTM` (or cell) works the same way, for any task in `algolens tasks` or
# your own (`algolens.tasks.register(SequenceTask(...))`). For the networks algolens trains
# itself, the full benchmark is `algolens mips --all --jobs 2 --out runs`: README's results
# table reports **62/62 solved, 62 symbolic, 62 exact at 10x the training length** in 4 min 58 s
# wall on a 2-core machine.
#
# Planned (issue 20, not yet in algolens): any `torch.nn.Module` through hook names
# (`algolens.extract(...)`), **black-box models** through active automata learning with the
# model as the oracle, and **Hugging Face checkpoints** from the command line (`algolens
# extract --hf DIR --spec SPEC.json`).
