"""Training the nuclear embedding MLP: SEMF baseline + network residual + Garvey–Kelson prior.

The recipe, and why each piece is there:

1. Fit the semi-empirical mass formula (+ shell terms) on the *training* binding energies; the
   network learns the residual in MeV (targets ~1 MeV instead of ~1 GeV).
2. Every task row (binding, Sn, Sp, ...) is read from its own head at its nuclide; held-out
   nuclides have no row at all in training (``tasks.nuclear_tasks.split``).
3. Full-batch AdamW (a few thousand nuclides: one forward pass over the whole AME grid per step).
4. A label-free physics prior: the Garvey–Kelson relations (sums of six neighbouring masses that
   nearly cancel; Garvey & Kelson 1966) evaluated on the *predicted* binding energies of every
   nuclide of the AME grid, measured or not, penalised in the loss. It ties a held-out nuclide to
   its neighbours the way a nuclear physicist's local mass formula does, without using its label.
5. E ensemble members train as one batched computation; the prediction is their mean.

``NuclearTrainer.step_fn`` is the step function of the shared ``train.loop.Loop`` (per-member
losses; the loop does AdamW updates, the one-cycle LR schedule, divergence handling and the tqdm
bar); ``train()`` runs it. Runs are a function of (config, seed).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch

from ..models.embed_mlp import EmbedMLP, EmbedMLPConfig
from .loop import Loop, adamw, warmup_cosine
from ..tasks.nuclear_physics import SEMF, physics_inputs
from ..tasks.nuclear_tasks import TASK_INVOLVES, NuclearDataset, NuclearSplit
from ..typed import from_json, to_json

# Garvey–Kelson relations as (dZ, dN, sign) on binding energies (the linear mass terms cancel)
GK_TRANSVERSE = ((-2, 2, 1), (0, 0, -1), (-1, 0, 1), (-1, 2, -1), (0, 1, 1), (-2, 1, -1))
GK_LONGITUDINAL = ((0, 2, 1), (-2, 0, -1), (-2, 1, 1), (-1, 2, -1), (-1, 0, 1), (0, 1, -1))


BASELINES = ("semf+shell", "semf", "none")


@dataclass(frozen=True)
class NuclearTrainConfig:
    """Everything a run depends on besides the data split; defaults are the benchmark preset."""

    tasks: tuple[str, ...] = ("binding",)  # DEFAULT_TASKS (multi-task) scored worse here
    d_embed: int = 16
    d_model: int = 64
    n_blocks: int = 2
    physics_inputs: bool = True
    baseline: str = "semf+shell"  # what the network corrects: "semf+shell", "semf" or "none"
    n_members: int = 2
    steps: int = 1500
    lr: float = 2e-3
    weight_decay: float = 1e-2
    gk_weight: float = 0.1  # weight of the Garvey–Kelson prior (MeV² units)
    aux_weight: float = 1.0  # loss weight of the non-binding tasks
    seed: int = 0  # model init
    dtype: str = "float32"
    # per_nucleon: every head predicts a standardised value (binding as B/A, the rest per task),
    # so a network learning all of B (baseline "none") sees O(1) targets; see ``_task_scaling``
    per_nucleon: bool = False
    init_scale: float = 0.1  # std of the embedding init
    # AdamW weight decay of the Z and N embedding tables alone (None: ``weight_decay``, like the rest)
    embed_weight_decay: float | None = None

    def __post_init__(self) -> None:
        _check_numbers(self)
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        if self.baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {BASELINES}, got {self.baseline!r}")
        _check_tasks(tuple(self.tasks))

    def model_config(self) -> EmbedMLPConfig:
        return EmbedMLPConfig(
            n_tasks=len(self.tasks),
            d_embed=self.d_embed,
            d_model=self.d_model,
            n_blocks=self.n_blocks,
            n_members=self.n_members,
            n_physics=9 if self.physics_inputs else 0,
            init_scale=self.init_scale,
        )

    def to_dict(self) -> dict:
        """The config as JSON values (benchmark result files keep it so)."""
        return to_json(self)

    @classmethod
    def from_dict(cls, d: dict) -> NuclearTrainConfig:
        """A config read back from ``to_dict`` (benchmark result files)."""
        return from_json(cls, d)

    def memory_bytes(self) -> int:
        """A generous estimate of the memory one training run needs: AdamW keeps four copies
        of every parameter; the full-batch forward and backward passes keep about twelve
        [members, grid, d_model] activations per residual block (grid: the 3558 AME nuclides)."""
        E, d, e = self.n_members, self.d_model, self.d_embed
        d_in = 2 * e + (9 if self.physics_inputs else 0)
        params = E * ((120 + 180) * e + d_in * d + self.n_blocks * 2 * (d * d + d)
                      + d * (len(self.tasks) + 1))
        acts = E * GRID_NUCLIDES * (d * (12 * self.n_blocks + 8) + d_in * 4)
        return (4 * params + acts) * (8 if self.dtype == "float64" else 4)


GRID_NUCLIDES = 3558          # nuclides of AME2020: the grid every training step evaluates


def _check_numbers(cfg: NuclearTrainConfig) -> None:
    """Sizes >= 1 and finite, non-negative rates and weights, naming the setting that is off."""
    for name in ("steps", "d_embed", "d_model", "n_members"):
        v = getattr(cfg, name)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    if not isinstance(cfg.n_blocks, int) or cfg.n_blocks < 0:
        raise ValueError(f"n_blocks must be an integer >= 0, got {cfg.n_blocks!r}")
    for name in ("lr", "init_scale", "weight_decay", "gk_weight", "aux_weight",
                 "embed_weight_decay"):
        v = getattr(cfg, name)
        if v is None and name == "embed_weight_decay":
            continue
        positive = name in ("lr", "init_scale")
        if not math.isfinite(v) or v < 0 or (positive and v == 0):
            raise ValueError(f"{name} must be a finite number {'> 0' if positive else '>= 0'}, "
                             f"got {v!r}; pass another --{name.replace('_', '-')}")


def _check_tasks(tasks: tuple[str, ...]) -> None:
    """First 'binding', each task known and listed once."""
    if not tasks or tasks[0] != "binding":
        raise ValueError(f"tasks must start with 'binding', got {tasks}")
    unknown = [t for t in tasks if t not in TASK_INVOLVES]
    if unknown:
        raise ValueError(f"unknown nuclear task(s) {unknown}; choose from {list(TASK_INVOLVES)}")
    twice = sorted({t for t in tasks if tasks.count(t) > 1})
    if twice:
        raise ValueError(f"task(s) {twice} listed twice in {','.join(tasks)}; list each once")


# Named presets of ``algolens nuclear train --preset``. "accuracy": the benchmark model (SEMF+shell
# baseline, physics inputs). "paper-embeddings": the paper's interpretable model, sized for a CPU —
# embeddings only, no baseline: it learns all of B (as B/A, standardised) plus multi-task heads,
# with strong weight decay so the embeddings keep only what the data need (parity among it).
PRESETS: dict[str, dict] = {
    "accuracy": {},
    "paper-embeddings": dict(
        tasks=("binding", "Sn", "Sp"),
        d_embed=64,
        d_model=128,
        physics_inputs=False,
        baseline="none",
        per_nucleon=True,
        n_members=1,
        steps=2500,
        lr=5e-3,
        weight_decay=1.0,
        gk_weight=0.1,
    ),
}
# "paper-pairing": paper-embeddings plus two pairing-sensitive heads, D2n and D2p (second
# differences of B along N and Z, ≈ ±2Δ: the odd-even staggering itself), all auxiliary heads at
# loss weight 4. The embeddings then carry parity along one PC (benchmarks/results/nuclear_analysis.md).
PRESETS["paper-pairing"] = dict(
    PRESETS["paper-embeddings"], tasks=("binding", "Sn", "Sp", "D2n", "D2p"), aux_weight=4.0
)


def preset(name: str, **overrides) -> NuclearTrainConfig:
    """The config of a named preset, with ``overrides`` (None values ignored)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    over = {k: v for k, v in overrides.items() if v is not None}
    return NuclearTrainConfig(**{**PRESETS[name], **over})


