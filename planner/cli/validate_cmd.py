"""``wbplan validate``: policy files → every diagnostic, exit 0 valid / 1 invalid."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import click

from planner.cli.app import cli, resolve_policy_paths
from planner.errors import EXIT_ERROR, EXIT_OK


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--example", is_flag=True, help="Validate the bundled example policy (from any folder)."
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def validate(paths: tuple[Path, ...], example: bool, fmt: str) -> None:
    """Validate policy files and report every problem with file:line:column.

    PATHS are files or folders. Without PATHS: policies/example.yaml inside a wbplan checkout
    only; elsewhere an error naming where wbplan looked (--example: the bundled example).
    Exit 0 when valid, 1 when not.

    \b
    Example:
      wbplan validate policies/
    """
    from planner.policy.loader import load_policies

    files = resolve_policy_paths(paths, example=example)
    result = load_policies(files)
    if fmt == "json":
        doc = {
            "valid": not result.errors,
            "files": [str(p.path) for p in result.policies],
            "diagnostics": [dataclasses.asdict(d) for d in result.diagnostics],
        }
        click.echo(json.dumps(doc, indent=2))
    else:
        for d in result.diagnostics:
            click.echo(d.format())
        n_err = len(result.errors)
        n_warn = len(result.diagnostics) - n_err
        if n_err:
            click.echo(f"\n{n_err} error(s), {n_warn} warning(s). The policy is not valid.")
        else:
            names = ", ".join(str(p.path) for p in result.policies)
            suffix = f" ({n_warn} warning(s))" if n_warn else ""
            click.echo(f"Valid: {names}{suffix}.")
    sys.exit(EXIT_ERROR if result.errors else EXIT_OK)
