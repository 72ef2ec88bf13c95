"""The study contract and its registry: every study declares its shape where it lives.

A study is a ``Study[Config, Result]``: a name (the folder of its runs, ``<store>/<name>/``), a
config dataclass whose field docs are the CLI help (``param(default, "doc")``), named presets,
``train(config, seed, store) -> Run``, ``analyze(run) -> Result``, the one rule that says whether
a run is trained, a demo preset, a summary row and an optional report section::

    @dataclass(frozen=True)
    class SparseParityConfig:
        n: int = param(40, "input bits")
        k: int = param(3, "bits in the secret support")

    class SparseParity(Study[SparseParityConfig, SparseParityResult]):
        name, summary = "sparse_parity", "an MLP learns (n, k)-sparse parity"
        config, result = SparseParityConfig, SparseParityResult
        presets = {"quick": SparseParityConfig(n=20)}
        default_preset = demo_preset = "quick"

        def train(self, config, seed, store, *, progress=True) -> Run: ...
        def analyze(self, run, *, force=False) -> SparseParityResult: ...
        def trained(self, result) -> bool: ...

    STUDY = SparseParity()

A study module in ``algolens.studies`` declares, at module level, ``STUDY`` (or ``STUDIES =
(...)`` when one module owns several). ``studies()`` imports every module of the package (found
with ``pkgutil``, no hand-kept list). From that declaration alone the CLI makes
``algolens <name> train|analyze`` (options generated from the config fields, with ``--preset``,
``--seed``, ``--threads``, ``--json``, ``--out`` the same in every study), ``algolens sweep``
runs its (config, seed) points through the one executor, ``algolens demo`` trains its demo
preset, and the report and ``runs list`` show its runs.

Studies written before the contract declare ``Study(name, summary, load_run=...)`` and keep
their own command modules until they move onto it (``Study.contract`` is False for them).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import pkgutil
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..typed import from_json, to_json

if TYPE_CHECKING:
    from ..store import Run, RunStore

_NOT_STUDIES = frozenset({"registry", "presets"})   # infrastructure modules of the package
C = TypeVar("C")
R = TypeVar("R")


def param(default: Any, doc: str, *, choices: tuple | None = None) -> Any:
    """A config field with its help text (and allowed values): ``n: int = param(40, "bits")``."""
    meta = {"doc": doc, **({"choices": tuple(choices)} if choices else {})}
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


class Study(Generic[C, R]):
    """One study. Subclass it and set the class attributes; the methods below are the contract.

    ``Study(name, summary, load_run=...)`` still declares a study written before the contract.
    """

    name: str = ""
    summary: str = ""
    config: type | None = None          # the config dataclass (its field docs are the CLI help)
    result: type | None = None          # the result dataclass (``analyze`` returns one)
    presets: Mapping[str, Any] = {}     # name -> config instance
    default_preset: str | None = None   # what ``train`` uses without --preset
    demo_preset: str | None = None      # what ``algolens demo`` trains (None: not in the demo)
    demo_order: int = 100               # where the study comes in the demo and its report
    group_size: int = 1                 # points a sweep may train together (batched ensembles)
    load_run: Callable[[Path], Any] | None = None

    def __init__(self, name: str | None = None, summary: str | None = None,
                 load_run: Callable[[Path], Any] | None = None) -> None:
        if name is not None:
            self.name = name
        if summary is not None:
            self.summary = summary
        if load_run is not None:
            self.load_run = load_run
        if not self.name:
            raise TypeError(f"{type(self).__name__} needs a name")

    def __repr__(self) -> str:
        return f"<Study {self.name}>"

    @property
    def contract(self) -> bool:
        """Whether the study declares the full shape (config, result, train, analyze)."""
        return self.config is not None and type(self).train is not Study.train

    # ------------------------------------------------------------------ configs
    def make_config(self, preset: str | None = None, **overrides: Any) -> C:
        """The config of ``preset`` (default: ``default_preset``, else the class defaults) with
        ``overrides`` (field names); an unknown preset or field names the known ones."""
        if self.config is None:
            raise NotImplementedError(f"study {self.name} declares no config dataclass")
        name = preset or self.default_preset
        if name is not None and name not in self.presets:
            raise ValueError(f"unknown preset {name!r} for {self.name}; choose one of: "
                             f"{', '.join(self.presets) or '(none)'}")
        base = self.presets[name] if name is not None else self.config()
        known = {f.name for f in dataclasses.fields(self.config)}
        bad = sorted(set(overrides) - known)
        if bad:
            raise ValueError(f"unknown {self.name} setting(s) {', '.join(bad)}; known: "
                             f"{', '.join(sorted(known))}")
        return dataclasses.replace(base, **overrides)

    def parse_value(self, name: str, value: Any) -> Any:
        """A command-line (or ``--grid``/``--set``) value for config field ``name``, as its type."""
        from ..typed import from_text
        hints = typing.get_type_hints(self.config)
        if name not in hints:
            raise ValueError(f"{self.name} has no setting {name!r}; known: "
                             f"{', '.join(sorted(hints))}")
        return from_text(hints[name], value, f"--{name.replace('_', '-')}")

    def read_config(self, data: Mapping[str, Any]) -> C:
        """A config.json body (run header keys dropped) as the config dataclass."""
        body = {k: v for k, v in data.items() if k not in RUN_HEADER}
        return from_json(self.config, body, f"{self.name} config") if self.config else body

    def key(self, config: C) -> str:
        """The index's ``key`` column for a run of ``config`` (the task or setting)."""
        return self.name

    def run_id(self, config: C, seed: int) -> str:
        """A deterministic id for (config, seed): sweeps merge and skip by it."""
        body = json.dumps({"study": self.name, "seed": seed, **to_json(config)}, sort_keys=True)
        return f"{self.key(config)}-s{seed}-{hashlib.sha256(body.encode()).hexdigest()[:8]}"

    # ------------------------------------------------------------------ the work
    def train(self, config: C, seed: int, store: RunStore, *, run_id: str | None = None,
              progress: bool = True) -> Run:
        """Train one model of ``config`` from ``seed`` into ``store``; the finished run."""
        raise NotImplementedError(f"study {self.name} has no train step on the study contract")

    def analyze(self, run: Run, *, force: bool = False) -> R:
        """Read the run out (saving the result and its artefacts in the run). An untrained run
        gets a result that says so and claims nothing, unless ``force``."""
        raise NotImplementedError(f"study {self.name} has no analysis on the study contract")

    def train_group(self, points: list[tuple[C, int, str | None]], store: RunStore, *,
                    progress: bool = True) -> list[Run]:
        """Train several (config, seed, run id) points that share ``group_key`` -- one batched
        computation where the study can (override); by default one after the other."""
        return [self.train(c, s, store, run_id=r, progress=progress) for c, s, r in points]

    def group_key(self, config: C) -> str:
        """Points with equal keys may be trained together by ``train_group``."""
        return json.dumps(to_json(config), sort_keys=True)

    def load_model(self, run: Run) -> Any:
        """The run's network, from its weights (checksum verified)."""
        raise NotImplementedError(f"study {self.name} keeps no model to load")

    def trained(self, result: R) -> bool:
        """The one rule that says whether a run learned (the CLI, report and demo all ask it)."""
        return bool(getattr(result, "trained", False))

    # ------------------------------------------------------------------ people
    def summary_row(self, run: Run, result: R | None) -> dict[str, Any]:
        """One row of the study's table (demo, sweeps, the report)."""
        row: dict[str, Any] = {"run": run.id, "seed": run.seed}
        if result is not None:
            row["trained"] = self.trained(result)
        return row

    def summary_line(self, run: Run, result: R | None) -> str:
        """One line for the terminal and the demo log."""
        return ", ".join(f"{k} {v}" for k, v in self.summary_row(run, result).items())

    def report_section(self, rep: Any, run: Run, result: R | None) -> bool:
        """Add this run's evidence to a report; False to fall back to the generic section."""
        return False

    # ------------------------------------------------------------------ the demo
    def demo_points(self) -> list[tuple[C, int]]:
        """The (config, seed) points ``algolens demo`` runs (default: the demo preset, seed 0)."""
        return [(self.make_config(self.demo_preset), 0)] if self.demo_preset else []

    def demo_lines(self, pairs: list[tuple[Run, R | None]]) -> list[str]:
        """What the demo prints for this study's runs (default: one summary line per run)."""
        return [f"{self.name}: {self.summary_line(run, res)}" for run, res in pairs]

    def demo_section(self, rep: Any, pairs: list[tuple[Run, R | None]]) -> None:
        """The study's part of the demo report's summary (default: a heading and a table of
        summary rows)."""
        rep.add_heading(self.summary)
        rep.add_table([self.summary_row(run, res) for run, res in pairs])


