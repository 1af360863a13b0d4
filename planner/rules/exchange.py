"""WB-EXH-001: Exchange hybrid writeback — the connector can read and write the Exchange hybrid
attributes on descendant user, inetOrgPerson, group and contact objects of each scope root
(Set-ADSyncExchangeHybridPermissions, domain.md §10)."""

from __future__ import annotations

from planner.model.policy import Policy
from planner.model.report import RuleInfo
from planner.rules.aces import deny_results, rights_results
from planner.rules.base import Result, rule
from planner.rules.context import RuleContext


def exchange_enabled(policy: Policy) -> bool:
    """Exchange hybrid writeback is declared and enabled."""
    wb = policy.writeback.exchange_hybrid
    return wb is not None and wb.enabled


@rule(
    RuleInfo(
        id="WB-EXH-001",
        title="The connector can read and write the Exchange hybrid attributes on user, inetOrgPerson, group and contact objects",
        criticality="SHALL",
        feature="exchange_hybrid",
        rationale=(
            "Exchange hybrid writeback writes msExch* attributes, proxyAddresses and msDS-ExternalDirectoryObjectId "
            "back to AD: the connector needs ReadProperty+WriteProperty on descendant user, inetOrgPerson, group "
            "and contact objects of every scope root. An ACE scoped to user does not reach inetOrgPerson."
        ),
        remediation=(
            "Run `wbplan apply`, or `Set-ADSyncExchangeHybridPermissions -ADConnectorAccountDN <connector DN> "
            "[-ADobjectDN <scope root>]` as a Domain Admin."
        ),
        references=("S2", "S1", "S26"),
        failure_modes=("F22",),
    ),
    exchange_enabled,
)
def exchange_rights(ctx: RuleContext) -> list[Result]:
    """One result per scope root."""
    return [
        *rights_results(
            ctx,
            ctx.resources_of("exchange_hybrid", "ad.ace", "exchange-hybrid"),
            "the Exchange hybrid rights",
        ),
        *deny_results(ctx, "exchange_hybrid"),
    ]
