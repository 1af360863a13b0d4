"""Password writeback (domain.md §3, §1.6, §1.7): the connector's rights on descendant users of
each scope root (WB-PWD-001), protected OUs/containers that cut those rights off (WB-PWD-002),
AdminSDHolder-protected users (WB-PWD-003), Unexpire Password (WB-PWD-004), and the SSPR
on-premises toggle that no API exposes (WB-PWD-005)."""

from __future__ import annotations

from typing import Any, Literal

from planner.acewords import Names
from planner.model.dn import dn_key
from planner.model.plan import Resource
from planner.model.policy import Policy
from planner.model.report import RuleInfo
from planner.requirements.password import SSPR_TOGGLE_NOTE, UNEXPIRE_NOTE
from planner.rules.aces import connector_note, rights_results
from planner.rules.base import Result, rule
from planner.rules.context import VERIFY_AD, RuleContext
from planner.scope_rights import (
    ObjectVerdict,
    Operation,
    ScopeAnalysis,
    analyse,
    count_by_parent,
    find_scan,
)

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


def _grants(ctx: RuleContext, root: str | None = None, at: str | None = None) -> list[Resource]:
    """The planner's password grants (all, or those of one scope root / one placement)."""
    out = []
    for r in ctx.resources_of("password", "ad.ace", PURPOSE):
        if r.desired.get("grant") not in DESCENDANT_GRANTS:
            continue
        if root is not None and dn_key(str(r.desired.get("scope"))) != dn_key(root):
            continue
        if at is not None and r.desired.get("at") != at:
            continue
        out.append(r)
    return out


def _scope_roots(ctx: RuleContext) -> list[str]:
    roots: dict[str, str] = {}
    for r in _grants(ctx, at="root"):
        if r.dn is not None:
            roots.setdefault(dn_key(r.dn), r.dn)
    return list(roots.values())


def _scan_or_unknown(ctx: RuleContext, root: str) -> tuple[ScopeAnalysis | None, Result | None]:
    """(analysis, None) or (None, an unknown Result saying why there is none)."""
    ad = ctx.state.ad
    if ad is None:
        return None, Result(
            "unknown", root, "Active Directory was not observed", verify_at=VERIFY_AD
        )
    obj = ctx.index.object(root)
    if obj is not None and not obj.exists:
        return None, Result(
            "unknown",
            root,
            f"the scope root {root} does not exist (see WB-PWD-001)",
            verify_at=VERIFY_AD,
        )
    if find_scan(ctx.state, root) is None:
        u = ctx.unread(f"ad.scope[{root}]", f"ad.object[{root}]")
        return None, Result(
            "unknown",
            root,
            f"the objects under {root} could not be read{': ' + u.reason if u else ''}",
            verify_at=(u.verify_at if u and u.verify_at else VERIFY_AD),
        )
    analysis = analyse(ctx.state, root)
    if analysis is None:
        note = connector_note(ctx) or "the connector account could not be read"
        return None, Result(
            "unknown", root, f"no verdict under {root}: {note}", verify_at=VERIFY_AD
        )
    return analysis, None


def _labels(ops: tuple[Operation, ...]) -> dict[str, str]:
    return {op.name: op.label for op in ops}


def object_row(analysis: ScopeAnalysis, v: ObjectVerdict, names: Names) -> dict[str, Any]:
    """One object of a finding's evidence: its verdict per right, the deciding ACE in words
    and the object on which that ACE is explicit."""
    row: dict[str, Any] = {"dn": v.obj.dn, "class": v.obj.object_class, "governed_by": v.governing}
    for op, d in v.decisions.items():
        item: dict[str, Any] = {"verdict": d.state}
        if d.ace is not None:
            item["deciding_ace"] = names.ace(d.ace)
            item["explicit_on"] = analysis.origin_of(v, op)
        row[op] = item
    return row


def by_parent(dns: list[str], noun: str = "") -> str:
    """``3 objects below OU=A,…; 2 more elsewhere``: where ``dns`` are, by parent (the three
    largest), ``noun`` after each count when given."""
    groups = count_by_parent(dns, limit=3)
    counted = f" {noun}" if noun else ""
    parts = [f"{n}{counted} below {parent}" for parent, n in groups]
    shown = sum(n for _, n in groups)
    if shown < len(dns):
        parts.append(f"{len(dns) - shown} more elsewhere")
    return "; ".join(parts)


def _lacking_message(
    analysis: ScopeAnalysis, verdicts: list[ObjectVerdict], ops: list[str], labels: dict[str, str]
) -> str:
    rights = ", ".join(labels[o] for o in ops)
    return f"the connector lacks {rights} on {len(verdicts)} object(s) ({by_parent([v.obj.dn for v in verdicts], 'objects')})"


