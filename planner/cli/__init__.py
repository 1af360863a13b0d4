"""The ``wbplan`` command line. ``main`` is the console-script entry point; each command lives in
a module of its own and registers itself on the group defined in ``app``.

The command modules are imported when their command runs (``app.COMMAND_MODULES``), not here:
``wbplan plan --example`` starts without apply's, LDAP's or Graph's code (issue 17 §4).
``from planner.cli import cli`` gives the group with every command registered.
"""

from __future__ import annotations

from typing import Any


def main() -> None:
    """Console-script entry point."""
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
