"""Plan and check tell one story: which failing SHALL findings have no planned change or manual
step that fixes them (pure; the test suite asserts there are none, over every plan scenario,
the shipped example and the live rule fixtures).

A finding is matched by a plan change that acts (create, update, delete or manual) at the
finding's own address, on the DN the finding names, or at every address the finding lists in
``fixed_by``. Findings about the policy file itself (``policy.…``, e.g. an expired waiver) are
fixed by editing the policy, not by a plan, and are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner.model.dn import dn_key, is_valid_dn
from planner.model.plan import Plan, ResourceChange
from planner.model.report import Finding

ACTING = ("create", "update", "delete", "manual")


def acting_changes(plan: Plan) -> list[ResourceChange]:
    """Changes that do something or ask a person to (deferred ones included)."""
    return [
        c for c in (*plan.resource_changes, *plan.deferred_changes) if c.change.actions[0] in ACTING
    ]


def unplanned_failures(plan: Plan, findings: Sequence[Finding]) -> list[Finding]:
    """Failing SHALL findings the plan has no change or manual step for."""
    acting = acting_changes(plan)
    addresses = {c.address for c in acting}
    dns = {dn_key(c.dn) for c in acting if c.dn}
    out = []
    for f in findings:
        if f.criticality != "SHALL" or f.status != "fail" or f.address.startswith("policy."):
            continue
        if f.address in addresses:
            continue
        if f.fixed_by and all(a in addresses for a in f.fixed_by):
            continue
        if is_valid_dn(f.address) and dn_key(f.address) in dns:
            continue
        out.append(f)
    return out
