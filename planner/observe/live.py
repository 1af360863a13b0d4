"""Read the live world once for a policy: AD over LDAP and/or the tenant over Graph.

The single reading path shared by ``refresh``, live ``plan``, live ``check`` and apply's
stale-plan check, so that every command sees the same observations for the same inputs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from planner import __version__
from planner.model.policy import Policy
from planner.model.state import ObservedState, Source
from planner.progress import Progress, active

if TYPE_CHECKING:  # the LDAP and Graph stacks load only when something is read live
    from planner.graphapi.client import GraphOptions
    from planner.observe.bulkcalls import BulkCall
    from planner.observe.ldapconn import LdapOptions


@dataclass(frozen=True)
class LiveSources:
    """What to read: either side may be absent (then it is not observed)."""

    ldap: LdapOptions | None = None
    graph: GraphOptions | None = None


def now_iso() -> str:
    """Current UTC time, second precision, ISO 8601 with Z."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def observe_live(
    policy: Policy,
    sources: LiveSources,
    progress: Progress | None = None,
    *,
    marks: bool = False,
    previous: ObservedState | None = None,
    incremental: bool = False,
    max_incremental_age: tuple[str, dt.timedelta] | None = None,
    bulk_calls: list[BulkCall] | None = None,
) -> ObservedState:
    """Observe everything the policy needs from the configured sources, reporting each phase
    to ``progress`` (default: the display a command made active with
    ``planner.progress.showing``, else none); the result does not depend on it.

    ``marks``: record the replication marks a later incremental read starts from (snapshots);
    ``incremental``: read AD incrementally from ``previous``'s marks where possible
    (``planner.observe.incremental``; ``source.ad_read`` says how AD was read);
    ``bulk_calls`` (with ``marks``) receives the bulk reads AD's read made
    (``planner.observe.bulkcalls``: what the snapshot's cache keeps)."""
    if progress is None:
        progress = active()
    ad = tenant = ad_read = None
    try:
        if sources.ldap is not None:
            from planner.observe.ldapconn import connect

            progress.phase(f"Connecting to AD: {sources.ldap.url}")
            session = connect(sources.ldap)
            try:
                if marks or incremental:
                    from planner.observe.incremental import observe_ad_marked

                    ad, ad_read = observe_ad_marked(
                        session,
                        policy,
                        progress,
                        previous=previous,
                        incremental=incremental,
                        max_age=max_incremental_age,
                        calls=bulk_calls,
                    )
                else:
                    from planner.observe.ad import observe_ad

                    ad = observe_ad(session, policy, progress)
            finally:
                session.close()
        if sources.graph is not None:
            # Imported here, not above: azure-identity alone takes ≈ 0.4 s to import, which an
            # AD-only read (an hourly `check --incremental`) would pay for nothing.
            from planner.graphapi.auth import make_token_provider
            from planner.graphapi.client import GraphClient
            from planner.observe.graph import observe_tenant

            client = GraphClient(sources.graph, make_token_provider(sources.graph))
            try:
                tenant = observe_tenant(client, policy, progress)
            finally:
                client.close()
    finally:
        progress.close()
    return ObservedState(
        wbplan_version=__version__,
        observed_at=now_iso(),
        source=Source(
            ldap_url=sources.ldap.url if sources.ldap else None,
            graph_url=sources.graph.graph_url if sources.graph else None,
            ad_read=ad_read,
        ),
        ad=ad,
        tenant=tenant,
    )