@dataclass
class NuclearProblem:
    """Tensors of one (dataset, split): the AME grid of nuclides and the rows on it."""

    Z: torch.Tensor  # [G] every nuclide of the AME table (the grid)
    N: torch.Tensor  # [G]
    phys: torch.Tensor  # [G, 9]
    semf_binding: torch.Tensor  # [G] SEMF binding energy, MeV
    row_nuclide: torch.Tensor  # [rows] index into the grid
    row_task: torch.Tensor  # [rows]
    residual: torch.Tensor  # [rows] target − SEMF, MeV
    task_scale: torch.Tensor  # [T] model output × task_scale + task_offset (× A for binding
    task_offset: torch.Tensor  # [T]  when per_nucleon) = residual over the baseline (MeV)
    A: torch.Tensor  # [G] mass number (1 where the binding head is not per nucleon)
    train_rows: torch.Tensor  # [rows_train] row indices
    test_rows: torch.Tensor  # [rows_test] binding rows of held-out nuclides
    gk: list[torch.Tensor]  # per relation: [k, 6] grid indices
    semf: SEMF = field(repr=False)


def fit_baseline(baseline: str, Z, N, binding) -> SEMF:
    """The fitted formula the network corrects; "none" is an all-zero SEMF (network learns B)."""
    if baseline == "none":
        semf = SEMF()
        semf.coef_ = np.zeros(5)
        return semf
    return SEMF(shell=baseline == "semf+shell").fit(Z, N, binding)


