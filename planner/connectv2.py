"""The groups Entra Connect group writeback v2 wrote back, as the migration to Cloud Sync sees
them (pure; read by ``planner.observe.ad_connect_v2``).

Microsoft's migration page ("Migrate Microsoft Entra Connect Sync group writeback V2 to
Microsoft Entra Cloud Sync", learn.microsoft.com/entra/identity/hybrid/cloud-sync/
migrate-group-writeback) copies each group's ``adminDescription`` into
``msDS-ExternalDirectoryObjectId`` before v2 is turned off: Cloud Sync finds the groups it takes
over by that attribute. Connect names the groups it writes back ``Group_<cloud object id>`` and
stores the same string in ``adminDescription`` (the page's default naming); a group whose
adminDescription does not start with ``Group_`` was not written back by Connect, and wbplan does
not copy it (Microsoft's script copies every non-empty adminDescription under the OU: wbplan
narrows it to Connect's groups so that an administrator's note never becomes a join anchor).
UNCONFIRMED: the page shows the adminDescription value only in a screenshot and names the
groups ``CN=Group_<guid>``; that every group v2 wrote carries ``Group_<cloud object id>`` there
(also those named ``<display name>_<last 12 digits>``) is wbplan's reading, not a documented
format.

The page also says the migration applies only to "cloud created Security groups" written back
"with the AD groups scope of universal"; mail-enabled groups and distribution lists are not
supported. A group that is not a universal security group (``groupType``, MS-ADTS 2.2.12:
0x00000008 universal, 0x80000000 security) is therefore reported, not copied.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.model.dn import dn_key
from planner.model.state import AdObject, AdState, ConnectV2Groups

PREFIX = "Group_"
"""How Connect's adminDescription of a group it wrote back starts."""
ADMIN_DESCRIPTION = "adminDescription"
ANCHOR = "msDS-ExternalDirectoryObjectId"
GROUP_TYPE = "groupType"
ATTRIBUTES = (ADMIN_DESCRIPTION, GROUP_TYPE)
"""Read on every group of a v2 OU (``ANCHOR`` too when the schema has it)."""
UNIVERSAL = 0x00000008
SECURITY = 0x80000000
SCOPES = {0x00000002: "global", 0x00000004: "domain local", 0x00000008: "universal"}


@dataclass(frozen=True)
class V2Group:
    """One group under a v2 OU, with what the migration decides on."""

    dn: str
    admin_description: str | None
    anchor: tuple[str, ...]
    """``msDS-ExternalDirectoryObjectId`` values (empty: not set, or not in the schema)."""
    group_type: int | None
    """``groupType`` as an unsigned 32-bit value (None: not read)."""

    @property
    def written_by_connect(self) -> bool:
        """adminDescription starts with ``Group_``: Connect wrote the group back."""
        return (self.admin_description or "").startswith(PREFIX)

    @property
    def universal_security(self) -> bool:
        """A universal security group: the only kind Microsoft's migration supports."""
        t = self.group_type
        return t is not None and bool(t & UNIVERSAL) and bool(t & SECURITY)

    @property
    def copied(self) -> bool:
        """msDS-ExternalDirectoryObjectId already holds the adminDescription (and only it)."""
        return self.admin_description is not None and self.anchor == (self.admin_description,)

    @property
    def kind(self) -> str:
        """``universal security``, ``global distribution`` … (for messages)."""
        t = self.group_type
        if t is None:
            return "group of unread type"
        scope = next((w for bit, w in SCOPES.items() if t & bit), "unknown-scope")
        return f"{scope} {'security' if t & SECURITY else 'distribution'} group"


def _group_type(values: tuple[str, ...]) -> int | None:
    try:
        return int(values[0]) & 0xFFFFFFFF if values else None
    except ValueError:
        return None


def v2_group(obj: AdObject) -> V2Group:
    """The migration's view of a group read under a v2 OU."""
    description = obj.attributes.get(ADMIN_DESCRIPTION, ())
    return V2Group(
        dn=obj.dn,
        admin_description=description[0] if description else None,
        anchor=tuple(obj.attributes.get(ANCHOR, ())),
        group_type=_group_type(tuple(obj.attributes.get(GROUP_TYPE, ()))),
    )


def read_of(ad: AdState | None, ou: str) -> ConnectV2Groups | None:
    """What was read of the v2 OU ``ou`` (None: not read)."""
    cloud = ad.cloud_sync if ad is not None else None
    if cloud is None:
        return None
    return next((r for r in cloud.connect_v2 if dn_key(r.ou) == dn_key(ou)), None)


def groups_of(ad: AdState, read: ConnectV2Groups) -> list[V2Group]:
    """Every group of ``read``, in its order, as :class:`V2Group` (a group missing from
    ``ad.objects`` is left out: it cannot happen in a snapshot wbplan wrote)."""
    objects = {dn_key(o.dn): o for o in ad.objects}
    return [v2_group(objects[dn_key(dn)]) for dn in read.groups if dn_key(dn) in objects]
