"""``wbplan plan``, ``wbplan show`` and ``wbplan graph``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from planner.cli.app import DEFAULT_STATE, cli, graph_options, ldap_options, policy_option
from planner.cli.refresh_cmd import live_sources, single_policy
from planner.errors import EXIT_CHANGES, EXIT_OK, UsageError

PLAN_FORMATS = ["text", "json", "markdown"]


def observed_state(
    loaded: Any, state_file: Path | None, explicit_policy: bool, opts: dict[str, Any]
) -> tuple[Any, str]:
    """The observed state to plan against, and a label for it.

    ``--state FILE`` reads a snapshot; connection options read live; with neither, the example
    policy is planned against the example snapshot (the embedded default, no DC needed).
    """
    from planner.observe.live import observe_live
    from planner.observe.snapshot import load_state
    from planner.schemas import bundled_example

    sources = live_sources(opts)
    if state_file is not None:
        if sources.ldap is not None or opts.get("graph_url"):
            raise UsageError(
                "--state and live connection options exclude each other", hint="drop one of them"
            )
        return load_state(state_file), str(state_file)
    if sources.ldap is not None or sources.graph is not None:
        return observe_live(loaded.policy, sources), "live"
    if explicit_policy:
        raise UsageError(
            "no observed state: pass --state FILE (a snapshot) or --ldap-url and Graph credentials to read live",
            hint="`wbplan refresh --out state/NAME.json` writes a snapshot",
        )
    path = DEFAULT_STATE if DEFAULT_STATE.is_file() else bundled_example("state/example.json")
    return load_state(path), str(path) if path == DEFAULT_STATE else "bundled example state"


def compute_plan(
    policy_paths: tuple[Path, ...], state_file: Path | None, opts: dict[str, Any]
) -> Any:
    """Load the policy, observe, and plan."""
    from planner.observe.live import now_iso
    from planner.planning import make_plan

    loaded = single_policy(policy_paths)
    state, label = observed_state(loaded, state_file, bool(policy_paths), opts)
    plan = make_plan(
        loaded.policy,
        state,
        policy_file=str(loaded.path),
        policy_digest="sha256:" + loaded.digest,
        state_source=label,
        timestamp=now_iso(),
    )
    return loaded, plan


def render(doc: dict[str, Any], fmt: str, color: bool) -> str:
    """Render a plan document in ``fmt``."""
    if fmt == "json":
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"
    if fmt == "markdown":
        from planner.render.plan_markdown import render_markdown

        return str(render_markdown(doc))
    from planner.render.plan_text import render_text

    return render_text(doc, color=color)


def emit(text: str, output: Path | None) -> None:
    """Print, or write to --output."""
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output}.", err=True)


@cli.command()
@policy_option
@click.option(
    "--state",
    "state_file",
    type=click.Path(path_type=Path),
    help="Plan against a snapshot instead of live AD/Graph.",
)
@ldap_options
@graph_options
@click.option(
    "-out",
    "--out",
    "out",
    type=click.Path(path_type=Path),
    help="Save the plan for `wbplan apply FILE`.",
)
@click.option("--format", "fmt", type=click.Choice(PLAN_FORMATS), default="text", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write the rendered plan to a file instead of stdout.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 no changes, 1 error, 2 changes (manual steps count; unknowns alone do not).",
)
@click.pass_context
def plan(
    ctx: click.Context,
    /,
    policy_paths: tuple[Path, ...],
    state_file: Path | None,
    out: Path | None,
    fmt: str,
    output: Path | None,
    detailed_exitcode: bool,
    **opts: Any,
) -> None:
    """Show what would change in AD and the tenant, in dependency order.

    With no options, plans policies/example.yaml against state/example.json (offline).

    \b
    Examples:
      wbplan plan
      wbplan plan --policy policies/prod.yaml --state state/prod.json --format markdown -o plan.md
      wbplan plan --policy policies/prod.yaml --ldap-url ldaps://dc1.contoso.com -out plan.wbplan --detailed-exitcode
    """
    from planner.planfile import plan_document, save_plan
    from planner.planning import has_changes

    loaded, result = compute_plan(policy_paths, state_file, opts)
    doc = plan_document(result)
    emit(render(doc, fmt, bool(ctx.obj.get("color")) and output is None), output)
    if out is not None:
        save_plan(result, loaded.policy, out)
        click.echo(
            f"Saved the plan to {out}. To perform exactly these actions, run: wbplan apply {out}",
            err=True,
        )
    if detailed_exitcode:
        sys.exit(EXIT_CHANGES if has_changes(result) else EXIT_OK)


@cli.command()
@click.argument("plan_file", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(PLAN_FORMATS), default="text", show_default=True)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Write to a file instead of stdout."
)
@click.pass_context
def show(ctx: click.Context, /, plan_file: Path, fmt: str, output: Path | None) -> None:
    """Render a saved plan again, with no connection.

    \b
    Example:
      wbplan show plan.wbplan --format markdown
    """
    from planner.planfile import load_plan, plan_document

    saved, _policy = load_plan(plan_file)
    emit(render(plan_document(saved), fmt, bool(ctx.obj.get("color")) and output is None), output)


@cli.command()
@policy_option
@click.option(
    "--state", "state_file", type=click.Path(path_type=Path), help="Plan against a snapshot."
)
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(path_type=Path),
    help="Draw a saved plan instead of planning.",
)
@ldap_options
@graph_options
@click.option(
    "--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True
)
def graph(
    policy_paths: tuple[Path, ...],
    state_file: Path | None,
    plan_file: Path | None,
    fmt: str,
    **opts: Any,
) -> None:
    """Draw the plan's dependency graph (Mermaid or Graphviz DOT).

    \b
    Example:
      wbplan graph --format dot | dot -Tsvg > plan.svg
    """
    from planner.planfile import load_plan, plan_document
    from planner.render.graph import render_dot, render_mermaid

    if plan_file is not None:
        result, _policy = load_plan(plan_file)
    else:
        _loaded, result = compute_plan(policy_paths, state_file, opts)
    doc = plan_document(result)
    click.echo(render_mermaid(doc) if fmt == "mermaid" else render_dot(doc), nl=False)