def _output_scale(baseline: str, residual_MeV: np.ndarray) -> float:
    """1 for SEMF residuals (~MeV already); the residuals' RMS when the network learns all of B."""
    return float(np.sqrt(np.mean(residual_MeV**2))) if baseline == "none" else 1.0


def _task_scaling(cfg: NuclearTrainConfig, task: np.ndarray, A: np.ndarray, residual_MeV: np.ndarray):
    """(scale [T], offset [T]) of each head on the training rows.

    Without ``per_nucleon``: one scale for all heads (``_output_scale``), no offset. With it: each
    head's training targets standardised (binding divided by A first), so that B/A — which varies
    by ~10% over the chart where B varies by 10^3 — is what the binding head learns."""
    T = len(cfg.tasks)
    if not cfg.per_nucleon:
        return np.full(T, _output_scale(cfg.baseline, residual_MeV)), np.zeros(T)
    scale, offset = np.ones(T), np.zeros(T)
    for k in range(T):
        y = residual_MeV[task == k] / (A[task == k] if k == 0 else 1.0)
        if len(y):
            offset[k], scale[k] = y.mean(), max(float(y.std()), 1e-6)
    return scale, offset


def _relation_index(index: dict[tuple[int, int], int], relation) -> torch.Tensor:
    rows = []
    for z, n in index:
        ks = [(z + dz, n + dn) for dz, dn, _ in relation]
        if all(k in index for k in ks):
            rows.append([index[k] for k in ks])
    return torch.tensor(rows, dtype=torch.long).reshape(-1, len(relation))


