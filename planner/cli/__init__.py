"""The ``wbplan`` command line. ``main`` is the console-script entry point; each command lives in
a module of its own and registers itself on the group defined in ``app``.

The command modules are imported when their command runs (``app.COMMAND_MODULES``), not here:
``wbplan plan --example`` starts without apply's, LDAP's or Graph's code (issue 17 §4).
``from planner.cli import cli`` gives the group with every command registered.
"""

from __future__ import annotations

import gc
from typing import Any

GC_GEN0_THRESHOLD = 200_000
"""Allocations between two young-generation collections (CPython's default: 700).

A start allocates 100,000–200,000 objects that live as long as the process (modules, classes,
pydantic's schemas); with the default the collector walked them over and over, about a sixth of
the CPU of an offline ``plan --example`` (issue 17 §4). wbplan makes little cyclic garbage: a plan
and a check of a 29 MB snapshot peak at the same RSS with the collector on, at this threshold, or
off. Collections still run, every 200,000 allocations (the older generations' thresholds are
unchanged). mypy's build does the same for the same reason (``gc.set_threshold(200 * 1000, 30,
30)`` in mypy/build.py); CPython documents the knob at
https://docs.python.org/3/library/gc.html#gc.set_threshold."""


def main() -> None:
    """Console-script entry point."""
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, older, oldest)
    from planner.cli.app import cli

    cli(prog_name="wbplan")


def __getattr__(name: str) -> Any:
    # ``cli`` with every command loaded, for whoever inspects ``cli.commands`` (the tests).
    if name == "cli":
        from planner.cli.app import cli, load_all_commands

        load_all_commands()
        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["cli", "main"]
