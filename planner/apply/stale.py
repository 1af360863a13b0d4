"""Before apply writes anything: is this plan for this forest and tenant, and still current?

The plan recorded the fingerprint of every observation it was computed from (``plan.observed``).
Apply observes again through the same reading path as ``plan`` (``observe_live``), recomputes the
fingerprints of exactly those addresses, and refuses the plan if any differs — naming every
changed address — so a reviewed plan is never executed against a world the reviewers did not see.
"""

from __future__ import annotations

from planner.errors import StalePlanError, UsageError
from planner.model.plan import Plan
from planner.model.policy import Policy
from planner.model.state import ObservedState
from planner.observations import Index
from planner.planning import check_lineage


def needed_sources(plan: Plan) -> tuple[bool, bool]:
    """(needs AD, needs the tenant): what the plan observed or changes."""
    addresses = [*plan.observed, *(c.address for c in plan.resource_changes)]
    return (
        any(a.startswith("ad.") for a in addresses),
        any(a.startswith("tenant.") for a in addresses),
    )


def check_sources(plan: Plan, have_ad: bool, have_tenant: bool) -> None:
    """Refuse early when a connection the plan needs was not given."""
    ad, tenant = needed_sources(plan)
    if ad and not have_ad:
        raise UsageError(
            "this plan reads and changes AD, but no --ldap-url was given",
            hint="pass the same connection options as to `wbplan plan`",
        )
    if tenant and not have_tenant:
        raise UsageError(
            "this plan reads and changes the tenant, but no Graph endpoint or credential was given",
            hint="pass --graph-url and/or set WBPLAN_GRAPH_TOKEN or AZURE_* credentials",
        )


def check_lineage_of(plan: Plan, policy: Policy, state: ObservedState) -> None:
    """The fresh observation is of the plan's forest (by objectGUID) and tenant (by id)."""
    check_lineage(policy, state)
    lineage = plan.lineage
    if state.ad is not None and lineage.forest_guid and state.ad.forest_guid != lineage.forest_guid:
        raise StalePlanError(
            f"this plan was made for the forest {lineage.forest} with objectGUID "
            f"{lineage.forest_guid}, but the DC answers for objectGUID {state.ad.forest_guid}",
            hint="point --ldap-url at the plan's forest, or make a new plan with `wbplan plan -out FILE`",
        )
    if state.tenant is not None and state.tenant.tenant_id.lower() != lineage.tenant_id.lower():
        raise StalePlanError(
            f"this plan was made for the tenant {lineage.tenant_id}, but Graph answers for "
            f"{state.tenant.tenant_id}",
            hint="use credentials of the plan's tenant, or make a new plan",
        )


def changed_addresses(plan: Plan, state: ObservedState) -> list[str]:
    """Observation addresses whose fingerprint differs from the plan's."""
    now = Index(state).fingerprints(set(plan.observed))
    return [a for a, fp in plan.observed.items() if now.get(a) != fp]


def check_not_stale(plan: Plan, policy: Policy, state: ObservedState) -> None:
    """Lineage, then fingerprints; ``StalePlanError`` naming every changed address."""
    check_lineage_of(plan, policy, state)
    changed = changed_addresses(plan, state)
    if changed:
        listed = "\n".join(f"  - {a}" for a in changed)
        raise StalePlanError(
            f"Saved plan is stale: {len(changed)} observed item(s) changed since the plan was "
            f"made ({plan.timestamp}); nothing was written:\n{listed}",
            hint="review the changes, then make a new plan with `wbplan plan -out FILE` and apply that",
        )