@rule(
    RuleInfo(
        id="WB-PWD-001",
        title="The connector holds Reset Password, write lockoutTime and write pwdLastSet on every user in each scope",
        criticality="SHALL",
        feature="password",
        rationale=(
            "Password writeback resets passwords as the AD DS connector account: it needs the Reset Password "
            "extended right and WriteProperty on lockoutTime and pwdLastSet on every user and inetOrgPerson it "
            "serves (Set-ADSyncPasswordWritebackPermissions grants them on descendant user objects of a scope "
            "root). wbplan evaluates each object's own DACL, as the DC does: rights held through groups, "
            "inherited from above or granted on the property set count; a deny ACE that comes first defeats "
            "them. Objects under an OU with inheritance disabled are WB-PWD-002; adminCount=1 users WB-PWD-003."
        ),
        remediation=(
            "Run `wbplan apply` for missing grants (at the scope root, for each object class present). A deny "
            "ACE named in the finding must be removed or narrowed by a person on the object it is explicit on "
            "(Active Directory Users and Computers → Security → Advanced)."
        ),
        references=("S29", "S2", "S1", "M4"),
        failure_modes=("F8",),
    ),
    password_enabled,
)
def password_rights(ctx: RuleContext) -> list[Result]:
    """Per scope root: pass, or one failure at the root (grants missing there) and one per
    object a deny ACE is explicit on."""
    out: list[Result] = []
    names = Names(ctx.state, ctx.policy.connector_account)
    for root in _scope_roots(ctx):
        root_grants = _grants(ctx, root, at="root")
        analysis, unknown = _scan_or_unknown(ctx, root)
        if analysis is None:
            # Without per-object verdicts the root's own ACEs still say something.
            base = rights_results(ctx, root_grants, "the password writeback rights")
            out.extend(r for r in base if r.status != "pass")
            if not any(r.status != "pass" for r in base) and unknown is not None:
                out.append(unknown)
            continue
        labels = _labels(analysis.operations)
        failing = [r for r in root_grants if ctx.outcome(r).action not in ("no-op", "read")]
        unreadable_root = [r for r in root_grants if ctx.outcome(r).action == "read"]
        if unreadable_root:
            base = rights_results(ctx, unreadable_root, "the password writeback rights")
            out.extend(r for r in base if r.status != "pass")
        governed = [
            v
            for (point, _cls, _op), vs in analysis.missing.items()
            if point == dn_key(root)
            for v in vs
        ]
        unique = list({v.key: v for v in governed}.values())
        deny_results = _deny_results(ctx, analysis, names, labels)
        if failing:
            ops = sorted({str(r.desired["grant"]) for r in failing}, key=list(labels).index)
            denied_here = [r for r in failing if ctx.outcome(r).action == "manual"]
            if unique:
                message = _lacking_message(analysis, unique, ops, labels) + f" under {root}"
            elif denied_here:
                message = f"a deny ACE at or above {root} defeats " + ", ".join(
                    labels[o] for o in ops
                )
            else:
                message = (
                    f"{root} does not pass {', '.join(labels[o] for o in ops)} on to new objects"
                )
            for r in denied_here:
                if ctx.outcome(r).instructions:
                    message += f" — {ctx.outcome(r).instructions}"
                    break
            out.append(
                Result(
                    "fail",
                    root,
                    message,
                    {
                        "connector": ctx.policy.connector_account,
                        "connector_sid": (
                            ctx.state.ad.connector.sid
                            if ctx.state.ad and ctx.state.ad.connector
                            else None
                        ),
                        "objects_lacking": len(unique),
                        "objects": [object_row(analysis, v, names) for v in unique],
                        "grants_planned": [r.address for r in failing],
                    },
                    fixed_by=tuple(r.address for r in failing),
                )
            )
        out.extend(deny_results)
        if analysis.unreadable:
            dns = [o.dn for o in analysis.unreadable]
            out.append(
                Result(
                    "unknown",
                    root,
                    f"the DACL of {len(dns)} object(s) under {root} could not be read ({by_parent(dns, 'objects')})",
                    {"objects": dns},
                    verify_at="grant the reading account 'Read permissions' on those objects",
                )
            )
        if not failing and not deny_results and not analysis.unreadable and not unreadable_root:
            counted = [v for v in analysis.verdicts if not v.obj.admin_count]
            held = [v for v in counted if all(d.state == "granted" for d in v.decisions.values())]
            outside = len(counted) - len(held)
            out.append(
                Result(
                    "pass",
                    root,
                    f"the connector holds the password writeback rights on {len(held)} object(s) under {root}"
                    + (
                        f" ({outside} more behind inheritance-disabled objects: WB-PWD-002)"
                        if outside
                        else ""
                    ),
                    {
                        "connector": ctx.policy.connector_account,
                        "connector_sid": (
                            ctx.state.ad.connector.sid
                            if ctx.state.ad and ctx.state.ad.connector
                            else None
                        ),
                        "objects_checked": len(counted),
                        "objects_granted": len(held),
                        "classes": analysis.classes_present(),
                        "distinct_dacls": len({v.obj.dacl for v in analysis.verdicts}),
                    },
                )
            )
    return out


