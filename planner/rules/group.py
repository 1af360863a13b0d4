"""Group writeback v1 (domain.md §7, §1.5, §2.3): the Exchange schema (WB-GRP-001), the
writeback OU and the connector's rights in it (WB-GRP-002), and NewUnifiedGroupWritebackDefault
as declared (WB-GRP-004). Group writeback v2 being off is WB-GRP-003 (``tenant``)."""

from __future__ import annotations

from planner.model.policy import Policy
from planner.model.report import RuleInfo
from planner.requirements.group import SETTING_ADDRESS
from planner.rules.aces import deny_results, rights_results
from planner.rules.base import Result, rule
from planner.rules.context import VERIFY_AD, RuleContext, status_of
from planner.rules.device_tenant import flag_matches
from planner.rules.gates import gate_result


def group_enabled(policy: Policy) -> bool:
    """Group writeback v1 is declared and enabled."""
    wb = policy.writeback.group
    return wb is not None and wb.enabled and wb.version == "v1"


@rule(
    RuleInfo(
        id="WB-GRP-001",
        title="Exchange schema present with ms-Exch-Schema-Version-Pt rangeUpper ≥ 15312 for group writeback v1",
        criticality="SHALL",
        feature="group",
        rationale=(
            "Group writeback v1 writes Microsoft 365 groups as Exchange distribution groups: the forest needs the "
            "Exchange schema of a supported release. rangeUpper ≥ 15312 means Exchange 2013 CU7 or later; CU7 "
            "cannot be told apart from CU8 in AD, so a pass does not prove CU8+."
        ),
        remediation=(
            "Extend the schema with a supported Exchange release: `Setup.exe /PrepareSchema "
            "/IAcceptExchangeServerLicenseTerms` (Exchange 2016 CU1+ or 2013 CU11+ for Microsoft 365 groups)."
        ),
        references=("S17c", "S17a", "S17b", "S19", "S32"),
        failure_modes=("F13",),
    ),
    group_enabled,
)
def exchange_schema(ctx: RuleContext) -> list[Result]:
    """The planner's Exchange schema gate."""
    return gate_result(
        ctx, f"ad.exchange_schema[{ctx.policy.forest.lower()}]", "the Exchange schema"
    )


@rule(
    RuleInfo(
        id="WB-GRP-002",
        title="The group writeback OU exists and the connector can create and delete groups in it",
        criticality="SHALL",
        feature="group",
        rationale=(
            "Group writeback v1 creates, updates and deletes groups in one admin-selected OU: the connector needs "
            "CreateChild/DeleteChild of group objects on the OU and GR/GW/Delete/DeleteTree on descendant groups. "
            "An ACE scoped to descendant groups alone does not grant CreateChild on the OU."
        ),
        remediation=(
            "Create the OU and run `wbplan apply`, or hand a Domain Admin the same changes as a script: "
            "`wbplan plan -out plan.wbplan` then `wbplan apply plan.wbplan --emit powershell --output prep.ps1`. "
            "Microsoft's `Set-ADSyncUnifiedGroupWritebackPermissions` cannot fix this on the OU: its ACEs are "
            "scoped to group objects, so `-ADObjectDN <OU>` is refused ('AD permissions are not applicable for "
            "AD ObjectClass organizationalUnit') and the domain-root form grants no Create Child on the OU."
        ),
        references=("S19", "S1", "S2"),
        failure_modes=("F14",),
    ),
    group_enabled,
)
def group_ou_rights(ctx: RuleContext) -> list[Result]:
    """The OU exists as an organizationalUnit, and the connector's effective rights on it."""
    wb = ctx.policy.writeback.group
    assert wb is not None and wb.container is not None
    ou = ctx.resource(f"ad.object[{wb.container}]")
    assert ou is not None
    outcome = ctx.outcome(ou)
    if outcome.reason == "wrong_object_class":
        return [
            Result(
                "fail",
                wb.container,
                f"{wb.container} exists but is not an organizationalUnit",
                {"objectClass": (outcome.before or {}).get("objectClass")},
            )
        ]
    if status_of(outcome) == "unknown" and ctx.state.ad is None:
        return [
            Result(
                "unknown", wb.container, "Active Directory was not observed", verify_at=VERIFY_AD
            )
        ]
    results = rights_results(
        ctx, ctx.resources_of("group", "ad.ace", "group-writeback"), "the group writeback rights"
    )
    if ctx.state.ad is not None:
        groups = next((g for g in ctx.state.ad.groups if g.container == wb.container), None)
        if groups is not None:
            results = [
                Result(
                    r.status,
                    r.address,
                    r.message,
                    {**r.evidence, "groups_in_ou": groups.count},
                    r.verify_at,
                    r.fixed_by,
                )
                for r in results
            ]
    return [*results, *deny_results(ctx, "group")]


