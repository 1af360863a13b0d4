"""``wbplan permissions``: what Graph permissions and AD rights each command needs (issue 13)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from planner.cli.app import cli, policy_option


@cli.command()
@policy_option
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write the tables to a file instead of stdout.",
)
def permissions(
    policy_paths: tuple[Path, ...], example: bool, fmt: str, output: Path | None
) -> None:
    """Print the Graph permissions and AD rights each command needs for the policy.

    Per command (refresh/plan/check read; apply writes) and per feature the policy declares:
    each Graph request with its least-privileged permission, delegated or application, and the
    Entra role a signed-in person needs; and the rights the LDAP bind account needs. With no
    --policy, uses the same default as `wbplan plan` (the example, inside a wbplan checkout or
    with --example). Reads nothing: no connection.

    \b
    Examples:
      wbplan permissions
      wbplan permissions --policy policies/prod.yaml --format json
    """
    from planner.cli.plan_cmd import emit
    from planner.cli.refresh_cmd import single_policy
    from planner.permissions import permissions as compute
    from planner.permissions import render_text

    loaded = single_policy(policy_paths, example=example)
    found = compute(loaded.policy)
    shown = loaded.path.as_posix()
    if fmt == "json":
        doc = {"policy_file": shown, **asdict(found)}
        emit(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", output)
    else:
        emit(render_text(found, shown), output)
