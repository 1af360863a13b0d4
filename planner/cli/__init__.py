"""The ``wbplan`` command line. ``main`` is the console-script entry point; each command lives in
a module of its own and registers itself on the group defined in ``app``."""

from planner.cli import (  # noqa: F401 - registers commands
    apply_cmd,
    check_cmd,
    connect_cmd,
    import_cmd,
    permissions_cmd,
    plan_cmd,
    refresh_cmd,
    rules_cmd,
    validate_cmd,
)
from planner.cli.app import cli


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="wbplan")


__all__ = ["cli", "main"]
