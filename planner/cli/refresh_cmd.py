"""``wbplan refresh``: read live AD and/or the tenant and write a snapshot.

Also home of the helpers that turn the connection options shared by refresh, plan, check and
apply into ``LiveSources``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from planner.cli.app import (
    cli,
    graph_options,
    ldap_options,
    live_policy_option,
    load_valid_policies,
)
from planner.cli.connect_cmd import evidence_option
from planner.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])

GRAPH_CREDENTIAL_ENV = ("WBPLAN_GRAPH_TOKEN", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE")


def wants_live(opts: dict[str, Any]) -> bool:
    """True when the parsed options (or their environment variables) ask for a live read — the
    same conditions as :func:`live_sources`, without building anything."""
    chosen = opts.get("graph_auth") in ("azure-cli", "device-code")
    return bool(
        opts.get("ldap_url")
        or opts.get("graph_url")
        or chosen
        or any(os.environ.get(v) for v in GRAPH_CREDENTIAL_ENV)
    )


def live_sources(opts: dict[str, Any]) -> Any:
    """Build ``LiveSources`` from parsed CLI options (AD when --ldap-url is set; the tenant when
    --graph-url is set, a Graph credential is in the environment, or --graph-auth asks for a
    person's sign-in: azure-cli or device-code)."""
    from planner.observe.live import LiveSources

    ldap = graph = None
    if opts.get("ldap_url"):
        from planner.observe.ldapconn import ldap_options_from_env

        ldap = ldap_options_from_env(
            opts["ldap_url"],
            ca_file=opts.get("ca_file"),
            tls_server_name=opts.get("tls_server_name"),
            insecure=bool(opts.get("insecure")),
            password_file=opts.get("ldap_password_file"),
            timeout=float(opts.get("ldap_timeout") or 10.0),
            auth=opts.get("ldap_auth") or "simple",
        )
    chosen = opts.get("graph_auth") in ("azure-cli", "device-code")  # a person signs in
    if opts.get("graph_url") or chosen or any(os.environ.get(v) for v in GRAPH_CREDENTIAL_ENV):
        from planner.graphapi.client import GraphOptions

        kwargs: dict[str, Any] = {
            "ca_file": opts.get("graph_ca_file"),
            "auth": opts.get("graph_auth") or "auto",
        }
        if opts.get("graph_url"):
            kwargs["graph_url"] = opts["graph_url"]
        graph = GraphOptions(**kwargs)
    return LiveSources(ldap=ldap, graph=graph)


def progress_options(f: F) -> F:
    """``--quiet`` and ``--progress``, for commands that may read live (refresh, plan, check,
    graph)."""
    f = click.option(
        "--progress",
        "show_progress",
        is_flag=True,
        help="Show the progress of live reads on stderr even when it is not a terminal (plain "
        "lines, e.g. for a CI log). On a terminal it is shown anyway.",
    )(f)
    return click.option(
        "--quiet",
        is_flag=True,
        help="Nothing informational on stderr: no progress, no 'Wrote FILE' or advice lines "
        "(errors and warnings still print).",
    )(f)


def progress_for(opts: dict[str, Any]) -> Any:
    """The progress display the parsed options ask for (``planner.progress.for_stderr``):
    none with --quiet, else on stderr when it is a terminal or with --progress."""
    from planner.progress import for_stderr

    if opts.get("quiet") and opts.get("show_progress"):
        raise UsageError("--quiet and --progress exclude each other", hint="drop one of them")
    return for_stderr(quiet=bool(opts.get("quiet")), force=bool(opts.get("show_progress")))


def single_policy(paths: tuple[Path, ...], *, example: bool = False, live: bool = False) -> Any:
    """The one valid policy a command works on (``example``/``live``: see
    :func:`planner.cli.app.resolve_policy_paths`)."""
    policies = load_valid_policies(paths, example=example, live=live)
    if len(policies) != 1:
        raise UsageError(
            f"this command works on one policy at a time; {len(policies)} were given",
            hint="name a single file with --policy",
        )
    return policies[0]


@cli.command()
@live_policy_option
@ldap_options
@graph_options
@click.option(
    "--tenant-only",
    is_flag=True,
    help="Read only the tenant (no LDAP options needed, WBPLAN_LDAP_URL ignored): for a Global "
    "Administrator signed in with --graph-auth azure-cli or device-code. Default --out: "
    "state/<metadata.name>.tenant.json.",
)
@click.option(
    "-out",
    "--out",
    "out",
    type=click.Path(path_type=Path),
    help="Snapshot file to write. Default: state/<metadata.name>.json",
)
@evidence_option
@click.option(
    "--state",
    "state_file",
    type=click.Path(path_type=Path),
    help="An earlier snapshot: the new one keeps its Connect evidence unless --connect-evidence "
    "gives new evidence. With --connect-evidence and no connection options, the new snapshot is "
    "this one with the evidence imported (nothing is read live).",
)
@progress_options
def refresh(
    policy_paths: tuple[Path, ...],
    out: Path | None,
    tenant_only: bool,
    state_file: Path | None,
    **opts: Any,
) -> None:
    """Read live AD and/or the tenant and write a snapshot (no secrets in it).

    Reads only what the policy's features need. AD is read when --ldap-url is given; the tenant
    when --graph-url is given, a Graph credential is in the environment, or --graph-auth is
    azure-cli or device-code. Microsoft serves the directory-sync features
    (/directory/onPremisesSynchronization) to a signed-in Global Administrator only (delegated;
    application permissions are not supported), so a CI service principal cannot read them: an
    administrator writes a tenant-only snapshot, and CI plans with --state-tenant FILE. The
    progress of the read shows on stderr when it is a terminal (--progress: also when not;
    --quiet: never).

    \b
    Examples:
      export WBPLAN_LDAP_USER='CONTOSO\\wbplan-reader' WBPLAN_LDAP_PASSWORD=…
      wbplan refresh --policy policies/prod.yaml --ldap-url ldaps://dc1.contoso.com \\
                     --ca-file corp-ca.pem --out state/prod.json
      az login --tenant contoso.onmicrosoft.com --allow-no-subscriptions   # a Global Administrator
      wbplan refresh --policy policies/prod.yaml --tenant-only --graph-auth azure-cli \\
                     --out state/tenant.json
    """
    from planner.cli.connect_cmd import evidence_from, evidence_line
    from planner.observe.live import LiveSources, observe_live
    from planner.observe.snapshot import load_state, save_state

    loaded = single_policy(policy_paths, live=True)
    if tenant_only:
        opts = {**opts, "ldap_url": None}
    sources = live_sources(opts)
    if tenant_only and sources.graph is None:
        raise UsageError(
            "--tenant-only reads the tenant, but no Graph endpoint or credential was given",
            hint="sign in as a Global Administrator: `az login`, then --graph-auth azure-cli "
            "(or --graph-auth device-code with AZURE_CLIENT_ID)",
        )
    previous = load_state(state_file) if state_file is not None else None
    name = loaded.policy.metadata.name
    target = out or Path("state") / (f"{name}.tenant.json" if tenant_only else f"{name}.json")
    if sources.ldap is None and sources.graph is None:
        if previous is not None and opts.get("connect_evidence") and not tenant_only:
            # Offline: the earlier snapshot with the Connect evidence imported.
            state = previous.model_copy(update={"connect": evidence_from(opts)})
            save_state(state, target)
            click.echo(f"Wrote {target}: {state_file} with {evidence_line(state)}")
            return
        raise UsageError(
            "nothing to read: neither --ldap-url nor a Graph endpoint/credential was given",
            hint="pass --ldap-url ldaps://DC and/or set WBPLAN_GRAPH_TOKEN or AZURE_* credentials "
            "(or --state FILE --connect-evidence E to import Connect evidence into a snapshot)",
        )
    progress = progress_for(opts)
    # The evidence is read before the live read: a bad file stops the command at once.
    evidence = evidence_from(opts, keep=previous.connect if previous is not None else None)
    state = observe_live(
        loaded.policy, LiveSources(ldap=sources.ldap, graph=sources.graph), progress
    )
    if evidence is not None:
        state = state.model_copy(update={"connect": evidence})
    save_state(state, target)
    parts = []
    if state.ad is not None:
        version = state.ad.schema_info.object_version
        parts.append(
            f"AD {state.ad.forest} (schema objectVersion {version}, {len(state.ad.objects)} objects)"
        )
    if state.tenant is not None:
        unread = [u.what for u in state.tenant.unread if u.reason.startswith("no permission")]
        parts.append(
            f"tenant {state.tenant.tenant_id}"
            + (f" (not readable with this credential: {', '.join(unread)})" if unread else "")
        )
    click.echo(f"Wrote {target}: {', '.join(parts)}.")
    line = evidence_line(state)
    if line:
        click.echo(line)
