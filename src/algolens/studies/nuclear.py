"""Nuclear study: train a model of the AME2020 mass table, then read the physics out of it.

The method, as passes (Kitouni et al. 2024, "From Neurons to Neutrons"):

1. ``train``    data (the ``AME2020`` table task; whole nuclides held out, chosen by the run's
                seed) -> SEMF baseline -> embedding MLP with a Garvey–Kelson prior -> a run of the
                store (weights, split, metrics = ``NuclearFit``).
2. ``analyze``  only when the run learned (held-out RMS below half the SEMF's; ``--force``
                reads out anyway): embedding PCA of Z and N (helix, parity, magic numbers) ->
                penultimate-layer PCA (heat maps, readout, truncation curve) -> physics match
                against a null -> symbolic formulas of the leading PCs (pyoperon, optional) ->
                latent topography; one typed ``NuclearResult`` and the plots, through the run.
3. ``predict``  every AME2020 nuclide × task: prediction, measured value, in-training flag.

The run's seed picks the held-out nuclides (the split); ``model_seed`` the initialisation. Split
seeds are sweep points: ``algolens sweep nuclear --seeds 0-2``.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..analysis.representations import (
    EmbeddingPCA,
    EmbeddingSummary,
    LatentTopography,
    PenultimatePCA,
    PenultimateSummary,
    PhysicsMatch,
    PhysicsMatchSummary,
    SymbolicPCs,
    SymbolicSummary,
    TopographySummary,
)
from ..io import read_json
from ..models.embed_mlp import EmbedMLP
from ..store import Run
from ..tasks import get as get_task
from ..tasks.nuclear_physics import SEMF, physics_inputs
from ..tasks.nuclear_tasks import NuclearDataset, NuclearSplit, task_column
from ..train.nuclear import BASELINES, NuclearTrainConfig, prepare, to_MeV, train
from ..train.nuclear import PRESETS as TRAIN_PRESETS
from ..train.nuclear import preset as train_preset
from ..typed import from_json
from .registry import Study, param

STUDY_NAME = "nuclear"
DATA, OLDER_DATA = "AME2020", "AME2016"          # table tasks of the task registry
SYMBOLIC_EXTRA = "pip install 'algolens[symbolic]'"
DEMO_STEPS = 400
DEMO_MODEL = "accuracy"       # the demo trains a short version of this preset
FIGURES = ("embedding_Z.png", "embedding_N.png", "penultimate_pca.png", "physics_match.png",
           "physics_match_per_nucleon.png", "latent_topography_N.png")


@dataclass(frozen=True)
class NuclearConfig:
    """One nuclear run besides its seed (the seed picks the 10% of nuclides held out)."""

    tasks: tuple[str, ...] = param(("binding",), "heads, first 'binding' (also Sn, Sp, S2n, S2p, "
                                   "Qa, Qbm; D2n, D2p: odd-even staggering)")
    d_embed: int = param(16, "width of each of the Z and N embeddings")
    d_model: int = param(64, "hidden width")
    n_blocks: int = param(2, "residual blocks")
    physics_inputs: bool = param(True, "physics-aware inputs beside the embeddings")
    baseline: str = param("semf+shell", "what the network corrects (none: it learns all of B)",
                          choices=BASELINES)
    per_nucleon: bool = param(False, "heads predict standardised values (binding as B/A)")
    init_scale: float = param(0.1, "std of the embedding init")
    n_members: int = param(2, "ensemble members (one batched computation; prediction = mean)")
    steps: int = param(1500, "full-batch AdamW updates")
    lr: float = param(2e-3, "peak learning rate (one-cycle schedule)")
    weight_decay: float = param(1e-2, "AdamW weight decay")
    embed_weight_decay: float | None = param(None, "weight decay of the Z and N embedding "
                                             "tables alone (None: weight_decay)")
    gk_weight: float = param(0.1, "weight of the Garvey–Kelson prior")
    aux_weight: float = param(1.0, "loss weight of the non-binding heads")
    model_seed: int = param(0, "seed of the model initialisation")
    dtype: str = param("float32", "floating-point type", choices=("float32", "float64"))
    discovery: bool = param(False, "train on the nuclides AME2016 measured, test on those new in "
                            "AME2020 (the seed then picks nothing)")
    symbolic_evaluations: int = param(100_000, "symbolic-regression budget per PC in analyze "
                                      "(evaluations; 0 skips it)")

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", tuple(self.tasks))
        if not isinstance(self.symbolic_evaluations, int) or self.symbolic_evaluations < 0:
            raise ValueError(f"symbolic_evaluations must be an integer >= 0, got "
                             f"{self.symbolic_evaluations!r}")
        self.train_config()                     # the training settings are checked there

    def train_config(self) -> NuclearTrainConfig:
        """The trainer's config (``model_seed`` is its ``seed``)."""
        kw = {f.name: getattr(self, f.name) for f in dataclasses.fields(NuclearTrainConfig)
              if f.name != "seed"}
        return NuclearTrainConfig(**kw, seed=self.model_seed)

    @classmethod
    def of(cls, tc: NuclearTrainConfig, **more: Any) -> NuclearConfig:
        """The study config of a trainer config (plus study-only settings ``more``)."""
        kw = {f.name: getattr(tc, f.name) for f in dataclasses.fields(tc) if f.name != "seed"}
        return cls(**kw, model_seed=tc.seed, **more)


