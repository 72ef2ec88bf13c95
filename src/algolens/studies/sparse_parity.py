"""Sparse parity (Barak et al., NeurIPS 2022): an MLP learns the parity of k secret bits out of n
after a long plateau, while a hidden progress measure grows.

The study in four passes, each in its own module:

1. task     ``tasks.sparse_parity``: n uniform bits, a secret support S (|S| = k) from a seed;
2. train    ``train.sparse_parity``: a one-hidden-layer ReLU MLP, online SGD on fresh batches,
            the shared loop; every evaluation records test accuracy and the hidden-progress
            measures (Fourier coefficient on S vs the largest on other k-subsets, weight share);
3. read out ``analysis.parity``: the support from the first-layer weights alone (the k inputs
            carrying the weight, with the gap to the next as a confidence), the network checked
            to compute the parity of *those* bits on fresh inputs (all 2^n when n <= 16);
4. emit     ``codegen.parity``: a standalone program ``f(bits)``, itself checked against the
            task's labels.

A run below 99% test accuracy is "not trained": no support, no program is claimed for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..typed import to_json
from .registry import Study, param

TRAINED_ACC = 0.99          # the one "trained" rule of this study (the spec: ~99% test accuracy)
N_VERIFY = 10_000           # fresh inputs behind the verification when n > 16
HISTORY = "history.json"
PROGRAM = "program.py"
PLOT = "progress.png"


@dataclass(frozen=True)
class SparseParityConfig:
    """One sparse-parity run: the task, the network and online SGD."""

    n: int = param(40, "input bits n")
    k: int = param(3, "bits in the secret support k")
    support_seed: int = param(0, "seed of the secret support (the run's --seed sets the "
                                 "initialisation and the data)")
    width: int = param(256, "hidden units")
    act: str = param("relu", "hidden nonlinearity", choices=("relu",))
    steps: int = param(20_000, "most SGD updates (training stops at the first 100% evaluation)")
    batch: int = param(32, "fresh samples per update")
    lr: float = param(0.1, "constant learning rate")
    loss: str = param("hinge", "loss", choices=("hinge", "logistic"))
    weight_decay: float = param(0.0, "weight decay")
    eval_every: int = param(50, "updates between evaluations (test accuracy, progress measures)")
    n_test: int = param(2048, "test inputs")

    def __post_init__(self) -> None:
        self.task()                # n, k, support seed checked here, before any work
        self.model_config()
        self.train_config()

    def task(self):
        from ..tasks.sparse_parity import SparseParityTask
        if not isinstance(self.support_seed, int) or self.support_seed < 0:
            raise ValueError(f"support_seed must be an integer >= 0, got {self.support_seed!r}")
        return SparseParityTask.from_seed(self.n, self.k, self.support_seed)

    def model_config(self):
        from ..models.mlp import ParityMLPConfig
        return ParityMLPConfig(n_in=self.n, width=self.width, act=self.act)

    def train_config(self):
        import math

        from ..train.sparse_parity import SparseParityTrainConfig
        if not math.isfinite(self.lr) or not math.isfinite(self.weight_decay):
            raise ValueError(f"lr and weight_decay must be finite numbers, got lr={self.lr}, "
                             f"weight_decay={self.weight_decay}")
        return SparseParityTrainConfig(steps=self.steps, batch=self.batch, lr=self.lr,
                                       loss=self.loss, weight_decay=self.weight_decay,
                                       eval_every=self.eval_every, n_test=self.n_test)


@dataclass
class SparseParityResult:
    """What the run learned, read from its weights and checked."""

    trained: bool
    test_acc: float
    steps: int                                  # updates done
    solved_step: int | None                     # first evaluation at 100% test accuracy
    plateau_end: int | None                     # last evaluation still below 60% accuracy
    true_support: tuple[int, ...]               # the task's secret (for the comparison only)
    support: tuple[int, ...] | None = None      # read from the first-layer weights
    support_gap: float | None = None            # k-th / (k+1)-th input score: the confidence
    support_correct: bool | None = None
    agreement: float | None = None              # network == parity of the read-out bits
    verified_on: int | None = None              # inputs behind ``agreement``
    exhaustive: bool | None = None
    program_agreement: float | None = None      # emitted program == the task's labels
    program: str | None = None                  # artefact name of the program
    progress: dict[str, float] = field(default_factory=dict)   # hidden progress, start vs plateau
    forced: bool = False                        # read out though not trained (--force)


class SparseParity(Study[SparseParityConfig, SparseParityResult]):
    name = "sparse_parity"
    summary = "Sparse parity: an MLP learns the parity of k secret bits (Barak et al. 2022)"
    config, result = SparseParityConfig, SparseParityResult
    presets = {
        "default": SparseParityConfig(),
        "quick": SparseParityConfig(n=20, steps=5_000),
        "paper": SparseParityConfig(n=50, width=1000, steps=100_000),
    }
    default_preset = "default"
    demo_preset = "default"
    demo_order = 60

    def key(self, config: SparseParityConfig) -> str:
        return f"n{config.n}-k{config.k}"

    # ------------------------------------------------------------------ train
    def train(self, config, seed, store, *, run_id=None, progress=True):
        from ..train.sparse_parity import train_sparse_parity
        task = config.task()
        with store.create(self.name, self.key(config), config, seed=seed, run_id=run_id,
                          exist_ok=run_id is not None) as run:
            tr = train_sparse_parity(task, config.model_config(), config.train_config(), seed,
                                     progress=progress)
            run.save_weights(dict(tr.model.state_dict()))
            run.write_json(HISTORY, to_json(tr.history))
            run.finish({"test_acc": tr.test_acc, "steps": tr.steps, "stopped": tr.stopped,
                        "solved_step": _solved_step(tr.history), "seconds": round(tr.seconds, 2)})
        return run

    def load_model(self, run):
        from ..models.mlp import ParityMLP
        from ..store import WEIGHTS
        from ..train.checkpoint import load_weights_into
        cfg = run.config
        net = ParityMLP(cfg.model_config())
        return load_weights_into(net, run.artefact(WEIGHTS), f"sparse-parity MLP "
                                 f"(n={cfg.n}, width={cfg.width})").eval()

    def history(self, run) -> list:
        from ..analysis.parity import ProgressPoint
        return run.read_typed(HISTORY, list[ProgressPoint])

    # ------------------------------------------------------------------ analyze
    def analyze(self, run, *, force=False):
        from ..analysis.parity_plots import plot_sparse_parity_progress
        cfg, hist = run.config, self.history(run)
        run.save_figure(PLOT, plot_sparse_parity_progress(hist, cfg.k, cfg.n,
                                                          solved_acc=TRAINED_ACC))
        res = SparseParityResult(trained=hist[-1].test_acc >= TRAINED_ACC,
                                 test_acc=hist[-1].test_acc, steps=hist[-1].step,
                                 solved_step=_solved_step(hist), plateau_end=_plateau_end(hist),
                                 true_support=cfg.task().support, progress=_progress(hist))
        if res.trained or force:
            self._read_out(run, res, force=not res.trained)
        run.save_result(res)
        return res

    def _read_out(self, run, res: SparseParityResult, force: bool) -> None:
        from ..analysis.parity import SupportExtractor, verify
        cfg, model = run.config, self.load_model(run)
        ext = SupportExtractor(k=cfg.k).fit(model, cfg.n)
        ver = verify(model, ext.support_, cfg.n, N_VERIFY,
                     np.random.default_rng([run.seed, 7]))
        res.support, res.support_gap = tuple(ext.support_), float(ext.gap_)
        res.support_correct = res.support == res.true_support
        res.agreement, res.verified_on, res.exhaustive = ver.agreement, ver.n_inputs, \
            ver.exhaustive
        res.forced = force
        source = _program(run, cfg, res)
        run.write_text(PROGRAM, source)
        res.program = PROGRAM
        res.program_agreement = _program_agreement(source, cfg, run.seed)

    def trained(self, result: SparseParityResult) -> bool:
        return result.trained

    # ------------------------------------------------------------------ people
    def summary_row(self, run, result):
        cfg = run.config
        row: dict[str, Any] = {"run": run.id, "n": cfg.n, "k": cfg.k, "seed": run.seed}
        if result is None:
            m = run.metrics
            return {**row, "test acc": m.get("test_acc"), "solved at": m.get("solved_step")}
        return {**row, "trained": result.trained, "test acc": result.test_acc,
                "plateau until": result.plateau_end, "solved at": result.solved_step,
                "support": _fmt_support(result.support), "correct": result.support_correct,
                "gap": result.support_gap, "agreement": result.agreement,
                "program ok": result.program_agreement}

    def summary_line(self, run, result):
        cfg = run.config
        if result is None:
            m = run.metrics
            return (f"n={cfg.n}, k={cfg.k}: test accuracy {m.get('test_acc', float('nan')):.3f} "
                    f"after {m.get('steps')} steps ({m.get('stopped')})")
        head = f"n={cfg.n}, k={cfg.k}, seed {run.seed}"
        if not result.trained and not result.forced:
            return (f"{head}: not trained (test accuracy {result.test_acc:.3f} after "
                    f"{result.steps} steps); no support or program claimed")
        p, nan = result.progress, float("nan")
        return (f"{head}: support {_fmt_support(result.support)} read from the weights "
                f"({'correct' if result.support_correct else 'WRONG'}, gap "
                f"{result.support_gap:.1f}); network = parity of those bits on "
                f"{result.agreement:.4f} of {result.verified_on} inputs; plateau until step "
                f"{result.plateau_end}, 100% at step {result.solved_step}; hidden progress: "
                f"output-weighted share of S {p.get('support_output_share_start', nan):.3f} -> "
                f"{p.get('support_output_share_at_plateau_end', nan):.3f} during the plateau "
                f"(uninformed {cfg.k / cfg.n:.3f})")

    def demo_lines(self, pairs):
        return [f"sparse parity {self.summary_line(run, res)}" for run, res in pairs]

    def demo_section(self, rep, pairs):
        rep.add_heading("Sparse parity")
        rep.add_text(
            "An MLP trained with online SGD on the parity of k secret bits out of n (Barak et "
            "al. 2022): accuracy sits near 50% for a long plateau, then jumps, while the "
            "network's Fourier coefficient on the secret support and the weight share of the "
            "support grow during the plateau. The support is read from the first-layer "
            "weights alone, checked by running the network, and emitted as a program.")
        rep.add_table([self.summary_row(run, res) for run, res in pairs])

    def report_section(self, rep, run, result):
        rep.add_metrics({k: v for k, v in self.summary_row(run, result).items()
                         if k not in ("run",)})
        if result is not None and not result.trained and not result.forced:
            rep.add_note(f"Not trained (test accuracy {result.test_acc:.3f}): no support or "
                         "program is claimed.")
        if (run.dir / PLOT).is_file():
            rep.add_figure(run.artefact(PLOT).read_bytes(),
                           caption="accuracy and loss beside the hidden-progress measures")
        if result is not None and result.program:
            rep.add_code(run.artefact(result.program).read_text())
        return True


# ---------------------------------------------------------------------- helpers
def _solved_step(history) -> int | None:
    return next((p.step for p in history if p.test_acc >= 1.0), None)


def _plateau_end(history) -> int | None:
    below = [p.step for p in history if p.test_acc < 0.6]
    return below[-1] if below else None


_MEASURES = ("fourier_on_support", "max_fourier_off_support", "support_weight_share",
             "support_output_share")


def _progress(history) -> dict[str, float]:
    """The hidden progress: each measure at the start and at the plateau's last evaluation."""
    end = _plateau_end(history)
    at = next((p for p in history if p.step == end), None)
    out = {f"{m}_start": getattr(history[0], m) for m in
           _MEASURES}
    if at is not None:
        out.update({f"{m}_at_plateau_end": getattr(at, m) for m in
                    _MEASURES})
    return out


