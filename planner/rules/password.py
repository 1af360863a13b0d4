"""Password writeback (domain.md §3, §1.6, §1.7): the connector's rights on descendant users of
each scope root (WB-PWD-001), protected OUs/containers that cut those rights off (WB-PWD-002),
AdminSDHolder-protected users (WB-PWD-003), Unexpire Password (WB-PWD-004), and the SSPR
on-premises toggle that no API exposes (WB-PWD-005)."""

from __future__ import annotations

from planner.diff.ad import connector_sids
from planner.model.dn import dn_key
from planner.model.plan import Resource
from planner.model.policy import Policy
from planner.model.report import RuleInfo
from planner.model.state import ScopeScan
from planner.rights import Right, rights_on_new_child
from planner.rules.aces import rights_results
from planner.rules.base import Result, rule
from planner.rules.context import VERIFY_AD, RuleContext

PURPOSE = "password-writeback"
DESCENDANT_GRANTS = ("reset-password", "write-lockoutTime", "write-pwdLastSet")
LISTED = 50
"""At most this many DNs are listed in a passing finding's evidence."""
SSPR_VERIFY_AT = (
    "Entra admin center (https://entra.microsoft.com) → Protection → Password reset → On-premises "
    "integration → 'Write back passwords to your on-premises directory'"
)


def password_enabled(policy: Policy) -> bool:
    """Password writeback is declared and enabled."""
    return policy.writeback.password is not None and policy.writeback.password.enabled


def _descendant_grants(ctx: RuleContext) -> list[Resource]:
    return [
        r
        for r in ctx.resources_of("password", "ad.ace", PURPOSE)
        if r.address.removesuffix("]").rsplit("/", 1)[-1] in DESCENDANT_GRANTS
    ]


@rule(
    RuleInfo(
        id="WB-PWD-001",
        title="The connector holds Reset Password, write lockoutTime and write pwdLastSet on descendant users of each scope root",
        criticality="SHALL",
        feature="password",
        rationale=(
            "Password writeback resets passwords as the AD DS connector account: it needs the Reset Password "
            "extended right and WriteProperty on lockoutTime and pwdLastSet, inherited to descendant user "
            "objects of every scope root (Set-ADSyncPasswordWritebackPermissions). Rights held through groups "
            "or inherited from above count; an explicit deny defeats them."
        ),
        remediation=(
            "Run `wbplan apply`, or `Set-ADSyncPasswordWritebackPermissions -ADConnectorAccountDN <connector DN> "
            "[-ADobjectDN <scope root>]` (ADSyncConfig) as a Domain Admin."
        ),
        references=("S29", "S2", "S1"),
        failure_modes=("F8",),
    ),
    password_enabled,
)
def password_rights(ctx: RuleContext) -> list[Result]:
    """One result per scope root."""
    return rights_results(ctx, _descendant_grants(ctx), "the password writeback rights")


def _scope_roots(ctx: RuleContext) -> list[str]:
    roots: dict[str, str] = {}
    for r in _descendant_grants(ctx):
        if r.dn is not None:
            roots.setdefault(dn_key(r.dn), r.dn)
    return list(roots.values())


def _scan_or_unknown(ctx: RuleContext, root: str) -> tuple[ScopeScan | None, Result | None]:
    """(scan, None) or (None, an unknown/fail Result)."""
    ad = ctx.state.ad
    if ad is None:
        return None, Result(
            "unknown", root, "Active Directory was not observed", verify_at=VERIFY_AD
        )
    for scan in ad.scopes:
        if dn_key(scan.root) == dn_key(root):
            return scan, None
    obj = ctx.index.object(root)
    if obj is not None and not obj.exists:
        return None, Result(
            "unknown",
            root,
            f"the scope root {root} does not exist (see WB-PWD-001)",
            verify_at=VERIFY_AD,
        )
    u = ctx.unread(f"ad.scope[{root}]", f"ad.object[{root}]")
    return None, Result(
        "unknown",
        root,
        f"the scope {root} could not be scanned{': ' + u.reason if u else ''}",
        verify_at=(u.verify_at if u and u.verify_at else VERIFY_AD),
    )