# The presets of ``train.nuclear.PRESETS`` (accuracy, paper-embeddings, paper-pairing), and the
# demo's: the accuracy model, one member, 400 steps, a small symbolic-regression budget.
PRESETS: dict[str, NuclearConfig] = {n: NuclearConfig.of(train_preset(n)) for n in TRAIN_PRESETS}
PRESETS["demo"] = dataclasses.replace(PRESETS[DEMO_MODEL], n_members=1, steps=DEMO_STEPS,
                                      symbolic_evaluations=5000)


@dataclass
class NuclearFit:
    """Binding RMS (keV) of the ensemble mean and of each member, held out and in training,
    beside the run's own baseline alone and the plain SEMF fitted on the training rows."""

    test_rms_keV: float = math.nan
    test_member_rms_keV: list[float] = field(default_factory=list)
    test_semf_rms_keV: float = math.nan          # the run's baseline alone
    test_semf_fit_rms_keV: float = math.nan      # the plain SEMF
    train_rms_keV: float = math.nan
    train_member_rms_keV: list[float] = field(default_factory=list)
    train_semf_rms_keV: float = math.nan


def learned(fit: NuclearFit) -> bool:
    """THE rule of this study: a run learned when its held-out binding RMS is below half the
    plain SEMF's (CLI, report and demo all ask ``NuclearStudy.trained``, which asks this)."""
    return bool(fit.test_rms_keV < 0.5 * fit.test_semf_fit_rms_keV)


@dataclass
class NuclearResult:
    """What ``analyze`` read out of one member of a run. The read-outs are None when the run did
    not learn (unless forced, ``forced``) or when a part was skipped; ``notes`` say which and why."""

    fit: NuclearFit
    trained: bool
    member: int = 0
    forced: bool = False
    notes: list[str] = field(default_factory=list)
    embedding_Z: EmbeddingSummary | None = None
    embedding_N: EmbeddingSummary | None = None
    penultimate: PenultimateSummary | None = None
    physics_match: PhysicsMatchSummary | None = None
    physics_match_per_nucleon: PhysicsMatchSummary | None = None
    symbolic: SymbolicSummary | None = None
    topography: TopographySummary | None = None


@dataclass(frozen=True)
class AnalysisPlan:
    """What ``analyze`` will do, settled (and checked) before any work."""

    member: int
    symbolic_evaluations: int          # 0: no symbolic regression
    notes: tuple[str, ...] = ()        # parts skipped, and what would enable them


@dataclass
class NuclearRun:
    """A run loaded back: the network (all members), its config, the fitted baseline and split."""

    run: Run
    config: NuclearConfig
    model: EmbedMLP
    semf: SEMF
    heldout: set[tuple[int, int]]
    train_nuclides: set[tuple[int, int]]
    fit: NuclearFit
    task_scale: np.ndarray      # [T] raw output × task_scale + task_offset (× A for binding
    task_offset: np.ndarray     # [T]  when per_nucleon) = residual over the baseline (MeV)

    @property
    def dir(self) -> Path:
        return self.run.dir

    def to_MeV(self, raw: np.ndarray, Z, N) -> np.ndarray:
        """Raw head outputs [..., G, T] -> residuals over the baseline (MeV)."""
        A = np.asarray(Z) + np.asarray(N) if self.config.per_nucleon else np.ones(len(Z))
        return to_MeV(raw, self.task_scale, self.task_offset, np.maximum(A, 1).astype(float))