def _fmt_support(s) -> str:
    return "-" if s is None else "{" + ", ".join(map(str, s)) + "}"


def _program(run, cfg: SparseParityConfig, res: SparseParityResult) -> str:
    from ..codegen.parity import parity_program
    how = "exhaustively over all" if res.exhaustive else "on"
    info = (f"read from the first-layer weights of run {run.id} (n={cfg.n}, k={cfg.k}, width "
            f"{cfg.width}, seed {run.seed}); the network computes this parity on "
            f"{res.agreement:.4f} of the inputs, checked {how} {res.verified_on} inputs"
            + ("; the run did NOT train (read out with --force)" if res.forced else ""))
    return parity_program(res.support, cfg.n, info)


def _program_agreement(source: str, cfg: SparseParityConfig, seed: int | None) -> float:
    """Run the emitted program as a module against the task's labels on fresh inputs."""
    ns: dict[str, Any] = {"__name__": "algolens_parity_program"}
    exec(compile(source, PROGRAM, "exec"), ns)          # noqa: S102 - our own generated code
    x, y = cfg.task().sample(2000, np.random.default_rng([seed or 0, 8]))
    return float(np.mean([ns["f"](list(map(int, row))) == int(t) for row, t in zip(x, y)]))


STUDY = SparseParity()
