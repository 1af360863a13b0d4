"""``wbplan check``: evaluate the rule catalogue and write a report (issue #7)."""

from __future__ import annotations

import click

from planner.cli.app import cli, not_yet


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "junit", "sarif", "markdown", "html"]),
    default="text",
)
@click.option("-o", "--output", help="Write the report to a file.")
@click.option(
    "--fail-on", type=click.Choice(["shall", "should"]), default="shall", show_default=True
)
def check(fmt: str, output: str | None, fail_on: str) -> None:
    """Evaluate the compliance rules and report (exit 0 compliant, 1 error, 2 non-compliant).

    \b
    Example:
      wbplan check --state state/prod.json --format sarif -o wbplan.sarif
    """
    del fmt, output, fail_on
    not_yet("check", "issue #7")