@dataclass(frozen=True)
class NuclearPrediction:
    """One nuclide × task: the model's prediction and the AME2020 value (keV)."""

    Z: int
    N: int
    A: int
    element: str
    task: str
    prediction_keV: float
    ame2020_keV: float | None
    measured: bool
    in_training: bool


# ---------------------------------------------------------------------- data
def load_data(config: NuclearConfig, seed: int) -> tuple[NuclearDataset, NuclearSplit]:
    """The rows of ``config.tasks`` and the split, read through the ``AME2020`` table task."""
    ame = get_task(DATA, kind="table")
    if config.discovery:
        return ame.discovery(config.tasks, get_task(OLDER_DATA, kind="table"))
    ds = ame.dataset(config.tasks)
    return ds, ame.holdout(ds, seed)


def semf_heldout_rms(ds: NuclearDataset, sp: NuclearSplit) -> float:
    """Held-out binding RMS (keV) of the plain SEMF fitted on the training binding rows."""
    b = ds.rows_of("binding")
    tr, te = b[sp.train[b]], b[sp.test[b]]
    if not len(te):
        return float("nan")
    semf = SEMF().fit(ds.Z[tr], ds.N[tr], ds.target[tr])
    return float(np.sqrt(np.mean((semf.binding(ds.Z[te], ds.N[te]) - ds.target[te]) ** 2)))


def _split_record(ds: NuclearDataset, sp: NuclearSplit, problem) -> dict[str, Any]:
    train_nuc = sorted({(int(z), int(n)) for z, n in zip(ds.Z[sp.train], ds.N[sp.train])})
    return {"heldout": sp.heldout_nuclides.tolist(), "train_nuclides": train_nuc,
            "semf_coef": problem.semf.coef_.tolist(), "task_scale": problem.task_scale.tolist(),
            "task_offset": problem.task_offset.tolist()}


def check_memory(tc: NuclearTrainConfig) -> None:
    """Refuse, before any work, a config whose training would not fit in half this machine's
    memory (``NuclearTrainConfig.memory_bytes``)."""
    need = tc.memory_bytes()
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if need > total / 2:
        raise ValueError(f"this config needs about {need / 2**30:.0f} GiB to train ({tc.n_members}"
                         f" members of width {tc.d_model}), more than half of this machine's "
                         f"{total / 2**30:.0f} GiB; lower --members or --width")


