"""Pure diff: required resources × observed state → changes (before, after, action, reason).

One function per resource type, split by provider (``ad``, ``tenant``). Nothing here reads the
network or the clock. What was not observed becomes ``read`` with reason ``not_observed``; what no
API exposes becomes ``read`` with reason ``unverifiable`` and the place a person verifies it.
"""

from __future__ import annotations

from planner.diff.ad import diff_ad
from planner.diff.outcome import Outcome
from planner.diff.paths import affected_paths
from planner.diff.tenant import diff_tenant
from planner.model.plan import ChangeDetail, Resource, ResourceChange
from planner.observations import Index


def to_change(resource: Resource, outcome: Outcome) -> ResourceChange:
    """Build the ResourceChange for ``resource`` (``diff.paths`` fills attribute-level detail)."""
    paths: tuple[str, ...] = ()
    before, after = outcome.before, outcome.after
    if isinstance(before, dict) and isinstance(after, dict) and before != after:
        # flat images without deepdiff (it is a sixth of an offline plan's start-up)
        paths = affected_paths(before, after)
    extra = outcome.extra or {}
    return ResourceChange(
        address=resource.address,
        type=resource.type,
        provider=resource.provider,
        features=resource.features,
        action_reason=outcome.reason,
        change=ChangeDetail(
            actions=(outcome.action,),
            before=outcome.before,
            after=outcome.after,
            attribute_changes=paths,
        ),
        depends_on=resource.depends_on,
        why=resource.why,
        references=resource.references,
        confidence=resource.confidence,
        confidence_note=resource.confidence_note,
        instructions=outcome.instructions
        if outcome.instructions is not None
        else (resource.instructions if outcome.action in ("manual", "read") else None),
        dn=resource.dn,
        ace=resource.ace,
        **extra,
    )


def diff(
    resources: list[Resource], index: Index, group_container: str | None = None
) -> list[ResourceChange]:
    """A change for every resource (no-ops included). ``group_container`` is the policy's group
    writeback OU, used for the blast radius of turning group writeback off."""
    out: list[ResourceChange] = []
    for r in resources:
        if r.provider == "ad":
            outcome = diff_ad(r, index)
        else:
            outcome = diff_tenant(r, index, group_container)
        out.append(to_change(r, outcome))
    return out
