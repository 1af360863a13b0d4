"""Exchange hybrid writeback (domain.md §10): Exchange schema → ReadProperty+WriteProperty for
the connector on descendant user, inetOrgPerson, group and contact objects of each scope root
(Set-ADSyncExchangeHybridPermissions, dsacls ``RPWP;;<class> /I:S``)."""

from __future__ import annotations

from planner.model.plan import AceSpec, Resource, RightSpec
from planner.requirements.common import (
    CI_IO,
    Context,
    ace_resource,
    ad_object,
)
from planner.requirements.group import exchange_gate
from planner.requirements.tenant import connect_option
from planner.rights import (
    READ_PROPERTY,
    WRITE_PROPERTY,
)

FEATURE = "exchange_hybrid"
CLASSES = ("user", "inetOrgPerson", "group", "contact")


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
            guid = ctx.class_guid(cls)
            r = ace_resource(
                ctx,
                dn=root,
                purpose="exchange-hybrid",
                name=f"read-write-{cls}",
                feature=FEATURE,
                why=f"Exchange hybrid writes msExch* attributes and proxyAddresses back to {cls} objects: RPWP on descendant {cls} objects (domain.md §10 [S2][S1])",
                ace=AceSpec(
                    mask=READ_PROPERTY | WRITE_PROPERTY,
                    flags=CI_IO,
                    inherited_object_type=guid,
                    inherited_object_type_name=cls,
                ),
                rights=(
                    RightSpec(
                        name=f"read-write-{cls}",
                        mask=READ_PROPERTY | WRITE_PROPERTY,
                        applies_to="descendants",
                        target_class=guid,
                    ),
                ),
                depends_on=() if remove else (ctx.exchange_schema_address, ad_object(root)),
                destroy=remove,
            )
            out.append(r)
            aces.append(r.address)
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
