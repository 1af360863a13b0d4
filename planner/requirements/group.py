"""Group writeback v1 (domain.md §7): Exchange schema gate → the writeback OU → connector ACEs
(create/delete group children on the OU; GR/GW/Delete/DeleteTree on descendant groups) →
``NewUnifiedGroupWritebackDefault`` **before** → ``unifiedGroupWritebackEnabled``.

Setting the default before the feature matters: turning the feature on while the default is
unset writes back every existing Microsoft 365 group (domain.md §2.3, [S18]).
"""

from __future__ import annotations

from planner.model.plan import AceSpec, Resource, RightSpec
from planner.model.state import NEW_GROUP_WRITEBACK_DEFAULT
from planner.requirements.common import (
    CI,
    EXCHANGE_MIN_RANGE_UPPER,
    Context,
    ace_resource,
    ad_object,
)
from planner.requirements.scoped import At, below_root, placed_ace, placed_right, scoped
from planner.requirements.tenant import connect_option, feature_flag
from planner.rights import (
    CREATE_CHILD,
    DELETE,
    DELETE_CHILD,
    DELETE_TREE,
    DS_GENERIC_READ,
    DS_GENERIC_WRITE,
    READ_PROPERTY,
    WRITE_PROPERTY,
)

FEATURE = "group"
PURPOSE = "group-writeback"
SETTING_ADDRESS = f"tenant.setting[Group.Unified/{NEW_GROUP_WRITEBACK_DEFAULT}]"


def exchange_gate(ctx: Context, feature: str) -> Resource:
    """Exchange schema present with ms-Exch-Schema-Version-Pt rangeUpper ≥ 15312 (manual)."""
    return Resource(
        address=ctx.exchange_schema_address,
        type="ad.exchange_schema",
        provider="ad",
        features=(feature,),
        why=(
            "Group writeback v1 and Exchange hybrid need the Exchange schema; rangeUpper ≥ 15312 (Exchange 2013 CU7+; "
            "CU7 cannot be told apart from CU8 in AD)"
        ),
        references=("S17c", "S17a", "S17b", "S19"),
        manageable=False,
        desired={"min_range_upper": EXCHANGE_MIN_RANGE_UPPER},
        instructions="Extend the schema with a supported Exchange release: `Setup.exe /PrepareSchema /IAcceptExchangeServerLicenseTerms`",
    )


def expand(ctx: Context) -> list[Resource]:
    """Resources group writeback needs."""
    wb = ctx.policy.writeback.group
    if wb is None or wb.version != "v1":
        return []  # v2 is refused by policy validation
    flag_name = "unifiedGroupWritebackEnabled"
    container = wb.container
    if not wb.enabled:
        off = feature_flag(
            ctx,
            flag_name,
            False,
            FEATURE,
            "Group writeback is declared off; the next sync cycle then deletes the groups it wrote back",
            (),
            references=("S19", "S36a"),
        )
        if wb.remove_preparation and container:
            # The connector's rights go only after the feature is off: removing them while
            # writeback still runs makes every export into the OU fail (and it is these rights
            # that let the sync delete the groups it wrote back, domain.md §7 [S19]).
            return [off, *_aces(ctx, container, destroy=True, after=(off.address,))]
        return [off]
    assert container is not None  # guaranteed by policy validation (WBP033)
    gate = exchange_gate(ctx, FEATURE)
    ou = Resource(
        address=ad_object(container),
        type="ad.object",
        provider="ad",
        features=(FEATURE,),
        why="Group writeback v1 writes Microsoft 365 groups into one admin-selected OU",
        references=("S19",),
        manageable=True,
        dn=container,
        desired={"objectClass": "organizationalUnit"},
        depends_on=(gate.address,),
    )
    aces = _aces(ctx, container, destroy=False)

    def build(grant: str, cls: str, dn: str, at: At) -> Resource:
        del grant, cls  # one grant: manage the groups
        return _manage(ctx, container, dn=dn, at=at, destroy=False, deps=(ad_object(container),))

    _present, below = below_root(
        ctx, root=container, analysis="group", purpose=PURPOSE, feature=FEATURE, build=build
    )
    aces += below
    setting = Resource(
        address=SETTING_ADDRESS,
        type="tenant.setting",
        provider="tenant",
        features=(FEATURE,),
        why="NewUnifiedGroupWritebackDefault must be set before the feature is enabled, or every existing M365 group is written back",
        references=("S18", "S40"),
        manageable=True,
        desired={"value": wb.new_group_default},
        depends_on=ctx.licence_addresses(),
    )
    flag = feature_flag(
        ctx,
        flag_name,
        True,
        FEATURE,
        "features.unifiedGroupWritebackEnabled is the tenant's record of Microsoft 365 group writeback; it does not "
        "enable the feature by itself: Microsoft's documented step is the Connect wizard's Group writeback option "
        "(connect.option[group-writeback]), which is still required",
        (ou.address, *(a.address for a in aces), setting.address),
        references=("S36a", "S19"),
    )
    option = connect_option(
        "group-writeback",
        FEATURE,
        (flag.address,),
        "Entra Connect wizard → Optional features → Group writeback → select the writeback OU",
    )
    return [gate, ou, *aces, setting, flag, option]


