"""WB-HJ-001: the hybrid-join service connection point exists with keywords naming the tenant
(azureADName:<verified domain>, azureADId:<tenant id>) — domain.md §5."""

from __future__ import annotations

from planner.model.dn import scp_dn
from planner.model.policy import Policy
from planner.model.report import RuleInfo
from planner.rules.base import Result, rule
from planner.rules.context import VERIFY_AD, RuleContext


def hybrid_join_enabled(policy: Policy) -> bool:
    """The hybrid-join SCP is declared and enabled."""
    wb = policy.writeback.hybrid_join
    return wb is not None and wb.enabled


@rule(
    RuleInfo(
        id="WB-HJ-001",
        title="The hybrid join service connection point exists with keywords matching the tenant",
        criticality="SHALL",
        feature="hybrid_join",
        rationale=(
            "Domain-joined Windows computers read the SCP CN=62a0ff2e-97b9-4513-943f-0d221bd30080 under the "
            "Device Registration Configuration to find their tenant: its keywords must be "
            "azureADName:<verified domain> and azureADId:<tenant id>, in every forest with joined computers."
        ),
        remediation=(
            "Run `wbplan apply`, or the Connect wizard's 'Configure device options → Configure Hybrid Microsoft "
            "Entra join' for this forest."
        ),
        references=("S47", "S46", "S73"),
        failure_modes=("F7",),
    ),
    hybrid_join_enabled,
)
def scp(ctx: RuleContext) -> list[Result]:
    """The planner's diff of the SCP object (existence, class and keywords)."""
    ad = ctx.state.ad
    if ad is None:
        return [
            Result("unknown", "ad.scp[]", "Active Directory was not observed", verify_at=VERIFY_AD)
        ]
    dn = scp_dn(ad.root_dse.configuration_naming_context)
    r = ctx.resource(f"ad.object[{dn}]")
    assert r is not None
    outcome = ctx.outcome(r)
    obj = ctx.index.object(dn)
    want = sorted(str(k) for k in r.desired["keywords"])
    found = sorted(obj.attributes.get("keywords", ())) if obj is not None else []
    evidence = {"keywords": found, "expected": want}
    if outcome.action == "no-op":
        return [Result("pass", dn, "the SCP names the tenant: " + ", ".join(found), evidence)]
    if outcome.action == "read":
        return [Result("unknown", dn, "the SCP was not read", evidence, verify_at=VERIFY_AD)]
    if obj is None or not obj.exists:
        return [Result("fail", dn, "the hybrid join SCP does not exist", evidence)]
    if outcome.reason == "wrong_object_class":
        return [Result("fail", dn, f"{dn} is not a serviceConnectionPoint", evidence)]
    return [
        Result(
            "fail",
            dn,
            f"the SCP keywords {found} do not match the tenant (expected {want})",
            evidence,
        )
    ]
