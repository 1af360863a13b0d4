"""What ``wbplan import`` proposes for a migration from Entra Connect group writeback v2 to
Cloud Sync: ``cloud_sync.domains[].group_provisioning.migrate_from_connect_v2`` (pure).

Microsoft's migration ("Migrate Microsoft Entra Connect Sync group writeback V2 to Microsoft
Entra Cloud Sync", Microsoft Learn) copies each group's adminDescription into
msDS-ExternalDirectoryObjectId, then turns v2 off. Until both are done the plan still has work
(the copies; the manual step turning v2 off), so an unfinished migration is never imported as a
live entry: it is proposed commented out, with what the plan would still do. It is proposed
only for an OU v2 wrote to that the snapshot read (``ad.cloud_sync.connect_v2``, read for a
policy declaring the migration): the OU is never guessed. A finished migration (v2 off, every
copy done) is left out — nothing is left for the policy to plan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from planner.adopt.verify import Verdict
from planner.adopt.words import summary
from planner.model.dn import dn_key, dns_name_of, is_at_or_under
from planner.model.state import ObservedState
from planner.requirements.cloudsync import V2_FLAG

KEY = "migrate_from_connect_v2"


@dataclass(frozen=True)
class Proposal:
    """What import writes about the migration for one domain."""

    notes: tuple[str, ...] = ()
    migration: dict[str, str] | None = None
    """``{"ou": …}`` to write commented out (None: nothing to propose)."""


def v2_on(state: ObservedState) -> bool | None:
    """Connect group writeback v2 is on in the tenant (``features.groupWriteBackEnabled`` of
    onPremisesSynchronization; None: the flags were not read)."""
    sync = state.tenant.sync if state.tenant is not None else None
    if sync is None:
        return None
    return sync.features.get(V2_FLAG) is True


def propose(
    state: ObservedState,
    domain: str,
    base: dict[str, Any] | None,
    check: Callable[[dict[str, Any]], Verdict],
) -> Proposal:
    """The migration for ``domain`` whose group provisioning import found as ``base`` (imported
    or partly prepared; None: none). ``check`` plans a ``group_provisioning`` value for the
    domain against the same observation."""
    ad = state.ad
    assert ad is not None
    on = v2_on(state)
    cloud = ad.cloud_sync
    reads = [
        r
        for r in (cloud.connect_v2 if cloud is not None else ())
        if r.exists and (dns_name_of(r.ou) or "").lower() == domain
    ]
    if not reads:
        if on and base is not None:
            return Proposal(
                (
                    "NOT INFERRED: group writeback v2 is still on in the tenant "
                    "(groupWriteBackEnabled), but this snapshot read no OU v2 wrote groups to: add "
                    f"group_provisioning.{KEY} with the group writeback OU of the Connect wizard "
                    "and refresh, and the plan lists the migration",
                )
            )
        return Proposal()
    if base is None:
        return Proposal()  # no group provisioning to migrate into: nothing to declare it on
    notes: list[str] = []
    ou = reads[0].ou
    if len(reads) > 1:
        notes.append(
            f"the snapshot read {len(reads)} OUs v2 wrote to in {domain}; proposed: {ou} (a "
            "domain declares one)"
        )
    migration = {"ou": ou}
    verdict = check({**base, KEY: migration})
    copies = [
        i
        for i in verdict.pending
        if i.type == "ad.object"
        and i.dn is not None
        and is_at_or_under(i.dn, ou)
        and dn_key(i.dn) != dn_key(ou)
    ]
    if not copies and on is False:
        notes.append(
            f"{KEY}: not declared — the migration of the groups v2 wrote under {ou} is finished "
            "(v2 is off and every copy is done)"
        )
        return Proposal(tuple(notes))
    still = [summary(copies, 3)] if copies else []
    if on:
        still.append(
            f"turn group writeback v2 off (tenant.feature[{V2_FLAG}], a manual step, after the "
            "copies: Microsoft's migration order)"
        )
    elif on is None:
        still.append(f"whether v2 is off was not read (tenant.feature[{V2_FLAG}])")
    notes.append(
        f"{KEY} — commented out, the migration is unfinished: group writeback v2 wrote groups "
        f"under {ou}; the plan would still do this — " + "; ".join(still)
    )
    return Proposal(tuple(notes), migration)