@rule(
    RuleInfo(
        id="WB-GRP-004",
        title="NewUnifiedGroupWritebackDefault is as declared",
        criticality="SHALL",
        feature="group",
        rationale=(
            "The Group.Unified directory setting's NewUnifiedGroupWritebackDefault decides whether new Microsoft "
            "365 groups are written back; absent or unset means true. Left at true when group writeback is "
            "enabled, every existing Microsoft 365 group is written back at once."
        ),
        remediation=(
            "Run `wbplan apply` (it creates the Group.Unified setting from its template when absent), or set the "
            "value with Graph: PATCH /groupSettings/{id} — before enabling the feature."
        ),
        references=("S18", "S40", "S19"),
        failure_modes=("F18",),
    ),
    group_enabled,
)
def new_group_default(ctx: RuleContext) -> list[Result]:
    """The planner's Group.Unified setting diff."""
    r = ctx.resource(SETTING_ADDRESS)
    assert r is not None
    want = bool(r.desired["value"])
    outcome = ctx.outcome(r)
    status = status_of(outcome)
    if status == "unknown":
        u = ctx.unread("tenant.setting[Group.Unified]")
        return [
            Result(
                "unknown",
                SETTING_ADDRESS,
                f"the Group.Unified setting could not be read{': ' + u.reason if u else ''}",
                {"declared": want},
                verify_at=ctx.tenant_verify_at("tenant.setting[Group.Unified]"),
            )
        ]
    before = outcome.before if isinstance(outcome.before, dict) else {}
    current = before.get("value")
    shown = "absent (reads as true)" if current is None else str(current).lower()
    evidence = {
        "declared": want,
        "observed": current,
        "setting_present": before.get("present", current is not None),
    }
    verdict = "matches" if status == "pass" else "does not match"
    return [
        Result(
            status,
            SETTING_ADDRESS,
            f"NewUnifiedGroupWritebackDefault is {shown}; {verdict} the policy ({str(want).lower()})",
            evidence,
        )
    ]


def group_declared(policy: Policy) -> bool:
    """Group writeback v1 is declared (on or off): the tenant flag must match either way."""
    wb = policy.writeback.group
    return wb is not None and wb.version == "v1"


@rule(
    RuleInfo(
        id="WB-GRP-005",
        title="unifiedGroupWritebackEnabled matches the policy",
        criticality="SHALL",
        feature="group",
        rationale=(
            "features.unifiedGroupWritebackEnabled is the tenant switch for group writeback v1; it must say what "
            "the policy declares. Declared on but off, nothing is written back; declared off but on, turning it "
            "off deletes the groups written back so far on the next sync cycle (the evidence carries that "
            "blast radius)."
        ),
        remediation=(
            "Run `wbplan apply` (it sets NewUnifiedGroupWritebackDefault first), or change the flag with the "
            "Connect wizard's Group writeback option."
        ),
        references=("S36a", "S19", "S18"),
        failure_modes=("F18",),
    ),
    group_declared,
)
def group_flag(ctx: RuleContext) -> list[Result]:
    """The planner's feature-flag diff (with the blast radius when the flag must go off)."""
    return flag_matches(ctx, "unifiedGroupWritebackEnabled")
