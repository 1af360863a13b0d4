"""``wbplan rules [ID…]``: the compliance rule catalogue, or one rule explained (issue #7, 15)."""

from __future__ import annotations

import difflib
from pathlib import Path

import click

from planner.cli.app import cli
from planner.errors import UsageError


@cli.command()
@click.argument("rule_ids", nargs=-1, metavar="[ID]...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write to a file instead of stdout.",
)
def rules(rule_ids: tuple[str, ...], fmt: str, output: Path | None) -> None:
    """Print the compliance rule catalogue, or explain the rules named.

    Without ID: every rule (id, criticality, feature, title, sources). With IDs (e.g.
    WB-PWD-002; case does not matter): what each checks, why, how to fix it, its public
    sources and confidence, and how a policy waives it.

    \b
    Examples:
      wbplan rules
      wbplan rules WB-PWD-002
      wbplan rules --format markdown -o rules.md
    """
    from planner.checking import catalogue
    from planner.cli.plan_cmd import emit
    from planner.render.rule_explain import explain_markdown, explain_text
    from planner.rules.catalogue_doc import render_json, render_markdown, render_text

    everything = catalogue()
    if not rule_ids:
        render = {"text": render_text, "json": render_json, "markdown": render_markdown}[fmt]
        emit(render(everything), output)
        return
    by_id = {r.id: r for r in everything}
    wanted = [i.strip().upper() for i in rule_ids]
    unknown = [i for i in wanted if i not in by_id]
    if unknown:
        close = sorted(
            {m for i in unknown for m in difflib.get_close_matches(i, list(by_id), 3, 0.6)}
        )
        raise UsageError(
            f"no such rule: {', '.join(unknown)}",
            hint=(f"did you mean {', '.join(close)}? " if close else "")
            + "`wbplan rules` lists every rule",
        )
    chosen = [by_id[i] for i in dict.fromkeys(wanted)]
    explain = {"text": explain_text, "json": render_json, "markdown": explain_markdown}[fmt]
    emit(explain(chosen), output)
