"""Windows Hello for Business key writeback (domain.md §6): the schema carries
msDS-KeyCredentialLink (WB-KEY-001) and the connector is in Key Admins / Enterprise Key Admins
(WB-KEY-002). No licence or Graph switch was found for it (UNCONFIRMED, §6)."""

from __future__ import annotations

from planner.model.policy import Policy
from planner.model.report import RuleInfo
from planner.requirements.keys import GROUP_NAMES
from planner.rules.base import Result, rule
from planner.rules.context import VERIFY_AD, RuleContext, status_of
from planner.rules.gates import gate_result


def keys_enabled(policy: Policy) -> bool:
    """Key writeback is declared and enabled."""
    wb = policy.writeback.ngc_keys
    return wb is not None and wb.enabled


@rule(
    RuleInfo(
        id="WB-KEY-001",
        title="Forest schema ≥ Windows Server 2016 (objectVersion 87) where NGC key writeback is declared",
        criticality="SHALL",
        feature="ngc_keys",
        rationale=(
            "msDS-KeyCredentialLink, where Windows Hello for Business public keys are written, exists only with "
            "the Windows Server 2016 schema; the attribute is checked as well as objectVersion."
        ),
        remediation=(
            "Extend the forest schema to Windows Server 2016 or later (`adprep /forestprep` from 2016+ media), then "
            "refresh the schema in the Connect wizard so the msDS-KeyCredentialLink rule is configured."
        ),
        references=("S13a", "S9", "S6"),
        failure_modes=("F3",),
    ),
    keys_enabled,
)
def key_schema(ctx: RuleContext) -> list[Result]:
    """The planner's 2016 schema gate."""
    return gate_result(
        ctx, f"ad.schema_2016[{ctx.policy.forest.lower()}]", "the key writeback schema"
    )


@rule(
    RuleInfo(
        id="WB-KEY-002",
        title="Key Admins (or Enterprise Key Admins) exists and the connector is a member",
        criticality="SHALL",
        feature="ngc_keys",
        rationale=(
            "The connector writes msDS-KeyCredentialLink through membership of Key Admins (single domain) or "
            "Enterprise Key Admins (multi-domain forest); the groups exist only once a Windows Server 2016+ DC "
            "holds the PDC emulator role."
        ),
        remediation=(
            "Move the PDC emulator to a Windows Server 2016+ DC if the group is missing, then add the connector "
            "account to it (`wbplan apply` adds the membership)."
        ),
        references=("S8", "S7", "S10", "M2"),
        failure_modes=("F20",),
    ),
    keys_enabled,
)
def key_admins(ctx: RuleContext) -> list[Result]:
    """The group exists (ad.group) and the connector is a transitive member (ad.membership)."""
    wb = ctx.policy.writeback.ngc_keys
    assert wb is not None
    name = GROUP_NAMES[wb.group]
    address = f"ad.group[{name}]"
    if ctx.state.ad is None:
        return [
            Result("unknown", address, "Active Directory was not observed", verify_at=VERIFY_AD)
        ]
    group = ctx.resource(address)
    member = ctx.resource(f"ad.membership[{name}/{ctx.policy.connector_account}]")
    assert group is not None and member is not None
    sid = ctx.state.ad.well_known_groups.get(name)
    evidence = {"group": name, "group_sid": sid, "connector": ctx.policy.connector_account}
    g, m = status_of(ctx.outcome(group)), status_of(ctx.outcome(member))
    if "unknown" in (g, m):
        return [
            Result(
                "unknown",
                address,
                f"{name} or its members could not be read",
                evidence,
                verify_at=VERIFY_AD,
            )
        ]
    if g == "fail":
        return [Result("fail", address, f"{name} does not exist in the forest", evidence)]
    if m == "fail":
        return [
            Result(
                "fail",
                address,
                f"the connector {ctx.policy.connector_account} is not a member of {name}",
                evidence,
                fixed_by=(member.address,),
            )
        ]
    return [Result("pass", address, f"the connector is a member of {name}", evidence)]