RUN_HEADER = frozenset({"study", "key", "seed", "run_id", "fingerprint"})


def module_names() -> list[str]:
    """Names of the study modules in ``algolens.studies`` (without importing them)."""
    from . import __path__ as pkg_path
    return sorted(m.name for m in pkgutil.iter_modules(pkg_path)
                  if not m.name.startswith("_") and m.name not in _NOT_STUDIES)


def declared(module: Any) -> tuple[Study, ...]:
    """The studies a module declares through ``STUDY`` or ``STUDIES`` (empty if none)."""
    found = tuple(getattr(module, "STUDIES", ()))
    if hasattr(module, "STUDY"):
        found = (module.STUDY, *found)
    for s in found:
        if not isinstance(s, Study):
            raise TypeError(f"{module.__name__}: STUDY/STUDIES must hold Study objects, got "
                            f"{type(s).__name__}")
    return found


def studies() -> dict[str, Study]:
    """{name: Study} over every study module (imports them; a repeated name is an error)."""
    out: dict[str, Study] = {}
    for mod_name in module_names():
        module = importlib.import_module(f"{__package__}.{mod_name}")
        for s in declared(module):
            if s.name in out:
                raise ValueError(f"two studies are named {s.name!r} (the second in "
                                 f"{module.__name__}); study names must be unique")
            out[s.name] = s
    return out


