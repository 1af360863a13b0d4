"""Password writeback (domain.md §3): per scope root, Reset Password + WriteProperty lockoutTime +
WriteProperty pwdLastSet inherited to descendant users, as Set-ADSyncPasswordWritebackPermissions
grants them (dsacls ``/I:S``); Unexpire Password on each domain root when asked; then the Connect
option and the SSPR on-premises toggle, neither of which any API exposes."""

from __future__ import annotations

from planner.model.plan import AceSpec, Resource, RightSpec
from planner.references import Confidence
from planner.requirements.common import (
    CI,
    Context,
    ace_resource,
    ad_object,
)
from planner.requirements.scoped import At, below_root, placed_ace, placed_right, scoped
from planner.requirements.tenant import connect_option
from planner.rights import (
    CONTROL_ACCESS,
    WRITE_PROPERTY,
)
from planner.scope_rights import PASSWORD_CLASSES, property_sets_of

FEATURE = "password"


GRANTS = (
    ("reset-password", CONTROL_ACCESS, "User-Force-Change-Password", "Reset Password"),
    ("write-lockoutTime", WRITE_PROPERTY, "lockoutTime", "lockoutTime"),
    ("write-pwdLastSet", WRITE_PROPERTY, "pwdLastSet", "pwdLastSet"),
)
PURPOSE = "password-writeback"
UNEXPIRE_NOTE = (
    "Microsoft documents the Unexpire Password right, not that Authenticated Users holds it by "
    "default; that default is observed on Samba 4.17 and in public domain-root dumps"
)
OTHER_CLASS_NOTE = (
    "Microsoft's cmdlet grants on user objects only; that such a grant misses other classes follows "
    "from inheritance matching the exact object class, and is confirmed on Samba 4.17"
)
SSPR_TOGGLE_NOTE = (
    "Microsoft documents no API for the toggle (Graph documents passwordWritebackEnabled as not in "
    "use); none was found, and public tools report the same"
)


def unexpire_ace(guid: str) -> AceSpec:
    """Unexpire Password on a domain root (``guid``: the right's id as the schema names it), as
    Set-ADSyncPasswordWritebackPermissions and Set-AADCloudSyncPermissions grant it."""
    return AceSpec(
        mask=CONTROL_ACCESS, flags=CI, object_type=guid, object_type_name="Unexpire Password"
    )


def unexpire_rights(guid: str) -> tuple[RightSpec, ...]:
    """The right :func:`unexpire_ace` gives, judged on the domain root itself."""
    return (
        RightSpec(
            name="unexpire-password", mask=CONTROL_ACCESS, object_type=guid, applies_to="object"
        ),
    )


def resource_name(operation: str, object_class: str) -> str:
    """Last part of a grant's address: ``reset-password`` for users (what the cmdlet grants),
    ``reset-password-inetOrgPerson`` for another class present in scope."""
    return operation if object_class == "user" else f"{operation}-{object_class}"


