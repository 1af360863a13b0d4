"""WB-LIC-001: an Entra ID P1/P2 service plan is active for the enabled features that need one.

Decided by the planner's licence decision (``planner.observe.licences.licence_status``: service
plans with provisioningStatus Success in an Enabled/Warning SKU with units, never SKU ids).
Password, device and group writeback need P1 or P2 (domain.md §3, §4, §7); whether Exchange
hybrid, hybrid join and key writeback need one is UNCONFIRMED (§14 item 5), so they do not make
this rule applicable.
"""

from __future__ import annotations

from planner.model.policy import Policy
from planner.model.report import RuleInfo
from planner.rules.base import Result, rule
from planner.rules.context import RuleContext, status_of

LICENSED_FEATURES = ("password", "device", "group")


def needs_licence(policy: Policy) -> bool:
    """True when an enabled feature needs Entra ID P1/P2."""
    wb = policy.writeback
    return any(f is not None and f.enabled for f in (wb.password, wb.device, wb.group))


@rule(
    RuleInfo(
        id="WB-LIC-001",
        title="A P1/P2 service plan is active for every enabled feature that needs it",
        criticality="SHALL",
        feature="licence",
        rationale=(
            "Password, device and group writeback require Microsoft Entra ID P1 or P2. The decision is made on "
            "service plans (AAD_PREMIUM 41781fb2…, AAD_PREMIUM_P2 eec0eb4f…) provisioned in a SKU that is "
            "Enabled or Warning and has units; a listed but suspended SKU does not count."
        ),
        remediation=(
            "Buy or reactivate Microsoft Entra ID P1 or P2 (or a bundle that carries the service plan) in the "
            "Microsoft 365 admin center → Billing → Licenses."
        ),
        references=("S31", "S4", "S19", "S34", "S37a"),
        failure_modes=("F1",),
    ),
    needs_licence,
)
def licence_active(ctx: RuleContext) -> list[Result]:
    """One result per required service plan."""
    out = []
    features = [
        name
        for name in LICENSED_FEATURES
        if (f := getattr(ctx.policy.writeback, name)) is not None and f.enabled
    ]
    for r in ctx.resources:
        if r.type != "tenant.licence":
            continue
        outcome = ctx.outcome(r)
        status = status_of(outcome)
        summary = (
            (outcome.before or {}).get("summary") if isinstance(outcome.before, dict) else None
        )
        evidence = {"required_plan": r.desired["service_plan"], "features": features}
        if summary:
            evidence["summary"] = summary
        if status == "unknown":
            u = ctx.unread("tenant.licences")
            out.append(
                Result(
                    status,
                    r.address,
                    f"the subscribed SKUs could not be read{': ' + u.reason if u else ''}",
                    evidence,
                    verify_at=ctx.tenant_verify_at("tenant.licences"),
                )
            )
        else:
            out.append(Result(status, r.address, str(summary), evidence))
    return out
