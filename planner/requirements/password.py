"""Password writeback (domain.md §3): per scope root, Reset Password + WriteProperty lockoutTime +
WriteProperty pwdLastSet inherited to descendant users, as Set-ADSyncPasswordWritebackPermissions
grants them (dsacls ``/I:S``); Unexpire Password on each domain root when asked; then the Connect
option and the SSPR on-premises toggle, neither of which any API exposes."""

from __future__ import annotations

from planner.model.plan import AceSpec, Resource, RightSpec
from planner.requirements.common import (
    CI,
    CI_IO,
    Context,
    ace_resource,
    ad_object,
)
from planner.requirements.tenant import connect_option
from planner.rights import (
    CONTROL_ACCESS,
    WRITE_PROPERTY,
)

FEATURE = "password"


def expand(ctx: Context) -> list[Resource]:
    """Resources password writeback needs."""
    wb = ctx.policy.writeback.password
    if wb is None:
        return []
    remove = not wb.enabled and wb.remove_preparation
    if not wb.enabled and not remove:
        return []
    user = ctx.class_guid("user")
    grants = (
        (
            "reset-password",
            CONTROL_ACCESS,
            ctx.right_guid("User-Force-Change-Password"),
            "Reset Password",
        ),
        ("write-lockoutTime", WRITE_PROPERTY, ctx.attribute_guid("lockoutTime"), "lockoutTime"),
        ("write-pwdLastSet", WRITE_PROPERTY, ctx.attribute_guid("pwdLastSet"), "pwdLastSet"),
    )
    out: list[Resource] = []
    aces: list[str] = []
    for root in wb.scope or ctx.domain_roots:
        for name, mask, guid, label in grants:
            r = ace_resource(
                ctx,
                dn=root,
                purpose="password-writeback",
                name=name,
                feature=FEATURE,
                why=(
                    f"The connector needs {'Reset Password' if mask == CONTROL_ACCESS else 'Write ' + label} on descendant "
                    "user objects of each scope root (Set-ADSyncPasswordWritebackPermissions, domain.md §3 [S2][S29])"
                ),
                ace=AceSpec(
                    mask=mask,
                    flags=CI_IO,
                    object_type=guid,
                    inherited_object_type=user,
                    object_type_name=label,
                    inherited_object_type_name="user",
                ),
                rights=(
                    RightSpec(
                        name=name,
                        mask=mask,
                        object_type=guid,
                        applies_to="descendants",
                        target_class=user,
                    ),
                ),
                depends_on=(ad_object(root),),
                destroy=remove,
            )
            out.append(r)
            aces.append(r.address)
    if wb.unexpire_password:
        for root in ctx.domain_roots:
            guid = ctx.right_guid("Unexpire-Password")
            r = ace_resource(
                ctx,
                dn=root,
                purpose="password-writeback",
                name="unexpire-password",
                feature=FEATURE,
                why=(
                    "Unexpire Password on the root of each domain; an existing Authenticated Users grant also satisfies it "
                    "(domain.md §3; that default is UNCONFIRMED [S70])"
                ),
                ace=AceSpec(
                    mask=CONTROL_ACCESS,
                    flags=CI,
                    object_type=guid,
                    object_type_name="Unexpire Password",
                ),
                rights=(
                    RightSpec(
                        name="unexpire-password",
                        mask=CONTROL_ACCESS,
                        object_type=guid,
                        applies_to="object",
                    ),
                ),
                depends_on=(ad_object(root),),
                destroy=remove,
            )
            out.append(r)
            aces.append(r.address)
    if remove:
        return out
    out.append(
        connect_option(
            "password-writeback",
            FEATURE,
            tuple(aces),
            "Entra Connect wizard → Customize synchronization options → Optional features → Password writeback",
        )
    )
    out.append(
        Resource(
            address="tenant.sspr[on-premises-writeback]",
            type="tenant.sspr",
            provider="tenant",
            features=(FEATURE,),
            why="The SSPR 'Write back passwords to your on-premises directory' toggle is not in Graph; passwordWritebackEnabled is documented as unused (domain.md §2.2, §2.4)",
            manageable=False,
            depends_on=("connect.option[password-writeback]", *ctx.licence_addresses()),
            desired={"enabled": True},
            instructions="Entra admin center → Protection → Password reset → On-premises integration → 'Write back passwords to your on-premises directory'",
        )
    )
    return out
