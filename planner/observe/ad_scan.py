"""Bulk reads under a container, always paged and never one round trip per object:

* scope scans (password and Exchange-hybrid scope roots): every OU and container and every
  object a feature acts on (users and inetOrgPersons; groups and contacts for Exchange hybrid),
  each with its class, ``adminCount`` and DACL (read with the SD-flags control, DACL only).
  The DC stores inherited ACEs on each object, so the object's own DACL is what the DC decides
  by; wbplan evaluates it per object (``planner.scope_rights``). DACLs are kept once per distinct
  value (a digest of their bytes): a large directory shares a few hundred distinct DACLs across
  100,000 users, so parsing is O(distinct DACLs) while reading stays O(pages);
* the groups under the group-writeback OU (the blast radius of disabling it, domain.md §7);
* the msDS-Device objects under the device location (count and msDS-DeviceID values).

Each scan takes an optional ``tracked`` dict that it fills with the identity of every entry it
read (DN → ``Identity``: objectGUID, uSNChanged, DACL digest), for incremental refresh
(``planner.observe.incremental``); without it the scans ask for nothing more than they need.
"""

from __future__ import annotations

import hashlib
from collections.abc import MutableMapping, Sequence
from typing import NamedTuple

from planner.model.dn import dn_key
from planner.model.state import (
    AdDevices,
    GroupsInContainer,
    ScopedObject,
    ScopeScan,
    SecurityDescriptor,
)
from planner.observe.ad_common import NO_ATTRIBUTES, AdReader, object_address
from planner.observe.ldapconn import Entry
from planner.observe.sd import SecurityDescriptorError, guid_from_bytes, parse_descriptor
from planner.progress import NO_PROGRESS, Progress, counted

GROUPS_LISTED = 20
# objectCategory (not objectClass) so that subclasses such as groupPolicyContainer, which hold
# no users, stay out — the same set Get-ADSyncObjectsWithInheritanceDisabled walks, plus plain
# containers like CN=Users.
CONTAINERS_FILTER = "(|(objectCategory=organizationalUnit)(objectCategory=container))"
# objectCategory=person keeps computers out (computer derives from user); contacts are
# person-category too but fail objectClass=user. inetOrgPerson derives from user: included.
USERS_FILTER = "(&(objectCategory=person)(objectClass=user))"
CLASS_FILTERS = {
    "user": USERS_FILTER,
    "inetOrgPerson": USERS_FILTER,
    "group": "(objectCategory=group)",
    "contact": "(&(objectCategory=person)(objectClass=contact))",
    "msDS-Device": "(objectClass=msDS-Device)",
}
GROUPS_FILTER = "(objectClass=group)"
DEVICES_FILTER = "(objectClass=msDS-Device)"
SCAN_ATTRIBUTES = ("objectClass", "adminCount", "nTSecurityDescriptor")
IDENTITY_ATTRIBUTES = ("objectGUID", "uSNChanged")
"""Asked for in addition when a scan records identities (``tracked``)."""


class Identity(NamedTuple):
    """Who an entry read by a scan is, and at which version (incremental refresh)."""

    guid: str | None
    usn: int | None
    dacl: str | None
    """Digest of the DACL as read (None: not returned)."""
    values: tuple[str, ...] = ()
    """``msDS-DeviceID`` values (devices)."""


def identity_of(entry: Entry, values: tuple[str, ...] = ()) -> Identity:
    """The identity of an entry read with :data:`IDENTITY_ATTRIBUTES` (and its DACL)."""
    raw_guid = entry.raw("objectGUID")
    try:
        guid = guid_from_bytes(raw_guid[0]) if raw_guid else None
    except SecurityDescriptorError:
        guid = None
    raw_sd = entry.raw("nTSecurityDescriptor")
    digest = dacl_digest(raw_sd[0]) if raw_sd else None
    return Identity(guid, entry.integer("uSNChanged"), digest, values)