def prepare(ds: NuclearDataset, sp: NuclearSplit, cfg: NuclearTrainConfig) -> NuclearProblem:
    """Fit the SEMF on the training binding rows and lay the data out as tensors."""
    if tuple(ds.tasks) != tuple(cfg.tasks):
        raise ValueError(f"dataset tasks {ds.tasks} differ from the config's {cfg.tasks}")
    dt = getattr(torch, cfg.dtype)
    t = ds.table
    index = {(int(z), int(n)): i for i, (z, n) in enumerate(zip(t.Z, t.N))}
    b = ds.rows_of("binding")
    btr = b[sp.train[b]]
    semf = fit_baseline(cfg.baseline, ds.Z[btr], ds.N[btr], ds.target[btr])
    base = np.empty(len(ds))
    for k, task in enumerate(ds.tasks):
        r = ds.task == k
        base[r] = semf.predict(task, ds.Z[r], ds.N[r])
    res_MeV = (ds.target - base) / 1000.0
    tr = sp.train
    scale, offset = _task_scaling(cfg, ds.task[tr], (ds.Z + ds.N)[tr], res_MeV[tr])
    A = (t.Z + t.N).clip(min=1) if cfg.per_nucleon else np.ones(len(t.Z))
    return NuclearProblem(
        Z=torch.as_tensor(t.Z),
        N=torch.as_tensor(t.N),
        phys=torch.as_tensor(physics_inputs(t.Z, t.N), dtype=dt),
        semf_binding=torch.as_tensor(semf.binding(t.Z, t.N) / 1000.0, dtype=dt),
        row_nuclide=torch.as_tensor([index[(int(z), int(n))] for z, n in zip(ds.Z, ds.N)]),
        row_task=torch.as_tensor(ds.task),
        residual=torch.as_tensor(res_MeV, dtype=dt),
        task_scale=torch.as_tensor(scale, dtype=dt),
        task_offset=torch.as_tensor(offset, dtype=dt),
        A=torch.as_tensor(A, dtype=dt),
        train_rows=torch.as_tensor(np.flatnonzero(sp.train)),
        test_rows=torch.as_tensor(np.flatnonzero(sp.test)),
        gk=[_relation_index(index, r) for r in (GK_TRANSVERSE, GK_LONGITUDINAL)],
        semf=semf,
    )


def to_MeV(raw, scale, offset, A):
    """Raw head outputs [E, G, T] -> residuals over the baseline in MeV (binding × A if per
    nucleon); works on torch tensors and numpy arrays alike."""
    out = raw * scale + offset
    cat = torch.cat if torch.is_tensor(out) else np.concatenate
    return cat([out[..., :1] * A[:, None], out[..., 1:]], -1)


@contextmanager
def _torch_seed(seed: int):
    """Seed torch's global RNG for model init, and put its state back afterwards."""
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.random.set_rng_state(state)


def _param_groups(model: EmbedMLP, cfg: NuclearTrainConfig):
    """All parameters in one group, or the embedding tables apart with their own weight decay."""
    if cfg.embed_weight_decay is None:
        return model.parameters()
    emb = [model.W_E_Z, model.W_E_N]
    rest = [p for n, p in model.named_parameters() if n not in ("W_E_Z", "W_E_N")]
    return [{"params": emb, "weight_decay": cfg.embed_weight_decay}, {"params": rest}]


