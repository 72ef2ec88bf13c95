"""The ``algolens`` command. Each study registers its subcommands from its own module here."""

from __future__ import annotations

import signal
import sys

import click

from ..tasks.spec import TaskError


class _FriendlyGroup(click.Group):
    """Turn expected errors (bad task names, bad files, bad checkpoints) into one clear line."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (TaskError, ValueError, FileNotFoundError, NotImplementedError) as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted: finished runs are kept; re-run with --resume to continue",
                       err=True)
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


def _register_all() -> None:
    from . import clock_pizza, demo, mips, nuclear, runs_cmd, tasks_cmd, train_cmd  # noqa: F401

    for mod in (tasks_cmd, train_cmd, mips, clock_pizza, demo, runs_cmd, nuclear):
        mod.register(main)


_register_all()