def _deny_results(
    ctx: RuleContext, analysis: ScopeAnalysis, names: Names, labels: dict[str, str]
) -> list[Result]:
    """One failure per object a deny ACE is explicit on (the root for one inherited from above
    it), each matching the plan's manual ad.deny steps."""
    out = []
    by_origin: dict[str, list[tuple[str, list[ObjectVerdict]]]] = {}
    for (origin_key, op), verdicts in sorted(analysis.denied.items()):
        by_origin.setdefault(origin_key, []).append((op, verdicts))
    for origin_key, items in by_origin.items():
        origin = analysis.origins[origin_key]
        objects = list({v.key: v for _, vs in items for v in vs}.values())
        first = items[0][1][0].decisions[items[0][0]].ace
        rights = ", ".join(labels[op] for op, _ in items)
        where = (
            f"inherited from above {origin}"
            if origin_key in analysis.unlocated
            else f"explicit on {origin}"
        )
        out.append(
            Result(
                "fail",
                origin,
                f"{rights} denied on {len(objects)} object(s) ({by_parent([v.obj.dn for v in objects], 'objects')}) "
                f"by a deny ACE {where}: {names.ace(first) if first else 'deny'}",
                {
                    "scope_root": analysis.root,
                    "explicit_on": origin,
                    "deciding_ace": names.ace(first) if first else None,
                    "objects_denied": len(objects),
                    "objects": [object_row(analysis, v, names) for v in objects],
                    "manual_steps": [f"ad.deny[{origin}/{PURPOSE}/{op}]" for op, _ in items],
                },
                fixed_by=tuple(f"ad.deny[{origin}/{PURPOSE}/{op}]" for op, _ in items),
            )
        )
    return out


@rule(
    RuleInfo(
        id="WB-PWD-002",
        title="No object in scope has inheritance disabled without the password writeback rights",
        criticality="SHALL",
        feature="password",
        rationale=(
            "Rights granted on a scope root reach users only through inheritance; an OU, container or user "
            "whose DACL is protected (inheritance disabled) cuts them off for itself and every object below it, "
            "unless it carries the grants itself (Get-ADSyncObjectsWithInheritanceDisabled). wbplan reads the "
            "DACL of every container and every user in scope and names the object where the grant must go."
        ),
        remediation=(
            "Run `wbplan apply`: it grants the rights on the object with inheritance disabled. For an OU, a "
            "container or a user, `Set-ADSyncPasswordWritebackPermissions -ADConnectorAccountDN <connector DN> "
            "-ADobjectDN <that object>` grants the same; for an inetOrgPerson object it refuses (its ACEs are "
            "scoped to user), so use `wbplan apply PLAN --emit powershell` there. Or re-enable inheritance on it."
        ),
        references=("S1", "S2", "S29"),
        failure_modes=("F9",),
    ),
    password_enabled,
)
def protected_containers(ctx: RuleContext) -> list[Result]:
    """Per scope root: pass, or one failure per inheritance-disabled object whose objects lack
    the rights (one finding per object, so a waiver scoped to an OU covers what is under it)."""
    out = []
    names = Names(ctx.state, ctx.policy.connector_account)
    for root in _scope_roots(ctx):
        analysis, unknown = _scan_or_unknown(ctx, root)
        if analysis is None:
            assert unknown is not None
            out.append(unknown)
            continue
        labels = _labels(analysis.operations)
        root_key = dn_key(root)
        points: dict[str, list[tuple[str, list[ObjectVerdict]]]] = {}
        for (point_key, _cls, op), verdicts in sorted(analysis.missing.items()):
            if point_key != root_key:
                points.setdefault(point_key, []).append((op, verdicts))
        for point_key, _cls, op in sorted(analysis.gaps):
            if point_key != root_key:
                points.setdefault(point_key, []).append((op, []))
        scan = find_scan(ctx.state, root)
        assert scan is not None
        protected = [
            c.dn
            for c in scan.containers
            if c.dacl
            and ctx.state.ad is not None
            and (sd := ctx.state.ad.dacls.get(c.dacl))
            and sd.dacl_protected
        ]
        if not points:
            out.append(
                Result(
                    "pass",
                    root,
                    f"no object under {root} with inheritance disabled lacks the rights "
                    f"({len(protected)} container(s) with inheritance disabled)",
                    {
                        "protected_total": len(protected),
                        "protected_with_rights": protected[:LISTED],
                    },
                )
            )
        for point_key, items in points.items():
            point = analysis.points[point_key]
            objects = list({v.key: v for _, vs in items for v in vs}.values())
            ops = list(dict.fromkeys(op for op, _ in items))
            rights = ", ".join(labels[o] for o in ops)
            if objects:
                is_self = len(objects) == 1 and dn_key(objects[0].obj.dn) == point_key
                where = "" if is_self else f" ({by_parent([v.obj.dn for v in objects], 'objects')})"
                message = (
                    f"{point} (under {root}) has inheritance disabled: the connector lacks {rights} on "
                    f"{len(objects)} object(s){where}"
                )
            else:
                message = (
                    f"{point} (under {root}) has inheritance disabled and does not pass {rights} on to "
                    "objects created below it (none lacks them today)"
                )
            out.append(
                Result(
                    "fail",
                    point,
                    message,
                    {
                        "scope_root": root,
                        "missing": ops,
                        "objects_lacking": len(objects),
                        "objects": [object_row(analysis, v, names) for v in objects],
                    },
                )
            )
    return out


