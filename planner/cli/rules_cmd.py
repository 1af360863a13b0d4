"""``wbplan rules``: print the compliance rule catalogue (issue #7)."""

from __future__ import annotations

import click

from planner.cli.app import cli


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
)
def rules(fmt: str) -> None:
    """Print the compliance rule catalogue (ids, criticality, feature, title, sources).

    \b
    Examples:
      wbplan rules
      wbplan rules --format markdown > rules.md
    """
    from planner.checking import catalogue
    from planner.rules.catalogue_doc import render_json, render_markdown, render_text

    render = {"text": render_text, "json": render_json, "markdown": render_markdown}[fmt]
    click.echo(render(catalogue()), nl=False)