def _track(
    tracked: MutableMapping[str, Identity] | None, entry: Entry, values: tuple[str, ...] = ()
) -> None:
    if tracked is not None:
        tracked[entry.dn] = identity_of(entry, values)


def dacl_digest(raw: bytes) -> str:
    """The key of a DACL in ``AdState.dacls``: a digest of the descriptor bytes as read under
    the SD-flags control (control word + DACL), so equal DACLs share one key."""
    return hashlib.sha256(raw).hexdigest()[:24]


class DaclTable:
    """Distinct DACLs read in one observation, parsed once each."""

    def __init__(self) -> None:
        self.dacls: dict[str, SecurityDescriptor] = {}
        self._bad: set[str] = set()

    def intern(self, reader: AdReader, entry: Entry) -> str | None:
        """The key of ``entry``'s DACL (parsed on first sight); None when it was not returned
        or cannot be parsed (an ``Unread`` entry says which object and why)."""
        raw = entry.raw("nTSecurityDescriptor")
        if not raw:
            reader.note(
                object_address(entry.dn),
                "the bind account may not read this object's security descriptor "
                "(it needs Read Permissions / READ_CONTROL)",
            )
            return None
        key = dacl_digest(raw[0])
        if key in self.dacls:
            return key
        if key in self._bad:
            return None
        try:
            # SDDL is display-only and costs as much as the parse: kept off shared DACLs.
            self.dacls[key] = parse_descriptor(raw[0]).model_copy(update={"sddl": None})
        except SecurityDescriptorError as exc:
            self._bad.add(key)
            reader.note(object_address(entry.dn), str(exc))
            return None
        return key


def _most_specific(entry: Entry) -> str:
    # AD and Samba return objectClass from ``top`` to the structural class (MS-ADTS 3.1.1.2.4.5);
    # auxiliary classes may follow, so the last value that is a known structural name wins.
    values = entry.texts("objectClass")
    for name in reversed(values):
        if name.lower() in _STRUCTURAL:
            return _STRUCTURAL[name.lower()]
    return values[-1] if values else ""


_STRUCTURAL = {
    n.lower(): n
    for n in (
        "user",
        "inetOrgPerson",
        "group",
        "contact",
        "computer",
        "organizationalUnit",
        "container",
        "builtinDomain",
        "msDS-Device",
        "msDS-DeviceContainer",
    )
}


def _filter_for(classes: Sequence[str]) -> str:
    terms = list(dict.fromkeys(CLASS_FILTERS[c] for c in classes))
    return terms[0] if len(terms) == 1 else f"(|{''.join(terms)})"


def scan_scope(
    reader: AdReader,
    root: str,
    table: DaclTable,
    classes: Sequence[str] = ("user", "inetOrgPerson"),
    progress: Progress = NO_PROGRESS,
    tracked: MutableMapping[str, Identity] | None = None,
) -> ScopeScan | None:
    """Every container and every object of ``classes`` under ``root`` (the root excluded: it
    is read as an object of its own), with their DACLs; None when the scan failed (an
    ``Unread`` entry names ``ad.scope[root]``). ``progress`` gets the running count of
    entries read (both searches) and of LDAP pages; ``tracked`` (when given) every entry's
    identity by DN."""
    root_key = dn_key(root)
    containers: list[ScopedObject] = []
    objects: list[ScopedObject] = []
    ous = 0
    root_seen = False
    wanted = {c.lower() for c in classes}
    session = reader.session
    first_request = session.requests
    progress.phase(f"Reading AD: scope {root}", "objects")

    def pages() -> int:
        return session.requests - first_request

    extra = IDENTITY_ATTRIBUTES if tracked is not None else ()
    read = 0
    with reader.section(f"ad.scope[{root}]"):
        for entry in reader.session.search(
            root, CONTAINERS_FILTER, ("objectClass", "nTSecurityDescriptor", *extra), security=True
        ):
            read += 1
            progress.update(read, pages())
            _track(tracked, entry)
            if not root_seen and dn_key(entry.dn) == root_key:
                root_seen = True  # one DN normalisation per entry until the root went by
                continue
            cls = _most_specific(entry)
            ous += cls == "organizationalUnit"
            containers.append(
                ScopedObject.model_construct(
                    dn=entry.dn, object_class=cls, dacl=table.intern(reader, entry)
                )
            )
        for entry in reader.session.search(
            root, _filter_for(classes), (*SCAN_ATTRIBUTES, *extra), security=True
        ):
            read += 1
            progress.update(read, pages())
            _track(tracked, entry)
            cls = _most_specific(entry)
            if cls.lower() not in wanted:
                continue
            objects.append(
                ScopedObject.model_construct(
                    dn=entry.dn,
                    object_class=cls,
                    dacl=table.intern(reader, entry),
                    admin_count=entry.integer("adminCount") == 1,
                )
            )
        # Deterministic snapshots; the lower-cased DN is as stable a key as dn_key and costs a
        # tenth of it over 100,000 objects.
        containers.sort(key=lambda o: o.dn.lower())
        objects.sort(key=lambda o: o.dn.lower())
        return ScopeScan(
            root=root,
            classes=tuple(classes),
            containers=tuple(containers),
            objects=tuple(objects),
            ous_total=ous,
        )
    return None


