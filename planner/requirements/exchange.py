"""Exchange hybrid writeback (domain.md §10): Exchange schema → ReadProperty+WriteProperty for
the connector on descendant user, inetOrgPerson, group and contact objects of each scope root
(Set-ADSyncExchangeHybridPermissions, dsacls ``RPWP;;<class> /I:S``)."""

from __future__ import annotations

from planner.model.plan import Resource
from planner.requirements.common import (
    Context,
    ace_resource,
    ad_object,
)
from planner.requirements.group import exchange_gate
from planner.requirements.scoped import At, below_root, placed_ace, placed_right, scoped
from planner.requirements.tenant import connect_option
from planner.rights import (
    READ_PROPERTY,
    WRITE_PROPERTY,
)

FEATURE = "exchange_hybrid"
CLASSES = ("user", "inetOrgPerson", "group", "contact")


ANALYSIS = "exchange"
PURPOSE = "exchange-hybrid"


def _grant(ctx: Context, *, root: str, dn: str, cls: str, at: At, remove: bool) -> Resource:
    """RPWP on ``cls`` objects: on descendants of ``dn`` (a scope root, or a container below it
    with inheritance disabled: -ADobjectDN), or on ``dn`` itself (an object with inheritance
    disabled: the cmdlet's /I:T form without class filter)."""
    guid = ctx.class_guid(cls)
    mask = READ_PROPERTY | WRITE_PROPERTY
    ace = placed_ace(at, mask, guid, cls)
    right = placed_right(at, f"read-write-{cls}", mask, guid)
    if at == "object":
        why = f"{dn} has inheritance disabled: the connector needs RPWP on the object itself to write the Exchange hybrid attributes"
    else:
        why = (
            f"Exchange hybrid writes msExch* attributes and proxyAddresses back to {cls} objects: RPWP on descendant {cls} objects"
            if at == "root"
            else f"{dn} has inheritance disabled, so the grant on {root} does not reach its {cls} objects: RPWP on descendant {cls} objects of {dn} itself"
        )
    return ace_resource(
        ctx,
        dn=dn,
        purpose=PURPOSE,
        name=f"read-write-{cls}",
        feature=FEATURE,
        why=why,
        references=("S1", "S26", "S2"),
        ace=ace,
        rights=(right,),
        depends_on=()
        if remove
        else (ctx.exchange_schema_address, ad_object(dn if at == "root" else root)),
        destroy=remove,
        desired=scoped(root, ANALYSIS, cls, "read-write", at),
    )


def expand(ctx: Context) -> list[Resource]:
    """Resources Exchange hybrid writeback needs."""
    wb = ctx.policy.writeback.exchange_hybrid
    if wb is None:
        return []
    remove = not wb.enabled and wb.remove_preparation
    if not wb.enabled and not remove:
        return []
    out: list[Resource] = [] if remove else [exchange_gate(ctx, FEATURE)]
    aces: list[str] = []
    for root in wb.scope or ctx.domain_roots:
        for cls in CLASSES:
            r = _grant(ctx, root=root, dn=root, cls=cls, at="root", remove=remove)
            out.append(r)
            aces.append(r.address)
        if remove:
            continue

        def build(grant: str, cls: str, dn: str, at: At, root: str = root) -> Resource:
            del grant  # one RPWP grant per class gives every attribute
            return _grant(ctx, root=root, dn=dn, cls=cls, at=at, remove=False)

        _present, below = below_root(
            ctx, root=root, analysis=ANALYSIS, purpose=PURPOSE, feature=FEATURE, build=build
        )
        out.extend(below)
        aces.extend(r.address for r in below)
    if not remove:
        out.append(
            connect_option(
                "exchange-hybrid",
                FEATURE,
                tuple(aces),
                "Entra Connect wizard → Optional features → Exchange hybrid deployment",
            )
        )
    return out
