"""The AD DS connector account and the Entra Connect server: the account exists (WB-CON-001)
and the Connect version clears the feature gates (WB-CON-002, domain.md §12.2 item 9): the version
the server's own evidence reports passes or fails; a declared version is "declared, not verified"
unless it fails the gates. The other Connect server rules are in ``connect_server``.
"""

from __future__ import annotations

from planner.connect.verdicts import evidence_version, fact_text, freshness, stale_note
from planner.connectversion import UPGRADE, parse_version, problems_for, version_problems
from planner.model.policy import Policy
from planner.model.report import RuleInfo
from planner.rules.base import Result, rule
from planner.rules.context import VERIFY_AD, RuleContext

AD_FEATURES = ("password", "device", "group", "exchange_hybrid", "ngc_keys", "hybrid_join")
VERSION_VERIFY_AT = (
    "on the Entra Connect server: Control Panel → Programs and Features → 'Microsoft Entra Connect Sync' "
    "version, or (Get-ADSyncGlobalSettings).Parameters | ? Name -eq 'Microsoft.Synchronize.ServerConfigurationVersion'"
)
# Version gates (domain.md §3, §4, §12.2 item 9): password writeback is unsupported up to and
# including 1.0.8641.0 (it relied on the retired Azure ACS) [S32]; device options need 1.1.819.0 [S4].


def _enabled(policy: Policy, name: str) -> bool:
    f = getattr(policy.writeback, name)
    return f is not None and bool(f.enabled)


def ad_feature_enabled(policy: Policy) -> bool:
    """Some enabled feature grants rights to, or needs, the connector account."""
    return any(_enabled(policy, n) for n in AD_FEATURES)


@rule(
    RuleInfo(
        id="WB-CON-001",
        title="The AD DS connector account named in the policy exists",
        criticality="SHALL",
        feature="connector",
        rationale=(
            "Every writeback right is granted to the AD DS connector account, which cannot be discovered from "
            "Graph; the policy names it, and it must exist (looked up by sAMAccountName, UPN or DN)."
        ),
        remediation=(
            "Name the account Entra Connect actually uses (on the Connect server: Get-ADSyncADConnectorAccount), "
            "or create it."
        ),
        references=("S1", "S2"),
        failure_modes=("F8",),
    ),
    ad_feature_enabled,
)
def connector_exists(ctx: RuleContext) -> list[Result]:
    """The observer's connector lookup."""
    account = ctx.policy.connector_account
    address = f"ad.connector[{account}]"
    ad = ctx.state.ad
    if ad is None or ad.connector is None:
        u = ctx.unread("ad.connector")
        return [
            Result(
                "unknown",
                address,
                "the connector account was not looked up" + (f": {u.reason}" if u else ""),
                verify_at=VERIFY_AD,
            )
        ]
    c = ad.connector
    evidence = {"dn": c.dn, "sid": c.sid, "groups": len(c.token_groups)}
    if not c.found:
        return [Result("fail", address, f"no account {account} was found in the forest", evidence)]
    return [Result("pass", address, f"{account} is {c.dn}", evidence)]


def _version(text: str) -> tuple[int, ...] | None:
    return parse_version(text)


def version_gated(policy: Policy) -> bool:
    """A feature with a Connect version gate is enabled."""
    return _enabled(policy, "password") or _enabled(policy, "device")


@rule(
    RuleInfo(
        id="WB-CON-002",
        title="The Entra Connect version supports the enabled writeback features",
        criticality="SHALL",
        feature="connect",
        rationale=(
            "Connect up to 1.0.8641.0 relied on the retired Azure ACS and cannot do password writeback; device "
            "writeback options need 1.1.819.0 or later. No API exposes the installed version: it passes only on "
            "the Connect server's own evidence (its installed version, imported with wbplan refresh "
            "--connect-evidence); a version the policy declares (connect.version) is declared, not verified."
        ),
        remediation=UPGRADE + ".",
        references=("S32", "S4", "S33", "S3", "M8"),
        failure_modes=("F11", "F12"),
    ),
    version_gated,
)
def connect_version(ctx: RuleContext) -> list[Result]:
    """Compare the version the Connect evidence reports (else the declared one) with the gates
    of the enabled features."""
    declared = ctx.policy.connect.version
    address = "connect.version[]"
    reported = evidence_version(ctx.state)
    if reported is not None and isinstance(reported.value, str):
        found = problems_for(ctx.policy, reported.value)
        if found is not None:
            fresh = freshness(ctx.state)
            evidence = {
                "version": reported.value,
                "evidence": fact_text(reported, fresh),
                "declared": declared,
                "problems": found,
            }
            also = (
                f" (the policy declares {declared})"
                if declared is not None and declared.strip() != reported.value
                else ""
            )
            if found:
                return [
                    Result(
                        "fail",
                        address,
                        f"Connect {reported.value} on the server{also}: " + "; ".join(found),
                        evidence,
                    )
                ]
            return [
                Result(
                    "pass",
                    address,
                    f"Connect {reported.value} on the server supports the enabled features{also} "
                    f"({reported.cmdlet}, {fresh.describe()})",
                    evidence,
                )
            ]
    fresh = freshness(ctx.state)
    stale = f"; {stale_note(fresh)}" if fresh.evidence is not None and fresh.usable is None else ""
    if declared is None:
        return [
            Result(
                "unknown",
                address,
                "the policy does not declare connect.version and no API exposes it" + stale,
                verify_at=VERSION_VERIFY_AT,
            )
        ]
    version = _version(declared)
    if version is None:
        return [
            Result(
                "fail",
                address,
                f"connect.version {declared!r} is not a version number",
                {"declared": declared},
            )
        ]
    problems = version_problems(ctx.policy) or []
    evidence = {"declared": declared, "problems": problems}
    if problems:
        return [Result("fail", address, f"Connect {declared}: " + "; ".join(problems), evidence)]
    return [
        Result(
            "unknown",
            address,
            f"Connect {declared} is declared, not verified: that version supports the enabled "
            "features, but no evidence from the Connect server shows it is the one installed"
            + stale,
            evidence,
            verify_at=VERSION_VERIFY_AT + "; or import the server's evidence: wbplan "
            "connect-collector, then wbplan refresh --connect-evidence FILE",
        )
    ]