def _aces(
    ctx: Context, container: str, *, destroy: bool, after: tuple[str, ...] = ()
) -> list[Resource]:
    group = ctx.class_guid("group")
    deps = (ad_object(container), *after)
    create = ace_resource(
        ctx,
        dn=container,
        purpose="group-writeback",
        name="create-delete-groups",
        feature=FEATURE,
        why=(
            "The connector creates and deletes group objects in the writeback OU; an ACE scoped to descendant groups "
            "alone does not grant CreateChild on the OU"
        ),
        references=("S19", "S1", "S2"),
        confidence="inferred",
        confidence_note=(
            "Microsoft's cmdlet grants the rights on the OU; that a grant scoped to descendant groups "
            "does not let the connector create them follows from how CreateChild is checked on the parent"
        ),
        ace=AceSpec(
            mask=CREATE_CHILD | DELETE_CHILD, flags=CI, object_type=group, object_type_name="group"
        ),
        rights=(
            RightSpec(
                name="create-groups", mask=CREATE_CHILD, object_type=group, applies_to="object"
            ),
            RightSpec(
                name="delete-groups", mask=DELETE_CHILD, object_type=group, applies_to="object"
            ),
        ),
        depends_on=deps,
        destroy=destroy,
    )
    manage = _manage(ctx, container, dn=container, at="root", destroy=destroy, deps=deps)
    return [create, manage]


def _manage(
    ctx: Context, container: str, *, dn: str, at: At, destroy: bool, deps: tuple[str, ...]
) -> Resource:
    """GR GW SD DT on the groups: on descendant groups of ``dn`` (the writeback OU, or an OU
    below it with inheritance disabled), or on ``dn`` itself (a group with inheritance
    disabled)."""
    group = ctx.class_guid("group")
    mask = DS_GENERIC_READ | DS_GENERIC_WRITE | DELETE | DELETE_TREE
    ace = placed_ace(at, mask, group, "group")
    rights = (
        placed_right(at, "read-write-groups", READ_PROPERTY | WRITE_PROPERTY, group),
        placed_right(at, "delete-groups-tree", DELETE | DELETE_TREE, group),
    )
    if at == "object":
        why = f"{dn} has inheritance disabled: the connector needs GR/GW/Delete/DeleteTree on the group itself"
    else:
        why = (
            "GR/GW/Delete/DeleteTree on descendant group objects (Set-ADSyncUnifiedGroupWritebackPermissions)"
            if at == "root"
            else f"{dn} has inheritance disabled, so the grant on {container} does not reach its groups: GR/GW/Delete/DeleteTree on them from {dn} itself"
        )
    return ace_resource(
        ctx,
        dn=dn,
        purpose=PURPOSE,
        name="manage-groups",
        feature=FEATURE,
        why=why,
        references=("S1", "S2", "S19"),
        ace=ace,
        rights=rights,
        depends_on=deps,
        destroy=destroy,
        desired=scoped(container, "group", "group", "manage-groups", at),
    )
