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
    duration_option,
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


def incremental_options(f: F) -> F:
    """``--incremental``, ``--max-incremental-age`` and ``--no-cache`` (refresh, plan,
    check)."""
    f = click.option(
        "--no-cache",
        "no_cache",
        is_flag=True,
        help="With --incremental: neither use nor write the cache kept beside the snapshot "
        "(<snapshot>.wbplan-cache/), so even when nothing changed the whole snapshot is "
        "loaded, merged, written and evaluated.",
    )(f)
    f = click.option(
        "--max-incremental-age",
        "max_incremental_age",
        metavar="DURATION",
        callback=duration_option,
        help="With --incremental: read everything again when the snapshot's mark is older "
        "than this (default 7d; the forest's tombstone lifetime is a limit too).",
    )(f)
    return click.option(
        "--incremental",
        is_flag=True,
        help="Read only what changed in AD since the --state snapshot (its replication marks: "
        "DC, invocationId, highestCommittedUSN, the bind account's token) and merge it in; a "
        "full read when that cannot be proven complete, saying why on stderr.",
    )(f)


def incremental_notes(state: Any) -> tuple[str | None, str | None]:
    """(warning, information) lines about how AD was read: the warning names why an
    incremental read fell back to a full one."""
    read = state.source.ad_read if state is not None else None
    if read is None:
        return None, None
    if read.mode == "full":
        if read.full_read_reason is None:
            return None, None
        return f"Warning: read AD in full, not incrementally: {read.full_read_reason}.", None
    reread = f", {len(read.reread)} subtree(s) read again" if read.reread else ""
    return (
        None,
        f"AD read incrementally: {read.changes} change(s) since USN {read.since_usn}{reread}.",
    )


def observe_incremental(
    loaded: Any, state_file: Path | None, sources: Any, opts: dict[str, Any]
) -> Any:
    """``plan``/``check --incremental``: bring the ``--state`` snapshot up to date from live AD
    (only what changed since its marks, else in full, saying why), write it back, and return
    it as a ``plan_cmd.Observed``. The snapshot written is what ``refresh --incremental`` would
    write: the tenant read live when Graph options are given (none otherwise), the Connect
    evidence kept unless --connect-evidence gives new. ``--state-tenant FILE`` then supplies the
    tenant of what is planned or checked (not of the snapshot written back)."""
    return observed_of(incremental_read(loaded, state_file, sources, opts), opts)


def incremental_read(
    loaded: Any, state_file: Path | None, sources: Any, opts: dict[str, Any]
) -> Any:
    """The ``incremental_run.IncrementalRun`` of ``plan``/``check --incremental`` (see
    :func:`observe_incremental`), its lines printed on stderr."""
    from planner.cli.incremental_run import run_incremental

    if state_file is None or sources.ldap is None:
        raise UsageError(
            "--incremental brings a snapshot up to date from live AD: it needs --state FILE "
            "and --ldap-url",
            hint="e.g. wbplan check --policy P --ldap-url ldaps://DC --incremental "
            "--state state/prod.json",
        )
    tenant_file: Path | None = opts.get("state_tenant")
    if tenant_file is not None and opts.get("graph_url"):
        raise UsageError(
            "--state-tenant and --graph-url exclude each other: the tenant comes from the snapshot",
            hint="drop --graph-url, or drop --state-tenant to read the tenant live",
        )
    graph = None if tenant_file is not None else sources.graph
    found = run_incremental(loaded, state_file, sources, opts, graph=graph)
    if found.warning:
        click.echo(found.warning, err=True)
    if not opts.get("quiet"):
        click.echo(f"Updated {state_file}." + (f" {found.info}" if found.info else ""), err=True)
    return found


def observed_of(found: Any, opts: dict[str, Any]) -> Any:
    """The ``plan_cmd.Observed`` of an incremental read: the snapshot written, with the tenant
    of ``--state-tenant`` when given."""
    from planner.cli.plan_cmd import Observed, tenant_snapshot
    from planner.observe.snapshot import with_tenant_of

    label = f"live AD (incremental, {found.target})"
    tenant_file: Path | None = opts.get("state_tenant")
    if tenant_file is None:
        return Observed(found.state(), label)
    tenant_state = tenant_snapshot(tenant_file, opts, opts.get("max_state_age"))
    state = with_tenant_of(found.state(), label, tenant_state, str(tenant_file))
    snapshots = ((f"tenant:{tenant_file}", tenant_state.observed_at),)
    return Observed(state, f"{label} + tenant {tenant_file}", snapshots, ad_live=True)


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
    "this one with the evidence imported (nothing is read live). With --incremental, the "
    "snapshot AD is read from (and the default --out).",
)
@incremental_options
@progress_options
def refresh(
    policy_paths: tuple[Path, ...],
    out: Path | None,
    tenant_only: bool,
    state_file: Path | None,
    incremental: bool,
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
      wbplan refresh --policy policies/prod.yaml --ldap-url ldaps://dc1.contoso.com \\
                     --incremental --state state/prod.json     # only what changed since
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
    if incremental and (state_file is None or sources.ldap is None):
        raise UsageError(
            "--incremental reads AD from the changes since a snapshot: it needs --state FILE "
            "and --ldap-url",
            hint="e.g. wbplan refresh --policy P --ldap-url ldaps://DC --incremental "
            "--state state/prod.json",
        )
    previous = None
    if state_file is not None and not incremental:
        previous = load_state(state_file)  # --incremental: run_incremental reads it
    name = loaded.policy.metadata.name
    default = state_file if incremental else None
    target = (
        out or default or Path("state") / (f"{name}.tenant.json" if tenant_only else f"{name}.json")
    )
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
    if incremental:
        assert state_file is not None
        from planner.cli.incremental_run import run_incremental

        found = run_incremental(
            loaded, state_file, sources, opts, target=target, graph=sources.graph
        )
        if found.warning:
            click.echo(found.warning, err=True)
        _wrote(target, found.light_state(), found.info)
        return
    progress = progress_for(opts)
    # The evidence is read before the live read: a bad file stops the command at once.
    evidence = evidence_from(opts, keep=previous.connect if previous is not None else None)
    state = observe_live(
        loaded.policy,
        LiveSources(ldap=sources.ldap, graph=sources.graph),
        progress,
        marks=True,
        previous=previous,
        incremental=incremental,
        max_incremental_age=opts.get("max_incremental_age"),
    )
    warning, info = incremental_notes(state)
    if warning:
        click.echo(warning, err=True)
    if evidence is not None:
        state = state.model_copy(update={"connect": evidence})
    save_state(state, target)
    _wrote(target, state, info)


def _wrote(target: Path, state: Any, info: str | None) -> None:
    """refresh's summary: the file written, what it holds, how AD was read, the evidence."""
    from planner.cli.connect_cmd import evidence_line

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
    if info:
        click.echo(info)
    line = evidence_line(state)
    if line:
        click.echo(line)