@rule(
    RuleInfo(
        id="WB-PWD-002",
        title="No OU or container under a scope root has inheritance disabled without the password writeback rights",
        criticality="SHALL",
        feature="password",
        rationale=(
            "Rights granted on a scope root reach users only through inheritance; an OU or container whose DACL "
            "is protected (inheritance disabled) cuts them off for every user below it, unless it carries the "
            "grants itself (Get-ADSyncObjectsWithInheritanceDisabled). Users' own DACLs are not read (cost at "
            "scale); AdminSDHolder-protected users are WB-PWD-003."
        ),
        remediation=(
            "Re-enable inheritance on the object, or grant the rights on it with "
            "`Set-ADSyncPasswordWritebackPermissions -ADConnectorAccountDN <connector DN> -ADobjectDN <object DN>`."
        ),
        references=("S1", "S2", "S29"),
        failure_modes=("F9",),
    ),
    password_enabled,
)
def protected_containers(ctx: RuleContext) -> list[Result]:
    """One result per scope root listing protected objects that lack the rights."""
    grants = _descendant_grants(ctx)
    sids = connector_sids(ctx.index) or []
    user_class = grants[0].rights[0].target_class if grants else None
    # The same three rights at every root: the requirement's own specs (GUIDs resolved from the
    # observed schema), deduplicated by name.
    rights = list(
        {s.name: Right(s.name, s.mask, s.object_type) for r in grants for s in r.rights}.values()
    )
    out = []
    for root in _scope_roots(ctx):
        scan, unknown = _scan_or_unknown(ctx, root)
        if unknown is not None:
            out.append(unknown)
            continue
        assert scan is not None and user_class is not None
        lacking: list[dict[str, object]] = []
        granted: list[str] = []
        for obj in scan.protected_objects:
            if obj.security is None:
                continue
            check = rights_on_new_child(obj.security, sids, user_class, rights)
            if check.ok:
                granted.append(obj.dn)
            else:
                lacking.append(
                    {"dn": obj.dn, "missing": sorted(check.missing), "denied": sorted(check.denied)}
                )
        if not lacking:
            out.append(
                Result(
                    "pass",
                    root,
                    f"no object under {root} with inheritance disabled lacks the rights "
                    f"({len(scan.protected_objects)} protected)",
                    {
                        "protected_total": len(scan.protected_objects),
                        "protected_with_rights": granted[:LISTED],
                    },
                )
            )
        # One finding per object, so that a waiver scoped to an OU covers exactly what is under it.
        for item in lacking:
            out.append(
                Result(
                    "fail",
                    str(item["dn"]),
                    f"{item['dn']} (under {root}) has inheritance disabled and does not pass the password "
                    "writeback rights on to its users",
                    {**item, "scope_root": root},
                )
            )
    return out


@rule(
    RuleInfo(
        id="WB-PWD-003",
        title="In-scope users with adminCount=1 are listed: writeback fails for them by design",
        criticality="SHOULD",
        feature="password",
        rationale=(
            "AdminSDHolder-protected accounts (adminCount=1) get their DACL reset every hour with inheritance "
            "disabled, so the connector cannot reset their passwords; this is by design. adminCount=1 can be "
            "stale on former administrators."
        ),
        remediation=(
            "Keep privileged accounts out of SSPR writeback (they should reset on-premises); for former "
            "administrators, clear adminCount and re-enable inheritance on the user object."
        ),
        references=("S30", "S42"),
        failure_modes=("F10",),
    ),
    password_enabled,
)
def protected_users(ctx: RuleContext) -> list[Result]:
    """One result per scope root listing adminCount=1 users."""
    out = []
    for root in _scope_roots(ctx):
        scan, unknown = _scan_or_unknown(ctx, root)
        if unknown is not None:
            out.append(unknown)
            continue
        assert scan is not None
        users = list(scan.admin_count_users)
        if not users:
            out.append(
                Result(
                    "pass",
                    root,
                    f"no user under {root} has adminCount=1 ({scan.users_total} users)",
                    {"users_total": scan.users_total},
                )
            )
        # One finding per user: a waiver scoped to the administrators' OU covers them.
        for dn in users:
            out.append(
                Result(
                    "fail",
                    dn,
                    f"{dn} (under {root}) has adminCount=1: password writeback fails for it by design",
                    {"scope_root": root, "adminCount": 1},
                )
            )
    return out


def unexpire_requested(policy: Policy) -> bool:
    """Password writeback is enabled with ``unexpire_password: true``."""
    wb = policy.writeback.password
    return wb is not None and wb.enabled and wb.unexpire_password


@rule(
    RuleInfo(
        id="WB-PWD-004",
        title="Unexpire Password on each domain root when the policy asks for it",
        criticality="SHALL",
        feature="password",
        rationale=(
            "The SSPR tutorial lists the Unexpire Password extended right on the root of each domain. The cmdlet "
            "does not grant it; an existing Authenticated Users grant also satisfies it (a default observed in "
            "public dumps, UNCONFIRMED as documented)."
        ),
        remediation=(
            "Run `wbplan apply`, or grant the connector 'Unexpire Password' on the domain root (Active Directory "
            "Users and Computers → Security → Advanced)."
        ),
        references=("S29", "S70", "S16"),
        failure_modes=("F8",),
    ),
    unexpire_requested,
)
def unexpire_password(ctx: RuleContext) -> list[Result]:
    """One result per domain root."""
    grants = [
        r
        for r in ctx.resources_of("password", "ad.ace", PURPOSE)
        if r.address.endswith("/unexpire-password]")
    ]
    return rights_results(ctx, grants, "Unexpire Password")


@rule(
    RuleInfo(
        id="WB-PWD-005",
        title="SSPR on-premises writeback toggle (not verifiable remotely)",
        criticality="SHALL",
        feature="password",
        rationale=(
            "Password writeback also needs 'Write back passwords to your on-premises directory' in the SSPR "
            "on-premises integration settings. No Microsoft Graph API exposes it and "
            "features.passwordWritebackEnabled is documented as unused, so this is always unknown: a person "
            "verifies it."
        ),
        remediation=f"Verify by hand: {SSPR_VERIFY_AT}.",
        references=("S29", "S36a", "S45"),
        failure_modes=("F24",),
    ),
    password_enabled,
)
def sspr_toggle(ctx: RuleContext) -> list[Result]:
    """Always unknown (domain.md §2.4)."""
    address = "tenant.sspr[on-premises-writeback]"
    u = ctx.unread(address)
    return [
        Result(
            "unknown",
            address,
            "no Microsoft Graph API exposes the SSPR on-premises writeback toggle "
            "(passwordWritebackEnabled is documented as unused, so it is not evidence)",
            verify_at=u.verify_at if u and u.verify_at else SSPR_VERIFY_AT,
        )
    ]
