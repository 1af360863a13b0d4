"""Tenant-wide rules that hold whatever the policy declares: the tenant is directory-synced and
fresh (WB-TEN-001), and neither withdrawn nor retired writeback is switched on (WB-USR-001,
WB-GRP-003). Observed through Graph ``/organization`` and ``/directory/onPremisesSynchronization``.
"""

from __future__ import annotations

from planner.model.report import RuleInfo
from planner.rules.base import Result, always, rule
from planner.rules.context import RuleContext
from planner.syncstate import CONNECT_CHECK, SYNC_STALE_AFTER, sync_verdict


@rule(
    RuleInfo(
        id="WB-TEN-001",
        title="The tenant is directory-synced and the last sync is recent",
        criticality="SHALL",
        feature="tenant",
        rationale=(
            "Every writeback feature runs through Entra Connect: organization.onPremisesSyncEnabled must be "
            f"true and onPremisesLastSyncDateTime recent (within {int(SYNC_STALE_AFTER.total_seconds() // 3600)} "
            "hours of the observation; the default cycle is 30 minutes)."
        ),
        remediation=CONNECT_CHECK + ".",
        references=("M1", "S17c"),
        failure_modes=(),
    ),
    always,
)
def tenant_synced(ctx: RuleContext) -> list[Result]:
    """Sync enabled and fresh, relative to when the tenant was observed."""
    tenant = ctx.state.tenant
    address = f"tenant.organization[{ctx.policy.tenant.id}]"
    if tenant is None:
        return [
            Result(
                "unknown",
                address,
                "the tenant was not observed",
                verify_at=ctx.tenant_verify_at("tenant.organization"),
            )
        ]
    org = tenant.organization
    if org is None:
        u = ctx.unread("tenant.organization")
        return [
            Result(
                "unknown",
                address,
                f"the organization could not be read{': ' + u.reason if u else ''}",
                verify_at=ctx.tenant_verify_at("tenant.organization"),
            )
        ]
    verdict = sync_verdict(org, ctx.state.observed_at)
    return [
        Result(
            verdict.status,
            address,
            verdict.message,
            verdict.evidence,
            verify_at=ctx.tenant_verify_at("tenant.organization")
            if verdict.status == "unknown"
            else None,
        )
    ]


def _flag_off(ctx: RuleContext, flag: str, what: str) -> list[Result]:
    address = f"tenant.feature[{flag}]"
    sync = ctx.state.tenant.sync if ctx.state.tenant else None
    if sync is None:
        u = ctx.unread("tenant.sync")
        reason = u.reason if u else "the tenant was not observed"
        return [
            Result(
                "unknown",
                address,
                f"the sync feature flags could not be read: {reason}",
                verify_at=ctx.tenant_verify_at("tenant.sync"),
            )
        ]
    value = sync.features.get(flag)
    evidence = {flag: value}
    if value is True:
        return [
            Result("fail", address, f"{what} is enabled in the tenant ({flag} is true)", evidence)
        ]
    shown = "false" if value is False else "absent" if value is None else str(value)
    return [Result("pass", address, f"{what} is not enabled ({flag} is {shown})", evidence)]


@rule(
    RuleInfo(
        id="WB-USR-001",
        title="User writeback (withdrawn) is not enabled",
        criticality="SHALL",
        feature="user",
        rationale=(
            "The user writeback preview was removed in the August 2015 update of Azure AD Connect; "
            "Microsoft asks tenants that enabled it to disable it. features.userWritebackEnabled must be false."
        ),
        remediation=(
            "Turn the flag off: declare `writeback.user: {enabled: false}` and run `wbplan apply`, or PATCH "
            "/directory/onPremisesSynchronization/{id} with features.userWritebackEnabled false."
        ),
        references=("S25", "S36a"),
        failure_modes=("F19",),
    ),
    always,
)
def user_writeback_off(ctx: RuleContext) -> list[Result]:
    """features.userWritebackEnabled is not true."""
    return _flag_off(ctx, "userWritebackEnabled", "user writeback (withdrawn in 2015)")


@rule(
    RuleInfo(
        id="WB-GRP-003",
        title="Group writeback v2 (groupWriteBackEnabled) is not enabled",
        criticality="SHALL",
        feature="group",
        rationale=(
            "The group writeback v2 public preview is no longer available after June 30, 2024; security "
            "groups are written back by Cloud Sync 'Group Provision to Active Directory' instead."
        ),
        remediation=(
            "Migrate security-group writeback to Microsoft Entra Cloud Sync, then run "
            "`Set-ADSyncAADCompanyFeature -GroupWritebackV2 $false` on the Connect server; keep v1 for "
            "Microsoft 365 groups."
        ),
        references=("S20", "S18", "S21", "S36a"),
        failure_modes=("F15",),
    ),
    always,
)
def group_v2_off(ctx: RuleContext) -> list[Result]:
    """features.groupWriteBackEnabled is not true."""
    return _flag_off(ctx, "groupWriteBackEnabled", "group writeback v2 (retired)")
