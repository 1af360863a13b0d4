"""``wbplan apply`` and ``wbplan rollback`` (issue #6 builds them; until then they refuse)."""

from __future__ import annotations

from pathlib import Path

import click

from planner.cli.app import cli, not_yet


@cli.command()
@click.argument("plan_file", required=False, type=click.Path(path_type=Path))
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
def apply(plan_file: Path | None, auto_approve: bool) -> None:
    """Execute a saved plan exactly (or plan, show and ask).

    \b
    Example:
      wbplan apply plan.wbplan
    """
    del plan_file, auto_approve
    not_yet("apply", "issue #6")


@cli.command()
@click.argument("journal", type=click.Path(path_type=Path))
def rollback(journal: Path) -> None:
    """Restore every before-image an apply journal recorded, newest first.

    \b
    Example:
      wbplan rollback state/journal/20261122T180000Z.json
    """
    del journal
    not_yet("rollback", "issue #6")
