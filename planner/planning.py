"""Compute a plan: expand requirements, diff against observations, order the DAG, propagate
blockers, count, and record lineage and fingerprints for apply's stale check (pure: the caller
passes the observed state and the timestamp)."""

from __future__ import annotations

from planner import __version__, dag
from planner.diff import diff
from planner.errors import WbplanError
from planner.model.dn import dn_key
from planner.model.plan import Lineage, Plan, ResourceChange, Summary
from planner.model.policy import Policy
from planner.model.state import ObservedState
from planner.observations import Index, observation_addresses
from planner.requirements import expand


def check_lineage(policy: Policy, state: ObservedState) -> None:
    """Refuse to plan a policy against another forest's or tenant's observations."""
    if state.ad is not None and dn_key(state.ad.forest) != dn_key(policy.forest):
        raise WbplanError(
            f"the observed forest is {state.ad.forest} but the policy declares {policy.forest}",
            hint="point --ldap-url / --state at the policy's forest",
        )
    if state.tenant is not None and state.tenant.tenant_id.lower() != policy.tenant.id.lower():
        raise WbplanError(
            f"the observed tenant is {state.tenant.tenant_id} but the policy declares {policy.tenant.id}",
            hint="use credentials for the policy's tenant",
        )


def summarise(changes: list[ResourceChange], deferred: list[ResourceChange]) -> Summary:
    """Counts of actions (deferred changes are counted apart)."""
    counts = {"create": 0, "update": 0, "delete": 0, "manual": 0, "read": 0, "no-op": 0}
    for c in changes:
        counts[c.change.actions[0]] += 1
    return Summary(
        add=counts["create"],
        change=counts["update"],
        destroy=counts["delete"],
        manual=counts["manual"],
        read=counts["read"],
        **{"no-op": counts["no-op"]},
        deferred=len(deferred),
    )


def make_plan(
    policy: Policy,
    state: ObservedState,
    *,
    policy_file: str,
    policy_digest: str,
    state_source: str,
    timestamp: str,
) -> Plan:
    """The plan for ``policy`` against ``state``."""
    check_lineage(policy, state)
    resources = expand(policy, state)
    index = Index(state)
    group = policy.writeback.group
    changes = diff(resources, index, group.container if group else None)
    graph = dag.build(changes)
    lv = dag.levels(graph)
    blocked = dag.blockers(graph, changes)
    by_address = {c.address: c for c in changes}
    ordered = [
        by_address[a].model_copy(update={"level": lv[a], "blocked_by": blocked.get(a, ())})
        for a in dag.order(graph, changes)
    ]
    # A change waits when a manual prerequisite blocks it; no-ops and unknowns stay visible in
    # place (partitioned by a predicate: list membership of models is quadratic).
    waits = [bool(c.blocked_by) and c.change.actions[0] not in ("no-op", "read") for c in ordered]
    active = [c for c, w in zip(ordered, waits, strict=True) if not w]
    deferred = [c for c, w in zip(ordered, waits, strict=True) if w]
    observed = {
        a
        for r in resources
        for a in observation_addresses(
            r.type, r.dn, policy.forest.lower(), policy.connector_account
        )
    }
    # Per-object verdicts read every object under a scope root: a changed user DACL makes the
    # plan stale just as a changed root DACL does.
    # (AD requirements only: a Cloud Sync group scope's ``desired["scope"]`` is a choice of the
    # tenant configuration, ``selected_groups``, not a DN.)
    observed |= {
        f"ad.scope[{r.desired['scope']}]"
        for r in resources
        if r.provider == "ad" and r.desired.get("scope")
    }
    observed |= index.admin_sd_holders(observed)
    if (
        policy.writeback.device is not None
        and policy.writeback.device.enabled
        and state.ad is not None
    ):
        observed.add("ad.drs_services[]")
    summary = summarise(active, deferred)
    principals = _principals(policy, state, ordered)
    destructive = summary.destroy > 0 or any(
        c.blast_radius is not None and c.blast_radius.count > 0 for c in ordered
    )
    return Plan(
        wbplan_version=__version__,
        timestamp=timestamp,
        policy_name=policy.metadata.name,
        policy_file=policy_file,
        policy_digest=policy_digest,
        state_source=state_source,
        lineage=Lineage(
            forest=policy.forest.lower(),
            forest_guid=state.ad.forest_guid if state.ad else None,
            tenant_id=(state.tenant.tenant_id if state.tenant else policy.tenant.id).lower(),
        ),
        observed=index.fingerprints(observed),
        resource_changes=tuple(active),
        deferred_changes=tuple(deferred),
        summary=summary,
        applyable=(summary.add + summary.change + summary.destroy) > 0,
        # A plan is complete when applying it converges: nothing waits on a person, and nothing
        # it needed went unobserved (an unread tenant is unknown, never "matches").
        complete=not deferred and not any(c.action_reason == "not_observed" for c in active),
        destructive=destructive,
        principals=principals,
    )


def _principals(
    policy: Policy, state: ObservedState, changes: list[ResourceChange]
) -> dict[str, str]:
    """SID → name for the trustees of the plan's ACEs (display only)."""
    from planner.acewords import Names

    names = Names(state, policy.connector_account)
    sids: set[str] = set()
    for c in changes:
        for side in (c.change.before, c.change.after):
            if isinstance(side, dict):
                if isinstance(side.get("trustee"), str):
                    sids.add(side["trustee"])
                for ace in side.get("deny_aces") or ():
                    if isinstance(ace, dict) and isinstance(ace.get("trustee"), str):
                        sids.add(ace["trustee"])
    return {sid: names.sid(sid) for sid in sorted(sids) if names.sid(sid) != sid}


def has_changes(plan: Plan) -> bool:
    """For ``--detailed-exitcode``: create/update/delete/manual count; unknowns alone do not."""
    s = plan.summary
    return (s.add + s.change + s.destroy + s.manual + s.deferred) > 0
