"""Read a live forest (and tenant) for ``wbplan import``, through the same reading path as
``refresh`` and ``plan`` (``planner.observe.live.observe_live``): reads only, never a write.

The reads are driven by a *probe* policy that declares every feature at its broadest — password
and Exchange hybrid writeback scoped to every domain root (so every OU, container, user, group
and contact is read with its DACL), device writeback, Key Admins, the hybrid-join SCP, and the
tenant's group setting — because what is prepared is not known before reading. Scope roots and
the group OU found in it are then judged on scans cut from the domain roots' scans
(``planner.adopt.candidates``), as a refresh with the imported policy will read them. The
probe also has a ``cloud_sync`` section: AD is searched for the Cloud Sync agent's gMSA (and the
KDS root key, the schema attribute), and the tenant, read after AD, for the Cloud Sync
configurations of every domain AD showed (they are listed by the domain they are named after).

Without ``--connector`` the probe names no account; the connector is inferred from the ACEs
(``planner.adopt.core.rank_connectors``) and then read on its own (its SID and tokenGroups:
rights held through groups count) before the features are judged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from planner.adopt.core import Options, Ranked, choose_connector, rank_connectors
from planner.model.policy import Policy
from planner.model.state import ObservedState
from planner.observe.live import LiveSources, observe_live
from planner.progress import Progress

NO_ACCOUNT = "WBPLAN-IMPORT\\no-connector-named"
"""The probe's connector when none is given: no domain has this NetBIOS name, so nothing is
searched for it."""
PROBE_TENANT = "00000000-0000-0000-0000-000000000000"


def probe_policy(
    connector: str | None, *, features: bool = True, cloud_domains: Sequence[str] = ()
) -> Policy:
    """The policy the live reads are made for (see the module docstring); ``features=False``:
    only the connector account. With ``features``, a ``cloud_sync`` section naming
    ``cloud_domains`` (no feature: the AD read looks for the agent's gMSA, the KDS root key and
    the schema attribute whatever the domains; the tenant read lists the configurations of the
    domains named)."""
    writeback: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    if features:
        extra["cloud_sync"] = {"domains": [{"domain": d} for d in cloud_domains]}
        writeback = {
            "password": {"enabled": True},
            "exchange_hybrid": {"enabled": True},
            "device": {"enabled": True},
            "group": {"enabled": False},
            "ngc_keys": {"enabled": True},
            "hybrid_join": {"enabled": True},
            "user": {"enabled": False},
        }
    return Policy.model_validate(
        {
            "apiVersion": "wbplan.dev/v1",
            "kind": "WritebackPolicy",
            "metadata": {"name": "wbplan-import-probe"},
            "forest": "import.invalid",
            "tenant": {"id": PROBE_TENANT, "domain": "import.invalid"},
            "connector": {"account": connector or NO_ACCOUNT},
            "writeback": writeback,
            **extra,
        }
    )


class _NoTenantMismatch(logging.Filter):
    """The probe cannot know the tenant id before reading it: drop the warning that the Graph
    credential reads another tenant than the (probe) policy names."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("the Graph credential reads tenant")


@contextmanager
def _quiet_tenant_mismatch() -> Iterator[None]:
    logger = logging.getLogger("planner.observe.graph")
    quiet = _NoTenantMismatch()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def source_label(sources: LiveSources) -> str:
    """``a live read of ldaps://dc1 and https://graph…`` (URLs only: never credentials)."""
    parts = [sources.ldap.url] if sources.ldap is not None else []
    if sources.graph is not None:
        parts.append(sources.graph.graph_url)
    return "a live read of " + " and ".join(parts)


def observe_for_import(
    sources: LiveSources,
    options: Options,
    progress: Progress,
    complete: Callable[[ObservedState], ObservedState] | None = None,
) -> tuple[ObservedState, Ranked | None, tuple[Ranked, ...]]:
    """The observation to import from, how the connector was inferred (None when given), and
    the principals it was preferred to. ``complete`` adds what does not come from the live read
    (the tenant of ``--state-tenant``, the Connect server's evidence) before the connector is
    inferred, so that it is judged on the same observation as the features."""
    with _quiet_tenant_mismatch():
        state = observe_live(
            probe_policy(options.connector), LiveSources(ldap=sources.ldap), progress
        )
        if sources.graph is not None:
            # The tenant after AD: Cloud Sync configurations are listed by the AD domain they
            # are named after, known only once AD was read.
            domains = [d.dns_name for d in state.ad.domains] if state.ad is not None else []
            probe = probe_policy(options.connector, cloud_domains=domains)
            tenant = observe_live(probe, LiveSources(graph=sources.graph), progress)
            source = state.source.model_copy(update={"graph_url": tenant.source.graph_url})
            state = state.model_copy(update={"tenant": tenant.tenant, "source": source})
    if complete is not None:
        state = complete(state)
    if options.connector or state.ad is None:
        return state, None, ()
    ranked = rank_connectors(state, options)
    chosen = choose_connector(ranked, state)
    assert chosen.principal.name is not None
    account = probe_policy(chosen.principal.name, features=False)
    found = observe_live(account, LiveSources(ldap=sources.ldap), progress)
    assert state.ad is not None and found.ad is not None
    ad = state.ad.model_copy(update={"connector": found.ad.connector})
    return state.model_copy(update={"ad": ad}), chosen, tuple(ranked)
