"""The ``algolens`` command. Each study registers its subcommands from its own module here."""

from __future__ import annotations

import importlib
import pkgutil
import signal
import sys

import click

from ..tasks.spec import TaskError
from .common import INTERRUPT_HINT


class _FriendlyGroup(click.Group):
    """Turn expected errors (bad task names, bad files, bad checkpoints) into one clear line."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (TaskError, ValueError, FileNotFoundError, NotImplementedError) as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            hint = ctx.meta.get(INTERRUPT_HINT, "re-run with --resume to continue")
            click.echo(f"interrupted: finished runs are kept; {hint}", err=True)
            sys.exit(130)


@click.group(cls=_FriendlyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="algolens")
def main() -> None:
    """algolens: train small networks on known tasks and read out what they learned.

    \b
    Examples:
      algolens demo                 # a few minutes: train, distil, verify, write a report
      algolens tasks                # the 62 MIPS benchmark tasks
      algolens train Parity_Last3   # smallest RNN that solves a task
      algolens mips Add_Mod_5       # RNN -> verified Python program
      algolens runs list            # every run of every study
    """
    # A `kill` (SIGTERM) unwinds like Ctrl-C, so runs in progress are marked interrupted in the
    # run store instead of staying "running". Process-wide, hence here in the command's entry.
    signal.signal(signal.SIGTERM, _sigterm)


def _sigterm(signum, frame) -> None:
    raise KeyboardInterrupt


def register_commands(group: click.Group, package: str = __name__) -> list[str]:
    """Add the commands of every ``<package>.<module>`` that defines ``register(group)``.

    Modules are found with ``pkgutil`` (no hand-kept list): a new study's commands are one new
    module in ``algolens.cli``. Returns the names of the modules that registered.
    """
    pkg = importlib.import_module(package)
    done = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        if callable(getattr(module, "register", None)):
            module.register(group)
            done.append(info.name)
    return done


register_commands(main)