def get(name: str) -> Study:
    """One study by name (``sparse-parity`` = ``sparse_parity``); an unknown name lists the
    known ones."""
    found = studies()
    name = name if name in found else name.replace("-", "_")
    if name not in found:
        import difflib
        near = difflib.get_close_matches(name, list(found), n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        raise ValueError(f"unknown study {name!r}; {hint}known studies: "
                         f"{', '.join(sorted(found))}")
    return found[name]


def contract_studies() -> dict[str, Study]:
    """The studies that declare the full contract (config, result, train, analyze)."""
    return {n: s for n, s in studies().items() if s.contract}


def run_point(study: Study, config: Any, seed: int, store: RunStore, *, threads: int | None = 1,
              run_id: str | None = None, progress: bool = True, analyze: bool = True
              ) -> tuple[Run, Any]:
    """Train (and analyze) one (config, seed) point: the one place a study's threads are set.

    ``threads`` torch threads inside the call (the caller's count is restored; None keeps it):
    one by default, so a run gives the same numbers in a notebook, the CLI and a pool worker.
    """
    from ..perf import fast_cpu
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    with fast_cpu(threads=threads):
        run = study.train(config, seed, store, run_id=run_id, progress=progress)
        result = study.analyze(run) if analyze else None
    return run, result


def run_points(study: Study, points: list[tuple[Any, int]], store: RunStore, *,
               threads: int | None = 1, progress: bool = True, analyze: bool = True,
               ids: bool = True) -> list[tuple[Run, Any]]:
    """Train (and analyze) several points, batched by ``group_key`` up to ``group_size``; with
    ``ids`` each run gets its deterministic id (``run_id``), so a second call redoes it."""
    from ..perf import fast_cpu
    for _, seed in points:
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    out: list[tuple[Run, Any]] = []
    with fast_cpu(threads=threads):
        for group in groups(study, points):
            todo = [(c, s, study.run_id(c, s) if ids else None) for c, s in group]
            for run in study.train_group(todo, store, progress=progress):
                out.append((run, study.analyze(run) if analyze else None))
    return out


def groups(study: Study, points: list[tuple[Any, int]]) -> list[list[tuple[Any, int]]]:
    """``points`` cut into groups of equal ``group_key`` and at most ``group_size``."""
    by_key: dict[str, list[tuple[Any, int]]] = {}
    for c, s in points:
        by_key.setdefault(study.group_key(c), []).append((c, s))
    n = max(1, study.group_size)
    return [g[i:i + n] for g in by_key.values() for i in range(0, len(g), n)]


def sweep_point(payload: tuple[str, list[tuple[Any, int]], str, int | None]) -> list[dict]:
    """One sweep item, run in an executor worker: ``(study, [(config JSON, seed)], store root,
    threads)`` -> the study's summary row of each point (plus ``status``)."""
    from ..store import RunStore
    name, points, root, threads = payload
    study = get(name)
    pts = [(study.read_config(c), s) for c, s in points]
    pairs = run_points(study, pts, RunStore(root), threads=threads, progress=False)
    return [{"status": "done", **study.summary_row(run, res)} for run, res in pairs]


def load_run(path: str | Path) -> Any:
    """Load any run directory ``runs/<study>/<run-id>/``, whatever its study.

    The study comes from the run's config.json (``"study"``; older runs without it are
    recognised by their layout); a contract study's network comes from ``Study.load_model``,
    an older study's from its ``Study.load_run``. Every loader refuses weights whose SHA-256
    differs from the one recorded when they were written.
    """
    from ..io import read_json
    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"{path} is not a run directory; see `algolens runs list`")
    config = read_json(path / "config.json")
    study = config.get("study") if isinstance(config, dict) else None
    study = study or _legacy_study(config, path)
    found = get(study)
    if found.contract:
        from ..store import open_run
        return found.load_model(open_run(path))
    loader = found.load_run
    if loader is None:
        raise ValueError(f"runs of study {study!r} hold no model to load ({path})")
    return loader(path)


def _legacy_study(config: Any, path: Path) -> str:
    """The study of a run written before config.json named it."""
    if isinstance(config, dict) and str(config.get("format", "")).startswith("algolens-rnn"):
        return "train"
    if isinstance(config, dict) and "model" in config and "train" in config:
        return "grokking" if path.parent.name == "grokking" else "clock_pizza"
    raise ValueError(f"{path / 'config.json'} does not say which study made the run (no "
                     "'study' key); it is not an algolens run directory")
