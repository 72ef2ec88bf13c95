"""Nuclear study: train a model of the AME2020 mass table, then read the physics out of it.

The method, as passes (Kitouni et al. 2024, "From Neurons to Neutrons"):

1. ``train_run``  data (AME2020, whole nuclides held out) -> SEMF baseline -> embedding MLP with a
                  Garvey–Kelson prior -> a run in the shared store (weights, config, metrics).
2. ``analyze``    embedding PCA of Z and N (helix, parity, magic numbers) -> penultimate-layer PCA
                  (heat maps, readout, truncation curve) -> physics match against a null ->
                  symbolic formulas of the leading PCs -> latent topography; numbers + plots.
3. ``predict``    every AME2020 nuclide × task: prediction, measured value, in-training flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..analysis.representations import (
    EmbeddingPCA,
    LatentTopography,
    PenultimatePCA,
    PhysicsMatch,
    SymbolicPCs,
)
from ..models.embed_mlp import EmbedMLP
from ..perf import fast_cpu
from ..store import RunStore, check_weights
from .registry import Study
from ..io import read_json
from ..tasks.nuclear_data import load
from ..tasks.nuclear_physics import SEMF, physics_inputs
from ..tasks.nuclear_tasks import dataset, discovery_split, split, task_column
from ..train.nuclear import NuclearTrainConfig, NuclearTrainer, prepare, to_MeV, train

STUDY_NAME = "nuclear"


@dataclass
class NuclearRun:
    """A trained run loaded back: model (all members), its config, SEMF and split."""

    dir: Path
    config: NuclearTrainConfig
    model: EmbedMLP
    semf: SEMF
    split_seed: int
    discovery: bool
    heldout: set[tuple[int, int]]
    train_nuclides: set[tuple[int, int]]
    metrics: dict
    task_scale: np.ndarray = None  # [T] raw output × task_scale + task_offset (× A for binding
    task_offset: np.ndarray = None  # [T]  when per_nucleon) = residual over the SEMF (MeV)

    def to_MeV(self, raw: np.ndarray, Z, N) -> np.ndarray:
        """Raw head outputs [..., G, T] -> residuals over the baseline (MeV)."""
        A = np.asarray(Z) + np.asarray(N) if self.config.per_nucleon else np.ones(len(Z))
        return to_MeV(raw, self.task_scale, self.task_offset, np.maximum(A, 1).astype(float))


def _split(cfg: NuclearTrainConfig, split_seed: int, discovery: bool):
    if discovery:
        return discovery_split(cfg.tasks)
    ds = dataset(load(2020), cfg.tasks)
    return ds, split(ds, split_seed)


def semf_heldout_rms(ds, sp) -> float:
    """Held-out binding RMS (keV) of the plain SEMF fitted on the training binding rows."""
    b = ds.rows_of("binding")
    tr, te = b[sp.train[b]], b[sp.test[b]]
    if not len(te):
        return float("nan")
    semf = SEMF().fit(ds.Z[tr], ds.N[tr], ds.target[tr])
    return float(np.sqrt(np.mean((semf.binding(ds.Z[te], ds.N[te]) - ds.target[te]) ** 2)))


def train_run(
    cfg: NuclearTrainConfig,
    split_seed: int = 0,
    discovery: bool = False,
    out: str | Path = "runs",
    progress: bool = True,
    threads: int = 1,
) -> Path:
    """Train one (config, split) and store it; returns the run directory.

    ``threads`` torch threads while training (the caller's count is restored); one by default,
    so that the run is a function of (config, seed) -- with more threads torch's CPU kernels may
    sum in a different order from run to run."""
    with fast_cpu(threads=threads):
        return _train_run(cfg, split_seed, discovery, out, progress)


def _train_run(cfg, split_seed, discovery, out, progress) -> Path:
    store = RunStore(out).check_writable()
    ds, sp = _split(cfg, split_seed, discovery)
    key = "discovery" if discovery else f"split{split_seed}"
    config = {"train": cfg.to_dict(), "split_seed": split_seed, "discovery": discovery}
    with store.create(STUDY_NAME, key, config, seed=cfg.seed) as run:
        problem = prepare(ds, sp, cfg)
        trainer, history = train(problem, cfg, progress=progress, eval_every=max(cfg.steps // 20, 1))
        run.save_weights(trainer.model.state_dict())
        train_nuc = sorted({(int(z), int(n)) for z, n in zip(ds.Z[sp.train], ds.N[sp.train])})
        run.write_json(
            "split.json",
            {
                "heldout": sp.heldout_nuclides.tolist(),
                "train_nuclides": train_nuc,
                "semf_coef": problem.semf.coef_.tolist(),
                "task_scale": problem.task_scale.tolist(),
                "task_offset": problem.task_offset.tolist(),
            },
        )
        ev = {**trainer.evaluate(), "test_semf_fit_rms_keV": semf_heldout_rms(ds, sp)}
        run.write_json("history.json", history)
        run.finish(
            ev,
            key_metrics={
                "test_rms_keV": round(ev.get("test_rms_keV", float("nan")), 1),
                "semf_rms_keV": round(ev["test_semf_fit_rms_keV"], 1),
                "steps": cfg.steps,
            },
        )
        return run.dir


def load_run(run_dir: str | Path) -> NuclearRun:
    """Load a finished nuclear run (weights checked against their recorded SHA-256)."""
    from safetensors.torch import load_file

    run_dir = Path(run_dir)
    config = read_json(run_dir / "config.json")
    if config.get("study") != STUDY_NAME:
        raise ValueError(f"{run_dir} is a {config.get('study')!r} run, not a nuclear run")
    cfg = NuclearTrainConfig.from_dict(config["train"])
    check_weights(run_dir)
    weights = run_dir / "weights.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"{weights} does not exist: the run did not finish; train it again")
    model = EmbedMLP(cfg.model_config()).to(getattr(torch, cfg.dtype))
    try:
        model.load_state_dict(load_file(weights))
    except (RuntimeError, KeyError) as e:
        raise ValueError(f"{weights} does not match the run's config ({e}); train it again") from None
    sp = read_json(run_dir / "split.json")
    semf = SEMF(shell=cfg.baseline == "semf+shell")
    semf.coef_ = np.asarray(sp["semf_coef"], float)
    metrics = read_json(run_dir / "metrics.json") if (run_dir / "metrics.json").is_file() else {}
    return NuclearRun(
        dir=run_dir,
        config=cfg,
        model=model.eval(),
        semf=semf,
        split_seed=config["split_seed"],
        discovery=config["discovery"],
        heldout={tuple(x) for x in sp["heldout"]},
        train_nuclides={tuple(x) for x in sp["train_nuclides"]},
        metrics=metrics,
        task_scale=np.asarray(sp.get("task_scale", [sp.get("scale", 1.0)] * len(cfg.tasks)), float),
        task_offset=np.asarray(sp.get("task_offset", [0.0] * len(cfg.tasks)), float),
    )


def _grid_outputs(run: NuclearRun, member: int | None = None):
    """(table, output [E, G, tasks] MeV residuals, cache) on every AME2020 nuclide."""
    t = load(2020)
    model = run.model if member is None else run.model.member(member)
    phys = torch.as_tensor(physics_inputs(t.Z, t.N), dtype=model.W_in.dtype)
    with torch.no_grad():
        out, cache = model.run_with_cache(
            torch.as_tensor(t.Z), torch.as_tensor(t.N), phys if run.config.physics_inputs else None
        )
    return t, run.to_MeV(out.double().numpy(), t.Z, t.N), cache


def predict(run_dir: str | Path) -> list[dict]:
    """One record per AME2020 nuclide × task: prediction (keV), AME value, measured, in training."""
    run = load_run(run_dir)
    t, out, _ = _grid_outputs(run)
    mean = out.mean(0)  # ensemble mean, MeV
    rows = []
    for k, task in enumerate(run.config.tasks):
        pred = run.semf.predict(task, t.Z, t.N) + 1000 * mean[:, k]
        col = task_column(t, task)
        for i in range(len(t)):
            nuc = (int(t.Z[i]), int(t.N[i]))
            rows.append(
                {
                    "Z": nuc[0],
                    "N": nuc[1],
                    "A": nuc[0] + nuc[1],
                    "element": t.element[i],
                    "task": task,
                    "prediction_keV": float(pred[i]),
                    "ame2020_keV": float(col.value[i]) if col.calculable[i] else None,
                    "measured": bool(col.calculable[i] and not col.estimated[i]),
                    "in_training": nuc in run.train_nuclides,
                }
            )
    return rows


def analyze(
    run_dir: str | Path, symbolic: bool = True, symbolic_evaluations: int = 100_000, member: int = 0
) -> dict:
    """Every analysis on one member of a run; plots and analysis.json go into the run folder."""
    run = load_run(run_dir)
    t, out, cache = _grid_outputs(run, member)
    m = run.model.member(member)
    res = {}
    for name, W, vals in (
        ("Z", m.W_E_Z, np.unique(t.Z[t.measured])),
        ("N", m.W_E_N, np.unique(t.N[t.measured])),
    ):
        emb = EmbeddingPCA(name=name).fit(W[0].detach().double().numpy(), vals)
        emb.plot(run.dir / f"embedding_{name}.png")
        res[f"embedding_{name}"] = emb.summary()
    H = cache["hook_resid_final"][0].double().numpy()
    target = (t["binding"].value - run.semf.binding(t.Z, t.N)) / 1000.0
    heldout = np.array([(int(z), int(n)) in run.heldout for z, n in zip(t.Z, t.N)]) & t.measured
    s0, o0 = float(run.task_scale[0]), float(run.task_offset[0])
    A = np.maximum(t.Z + t.N, 1).astype(float) if run.config.per_nucleon else np.ones(len(t.Z))
    pen = PenultimatePCA().fit(
        H,
        m.W_U[0, :, 0].detach().double().numpy() * s0,
        float(m.b_U[0, 0, 0].detach()) * s0 + o0,
        t.Z,
        t.N,
        np.where(t.measured, target / A, np.nan),
        heldout,
        row_scale=A,
    )
    pen.plot(run.dir / "penultimate_pca.png")
    res["penultimate"] = pen.summary()
    meas = t.measured & (t.A >= 8)
    match = PhysicsMatch().fit(pen.pca_.scores_[meas], t.Z[meas], t.N[meas])
    match.plot(run.dir / "physics_match.png")
    res["physics_match"] = match.summary()
    if run.config.per_nucleon:  # the binding head reads B/A: match the per-nucleon terms too
        pm = PhysicsMatch(per_nucleon=True).fit(pen.pca_.scores_[meas], t.Z[meas], t.N[meas])
        pm.plot(run.dir / "physics_match_per_nucleon.png")
        res["physics_match_per_nucleon"] = pm.summary()
    if symbolic:
        sym = SymbolicPCs(max_evaluations=symbolic_evaluations).fit(
            t.Z[meas], t.N[meas], pen.pca_.scores_[meas]
        )
        res["symbolic"] = sym.summary()
    topo = LatentTopography(which="N").fit(
        m, np.unique(t.N[t.measured]), fixed=50, phys_fn=physics_inputs if run.config.physics_inputs else None
    )
    topo.plot(run.dir / "latent_topography_N.png")
    res["topography"] = topo.summary()
    from ..io import atomic_write_json

    atomic_write_json(run.dir / "analysis.json", res)
    return res


@dataclass(frozen=True)
class TermMatch:
    """One physics term against the penultimate PCs (see ``analysis.representations.PhysicsMatch``)."""

    term: str
    best_pc: int
    best_abs_r: float
    probe_r2: float
    null_r2_q95: float
    above_null: bool


@dataclass(frozen=True)
class EmbeddingReadout:
    """Parity and helix of one embedding table (Z or N)."""

    name: str
    parity_pc: int
    parity_accuracy: float
    helix_period: float
    helix_fraction: float


@dataclass(frozen=True)
class NuclearDemoResult:
    """What ``demo`` trained and read out; ``trained`` is False when the model is no better than
    half the SEMF error (its readouts then describe an untrained network)."""

    run_dir: Path
    preset: str
    steps: int
    test_rms_keV: float
    semf_rms_keV: float
    trained: bool
    embeddings: tuple[EmbeddingReadout, ...]
    physics: tuple[TermMatch, ...]
    symbolic: tuple[str, ...]  # PC formulas (empty when pyoperon is absent)
    symbolic_r2: tuple[float, ...]

    @property
    def label(self) -> str:
        return "trained" if self.trained else "UNTRAINED (readouts describe an untrained model)"


DEMO_STEPS = 400


def demo(out_runs: str | Path, log=print, steps: int = DEMO_STEPS) -> list[NuclearDemoResult]:
    """A quick nuclear model (accuracy preset, one member, ``steps`` full-batch updates: well under
    a minute on one idle core), its held-out RMS beside the SEMF's, and the cheap analyses
    (embedding parity/helix, physics match; symbolic regression only if pyoperon is installed)."""
    from importlib.util import find_spec

    from ..train.nuclear import preset

    cfg = preset("accuracy", n_members=1, steps=steps)
    log(f"[nuclear] training a quick AME2020 model ({steps} steps, SEMF+shell residual) ...")
    run_dir = train_run(cfg, split_seed=0, out=out_runs, progress=False)
    m = load_run(run_dir).metrics
    sym = find_spec("pyoperon") is not None
    res = analyze(run_dir, symbolic=sym, symbolic_evaluations=5000)
    rms, semf = float(m["test_rms_keV"]), float(m["test_semf_fit_rms_keV"])
    emb = tuple(
        EmbeddingReadout(k, int(e["parity_pc"]), float(e["parity_accuracy"]), float(e["helix_period"]),
                         float(e["helix_fraction"]))
        for k, e in ((k, res[f"embedding_{k}"]) for k in ("Z", "N"))
    )
    phys = tuple(
        TermMatch(r["term"], int(r["best_pc"]), float(r["best_abs_r"]), float(r["probe_r2"]),
                  float(r["null_r2_q95"]), bool(r["above_null"]))
        for r in res["physics_match"]["terms"]
    )
    s = res.get("symbolic", {})
    out = NuclearDemoResult(run_dir=Path(run_dir), preset="accuracy", steps=steps, test_rms_keV=rms,
                            semf_rms_keV=semf, trained=rms < 0.5 * semf, embeddings=emb, physics=phys,
                            symbolic=tuple(s.get("formulas", ())), symbolic_r2=tuple(s.get("r2", ())))
    log(f"[nuclear] held-out binding RMS {rms:.0f} keV (SEMF {semf:.0f} keV), {out.label}; parity "
        + ", ".join(f"{e.name} {e.parity_accuracy:.0%}" for e in emb))
    return [out]


STUDY = Study(name=STUDY_NAME, summary="AME2020 mass model; helix, parity and SEMF terms read out of it",
              load_run=load_run)

__all__ = [
    "NuclearRun",
    "NuclearTrainConfig",
    "NuclearTrainer",
    "NuclearDemoResult",
    "analyze",
    "demo",
    "load_run",
    "predict",
    "train_run",
]