class NuclearTrainer:
    """Owns the model, optimiser and problem; ``step_fn`` is the shared loop's step function."""

    def __init__(self, problem: NuclearProblem, cfg: NuclearTrainConfig) -> None:
        self.problem, self.cfg = problem, cfg
        with _torch_seed(cfg.seed):
            self.model = EmbedMLP(cfg.model_config()).to(getattr(torch, cfg.dtype))
        self.opt = adamw(_param_groups(self.model, cfg), lr=cfg.lr, weight_decay=cfg.weight_decay)
        p = problem
        self._w = torch.where(p.row_task == 0, 1.0, cfg.aux_weight).to(p.residual.dtype)
        self._signs = [
            torch.tensor([s for _, _, s in r], dtype=p.residual.dtype)
            for r in (GK_TRANSVERSE, GK_LONGITUDINAL)
        ]
        self.last_loss: dict[str, float] = {}

    def grid_output(self) -> torch.Tensor:
        """[E, G, n_tasks] residual predictions (MeV) on the whole AME grid."""
        p = self.problem
        raw = self.model(p.Z, p.N, p.phys if self.cfg.physics_inputs else None)
        return to_MeV(raw, p.task_scale, p.task_offset, p.A)

    def loss(self, out: torch.Tensor) -> torch.Tensor:
        """[E] loss of each member: weighted MSE on the training rows + the Garvey–Kelson prior."""
        p, tr = self.problem, self.problem.train_rows
        pred = out[:, p.row_nuclide[tr], p.row_task[tr]]  # [E, rows_train]
        fit = ((pred - p.residual[tr]) ** 2 * self._w[tr]).mean(1)
        binding = out[..., 0] + p.semf_binding  # [E, G] MeV
        gk = sum(((binding[:, I] * s).sum(-1) ** 2).mean(1) for I, s in zip(p.gk, self._signs) if len(I))
        total = fit + self.cfg.gk_weight * gk
        self.last_loss = {
            "loss": float(total.detach().mean()),
            "fit": float(fit.detach().mean()),
            "gk": float(gk.detach().mean()) if torch.is_tensor(gk) else 0.0,
        }
        return total

    def step_fn(self, it: int, evaluate: bool) -> torch.Tensor:
        """The shared loop's step function: per-member losses of one full-batch forward pass."""
        return self.loss(self.grid_output())

    def loop(self, progress: bool = True, eval_every: int = 0, history: list | None = None) -> Loop:
        """A ``train.loop.Loop`` running all ``cfg.steps`` updates (one-cycle LR, AdamW)."""

        def eval_fn(it: int, alive: torch.Tensor) -> dict:
            rec = {
                **self.last_loss,
                "step": it,
                **{k: v for k, v in self.evaluate().items() if not isinstance(v, list)},
            }
            if history is not None:
                history.append(rec)
            return {"test_keV": rec.get("test_rms_keV", float("nan"))}

        return Loop(
            self.step_fn,
            self.opt,
            steps=self.cfg.steps,
            schedule=warmup_cosine(self.cfg.steps, warmup_frac=0.05, floor=0.0),
            eval_fn=eval_fn if eval_every else None,
            final_eval=bool(eval_every),
            eval_at=lambda it: bool(eval_every) and it > 0 and it % eval_every == 0,
            progress=progress,
            desc="nuclear",
            what="nuclear training",
        )

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Binding RMS (keV) of the ensemble mean on training and held-out nuclides, and per member."""
        p = self.problem
        out = self.grid_output()
        b = p.row_task == 0
        pred = out[:, p.row_nuclide, p.row_task]  # [E, rows]
        res = {}
        for name, rows in (("train", p.train_rows[b[p.train_rows]]), ("test", p.test_rows)):
            if len(rows) == 0:
                continue
            err = pred[:, rows] - p.residual[rows]
            res[f"{name}_rms_keV"] = float(err.mean(0).pow(2).mean().sqrt()) * 1000
            res[f"{name}_member_rms_keV"] = [float(v) * 1000 for v in err.pow(2).mean(1).sqrt()]
            res[f"{name}_semf_rms_keV"] = float(p.residual[rows].pow(2).mean().sqrt()) * 1000
        return res


def train(
    problem: NuclearProblem, cfg: NuclearTrainConfig, progress: bool = True, eval_every: int = 0
) -> tuple[NuclearTrainer, list[dict]]:
    """Run all ``cfg.steps`` updates through the shared loop; returns the trainer and a history of
    losses/evaluations (every ``eval_every`` updates and at the end; none when 0)."""
    trainer = NuclearTrainer(problem, cfg)
    history: list[dict] = []
    trainer.loop(progress=progress, eval_every=eval_every, history=history).run()
    return trainer, history
