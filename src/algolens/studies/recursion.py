"""Structural recursion (Zhang et al. 2023): train a small transformer on a recursive function,
reconstruct the shortcut it learned, and predict its failures with it.

    train    -> a run directory: weights, config, accuracy by split and by k / depth
    analyze  -> attention summary + plots, the shortcut as program.py, its agreement with the
                model and failure prediction on held-out inputs, head ablations
    remedy   -> the same model trained with rare cases oversampled: which predicted failures go
    predict  -> the model's outputs on given inputs

Inputs for the reconstruction and the held-out checks come from disjoint seeds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .. import tasks
from ..analysis.transformer.attention import own_outputs
from ..analysis.transformer.interventions import head_ablations, prediction_holds
from ..analysis.transformer.shortcuts import ShortcutExtractor, predict_failures
from ..codegen import ProgramInfo
from ..codegen.readout import from_shortcut, to_python
from ..io import read_json
from ..models.seq2seq import Seq2SeqConfig, Seq2SeqTransformer
from ..perf import fast_cpu
from ..store import RunStore, check_weights
from ..tasks.seq2seq import Seq2SeqTask
from ..train.seq2seq import Seq2SeqTrainConfig, model_config_for, score, train
from .registry import Study

STUDY_NAME = "recursion"
SPLITS = ("test", "rare", "ood")
BUILD_SEED, HELD_SEED, EVAL_SEED = 1000, 2000, 3000


@dataclass(frozen=True)
class Preset:
    """Model shape, training and the split failures are measured on, per task."""

    shape: dict = field(default_factory=lambda: dict(d_model=32, n_heads=4, d_mlp=128,
                                                     n_layers=2))
    # Successor: 2000 steps with a cosine-annealed rate. A constant rate left the model noisy
    # (its rare-split mistakes scattered over k = 6..13, no rule table predicts them: recall
    # 0.80); annealed, seed 0 fails cleanly from k = 12 on (recall 0.99, precision 1.0) and
    # seeds 1 / 2 are nearly perfect up to k = 15 (benchmarks/results/recursion.md).
    train: Seq2SeqTrainConfig = Seq2SeqTrainConfig(steps=2000, eval_n=2000, schedule="cosine")
    failure_split: str = "rare"


_TREE = Preset(dict(d_model=64, n_heads=4, d_mlp=256, n_layers=2),
               Seq2SeqTrainConfig(steps=800, eval_n=1000), "test")
# Preorder: one layer, so that the whole decision sits in layer-0 attention + MLP and the
# attention vote can describe it (the 2-layer model's slips also depend on layer 1; see
# benchmarks/results/recursion_traversals.md). Failures are measured on deep trees ('rare'),
# where it gets ~16% wrong; in distribution it gets ~2% wrong.
_PREORDER = Preset(dict(d_model=64, n_heads=4, d_mlp=256, n_layers=1),
                   Seq2SeqTrainConfig(steps=1200, eval_n=1000), "rare")
PRESETS = {"Successor": Preset(), "Preorder": _PREORDER, "Inorder": _TREE, "Postorder": _TREE}


def preset(task: Seq2SeqTask) -> Preset:
    return PRESETS.get(task.name, Preset())


# ------------------------------------------------------------------ train
def train_run(task: str | Seq2SeqTask, seed: int = 0, out: str | Path = "runs",
              steps: int | None = None, oversample: float | None = None, n_eval: int = 2000,
              progress: bool = True, threads: int = 1) -> Path:
    """Train one model and write its run directory; returns the directory.

    ``threads`` torch threads while training (the caller's count is restored). One thread is the
    default because it makes the run a function of (config, seed): with two or more threads
    torch's CPU kernels may sum in a different order from run to run, and the trained weights
    then differ between two runs of the same seed."""
    with fast_cpu(threads=threads):
        return _train_run(task, seed, out, steps, oversample, n_eval, progress)


def _train_run(task, seed, out, steps, oversample, n_eval, progress) -> Path:
    task = tasks.get(task, kind="seq2seq")
    pre = preset(task)
    tcfg = replace(pre.train, **{k: v for k, v in (("steps", steps), ("oversample", oversample))
                                 if v is not None})
    mcfg = model_config_for(task, **pre.shape)
    config = {"task": task.name, "model": mcfg.to_dict(), "train": tcfg.to_dict()}
    with RunStore(out).create(STUDY_NAME, task.name, config, seed=seed) as run:
        t0 = time.perf_counter()
        res = train(task, mcfg, tcfg, seed=seed, progress=progress)
        seconds = time.perf_counter() - t0
        run.save_weights(res.model.state_dict())
        metrics = {"steps": res.steps, "train_seconds": round(seconds, 1), "history": res.history,
                   **evaluate(res.model, task, n_eval)}
        run.finish(metrics, key_metrics={"steps": res.steps, **{
            f"{s}_exact": metrics[s]["exact"] for s in SPLITS}})
    return run.dir


def evaluate(model: Seq2SeqTransformer, task: Seq2SeqTask, n: int = 2000) -> dict:
    """Exact / per-token accuracy on fresh rows of each split, stratified by the feature."""
    return {s: score(model, task, task.sample(n, EVAL_SEED, s)).to_dict() for s in SPLITS}


def load_run(run_dir: str | Path) -> tuple[Seq2SeqTransformer, Seq2SeqTask, dict]:
    """The model, task and config of a recursion run directory (checked weights, no pickle)."""
    from ..train.checkpoint import load_weights_into
    run_dir = Path(run_dir)
    cfg_path = run_dir / "config.json"
    if not cfg_path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a recursion run (no config.json); train one "
                                "with `algolens recursion train TASK`")
    config = read_json(cfg_path)
    if config.get("study") != STUDY_NAME:
        raise ValueError(f"{run_dir} is a {config.get('study')!r} run, not a recursion run")
    check_weights(run_dir)
    model = Seq2SeqTransformer(Seq2SeqConfig.from_dict(config["model"]), seed=None)
    load_weights_into(model, run_dir / "weights.safetensors", f"seq2seq {config['task']}")
    return model.eval(), tasks.get(config["task"], kind="seq2seq"), config


# ------------------------------------------------------------------ analyze
@dataclass
class Analysis:
    """One reconstruction. ``method`` "read-table" (Successor, In-/Postorder): ``n_reads`` input
    reads per step, ``n_rules`` table rules. "attention-vote" (Preorder): ``n_reads`` layer-0
    heads the vote reads through, ``n_rules`` fitted numbers (vote weights and tau), ``tau`` the
    margin chosen on the build inputs, ``patching`` the value-patching intervention."""

    task: str
    split: str
    n_reads: int
    n_rules: int
    build_agreement: float
    failures: dict          # split -> FailurePrediction.to_dict()
    ablations: list[dict]
    ablation_prediction_holds: float
    program: str = ""
    plots: list[str] = field(default_factory=list)
    method: str = "read-table"
    tau: float | None = None
    build_failures: dict | None = None      # failure prediction on the build inputs (vote)
    patching: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "program"}
        return d


def analyze(run_dir: str | Path, n_build: int = 10000, n_held: int = 3000,
            split: str | None = None, plots: bool = True) -> Analysis:
    """Reconstruct the shortcut on build inputs, check it on held-out inputs of every split.
    Preorder gets the attention-vote shortcut (``analysis.transformer.vote``), other tasks the
    read table (``analysis.transformer.shortcuts``)."""
    model, task, _ = load_run(run_dir)
    split = split or preset(task).failure_split
    if task.name == "Preorder":
        return analyze_vote(run_dir, model, task, split, n_build, n_held, plots)
    build = task.sample(n_build, BUILD_SEED, split)
    ex = ShortcutExtractor().fit(model, build, task.features(build))
    sc = ex.shortcut_
    failures = {s: predict_failures(sc, model, task, task.sample(n_held, HELD_SEED, s)).to_dict()
                for s in dict.fromkeys((split,) + SPLITS)}
    held = task.sample(min(n_held, 1000), HELD_SEED + 1, split)
    abl = head_ablations(model, held, task.targets(held), sc.used_heads)
    info = ProgramInfo(task.name, network=f"seq2seq transformer {Path(run_dir).name}",
                       method=f"attention reads ({ex.n_reads_} per step) + rule table",
                       verification=f"agrees with the model on "
                                    f"{failures[split]['agreement']:.2%} of {n_held} held-out "
                                    f"{split!r} inputs",
                       examples=tuple((x, sc.run(x)) for x in build[:5]))
    program = to_python(from_shortcut(sc, info))
    res = Analysis(task.name, split, ex.n_reads_, len(sc.rules), ex.build_agreement_, failures,
                   [a.__dict__ | {"name": a.name} for a in abl], prediction_holds(abl), program)
    _write(Path(run_dir), res, ex.summary_ if plots else None, sc.used_heads, task)
    return res


def analyze_vote(run_dir: str | Path, model: Seq2SeqTransformer, task: Seq2SeqTask, split: str,
                 n_build: int, n_held: int, plots: bool) -> Analysis:
    """Pre-order: fit the attention vote on build inputs, emit it as ``program.py``, failure
    prediction on held-out inputs, head ablations and value patching of the pointed slot."""
    from ..analysis.transformer.attention import AttentionSummary
    from ..analysis.transformer.vote import VoteExtractor, value_patching
    from ..codegen.readout import from_vote, vote_to_python
    from ..tasks.recursion import LEAF, NODE
    build = task.sample(n_build, BUILD_SEED, split)
    ex = VoteExtractor(NODE, LEAF).fit(model, build, task.targets(build))
    sc = ex.shortcut_
    failures = {s: predict_failures(sc, model, task, task.sample(n_held, HELD_SEED, s)).to_dict()
                for s in dict.fromkeys((split,) + SPLITS)}
    held = task.sample(min(n_held, 1000), HELD_SEED + 1, split)
    truth = task.targets(held)
    abl = head_ablations(model, held, truth, sc.used_heads)
    used = tuple(sorted(h for _, h in sc.used_heads))
    sets = [(h,) for h in range(model.cfg.n_heads)] + ([used] if len(used) > 1 else [])
    patch = value_patching(model, sc, held, truth, sets)
    heads = ", ".join(f"L0H{h}" for h in used)
    info = ProgramInfo(task.name, network=f"seq2seq transformer {Path(run_dir).name}",
                       method=f"layer-0 attention of {heads} recomputed from the model's "
                              f"weights, spread over labels as votes; output j = label of slot j "
                              f"unless another label's vote comes within tau = {sc.tau:g} of "
                              f"it (or beats it)",
                       verification=f"agrees with the model on "
                                    f"{failures[split]['agreement']:.2%} of {n_held} held-out "
                                    f"{split!r} inputs",
                       examples=tuple((x, sc.run(x)) for x in build[:5]))
    prog = from_vote(sc, info)
    res = Analysis(task.name, split, len(used), prog.complexity, ex.build_agreement_, failures,
                   [a.__dict__ | {"name": a.name} for a in abl], prediction_holds(abl),
                   vote_to_python(prog), method="attention-vote", tau=sc.tau,
                   build_failures=ex.build_.to_dict(),
                   patching=[p.__dict__ | {"name": p.name} for p in patch])
    summary = AttentionSummary().fit(model, build[:2000], task.features(build[:2000])) \
        if plots else None
    _write(Path(run_dir), res, summary, sc.used_heads, task)
    return res


def _write(run_dir: Path, res: Analysis, summary, used: set[tuple[int, int]],
           task: Seq2SeqTask) -> None:
    """program.py, analysis.json and (with an attention ``summary``) the two plots."""
    from ..io import atomic_write_json, atomic_write_text
    atomic_write_text(run_dir / "program.py", res.program)
    if summary is not None:
        from ..analysis.transformer.attention import plot_attention, plot_by_feature
        plot_attention(summary, run_dir / "attention.png", f"{task.name}: mean attention")
        l_, h = _strongest_head(summary, used)
        plot_by_feature(summary, l_, h, run_dir / "attention_by_feature.png", task.feature_name)
        res.plots = ["attention.png", "attention_by_feature.png"]
    atomic_write_json(run_dir / "analysis.json", res.to_dict())


def _strongest_head(summary, used: set[tuple[int, int]]) -> tuple[int, int]:
    if used:
        return sorted(used)[0]
    m = summary.mean_.max(axis=(2, 3))
    return tuple(int(v) for v in np.unravel_index(m.argmax(), m.shape))


@dataclass
class PointerAnalysis:
    """The pointer shortcut of a pre-order model (``analysis.transformer.pointer``)."""

    task: str
    split: str
    read_agreement: float        # attention-read slot holds the emitted symbol (build steps)
    n_steps: int
    n_skips: int
    threshold: float
    tree_leaves: int
    build: dict                  # row-level failure prediction on the build inputs
    failures: dict               # split -> FailurePrediction.to_dict(), held-out inputs
    program: str = ""

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "program"}


def analyze_pointer(run_dir: str | Path, split: str = "rare", n_build: int = 6000,
                    n_held: int = 3000) -> PointerAnalysis:
    """Pre-order: read the copy pointer out of layer-0 attention on build inputs, learn when it
    slips, emit it as ``pointer_program.py``; failure prediction on held-out inputs."""
    from ..analysis.transformer.pointer import PointerExtractor
    from ..codegen.readout import from_pointer, pointer_to_python
    from ..io import atomic_write_json, atomic_write_text
    from ..tasks.recursion import LEAF, NODE
    model, task, _ = load_run(run_dir)
    if task.name != "Preorder":
        raise ValueError(f"the pointer shortcut is for Preorder runs, not {task.name!r}; use "
                         "`algolens recursion analyze` for the read-table shortcut")
    build = task.sample(n_build, BUILD_SEED, split)
    ex = PointerExtractor(NODE, LEAF).fit(model, build, task.targets(build))
    sc = ex.shortcut_
    failures = {s: predict_failures(sc, model, task, task.sample(n_held, HELD_SEED, s)).to_dict()
                for s in dict.fromkeys((split,) + SPLITS)}
    th, fp = ex.threshold_, ex.build_
    info = ProgramInfo(task.name, network=f"seq2seq transformer {Path(run_dir).name}",
                       method="layer-0 attention pointer over label slots + skip tree",
                       verification=f"agrees with the model on "
                                    f"{failures[split]['agreement']:.2%} of {n_held} held-out "
                                    f"{split!r} inputs",
                       examples=tuple((x, sc.run(x)) for x in build[:5]))
    prog = from_pointer(sc, info)
    res = PointerAnalysis(task.name, split, ex.read_agreement_, ex.n_steps_, ex.n_skips_, th,
                          prog.complexity, fp.to_dict(), failures, pointer_to_python(prog))
    atomic_write_text(Path(run_dir) / "pointer_program.py", res.program)
    atomic_write_json(Path(run_dir) / "pointer_analysis.json", res.to_dict())
    return res


# ------------------------------------------------------------------ remedy and predict
def remedy(run_dir: str | Path, oversample: float = 0.25, n_held: int = 3000,
           out: str | Path | None = None, progress: bool = True) -> dict:
    """Retrain the run's task and seed with rare cases oversampled; of the inputs the shortcut
    predicted to fail, how many does the remedied model now get right (by feature)?"""
    model, task, config = load_run(run_dir)
    analysis = read_json(Path(run_dir) / "analysis.json") if \
        (Path(run_dir) / "analysis.json").is_file() else None
    if analysis is None:
        raise FileNotFoundError(f"{run_dir} has no analysis.json; run `algolens recursion "
                                f"analyze {run_dir}` first")
    from ..codegen.verify import load_program
    f = load_program((Path(run_dir) / "program.py").read_text())
    split = analysis["split"]
    held = task.sample(n_held, HELD_SEED, split)
    truth = task.targets(held)
    predicted = [f(x) != t for x, t in zip(held, truth)]
    new_dir = train_run(task, seed=int(config["seed"]), out=out or Path(run_dir).parent.parent,
                        steps=config["train"]["steps"], oversample=oversample, progress=progress)
    new_model, _, _ = load_run(new_dir)
    fixed = [o == t for o, t in zip(own_outputs(new_model, held), truth)]
    old_ok = [o == t for o, t in zip(own_outputs(model, held), truth)]
    feats = task.features(held)
    by = {}
    for v in np.unique(feats):
        sel = [i for i in range(len(held)) if feats[i] == v and predicted[i]]
        if sel:
            by[str(int(v))] = {"predicted": len(sel), "now_right": int(sum(fixed[i] for i in sel))}
    n_pred = int(sum(predicted))
    return {"run": str(new_dir), "split": split, "oversample": oversample,
            "predicted_failures": n_pred,
            "disappeared": int(sum(p and r for p, r in zip(predicted, fixed))),
            "old_exact": float(np.mean(old_ok)), "new_exact": float(np.mean(fixed)),
            "by_feature": by}


def predict(run_dir: str | Path, rows: list[list[int]]) -> list[list[int]]:
    """The model's greedy outputs on user rows (checked against the input alphabet)."""
    model, task, _ = load_run(run_dir)
    for r in rows:
        task.check_input(r)
    return own_outputs(model, rows)


def parse_rows(text: str, digit_runs: bool = False) -> list[list[int]]:
    """One input per line: ints separated by spaces or commas ("1 1 0" or "1,1,0"), or with
    ``digit_runs`` (single-digit alphabets) a run of digits ("110"); blank lines and lines
    starting with # are skipped."""
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.replace(",", " ").split()
        try:
            single = digit_runs and len(parts) == 1 and parts[0].isdigit()
            rows.append([int(c) for c in parts[0]] if single else [int(p) for p in parts])
        except ValueError:
            raise ValueError(f"line {n}: {line!r} is not a list of ints; write one input per "
                             "line, e.g. '1 1 0' or '110'") from None
    return rows


# ------------------------------------------------------------------ demo
DEMO_STEPS = 1000     # 600 left the model at 0.985 in distribution; 1000 reached 0.999


@dataclass
class RecursionDemoResult:
    """One demo model: accuracy, and (if it trained) its shortcut and failure prediction.

    ``status`` is "trained" or "not trained (accuracy X)"; an untrained model is not
    interpreted (its shortcut fields stay None)."""

    task: str
    run_dir: Path
    steps: int
    train_seconds: float
    test_exact: float
    rare_exact: float
    status: str
    split: str = "rare"
    n_reads: int | None = None
    n_rules: int | None = None
    agreement: float | None = None
    n_failures: int | None = None       # |F|
    n_predicted: int | None = None      # |P|
    n_hit: int | None = None            # |P ∩ F|
    recall: float | None = None
    precision: float | None = None
    program: Path | None = None

    @property
    def trained(self) -> bool:
        return self.status == "trained"

    def to_dict(self) -> dict:
        return {k: str(v) if isinstance(v, Path) else v for k, v in self.__dict__.items()}


def demo(out_runs: str | Path, log=print, steps: int = DEMO_STEPS, seed: int = 0,
         min_exact: float = 0.99) -> list[RecursionDemoResult]:
    """The quick recursion tour: train Successor for ``steps`` updates (about half a minute on
    one idle CPU core), then reconstruct its shortcut and predict its failures on the rare split
    (long carry chains). Small sample sizes keep it fast; the benchmark uses larger ones."""
    log(f"[recursion] Successor: training {steps} steps ...")
    run_dir = train_run("Successor", seed=seed, out=out_runs, steps=steps, n_eval=1000,
                        progress=False)
    m = read_json(run_dir / "metrics.json")
    test, rare = m["test"]["exact"], m["rare"]["exact"]
    ok = test >= min_exact
    res = RecursionDemoResult("Successor", run_dir, int(m["steps"]), float(m["train_seconds"]),
                              test, rare, "trained" if ok else f"not trained (accuracy {test:.3f})")
    log(f"[recursion] Successor: {res.status}; exact in distribution {test:.3f}, on long carry "
        f"chains {rare:.3f}")
    if not ok:
        return [res]
    a = analyze(run_dir, n_build=3000, n_held=1000, split="rare", plots=False)
    fp = a.failures["rare"]
    res.n_reads, res.n_rules, res.agreement = a.n_reads, a.n_rules, fp["agreement"]
    res.n_failures, res.n_predicted, res.n_hit = fp["F"], fp["P"], fp["P_and_F"]
    res.recall, res.precision, res.program = fp["recall"], fp["precision"], run_dir / "program.py"
    log(f"[recursion] shortcut: {a.n_reads} reads/step, {a.n_rules} rules, agreement "
        f"{res.agreement:.3f}; failures |F|={res.n_failures} |P|={res.n_predicted} recall "
        f"{res.recall:.3f} precision {res.precision:.3f}")
    return [res]


STUDY = Study(STUDY_NAME, "Structural recursion: the shortcut a transformer took on successor / "
              "tree traversals, and its failures predicted", load_run=load_run)