# ---------------------------------------------------------------------- the study
class NuclearStudy(Study[NuclearConfig, NuclearResult]):
    name = STUDY_NAME
    summary = "AME2020 mass model; helix, parity and SEMF terms read out of it"
    config, result = NuclearConfig, NuclearResult
    presets = PRESETS
    default_preset = "accuracy"
    demo_preset = "demo"
    demo_order = 40

    def read_config(self, data):
        """config.json as ``NuclearConfig``; runs made before the study contract kept the trainer's
        settings under "train" (model seed as "seed") and still open."""
        if isinstance(data.get("train"), dict):
            tr = dict(data["train"])
            data = {"model_seed": tr.pop("seed", 0), **tr,
                    "discovery": bool(data.get("discovery", False))}
        return super().read_config(data)

    def key(self, config: NuclearConfig) -> str:
        return "discovery" if config.discovery else "split"

    def run_key(self, config: NuclearConfig, seed: int) -> str:
        """The index's key of a run: ``split<seed>`` (or ``discovery``)."""
        return "discovery" if config.discovery else f"split{seed}"

    def run_id(self, config: NuclearConfig, seed: int) -> str:
        return f"{self.run_key(config, seed)}-{super().run_id(config, seed).rsplit('-', 1)[1]}"

    # ------------------------------------------------------------------ train
    def train(self, config, seed, store, *, run_id=None, progress=True) -> Run:
        tc = config.train_config()
        check_memory(tc)
        ds, sp = load_data(config, seed)
        with store.create(self.name, self.run_key(config, seed), config, seed=seed,
                          run_id=run_id, exist_ok=run_id is not None) as run:
            problem = prepare(ds, sp, tc)
            trainer, history = train(problem, tc, progress=progress,
                                     eval_every=max(tc.steps // 20, 1))
            run.save_weights(trainer.model.state_dict())
            run.write_json("split.json", _split_record(ds, sp, problem))
            fit = from_json(NuclearFit, {**trainer.evaluate(),
                                         "test_semf_fit_rms_keV": semf_heldout_rms(ds, sp)})
            run.write_json("history.json", history)
            run.finish(fit, key_metrics={"test_rms_keV": round(fit.test_rms_keV, 1),
                                         "semf_rms_keV": round(fit.test_semf_fit_rms_keV, 1),
                                         "steps": tc.steps})
        return run

    def fit(self, run: Run) -> NuclearFit:
        """What training measured (``metrics.json``, checksum verified)."""
        return run.read_typed("metrics.json", NuclearFit)

    def load_model(self, run: Run) -> EmbedMLP:
        tc = run.config.train_config()
        model = EmbedMLP(tc.model_config()).to(getattr(torch, tc.dtype))
        try:
            model.load_state_dict(run.load_weights())
        except (RuntimeError, KeyError) as e:
            raise ValueError(f"run {run.id}: its weights do not match its config ({e}); train "
                             "it again") from None
        return model.eval()

    def load(self, run: Run) -> NuclearRun:
        """The network with its fitted baseline, split and output scaling."""
        cfg, sp = run.config, read_json(run.artefact("split.json"))
        semf = SEMF(shell=cfg.baseline == "semf+shell")
        semf.coef_ = np.asarray(sp["semf_coef"], float)
        return NuclearRun(run=run, config=cfg, model=self.load_model(run), semf=semf,
                          heldout={tuple(x) for x in sp["heldout"]},
                          train_nuclides={tuple(x) for x in sp["train_nuclides"]},
                          fit=self.fit(run), task_scale=np.asarray(sp["task_scale"], float),
                          task_offset=np.asarray(sp["task_offset"], float))

    # ------------------------------------------------------------------ analyze
    def analysis_plan(self, config: NuclearConfig, *, symbolic: bool | None = None,
                      evaluations: int | None = None, member: int = 0) -> AnalysisPlan:
        """Check the analysis settings and the optional dependency before any work.

        ``symbolic``: None runs symbolic regression when pyoperon is installed (else it is
        skipped, with a note naming the extra); True requires it; False skips it."""
        if not isinstance(member, int) or not 0 <= member < config.n_members:
            raise ValueError(f"member {member!r} out of range: the run has {config.n_members} "
                             f"member(s); pass --member 0..{config.n_members - 1}")
        if evaluations is not None and evaluations < 1:
            raise ValueError(f"evaluations must be >= 1, got {evaluations}; or pass --no-symbolic")
        budget = config.symbolic_evaluations if evaluations is None else evaluations
        if symbolic is False or budget == 0:
            return AnalysisPlan(member, 0)
        if find_spec("pyoperon") is None:
            if symbolic:
                raise ValueError(f"symbolic regression needs pyoperon: {SYMBOLIC_EXTRA}")
            return AnalysisPlan(member, 0, (f"symbolic regression skipped: it needs pyoperon "
                                            f"({SYMBOLIC_EXTRA})",))
        return AnalysisPlan(member, budget)

    def analyze(self, run, *, force=False, symbolic: bool | None = None,
                evaluations: int | None = None, member: int = 0) -> NuclearResult:
        plan = self.analysis_plan(run.config, symbolic=symbolic, evaluations=evaluations,
                                  member=member)
        fit = self.fit(run)
        if learned(fit) or force:
            res = _read_out(self.load(run), plan, forced=not learned(fit))
        else:
            res = NuclearResult(fit=fit, trained=False, member=member,
                                notes=[withheld_note(fit), *plan.notes])
        run.save_result(res)
        return res

    def trained(self, result: NuclearResult) -> bool:
        return learned(result.fit)

    # ------------------------------------------------------------------ people
    def summary_row(self, run, result):
        cfg = run.config
        row: dict[str, Any] = {"run": run.id, "seed": split_seed(run), "split": run.key,
                               "steps": cfg.steps, "members": cfg.n_members}
        if result is None and not (run.dir / "metrics.json").is_file():
            return row
        fit = result.fit if result is not None else self.fit(run)
        row.update({"test_rms_keV": round(fit.test_rms_keV, 1),
                    "semf_rms_keV": round(fit.test_semf_fit_rms_keV, 1), "trained": learned(fit)})
        if result is not None and result.embedding_Z is not None:
            row["parity_Z"] = result.embedding_Z.parity_accuracy
            row["parity_N"] = result.embedding_N.parity_accuracy
        return row

    def summary_line(self, run, result):
        fit = result.fit if result is not None else self.fit(run)
        line = (f"held-out binding RMS {fit.test_rms_keV:.0f} keV (SEMF "
                f"{fit.test_semf_fit_rms_keV:.0f} keV); train {fit.train_rms_keV:.0f} keV")
        if result is not None and result.embedding_Z is not None:
            line += (f"; parity in one embedding PC Z {result.embedding_Z.parity_accuracy:.1%}, "
                     f"N {result.embedding_N.parity_accuracy:.1%}")
        return line

    def report_section(self, rep, run, result) -> bool:
        fit = result.fit if result is not None else self.fit(run)
        _report_metrics(rep, run.config, fit, result)
        _report_status(rep, run, fit, result)
        if result is not None:
            _report_readouts(rep, result)
        figs = [(run.artefact(n).read_bytes(), n) for n in FIGURES if (run.dir / n).is_file()]
        if figs and result is not None and result.embedding_Z is not None:
            rep.add_figures(figs)
        return True

    # ------------------------------------------------------------------ the demo
    def demo_points(self) -> list[tuple[NuclearConfig, int]]:
        return [(self.make_config("demo"), 0)]

    def demo_lines(self, pairs) -> list[str]:
        out = []
        for run, res in pairs:
            fit = res.fit if res is not None else self.fit(run)
            out.append(f"nuclear ({DEMO_MODEL}): {demo_label(learned(fit))}; held-out binding RMS "
                       f"{fit.test_rms_keV:.0f} keV (SEMF {fit.test_semf_fit_rms_keV:.0f} keV)")
        return out

    def demo_section(self, rep, pairs) -> None:
        rep.add_heading("Nuclear physics")
        rep.add_text(
            "A network with learned proton and neutron embeddings corrects the semi-empirical "
            "mass formula (plus shell terms) on the AME2020 binding energies; whole nuclides are "
            "held out. Below: its held-out RMS beside the SEMF fit, and how well single "
            "penultimate-layer directions match each mass-formula term (cross-validated R² of a "
            "probe beside a null of random smooth functions of Z and N).")
        fits = [(run, res, res.fit if res is not None else self.fit(run)) for run, res in pairs]
        rep.add_table([_demo_row(run, res, fit) for run, res, fit in fits])
        for _, res, fit in fits:
            if learned(fit) and res is not None and res.physics_match is not None:
                rep.add_table([{"term": t.term, "best PC": t.best_pc, "|r|": t.best_abs_r,
                                "probe R²": t.probe_r2, "null R² (95th pct)": t.null_r2_q95,
                                "above null": t.above_null} for t in res.physics_match.terms],
                              caption="mass-formula terms against the penultimate PCs")


def _demo_row(run: Run, res: NuclearResult | None, fit: NuclearFit) -> dict[str, Any]:
    ok = learned(fit)
    embs = [e for e in ((res.embedding_Z, res.embedding_N) if res is not None else ())
            if e is not None]
    parity = {f"parity {e.name} (one PC)": e.parity_accuracy if ok else None for e in embs}
    if not embs:                                 # withheld: the columns stay, empty
        parity = {f"parity {n} (one PC)": None for n in ("Z", "N")}
    return {"model": DEMO_MODEL, "steps": run.config.steps, "status": demo_label(ok),
            "held-out RMS (keV)": fit.test_rms_keV, "SEMF RMS (keV)": fit.test_semf_fit_rms_keV,
            **parity}


# ---------------------------------------------------------------------- the report
def _report_metrics(rep, cfg: NuclearConfig, fit: NuclearFit, res: NuclearResult | None) -> None:
    emb = {e.name: e.parity_accuracy for e in (res.embedding_Z, res.embedding_N)
           if e is not None} if res is not None else {}
    rep.add_metrics({
        "held-out binding RMS (keV)": fit.test_rms_keV,
        "SEMF (keV)": fit.test_semf_fit_rms_keV,
        "baseline alone (keV)": fit.test_semf_rms_keV,
        "train RMS (keV)": fit.train_rms_keV,
        "baseline": cfg.baseline,
        "physics inputs": cfg.physics_inputs,
        "per nucleon": cfg.per_nucleon,
        "steps": cfg.steps,
        "parity Z": emb.get("Z"),
        "parity N": emb.get("N"),
    })


def _report_status(rep, run: Run, fit: NuclearFit, res: NuclearResult | None) -> None:
    if not learned(fit):
        shown = res is not None and res.forced
        rep.add_note("**Not trained**: held-out RMS is not below half the SEMF error; " + (
            "the readouts below (forced) describe an untrained network." if shown else
            "nothing is read out of it (`algolens nuclear analyze RUN --force` would)."))
    if res is None:
        rep.add_text(f"No analysis saved; run `algolens nuclear analyze {run.id}`.")
        return
    for note in res.notes:
        if not note.startswith("not trained"):
            rep.add_text(note)


def _report_readouts(rep, res: NuclearResult) -> None:
    rows = [{"table": e.name, "parity PC": e.parity_pc, "parity accuracy": e.parity_accuracy,
             "helix period": e.helix_period, "helix share of variance": e.helix_fraction}
            for e in (res.embedding_Z, res.embedding_N) if e is not None]
    if rows:
        rep.add_table(rows, caption="embedding PCA: parity (best one-PC threshold) and helix")
    for match, cap in ((res.physics_match, "physics terms vs penultimate PCs (probe R² from the "
                        "top PCs, 5-fold CV) beside the null of random smooth functions of (Z, N)"),
                       (res.physics_match_per_nucleon, "the same for the SEMF terms divided by A "
                        "(what a B/A readout carries)")):
        if match is not None:
            rep.add_table([{"term": r.term, "best_pc": r.best_pc, "best_abs_r": r.best_abs_r,
                            "probe_r2": r.probe_r2, "null_r2_q95": r.null_r2_q95,
                            "above_null": r.above_null} for r in match.terms], caption=cap)
    if res.penultimate is not None and res.penultimate.truncation_rms_keV:
        rep.add_table([{"k PCs kept": k, "held-out RMS (keV)": v}
                       for k, v in enumerate(res.penultimate.truncation_rms_keV[:9])],
                      caption="PC-truncation curve (faithfulness)")
    if res.symbolic is not None and res.symbolic.formulas:
        rep.add_table([{"PC": i, "R²": r2, "formula": f}
                       for i, (f, r2) in enumerate(zip(res.symbolic.formulas, res.symbolic.r2))],
                      caption="symbolic regression of the leading penultimate PCs")


def withheld_note(fit: NuclearFit) -> str:
    return (f"not trained: held-out binding RMS {fit.test_rms_keV:.0f} keV is not below half the "
            f"SEMF's {fit.test_semf_fit_rms_keV:.0f} keV; read-out withheld (pass --force to "
            "read it out anyway)")


def demo_label(trained: bool) -> str:
    return "trained" if trained else "UNTRAINED (readouts describe an untrained model)"


def split_seed(run: Run) -> int | None:
    """The seed that picked the held-out nuclides (older runs kept it as "split_seed")."""
    raw = run.raw_config
    return raw["split_seed"] if "split_seed" in raw else raw.get("seed")


# ---------------------------------------------------------------------- the read-out passes
def _grid_outputs(nr: NuclearRun, member: int | None = None):
    """(table, output [E, G, tasks] MeV residuals, cache) on every AME2020 nuclide."""
    t = get_task(DATA, kind="table").table()
    model = nr.model if member is None else nr.model.member(member)
    phys = torch.as_tensor(physics_inputs(t.Z, t.N), dtype=model.W_in.dtype)
    with torch.no_grad():
        out, cache = model.run_with_cache(torch.as_tensor(t.Z), torch.as_tensor(t.N),
                                          phys if nr.config.physics_inputs else None)
    return t, nr.to_MeV(out.double().numpy(), t.Z, t.N), cache


def _penultimate(nr: NuclearRun, m: EmbedMLP, t, cache) -> PenultimatePCA:
    """PCs of the last hidden layer against the binding residual (held-out nuclides' RMS)."""
    H = cache["hook_resid_final"][0].double().numpy()
    target = (t["binding"].value - nr.semf.binding(t.Z, t.N)) / 1000.0
    heldout = np.array([(int(z), int(n)) in nr.heldout for z, n in zip(t.Z, t.N)]) & t.measured
    s0, o0 = float(nr.task_scale[0]), float(nr.task_offset[0])
    A = np.maximum(t.Z + t.N, 1).astype(float) if nr.config.per_nucleon else np.ones(len(t.Z))
    return PenultimatePCA().fit(H, m.W_U[0, :, 0].detach().double().numpy() * s0,
                                float(m.b_U[0, 0, 0].detach()) * s0 + o0, t.Z, t.N,
                                np.where(t.measured, target / A, np.nan), heldout, row_scale=A)


def _read_out(nr: NuclearRun, plan: AnalysisPlan, forced: bool) -> NuclearResult:
    """Every analysis on one member; the figures go into the run (manifest, checksums)."""
    run, t = nr.run, get_task(DATA, kind="table").table()
    _, _, cache = _grid_outputs(nr, plan.member)
    m = nr.model.member(plan.member)
    res = NuclearResult(fit=nr.fit, trained=not forced, member=plan.member, forced=forced,
                        notes=list(plan.notes))
    for name, W, vals in (("Z", m.W_E_Z, np.unique(t.Z[t.measured])),
                          ("N", m.W_E_N, np.unique(t.N[t.measured]))):
        emb = EmbeddingPCA(name=name).fit(W[0].detach().double().numpy(), vals)
        run.save_figure(f"embedding_{name}.png", emb.figure())
        setattr(res, f"embedding_{name}", emb.summary())
    pen = _penultimate(nr, m, t, cache)
    run.save_figure("penultimate_pca.png", pen.figure())
    res.penultimate = pen.summary()
    meas = t.measured & (t.A >= 8)
    scores = pen.pca_.scores_[meas]
    match = PhysicsMatch().fit(scores, t.Z[meas], t.N[meas])
    run.save_figure("physics_match.png", match.figure())
    res.physics_match = match.summary()
    if nr.config.per_nucleon:       # the binding head reads B/A: match the per-nucleon terms too
        pm = PhysicsMatch(per_nucleon=True).fit(scores, t.Z[meas], t.N[meas])
        run.save_figure("physics_match_per_nucleon.png", pm.figure())
        res.physics_match_per_nucleon = pm.summary()
    if plan.symbolic_evaluations:
        sym = SymbolicPCs(max_evaluations=plan.symbolic_evaluations)
        res.symbolic = sym.fit(t.Z[meas], t.N[meas], scores).summary()
    topo = LatentTopography(which="N").fit(
        m, np.unique(t.N[t.measured]), fixed=50,
        phys_fn=physics_inputs if nr.config.physics_inputs else None)
    run.save_figure("latent_topography_N.png", topo.figure())
    res.topography = topo.summary()
    return res


# ---------------------------------------------------------------------- predict
def predict(run: Run) -> list[NuclearPrediction]:
    """One record per AME2020 nuclide × task: prediction (keV), AME value, measured, in training."""
    nr = STUDY.load(run)
    t, out, _ = _grid_outputs(nr)
    mean = out.mean(0)                     # ensemble mean, MeV
    rows = []
    for k, task in enumerate(nr.config.tasks):
        pred = nr.semf.predict(task, t.Z, t.N) + 1000 * mean[:, k]
        col = task_column(t, task)
        for i in range(len(t)):
            z, n = int(t.Z[i]), int(t.N[i])
            rows.append(NuclearPrediction(
                Z=z, N=n, A=z + n, element=t.element[i], task=task,
                prediction_keV=float(pred[i]),
                ame2020_keV=float(col.value[i]) if col.calculable[i] else None,
                measured=bool(col.calculable[i] and not col.estimated[i]),
                in_training=(z, n) in nr.train_nuclides))
    return rows


STUDY = NuclearStudy()

__all__ = ["STUDY", "NuclearConfig", "NuclearFit", "NuclearPrediction", "NuclearResult",
           "NuclearRun", "NuclearStudy", "learned", "load_data", "predict"]
