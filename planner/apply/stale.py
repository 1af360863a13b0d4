"""Before apply writes anything: is this plan for this forest and tenant, and still current?

The plan recorded the fingerprint of every observation it was computed from (``plan.observed``).
Apply observes again through the same reading path as ``plan`` (``observe_live``), recomputes the
fingerprints of exactly those addresses, and refuses the plan if any differs — naming every
changed address — so a reviewed plan is never executed against a world the reviewers did not see.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.errors import StalePlanError, UsageError
from planner.model.plan import Plan
from planner.model.policy import Policy
from planner.model.state import ObservedState
from planner.observations import Index, fingerprint
from planner.planning import check_lineage

NOT_OBSERVED = fingerprint(None)
"""The fingerprint the plan records for an address it could not observe (no tenant in a plan
read over LDAP only, a section Graph refused): re-reading it needs nothing."""

EXECUTED = ("create", "update", "delete")


@dataclass(frozen=True)
class Needs:
    """What apply must connect to for a plan, and why (addresses, for the messages)."""

    ad_changes: tuple[str, ...] = ()
    ad_observed: tuple[str, ...] = ()
    tenant_changes: tuple[str, ...] = ()
    tenant_observed: tuple[str, ...] = ()

    @property
    def ad(self) -> bool:
        return bool(self.ad_changes or self.ad_observed)

    @property
    def tenant(self) -> bool:
        return bool(self.tenant_changes or self.tenant_observed)


def needs_of(plan: Plan) -> Needs:
    """The sources apply reads and writes for ``plan``: those its changes write (create, update,
    delete; manual steps and deferred changes are not executed, items to verify by hand are not
    read) and those whose observations it re-reads to refuse a stale plan. Addresses the plan
    could not observe need nothing."""
    changes = [c.address for c in plan.resource_changes if c.change.actions[0] in EXECUTED]
    observed = [a for a, fp in plan.observed.items() if fp != NOT_OBSERVED]
    return Needs(
        ad_changes=tuple(a for a in changes if a.startswith("ad.")),
        ad_observed=tuple(a for a in observed if a.startswith("ad.")),
        tenant_changes=tuple(a for a in changes if a.startswith("tenant.")),
        tenant_observed=tuple(a for a in observed if a.startswith("tenant.")),
    )


def needed_sources(plan: Plan) -> tuple[bool, bool]:
    """(needs AD, needs the tenant): see :func:`needs_of`."""
    needs = needs_of(plan)
    return needs.ad, needs.tenant


def _what(changes: tuple[str, ...], observed: tuple[str, ...], name: str) -> str:
    if changes:
        first = ", ".join(changes[:2]) + (
            f" and {len(changes) - 2} more" if len(changes) > 2 else ""
        )
        return f"this plan changes {name} ({first})"
    return f"this plan read {name}, and apply reads it again to refuse the plan if it changed since"


def check_sources(plan: Plan, have_ad: bool, have_tenant: bool) -> None:
    """Refuse early when a connection the plan needs was not given."""
    needs = needs_of(plan)
    if needs.ad and not have_ad:
        raise UsageError(
            f"{_what(needs.ad_changes, needs.ad_observed, 'AD')}, but no --ldap-url was given",
            hint="pass --ldap-url (and --ca-file, WBPLAN_LDAP_USER/WBPLAN_LDAP_PASSWORD) as to "
            "`wbplan refresh`; or write the AD part for an administrator with "
            "`wbplan apply PLAN --emit powershell -o FILE` (no connection needed)",
        )
    if needs.tenant and not have_tenant:
        raise UsageError(
            f"{_what(needs.tenant_changes, needs.tenant_observed, 'the tenant')}, but no Graph "
            "endpoint or credential was given",
            hint="pass --graph-url and/or set WBPLAN_GRAPH_TOKEN or AZURE_* credentials "
            "(--graph-auth azure-cli for a signed-in Global Administrator)",
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


def _executed(plan: Plan) -> dict[str, dict[str, object]]:
    """address → what apply would execute for it (type, action, DN, before, after)."""
    return {
        c.address: {
            "type": c.type,
            "action": c.change.actions[0],
            "dn": c.dn,
            "before": c.change.before,
            "after": c.change.after,
        }
        for c in plan.resource_changes
        if c.change.actions[0] in EXECUTED
    }


def check_rederived(plan: Plan, policy: Policy, state: ObservedState) -> None:
    """Apply executes only what the policy requires: the changes are derived again from the
    plan's policy and the fresh observation (which :func:`check_not_stale` just proved equal to
    the plan's), and a plan file with any executed change that derivation does not produce
    exactly — an edited ACE mask, an extra group member, an ACE on another object — is refused
    before anything is written, naming the change."""
    from planner.planning import make_plan

    fresh = make_plan(
        policy,
        state,
        policy_file=plan.policy_file,
        policy_digest=plan.policy_digest,
        state_source="apply",
        timestamp=plan.timestamp,
    )
    wanted, planned = _executed(fresh), _executed(plan)
    wrong = []
    for address, change in planned.items():
        derived = wanted.get(address)
        if derived is None:
            wrong.append(f"  - {address}: the policy does not require this change")
            continue
        differ = [k for k in change if change[k] != derived[k]]
        if differ:
            wrong.append(
                f"  - {address}: its {', '.join(differ)} differ from what the policy requires"
            )
    if wrong:
        raise StalePlanError(
            f"this plan file holds {len(wrong)} change(s) that its policy does not produce; it "
            "was edited after `wbplan plan` wrote it, and nothing was written:\n"
            + "\n".join(wrong),
            hint="never edit a saved plan; make a new one with `wbplan plan -out FILE` and review it",
        )
