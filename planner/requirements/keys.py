"""Windows Hello for Business key writeback (domain.md §6): schema ≥ 87 (msDS-KeyCredentialLink)
→ Key Admins / Enterprise Key Admins exist (created once a WS2016+ DC holds the PDC emulator
role) → the connector is a member. No licence or Graph switch was found (UNCONFIRMED, §6)."""

from __future__ import annotations

from planner.model.plan import Resource
from planner.requirements.common import SCHEMA_2016, Context

FEATURE = "ngc_keys"
GROUP_NAMES = {"key_admins": "Key Admins", "enterprise_key_admins": "Enterprise Key Admins"}


def expand(ctx: Context) -> list[Resource]:
    """Resources key writeback needs."""
    wb = ctx.policy.writeback.ngc_keys
    if wb is None:
        return []
    group = GROUP_NAMES[wb.group]
    if not wb.enabled:
        # remove_preparation: the connector leaves the group wbplan put it in; the group stays.
        return [_membership(ctx, group, destroy=True)] if wb.remove_preparation else []
    gate = Resource(
        address=f"ad.schema_2016[{ctx.forest}]",
        type="ad.schema",
        provider="ad",
        features=(FEATURE,),
        why="msDS-KeyCredentialLink exists only with the Windows Server 2016 schema (objectVersion 87)",
        references=("S13a", "S9"),
        manageable=False,
        desired={"min_object_version": SCHEMA_2016, "attributes": ["msDS-KeyCredentialLink"]},
        instructions="Extend the forest schema to Windows Server 2016 or later (`adprep /forestprep` from 2016+ media)",
    )
    grp = Resource(
        address=f"ad.group[{group}]",
        type="ad.group",
        provider="ad",
        features=(FEATURE,),
        why=f"{group} (RID {526 if wb.group == 'key_admins' else 527}) is created when a WS2016+ DC holds the PDC emulator role",
        references=("S10", "M2"),
        manageable=False,
        depends_on=(gate.address,),
        desired={"name": group},
        instructions="Move the PDC emulator role to a Windows Server 2016+ domain controller so that domainprep creates the Key Admins groups",
    )
    member = _membership(ctx, group, destroy=False, after=(grp.address,))
    return [gate, grp, member]


def _membership(
    ctx: Context, group: str, *, destroy: bool, after: tuple[str, ...] = ()
) -> Resource:
    """The connector's membership of ``group`` (required, or to be removed)."""
    why = (
        f"Key writeback is declared off with remove_preparation: the connector leaves {group}"
        if destroy
        else f"The connector writes msDS-KeyCredentialLink through membership of {group}"
    )
    return Resource(
        address=f"ad.membership[{group}/{ctx.policy.connector_account}]",
        type="ad.membership",
        provider="ad",
        features=(FEATURE,),
        why=why,
        references=("S8", "S7"),
        manageable=True,
        depends_on=(*after, ctx.connector_address),
        desired={"group": group, "member": ctx.policy.connector_account},
        destroy=destroy,
    )