@rule(
    RuleInfo(
        id="WB-PWD-003",
        title="In-scope adminCount=1 users: the connector holds the rights on the user and on AdminSDHolder",
        criticality="SHOULD",
        feature="password",
        rationale=(
            "SDProp resets the DACL of AdminSDHolder-protected accounts (adminCount=1) to AdminSDHolder's every "
            "hour with inheritance disabled, so password writeback works for them only when both the object's "
            "DACL and AdminSDHolder's grant the connector the rights; by default neither does, by design. "
            "adminCount=1 can be stale on former administrators."
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
    """Per scope root: pass, or one result per adminCount=1 user lacking the rights."""
    out = []
    names = Names(ctx.state, ctx.policy.connector_account)
    for root in _scope_roots(ctx):
        analysis, unknown = _scan_or_unknown(ctx, root)
        if analysis is None:
            assert unknown is not None
            out.append(unknown)
            continue
        labels = _labels(analysis.operations)
        bad = [v for v in analysis.admin if not v.ok]
        if not bad:
            out.append(
                Result(
                    "pass",
                    root,
                    f"no adminCount=1 user under {root} lacks the rights "
                    f"({len(analysis.admin)} with adminCount=1, {len(analysis.verdicts)} objects)",
                    {"admin_count": len(analysis.admin), "users_total": len(analysis.verdicts)},
                )
            )
        for v in bad:
            mine = [labels[o] for o, d in v.decisions.items() if d.state != "granted"]
            held = [labels[o] for o, d in (v.holder or {}).items() if d.state != "granted"]
            unknown_holder = any(d.state == "unknown" for d in (v.holder or {}).values())
            parts = []
            if mine:
                parts.append(f"its own DACL lacks {', '.join(mine)}")
            if unknown_holder:
                parts.append(f"the DACL of {analysis.holder_dn} could not be read")
            elif held:
                parts.append(
                    f"{analysis.holder_dn} lacks {', '.join(held)} (SDProp copies it onto the user)"
                )
            status: Literal["fail", "unknown"] = (
                "unknown" if unknown_holder and not mine else "fail"
            )
            out.append(
                Result(
                    status,
                    v.obj.dn,
                    f"{v.obj.dn} (under {root}) has adminCount=1: " + "; ".join(parts),
                    {
                        "scope_root": root,
                        "adminCount": 1,
                        "object": object_row(analysis, v, names),
                        "admin_sd_holder": analysis.holder_dn,
                        "admin_sd_holder_lacks": held,
                    },
                    verify_at=VERIFY_AD if status == "unknown" else None,
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
            "does not grant it; an existing Authenticated Users grant also satisfies it (a default seen on "
            "domain roots, which Microsoft does not document)."
        ),
        remediation=(
            "Run `wbplan apply`, or grant the connector 'Unexpire Password' on the domain root (Active Directory "
            "Users and Computers → Security → Advanced)."
        ),
        references=("S29", "M3", "S70"),
        confidence="observed",
        confidence_note=UNEXPIRE_NOTE,
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
        confidence="observed",
        confidence_note=SSPR_TOGGLE_NOTE,
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
