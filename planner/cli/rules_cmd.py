"""``wbplan rules``: print the compliance rule catalogue (issue #7)."""

from __future__ import annotations

from planner.cli.app import cli, not_yet


@cli.command()
def rules() -> None:
    """Print the compliance rule catalogue.

    \b
    Example:
      wbplan rules
    """
    not_yet("rules", "issue #7")