def scan_groups(
    reader: AdReader,
    container: str,
    progress: Progress = NO_PROGRESS,
    tracked: MutableMapping[str, Identity] | None = None,
) -> GroupsInContainer | None:
    """Count of the groups under the writeback OU and the first few DNs (sorted); ``tracked``
    (when given) gets every group's identity by DN."""
    session = reader.session
    first_request = session.requests
    progress.phase(f"Reading AD: groups under {container}", "groups")
    attributes = IDENTITY_ATTRIBUTES if tracked is not None else NO_ATTRIBUTES
    with reader.section(f"ad.groups[{container}]"):
        found = session.search(container, GROUPS_FILTER, attributes)
        dns = []
        for entry in counted(found, progress, lambda: session.requests - first_request):
            _track(tracked, entry)
            dns.append(entry.dn)
        dns.sort(key=dn_key)
        return GroupsInContainer(
            container=container, count=len(dns), first=tuple(dns[:GROUPS_LISTED])
        )
    return None


def scan_devices(
    reader: AdReader,
    location: str,
    progress: Progress = NO_PROGRESS,
    tracked: MutableMapping[str, Identity] | None = None,
) -> AdDevices | None:
    """msDS-Device objects directly under the device location (their only possible parent);
    ``tracked`` (when given) gets every device's identity by DN."""
    session = reader.session
    first_request = session.requests
    progress.phase(f"Reading AD: devices under {location}", "devices")
    extra = IDENTITY_ATTRIBUTES if tracked is not None else ()
    with reader.section(f"ad.devices[{location}]"):
        ids: list[str] = []
        count = 0
        found = session.search(location, DEVICES_FILTER, ["msDS-DeviceID", *extra], scope="one")
        for entry in counted(found, progress, lambda: session.requests - first_request):
            count += 1
            found_ids = device_ids(entry)
            _track(tracked, entry, tuple(found_ids))
            ids.extend(found_ids)
        return AdDevices(location=location, count=count, device_ids=tuple(sorted(ids)))
    return None


def device_ids(entry: Entry) -> list[str]:
    """The ``msDS-DeviceID`` values of a device entry, as ``AdDevices.device_ids`` holds them."""
    return [_device_id(raw) for raw in entry.raw("msDS-DeviceID")]


def _device_id(raw: bytes) -> str:
    # msDS-DeviceID is an octet string holding the device GUID (16 bytes, AD byte order);
    # anything else is kept as text so that it is still visible in the snapshot.
    try:
        return guid_from_bytes(raw)
    except SecurityDescriptorError:
        return raw.decode("utf-8", "replace")
