"""Named settings of the modular-addition studies, stated once.

The CLI (``--preset NAME``, explicit flags override single values), the demo and the Python API
take their defaults from here, so a setting is not written down in three places:

    >>> from algolens.studies.presets import get
    >>> pre = get("reduced-p31-d32")
    >>> model, train = pre.model_config(), pre.train_config(steps=2000)   # override one value

A preset holds plain values (this module imports no torch); ``model_config`` and
``train_config`` build the ``TransformerConfig`` / ``TrainConfig``. Field names match the CLI
options (``--p``, ``--width``, ``--steps``, ``--wd`` ...); ``d_mlp`` is always 4·width.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Preset:
    """One named setting: model shape and training schedule, for one study."""

    name: str
    study: str                  # "clock_pizza" or "grokking": the commands that offer it
    summary: str
    p: int
    width: int                  # d_model; d_mlp = 4 * width
    heads: int = 4
    layers: int = 1
    act: str = "relu"
    causal: bool = False
    eq_token: bool = False
    steps: int = 20_000
    lr: float = 1e-3
    wd: float = 2.0             # AdamW weight decay
    frac: float = 0.8           # training fraction of the p² pairs
    eval_every: int = 100
    checkpoint_every: int = 0   # 0: none (grokking: steps // 40, see studies.grokking.train)

    def options(self) -> dict[str, Any]:
        """The CLI option values this preset sets (the command-line defaults)."""
        skip = {"name", "study", "summary", "causal", "eq_token"}
        return {k: v for k, v in asdict(self).items() if k not in skip}

    def model_config(self, **override: Any):
        """The ``TransformerConfig`` (``override``: its field names, e.g. ``attn_rate=0.0``)."""
        from ..models.transformer import TransformerConfig
        kw = dict(p=self.p, d_model=self.width, n_heads=self.heads, d_mlp=4 * self.width,
                  n_layers=self.layers, act=self.act, causal=self.causal, eq_token=self.eq_token)
        return TransformerConfig(**{**kw, **override})

    def train_config(self, **override: Any):
        """The ``TrainConfig`` (``override``: its field names, e.g. ``steps=2000``)."""
        from ..train.modular import TrainConfig
        kw = dict(steps=self.steps, lr=self.lr, weight_decay=self.wd, train_frac=self.frac,
                  eval_every=self.eval_every, checkpoint_every=self.checkpoint_every)
        return TrainConfig(**{**kw, **override})

    def describe(self) -> str:
        return (f"p={self.p}, d={self.width}, {self.steps} steps, lr {self.lr:g}, wd {self.wd:g}, "
                f"{self.frac:.0%} train")


PRESETS: dict[str, Preset] = {pre.name: pre for pre in (
    Preset("paper-p59-d128", "clock_pizza", "Zhong et al.'s Clock/Pizza setting (the default)",
           p=59, width=128),
    Preset("reduced-p31-d32", "clock_pizza", "our reduced phase diagram and the demo "
           "(110 runs in 24 min on 2 cores)", p=31, width=32, steps=4000, lr=2e-3),
    Preset("nanda-p113", "grokking", "Nanda et al.'s grokking setting ([a, b, =], causal)",
           p=113, width=128, causal=True, eq_token=True, steps=40_000, wd=1.0, frac=0.3),
    Preset("quick-p31-d32", "grokking", "a grokking run in about half a minute of CPU (the "
           "demo): memorises, then generalises to 100% by 3000 steps", p=31, width=32,
           causal=True, eq_token=True, steps=3000, lr=5e-3, wd=1.0, frac=0.5),
)}
DEFAULT = {"clock_pizza": "paper-p59-d128", "grokking": "nanda-p113"}
DEMO_CLOCK_PIZZA = "reduced-p31-d32"       # the demo trains α = 0 and α = 1 at this setting
DEMO_GROKKING = "quick-p31-d32"            # and one grokking run at this one


def names(study: str | None = None) -> list[str]:
    """Preset names, optionally only those of one study."""
    return [n for n, pre in PRESETS.items() if study is None or pre.study == study]


def get(name: str, study: str | None = None) -> Preset:
    """A preset by name; an unknown name (or one of another study) lists the valid ones."""
    valid = names(study)
    if name not in valid:
        where = f" for {study}" if study else ""
        other = f" ({name!r} is a {PRESETS[name].study} preset)" if name in PRESETS else ""
        raise ValueError(f"unknown preset {name!r}{where}{other}; choose one of: "
                         f"{', '.join(valid)}")
    return PRESETS[name]


def listing(study: str | None = None) -> str:
    """One line per preset, for ``--help`` texts."""
    return "\n".join(f"  {n:<17} {PRESETS[n].describe()}\n  {'':<17} {PRESETS[n].summary}"
                      for n in names(study))

