"""Read the OU Entra Connect group writeback v2 wrote its groups to, for a policy migrating them
to Cloud Sync (``group_provisioning.migrate_from_connect_v2``; what is decided on them is in
``planner.connectv2``).

One subtree search of ``(objectClass=group)`` under the OU — the same search base and depth as
Microsoft's copy script (``Get-ADGroup -Filter * -SearchBase $gwbOU``) — with each group's DACL,
uSNChanged, ``adminDescription``, ``groupType`` and, when the forest schema has it,
``msDS-ExternalDirectoryObjectId`` (asking a DC for an attribute its schema lacks is an error on
some servers). The groups go into ``AdState.objects`` (a planned copy is judged and fingerprinted
there); ``CloudSyncAd.connect_v2`` lists them per OU.

Incremental refresh reads this again in full on every run, like the other objects the policy
names: it is not one of the bulk reads the replication marks track, so a merged snapshot holds
exactly what a full read would.
"""

from __future__ import annotations

from planner.connectv2 import ANCHOR, ATTRIBUTES
from planner.model.dn import dn_key
from planner.model.state import AdObject, ConnectV2Groups
from planner.observe.ad_common import BASE_ATTRIBUTES, AdReader, add_object

GROUPS_FILTER = "(objectClass=group)"


def address(ou: str) -> str:
    """The ``Unread`` address of a v2 OU's search."""
    return f"ad.cloud_sync.connect_v2[{ou}]"


def read_connect_v2(
    reader: AdReader, ou: str, anchor_in_schema: bool | None, objects: dict[str, AdObject]
) -> ConnectV2Groups | None:
    """The groups under ``ou`` (see the module docstring); None, with an ``Unread`` entry, when
    the OU could not be read or searched."""
    root = reader.read_object(ou)
    add_object(objects, root)
    if root is None:
        return None
    if not root.exists:
        return ConnectV2Groups(ou=ou, exists=False)
    attributes = [*ATTRIBUTES, *([ANCHOR] if anchor_in_schema else [])]
    found: list[AdObject] = []
    with reader.section(address(ou)):
        for entry in reader.session.search(
            ou, GROUPS_FILTER, [*BASE_ATTRIBUTES, *attributes], security=True
        ):
            found.append(reader.object_from_entry(entry, attributes))
        for obj in found:
            # this read carries the migration's attributes: it replaces a bare read of the group
            objects[dn_key(obj.dn)] = obj
        dns = sorted((o.dn for o in found), key=dn_key)
        return ConnectV2Groups(ou=ou, groups=tuple(dns))
    return None
