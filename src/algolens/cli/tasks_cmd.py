"""Subcommands (filled in by the module's owner)."""

import click


def register(group: click.Group) -> None:
    """Add this module's commands to the ``algolens`` group."""
