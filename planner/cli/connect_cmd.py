"""``wbplan connect-collector`` and the ``--connect-evidence`` / ``--max-evidence-age`` options
of refresh, plan and check.

The collector is a read-only PowerShell script (``planner.connect.collector``) a person runs on
the Entra Connect server; what it writes — or a ``Get-ADSyncServerConfiguration -Path`` export
folder — is imported into the observed state (``ObservedState.connect``) by ``refresh`` (kept in
the snapshot; ``refresh --state OLD`` keeps OLD's evidence when no new one is given) or directly
by ``plan`` and ``check``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from planner import __version__
from planner.cli.app import cli, duration_option

F = TypeVar("F", bound=Callable[..., Any])


def evidence_option(f: F) -> F:
    """``--connect-evidence PATH`` (repeatable)."""
    return click.option(
        "--connect-evidence",
        "connect_evidence",
        multiple=True,
        type=click.Path(path_type=Path),
        help="Connect server evidence: the JSON the `wbplan connect-collector` script writes, or "
        "a Get-ADSyncServerConfiguration -Path export folder (repeatable: one server's files).",
    )(f)


def max_age_option(f: F) -> F:
    """``--max-evidence-age DURATION``."""
    return click.option(
        "--max-evidence-age",
        "max_evidence_age",
        metavar="DURATION",
        callback=duration_option,
        help="Connect evidence collected longer than this before the observation no longer "
        "counts (its items are 'cannot be verified' again; WB-CON-008 fails). Default 7d.",
    )(f)


def connect_evidence_options(f: F) -> F:
    """``--connect-evidence`` and ``--max-evidence-age`` (plan, check)."""
    return evidence_option(max_age_option(f))


def evidence_from(opts: dict[str, Any], keep: Any = None) -> Any:
    """The evidence ``--connect-evidence`` names (imported now: a bad file stops the command),
    else ``keep``; with ``--max-evidence-age``, judged by that limit."""
    paths: tuple[Path, ...] = tuple(opts.get("connect_evidence") or ())
    if paths:
        from planner.connect.importer import import_evidence  # only when evidence is given

        evidence = import_evidence(paths)
    else:
        evidence = keep
    limit = opts.get("max_evidence_age")
    if evidence is not None and limit is not None:
        evidence = evidence.model_copy(update={"max_age_seconds": int(limit[1].total_seconds())})
    return evidence


def with_evidence(state: Any, opts: dict[str, Any]) -> Any:
    """``state`` with the evidence of ``opts`` (else its own)."""
    evidence = evidence_from(opts, keep=state.connect)
    return state if evidence is state.connect else state.model_copy(update={"connect": evidence})


def with_connect_evidence(found: Any, opts: dict[str, Any]) -> Any:
    """An ``Observed`` (plan_cmd) whose state carries the evidence of ``opts``."""
    from dataclasses import replace

    state = with_evidence(found.state, opts)
    return found if state is found.state else replace(found, state=state)


def evidence_line(state: Any) -> str | None:
    """``Connect evidence from SYNC01 (collected …): N file(s).`` for refresh's summary."""
    from planner.connect.verdicts import freshness

    if state.connect is None:
        return None
    fresh = freshness(state)
    files = ", ".join(f.path for f in state.connect.files)
    verdict = "" if fresh.status == "fresh" else f" — it does not count: {fresh.status}"
    return f"Connect evidence {files}: {fresh.describe()}{verdict}."


@cli.command("connect-collector")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write the script to this file (e.g. wbplan-connect-collector.ps1) instead of stdout.",
)
@click.option("--quiet", is_flag=True, help="No 'Wrote FILE' line on stderr.")
def connect_collector(output: Path | None, quiet: bool) -> None:
    """Write the read-only PowerShell script that collects Connect server evidence.

    Run the script on the Entra Connect server (as a member of ADSyncAdmins): it calls the
    ADSync module's Get-* cmdlets only — global settings, company features, scheduler,
    connectors (the AD DS connector account, no secret), password reset configuration — and
    the installed version, changes nothing, prints what it could not read, and writes one JSON
    file. Import it with `wbplan refresh --connect-evidence FILE` (or give it to plan and check
    directly); commit it next to the policy, refreshed by a scheduled task on the server.

    \b
    Examples:
      wbplan connect-collector -o wbplan-connect-collector.ps1
      # on the Connect server:
      .\\wbplan-connect-collector.ps1 -OutFile connect-evidence.json
      wbplan refresh --policy policies/prod.yaml --ldap-url ldaps://dc1.contoso.com \\
                     --connect-evidence evidence/connect-evidence.json --out state/prod.json
    """
    from planner.cli.plan_cmd import emit
    from planner.connect.collector import render_collector

    emit(render_collector(__version__), output, quiet=quiet)