def _grant(
    ctx: Context,
    *,
    dn: str,
    scope: str,
    operation: tuple[str, int, str, str],
    object_class: str,
    at: At,
    remove: bool,
) -> Resource:
    """One grant of the three password writeback rights on ``dn``.

    ``at`` says where: ``root`` (a scope root: inherited by descendant objects of the class, as
    Set-ADSyncPasswordWritebackPermissions grants it with dsacls /I:S), ``container`` (an OU or
    container below the root whose DACL is protected: the same ACE, placed on it explicitly, as
    the cmdlet's -ADobjectDN does) or ``object`` (a user whose own DACL is protected: this
    object, no class filter — the cmdlet's /I:T form for a non-container target)."""
    name, mask, source, label = operation
    guid = ctx.right_guid(source) if mask == CONTROL_ACCESS else ctx.attribute_guid(source)
    sets = (
        tuple(sorted(property_sets_of(ctx.state, source)))
        if ctx.state and mask == WRITE_PROPERTY
        else ()
    )
    cls_guid = ctx.class_guid(object_class)
    right_words = "Reset Password" if mask == CONTROL_ACCESS else f"Write {label}"
    confidence: Confidence = "documented"
    note: str | None = None
    ace = placed_ace(at, mask, cls_guid, object_class, guid, label)
    spec = placed_right(at, name, mask, cls_guid, guid, sets)
    if at == "object":
        why = (
            f"{dn} has inheritance disabled, so no grant made above reaches it: the connector needs "
            f"{right_words} on the object itself (Set-ADSyncPasswordWritebackPermissions -ADobjectDN)"
        )
        refs: tuple[str, ...] = ("S1", "S2")
    elif at == "container":
        why = (
            f"{dn} has inheritance disabled, so the grant on {scope} does not reach the {object_class} objects "
            f"below it: the connector needs {right_words} on descendant {object_class} objects of {dn} itself "
            "(Set-ADSyncPasswordWritebackPermissions -ADobjectDN)"
        )
        refs = ("S1", "S2")
    elif object_class == "user":
        why = (
            f"The connector needs {right_words} on descendant user objects of each scope root "
            "(Set-ADSyncPasswordWritebackPermissions)"
        )
        refs = ("S29", "S1", "S2")
    else:
        why = (
            f"{object_class} objects are in scope, and an ACE scoped to user does not reach them (inheritance "
            f"matches the exact class): the connector needs {right_words} on descendant {object_class} objects"
        )
        refs = ("S1", "S2")
        confidence, note = "inferred", OTHER_CLASS_NOTE
    return ace_resource(
        ctx,
        dn=dn,
        purpose=PURPOSE,
        name=resource_name(name, object_class),
        feature=FEATURE,
        why=why,
        references=refs,
        confidence=confidence,
        confidence_note=note,
        ace=ace,
        rights=(spec,),
        depends_on=(ad_object(dn),) if at == "root" else (ad_object(scope),),
        destroy=remove,
        desired=scoped(scope, "password", object_class, name, at),
    )


def _per_object(ctx: Context, root: str) -> tuple[list[str], list[Resource]]:
    """Classes present under ``root`` and the grants / manual steps the per-object verdicts
    call for below it (planner.requirements.scoped)."""
    by_name = {g[0]: g for g in GRANTS}

    def build(grant: str, cls: str, dn: str, at: At) -> Resource:
        return _grant(
            ctx, dn=dn, scope=root, operation=by_name[grant], object_class=cls, at=at, remove=False
        )

    present, below = below_root(
        ctx, root=root, analysis="password", purpose=PURPOSE, feature=FEATURE, build=build
    )
    classes = ["user", *(c for c in present if c != "user" and c in PASSWORD_CLASSES)]
    return classes, below


def expand(ctx: Context) -> list[Resource]:
    """Resources password writeback needs."""
    wb = ctx.policy.writeback.password
    if wb is None:
        return []
    remove = not wb.enabled and wb.remove_preparation
    if not wb.enabled and not remove:
        return []
    out: list[Resource] = []
    aces: list[str] = []
    for root in wb.scope or ctx.domain_roots:
        # Removing takes back what wbplan may have granted at the root for every class.
        classes, below = _per_object(ctx, root) if not remove else (list(PASSWORD_CLASSES), [])
        for cls in classes:
            for grant in GRANTS:
                r = _grant(
                    ctx,
                    dn=root,
                    scope=root,
                    operation=grant,
                    object_class=cls,
                    at="root",
                    remove=remove,
                )
                out.append(r)
                aces.append(r.address)
        out.extend(below)
        aces.extend(r.address for r in below)
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
                    "Unexpire Password on the root of each domain; an existing Authenticated Users grant also "
                    "satisfies it"
                ),
                references=("S29", "M3", "S70"),
                confidence="observed",
                confidence_note=UNEXPIRE_NOTE,
                ace=unexpire_ace(guid),
                rights=unexpire_rights(guid),
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
            why="The SSPR 'Write back passwords to your on-premises directory' toggle is not in Graph; passwordWritebackEnabled is documented as unused",
            references=("S29", "S36a", "S45"),
            confidence="observed",
            confidence_note=SSPR_TOGGLE_NOTE,
            manageable=False,
            depends_on=("connect.option[password-writeback]", *ctx.licence_addresses()),
            desired={"enabled": True},
            instructions="Entra admin center → Protection → Password reset → On-premises integration → 'Write back passwords to your on-premises directory'",
        )
    )
    return out
