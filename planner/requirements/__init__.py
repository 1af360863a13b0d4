"""Expand a policy into required resources with ``depends_on`` edges (one module per feature).

``expand`` also adds the implicit resources several features share: the connector account (every
ACE needs its SID), the licences (every tenant feature depends on them), and an "must already
exist" resource for each AD object an ACE is granted on that no feature creates (scope roots,
domain roots).
"""

from __future__ import annotations

from planner.connect.verdicts import evidence_version
from planner.connectversion import version_problems
from planner.model.dn import dn_key
from planner.model.plan import Resource
from planner.model.policy import Policy
from planner.model.state import ObservedState
from planner.requirements import (
    cloudsync,
    cloudsync_tenant,
    device,
    exchange,
    group,
    hybrid_join,
    keys,
    password,
    user,
)
from planner.requirements.common import Context, connector_resource
from planner.requirements.connect import connect_server_resources
from planner.requirements.tenant import (
    RETIRED_FLAGS,
    connect_version_resource,
    licence_resources,
    retired_flag_resource,
    sync_status_resource,
)

FEATURE_MODULES = (
    password,
    device,
    group,
    exchange,
    keys,
    hybrid_join,
    user,
    cloudsync_tenant,
    cloudsync,
)


def _existing_object(address: str, dn: str, domain_roots: tuple[str, ...]) -> Resource:
    is_root = any(dn_key(dn) == dn_key(r) for r in domain_roots)
    return Resource(
        address=address,
        type="ad.object",
        provider="ad",
        features=(),
        why="ACEs are placed on this object, which the policy names and wbplan does not create (a scope root or domain root)",
        references=("S1",),
        manageable=False,
        dn=dn,
        desired={"exists": True},
        instructions=None if is_root else f"Create {dn} or correct the DN in the policy",
    )


def _merge(resources: list[Resource]) -> list[Resource]:
    by_address: dict[str, Resource] = {}
    for r in resources:
        prior = by_address.get(r.address)
        if prior is None:
            by_address[r.address] = r
            continue
        features = tuple(dict.fromkeys((*prior.features, *r.features)))
        deps = tuple(dict.fromkeys((*prior.depends_on, *r.depends_on)))
        refs = tuple(dict.fromkeys((*prior.references, *r.references)))
        by_address[r.address] = prior.model_copy(
            update={"features": features, "depends_on": deps, "references": refs}
        )
    return list(by_address.values())


def expand(policy: Policy, state: ObservedState | None) -> list[Resource]:
    """Every resource the policy requires, deduplicated by address."""
    ctx = Context(policy, state)
    resources: list[Resource] = []
    for module in FEATURE_MODULES:
        resources.extend(module.expand(ctx))
    merged = _merge(resources)
    addresses = {r.address for r in merged}
    needed = {d for r in merged for d in r.depends_on}
    extra: list[Resource] = []
    if ctx.connector_address in needed:
        extra.append(connector_resource(ctx))
    if any(a.startswith("tenant.licence[") for a in needed):
        extra.extend(licence_resources(ctx))
    if state is not None and state.tenant is not None:
        # Judged only where the tenant was read: an unread tenant is unknown, not a step.
        extra.append(sync_status_resource(ctx))
        extra += [
            retired_flag_resource(f)
            for f in RETIRED_FLAGS
            if f"tenant.feature[{f}]" not in addresses
        ]
    if version_problems(policy) is not None or evidence_version(state) is not None:
        extra.append(connect_version_resource(ctx))
    extra.extend(connect_server_resources(ctx))
    for r in merged:
        # Only a grant needs its object to exist: removing an ACE from an object that is gone
        # is already done (diff_ace says so), never a reason to ask for the object.
        if r.type == "ad.ace" and r.dn is not None and not r.destroy:
            obj = f"ad.object[{r.dn}]"
            if obj not in addresses:
                extra.append(_existing_object(obj, r.dn, ctx.domain_roots))
                addresses.add(obj)
    # Cloud Sync configurations (tenant) wait for their AD side (gMSA and its ACEs).
    return cloudsync.link_configurations(ctx, _merge([*extra, *merged]))
