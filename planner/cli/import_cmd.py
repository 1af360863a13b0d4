"""``wbplan import``: write the policy that describes the writeback already prepared (issue 17
§3). Reads only — a snapshot, or the same live reads as ``refresh`` — and never changes
anything."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from planner.cli.app import cli, graph_options, ldap_options, snapshot_options
from planner.cli.connect_cmd import connect_evidence_options
from planner.cli.refresh_cmd import live_sources, progress_for, progress_options
from planner.errors import StateFileError, UsageError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
"""``metadata.name`` as the policy schema allows it."""
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _check_options(name: str | None, tenant_id: str | None, tenant_domain: str | None) -> None:
    if name is not None and not NAME.match(name):
        raise UsageError(
            f"--name {name!r} is not a policy name",
            hint="letters, digits, '.', '_' and '-', starting with a letter or digit",
        )
    if tenant_id is not None and not GUID.match(tenant_id):
        raise UsageError(
            f"--tenant-id {tenant_id!r} is not a GUID",
            hint="e.g. 00000000-0000-0000-0000-000000000000",
        )
    if tenant_domain is not None and "." not in tenant_domain:
        raise UsageError(
            f"--tenant-domain {tenant_domain!r} is not a DNS name",
            hint="e.g. contoso.onmicrosoft.com",
        )


@cli.command("import")
@click.option(
    "--state",
    "state_file",
    type=click.Path(path_type=Path),
    help="Import from this snapshot (`wbplan refresh` wrote it) instead of reading live.",
)
@ldap_options
@graph_options
@snapshot_options
@connect_evidence_options
@click.option(
    "--connector",
    help="The AD DS connector account (DOMAIN\\name). Live: default inferred from the ACEs it "
    "holds. With --state it must be the account the snapshot was read for.",
)
@click.option("--name", help="metadata.name of the policy. Default: the forest name, dots as '-'.")
@click.option("--tenant-id", help="The tenant id, when the tenant is not read.")
@click.option(
    "--tenant-domain", help="The tenant's domain, when the tenant's domains are not read."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write the policy to this file instead of stdout (an existing file only with --force).",
)
@click.option("--force", is_flag=True, help="Overwrite the -o file if it exists.")
@progress_options
def import_(
    state_file: Path | None,
    connector: str | None,
    name: str | None,
    tenant_id: str | None,
    tenant_domain: str | None,
    output: Path | None,
    force: bool,
    **opts: Any,
) -> None:
    """Write a policy describing the writeback already prepared (reads only, changes nothing).

    From a snapshot (--state) or live (--ldap-url, and Graph credentials for the tenant, as for
    `wbplan refresh`), import finds which features are prepared in AD and enabled in the
    tenant: the scope roots where the connector can reset every user's password, the group
    writeback OU, the device registration objects, Exchange hybrid rights, Key Admins, the
    hybrid-join SCP, the licences. An entry is imported only when `wbplan plan` with it against
    the same observation changes nothing; every entry carries a comment saying what it was
    inferred from, and partly prepared features are written commented out with what the plan
    would still do. Without --connector, a live import infers the connector from the ACEs it
    holds (and refuses when two principals hold them equally).

    As for plan and check, --state-tenant FILE takes the tenant (licences, flags, settings,
    Cloud Sync) from a tenant snapshot while AD comes from --state or --ldap-url, and
    --connect-evidence adds what the Connect server reports (its version, its optional
    features); the comments name where each fact came from.

    \b
    Examples:
      wbplan import --state state/prod.json -o policies/prod.yaml
      export WBPLAN_LDAP_USER='CONTOSO\\wbplan-reader' WBPLAN_LDAP_PASSWORD=…
      wbplan import --ldap-url ldaps://dc1.contoso.com --ca-file corp-ca.pem \\
                    --graph-auth azure-cli -o policies/prod.yaml
      wbplan plan --policy policies/prod.yaml --state state/prod.json   # no changes
      wbplan import --state state/ad.json --state-tenant state/tenant.json \\
                    --connect-evidence evidence/ -o policies/prod.yaml
    """
    from planner.adopt import Options, adopt, render
    from planner.adopt.live import observe_for_import, source_label
    from planner.cli.connect_cmd import with_evidence
    from planner.cli.plan_cmd import check_age, emit, tenant_snapshot
    from planner.observe.live import LiveSources
    from planner.observe.snapshot import load_state, with_tenant_of
    from planner.progress import showing

    _check_options(name, tenant_id, tenant_domain)
    if output is not None and output.exists() and not force:
        raise UsageError(
            f"{output} exists: import does not overwrite a policy",
            hint="choose another -o file, or add --force",
        )
    sources = live_sources(opts)
    limit = opts.get("max_state_age")
    tenant_file: Path | None = opts.get("state_tenant")
    tenant_state = tenant_snapshot(tenant_file, opts, limit) if tenant_file is not None else None
    tenant_source = f"the tenant snapshot {tenant_file}" if tenant_file is not None else None

    def complete(state: Any, ad_label: str) -> Any:
        """The tenant of --state-tenant and the evidence of --connect-evidence, added."""
        if tenant_state is not None:
            state = with_tenant_of(state, ad_label, tenant_state, str(tenant_file))
        return with_evidence(state, opts)

    chosen: Any = None
    others: tuple[Any, ...] = ()
    if state_file is not None:
        if sources.ldap is not None or opts.get("graph_url"):
            raise UsageError(
                "--state and live connection options exclude each other", hint="drop one of them"
            )
        state = load_state(state_file)
        check_age(str(state_file), state.observed_at, limit)
        if tenant_state is not None and state.ad is None:
            raise StateFileError(
                f"{state_file} holds no AD observation; with --state-tenant, --state must give AD",
                hint="use a snapshot written with --ldap-url, or read AD live with --ldap-url",
            )
        state = complete(state, str(state_file))
        label = str(state_file) + (f" + tenant {tenant_file}" if tenant_file else "")
        options = Options(label, connector, name, tenant_id, tenant_domain, tenant_source)
    elif sources.ldap is not None:
        if tenant_state is not None:
            sources = LiveSources(ldap=sources.ldap)  # the tenant comes from the snapshot
        label = source_label(sources) + (f" + tenant {tenant_file}" if tenant_file else "")
        options = Options(label, connector, name, tenant_id, tenant_domain, tenant_source)
        with showing(progress_for(opts)) as progress:
            state, chosen, others = observe_for_import(
                sources, options, progress, lambda s: complete(s, "live AD")
            )
    else:
        raise UsageError(
            "nothing to import from: pass --state FILE (a snapshot) or --ldap-url to read live",
            hint="what is prepared lives in AD; Graph credentials add the tenant to a live read",
        )
    adoption = adopt(state, options, chosen, others)
    emit(render(adoption), output, quiet=bool(opts.get("quiet")))
    if not opts.get("quiet"):
        done = [f.feature for f in adoption.findings if f.imported]
        partly = [f.feature for f in adoption.findings if f.status.startswith("partly")]
        cloud = adoption.cloud_sync
        for d in cloud.domains if cloud is not None else ():
            keys = [f.key for f in d.features if f.value is not None]
            done += [f"cloud_sync {d.domain} ({', '.join(keys)})"] if keys else []
            part = [f.key for f in d.features if f.status.startswith("partly")]
            partly += [f"cloud_sync {d.domain} ({', '.join(part)})"] if part else []
        click.echo(
            f"Imported: {', '.join(done) or 'no feature'}"
            + (f"; partly prepared, written commented out: {', '.join(partly)}" if partly else "")
            + ".",
            err=True,
        )
