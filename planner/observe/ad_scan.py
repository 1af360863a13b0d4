"""Bulk reads under a container, always paged and never one round trip per object:

* scope scans (password and Exchange-hybrid scope roots): OUs and containers whose DACL is
  protected — inheritance disabled, so grants made above do not reach below them (domain.md
  §1.6, F9) — and users with ``adminCount=1`` (AdminSDHolder-protected, F10), plus counts;
* the groups under the group-writeback OU (the blast radius of disabling it, domain.md §7);
* the msDS-Device objects under the device location (count and msDS-DeviceID values).

Users' own DACLs are not read here (two kilobytes per user would dominate the run on a large
forest); AdminSDHolder is what protects user DACLs in practice, and ``adminCount`` marks it.
"""

from __future__ import annotations

from planner.model.dn import dn_key
from planner.model.state import AdDevices, AdObject, GroupsInContainer, ScopeScan
from planner.observe.ad_common import BASE_ATTRIBUTES, NO_ATTRIBUTES, AdReader
from planner.observe.sd import SecurityDescriptorError, guid_from_bytes, is_dacl_protected

GROUPS_LISTED = 20
# objectCategory (not objectClass) so that subclasses such as groupPolicyContainer, which hold
# no users, stay out — the same set Get-ADSyncObjectsWithInheritanceDisabled walks, plus plain
# containers like CN=Users.
CONTAINERS_FILTER = "(|(objectCategory=organizationalUnit)(objectCategory=container))"
# objectCategory=person keeps computers out (computer derives from user); contacts are
# person-category too but fail objectClass=user.
USERS_FILTER = "(&(objectCategory=person)(objectClass=user))"


def scan_scope(reader: AdReader, root: str) -> ScopeScan | None:
    """Protected containers and adminCount=1 users under ``root`` (the root itself excluded:
    grants are placed on it, so its own protection does not cut them)."""
    root_key = dn_key(root)
    protected: list[AdObject] = []
    ous = users = 0
    root_seen = False
    admin_users: list[str] = []
    with reader.section(f"ad.scope[{root}]"):
        for entry in reader.session.search(root, CONTAINERS_FILTER, BASE_ATTRIBUTES, security=True):
            if not root_seen and dn_key(entry.dn) == root_key:
                root_seen = True  # one DN normalisation per entry until the root went by
                continue
            ous += any(c.lower() == b"organizationalunit" for c in entry.raw("objectClass"))
            raw = entry.raw("nTSecurityDescriptor")
            if raw and not is_dacl_protected(raw[0]):
                continue  # most containers: only the control word is looked at, no ACE parsed
            obj = reader.object_from_entry(entry)  # parsed once; no descriptor → Unread
            if obj.security is not None and obj.security.dacl_protected:
                protected.append(obj)
        for entry in reader.session.search(root, USERS_FILTER, ["adminCount"]):
            users += 1
            if entry.integer("adminCount") == 1:
                admin_users.append(entry.dn)
        return ScopeScan(
            root=root,
            protected_objects=tuple(sorted(protected, key=lambda o: dn_key(o.dn))),
            admin_count_users=tuple(sorted(admin_users, key=dn_key)),
            users_total=users,
            ous_total=ous,
        )
    return None


def scan_groups(reader: AdReader, container: str) -> GroupsInContainer | None:
    """Count of the groups under the writeback OU and the first few DNs (sorted)."""
    with reader.section(f"ad.groups[{container}]"):
        dns = [e.dn for e in reader.session.search(container, "(objectClass=group)", NO_ATTRIBUTES)]
        dns.sort(key=dn_key)
        return GroupsInContainer(
            container=container, count=len(dns), first=tuple(dns[:GROUPS_LISTED])
        )
    return None


def scan_devices(reader: AdReader, location: str) -> AdDevices | None:
    """msDS-Device objects directly under the device location (their only possible parent)."""
    with reader.section(f"ad.devices[{location}]"):
        ids: list[str] = []
        count = 0
        for entry in reader.session.search(
            location, "(objectClass=msDS-Device)", ["msDS-DeviceID"], scope="one"
        ):
            count += 1
            for raw in entry.raw("msDS-DeviceID"):
                ids.append(_device_id(raw))
        return AdDevices(location=location, count=count, device_ids=tuple(sorted(ids)))
    return None


def _device_id(raw: bytes) -> str:
    # msDS-DeviceID is an octet string holding the device GUID (16 bytes, AD byte order);
    # anything else is kept as text so that it is still visible in the snapshot.
    try:
        return guid_from_bytes(raw)
    except SecurityDescriptorError:
        return raw.decode("utf-8", "replace")
