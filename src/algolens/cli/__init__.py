"""The ``algolens`` command. Each study registers its subcommands from its own module here."""

from __future__ import annotations

import importlib
import pkgutil
import signal
import sys

import click

from ..perf import keep_freed_memory
from ..tasks.spec import TaskError
from .common import ARGV, INTERRUPT_HINT, command_line


class _FriendlyGroup(click.Group):
    """Turn expected errors (bad task names, bad files, bad checkpoints, a disk that refuses a
    write) into one clear line, and say after Ctrl-C what to run to continue."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta[ARGV] = list(args)           # for the exact command line after an interrupt
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (TaskError, ValueError, FileNotFoundError, NotImplementedError) as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)
        except BrokenPipeError:               # `algolens runs show ID | head -1`: not an error
            import os
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except OSError as e:                  # disk full, read-only, permissions, ...
            where = f" {e.filename}" if e.filename else ""
            click.echo(f"error: cannot write or read{where} ({e.strerror or e}); free space or "
                       "fix the permissions, or pass another --out", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            hint = ctx.meta.get(INTERRUPT_HINT) or (
                f"the unfinished work was not saved; to start it again run: {command_line()}")
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
    keep_freed_memory()      # allocator tuning (perf.py): process-wide, so here, once


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
