"""The two :class:`~planner.observe.ad.BulkReads` of incremental refresh.

:class:`TrackingReads` reads exactly as ``observe_ad`` does by default and also records, per
root (scope root, group-writeback OU, device location), the identity of everything it read:
objectGUID and uSNChanged of each scanned container and object, each group and device, the
root's own objectGUID and DACL digest, and the objectGUID of every ancestor of a tracked object
that is not itself a scanned container (``RootMarks``).

:class:`MergingReads` answers the same calls from the previous snapshot plus the objects changed
since its mark (:class:`Change`, read by ``planner.observe.incremental``), so that the result is
what a full read would return:

* a changed object leaves the sets it was in (by objectGUID) and joins those whose filter it
  now matches (the same filters as the scans, evaluated on the entry read);
* a deleted object (a tombstone) only leaves;
* a tracked container that moved, was renamed or was deleted takes everything tracked below its
  old DN with it (the DC changes only the moved object's uSNChanged, not its descendants');
* a subtree is read again in full where the DC rewrote what lies below without changing
  uSNChanged there: a container whose DACL changed (the DC recomputes the inherited ACEs of its
  descendants silently), a container that moved or was renamed into the root (its descendants
  get new DNs and new inherited ACEs), an object that existed before the mark and moved in
  (it may bring descendants); a root whose DACL or objectGUID changed is read in full;
* trustee names are looked up again only for new trustees and for principals that changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from planner.errors import LdapConnectError, LdapError
from planner.model.dn import dn_key, is_at_or_under
from planner.model.state import (
    AdDevices,
    AdObject,
    AdState,
    Domain,
    GroupsInContainer,
    RootMarks,
    ScopedObject,
    ScopeScan,
    TrackedObject,
    Unread,
)
from planner.observe.ad import BulkReads, resolve_principals, trustees
from planner.observe.ad_common import AdReader, object_address
from planner.observe.ad_scan import (
    GROUPS_LISTED,
    DaclTable,
    Identity,
    _most_specific,
    device_ids,
    identity_of,
    scan_devices,
    scan_groups,
    scan_scope,
)
from planner.observe.ldapconn import Entry, LdapSession
from planner.observe.sd import SecurityDescriptorError, sid_from_bytes
from planner.progress import Progress

LEAF_CLASSES = frozenset({"user", "inetorgperson", "computer", "group", "contact", "msds-device"})
"""Classes under which no OU, container, user, group, contact or device can exist (their
possible superiors in the schema): one of them entering a root brings nothing along."""
CONTAINER_CATEGORIES = frozenset({"organizational-unit", "container"})
"""objectCategory names (first RDN) matched by ``ad_scan.CONTAINERS_FILTER``."""
PRINCIPAL_CLASSES = frozenset({"user", "group", "computer", "foreignsecurityprincipal"})

T = TypeVar("T")


@dataclass(frozen=True)
class Change:
    """One object whose uSNChanged is above the mark, as read now."""

    guid: str
    dn: str
    key: str
    """``dn_key(dn)``."""
    deleted: bool
    """A tombstone (``isDeleted``): it leaves every set."""
    existed_before: bool
    """uSNCreated at or below the mark: it may have descendants the change search did not
    return."""
    classes: frozenset[str]
    """Lower-cased objectClass values."""
    category: str
    """Lower-cased first RDN value of objectCategory (``person``, ``organizational-unit`` …)."""
    cls: str
    """The most specific class, as the scans name it."""
    sid: str | None
    entry: Entry

    @property
    def dacl(self) -> str | None:
        """Digest of the DACL read (None: not returned)."""
        return identity_of(self.entry).dacl


def change_of(entry: Entry, mark: int, guid: str) -> Change:
    """A :class:`Change` from an entry of the change search (``guid`` already decoded)."""
    category = (entry.text("objectCategory") or "").split(",", 1)[0].partition("=")[2]
    sid = None
    if entry.raw("objectSid"):
        try:
            sid = sid_from_bytes(entry.raw("objectSid")[0])
        except SecurityDescriptorError:
            sid = None
    created = entry.integer("uSNCreated")
    return Change(
        guid=guid,
        dn=entry.dn,
        key=dn_key(entry.dn),
        deleted=(entry.text("isDeleted") or "").upper() == "TRUE",
        existed_before=created is None or created <= mark,
        classes=frozenset(c.lower() for c in entry.texts("objectClass")),
        category=category.lower(),
        cls=_most_specific(entry),
        sid=sid,
        entry=entry,
    )


def is_container(change: Change) -> bool:
    """Matched by the scope scans' containers search."""
    return change.category in CONTAINER_CATEGORIES


def _class_filter(cls: str, change: Change) -> bool:
    # The terms of ad_scan.CLASS_FILTERS, evaluated on the entry.
    if cls in ("user", "inetOrgPerson"):
        return change.category == "person" and "user" in change.classes
    if cls == "group":
        return change.category == "group"
    if cls == "contact":
        return change.category == "person" and "contact" in change.classes
    return cls.lower() in change.classes


def is_scope_object(change: Change, classes: Sequence[str]) -> bool:
    """Matched by the scope scans' objects search and kept by its class check."""
    return any(_class_filter(c, change) for c in classes) and change.cls.lower() in {
        c.lower() for c in classes
    }


def parent_of(dn: str) -> str | None:
    """The parent DN as the DC spells it: everything after the first unescaped comma."""
    if "\\" not in dn:
        parent = dn.partition(",")[2]
        return parent or None
    escaped = False
    for index, char in enumerate(dn):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            return dn[index + 1 :]
    return None


def _under(dn_lower: str, base_lower: str) -> bool:
    return dn_lower == base_lower or dn_lower.endswith("," + base_lower)


def _outermost(bases: Iterable[str]) -> list[str]:
    """Distinct bases, none below another (their rescan covers it)."""
    out: list[str] = []
    for base in sorted(dict.fromkeys(bases), key=lambda b: (b.count(","), b.lower())):
        if not any(_under(base.lower(), kept.lower()) for kept in out):
            out.append(base)
    return out


@dataclass
class RootRecord:
    """What a read learnt about one root, turned into ``RootMarks`` at the end."""

    root: str
    dn: str | None = None
    """The root's DN as the DC spells it (None: the root could not be read)."""
    guid: str | None = None
    dacl: str | None = None
    usn: int | None = None
    scan: ScopeScan | None = None
    containers: Sequence[tuple[str, int]] | None = None
    objects: Sequence[tuple[str, int]] | None = None
    groups: list[TrackedObject] | None = None
    devices: list[TrackedObject] | None = None
    anchors: tuple[TrackedObject, ...] | None = None
    """Known without looking (a root no change touched keeps its anchors)."""

    def marks(self, anchors: tuple[TrackedObject, ...] | None, mark: int) -> RootMarks:
        """The record as marks; ``anchors`` None: an ancestor could not be identified, so the
        next incremental read reads this root's scans in full. A root changed since ``mark``
        (while this read ran) keeps no DACL digest: the next read rescans what is below it."""
        complete = anchors is not None
        settled = self.usn is not None and self.usn <= mark
        # Built from what this read produced (already typed): no validation pass over the
        # (objectGUID, uSNChanged) pairs of every scanned object.
        return RootMarks.model_construct(
            root=self.root,
            guid=self.guid,
            dacl=self.dacl if settled else None,
            containers=tuple(self.containers) if complete and self.containers is not None else None,
            objects=tuple(self.objects) if complete and self.objects is not None else None,
            anchors=anchors or (),
            groups=tuple(self.groups) if complete and self.groups is not None else None,
            devices=tuple(self.devices) if self.devices is not None else None,
        )


def _pairs(
    items: Sequence[ScopedObject], tracked: Mapping[str, Identity]
) -> list[tuple[str, int]] | None:
    out = []
    for item in items:
        ident = tracked.get(item.dn)
        if ident is None or ident.guid is None or ident.usn is None:
            return None
        out.append((ident.guid, ident.usn))
    return out


def _tracked_objects(tracked: Mapping[str, Identity]) -> list[TrackedObject] | None:
    out = []
    for dn, ident in tracked.items():
        if ident.guid is None:
            return None
        out.append(
            TrackedObject(guid=ident.guid, dn=dn, usn_changed=ident.usn, values=ident.values)
        )
    return out


class TrackingReads(BulkReads):
    """Full bulk reads that also record identities (see module docstring)."""

    def __init__(self) -> None:
        self.records: dict[str, RootRecord] = {}

    def record(self, reader: AdReader, root: str) -> RootRecord:
        """The record of ``root``, read (objectGUID and DACL) on first use."""
        key = dn_key(root)
        found = self.records.get(key)
        if found is None:
            found = RootRecord(root=root)
            entry = read_identity(reader.session, root)
            if entry is not None:
                ident = identity_of(entry)
                found.dn, found.guid, found.dacl = entry.dn, ident.guid, ident.dacl
                found.usn = ident.usn
            self.records[key] = found
        return found

    def devices(self, reader: AdReader, location: str, progress: Progress) -> AdDevices | None:
        record = self.record(reader, location)
        tracked: dict[str, Identity] = {}
        found = scan_devices(reader, location, progress, tracked)
        record.devices = _tracked_objects(tracked) if found is not None else None
        return found

    def groups(
        self, reader: AdReader, container: str, progress: Progress
    ) -> GroupsInContainer | None:
        record = self.record(reader, container)
        tracked: dict[str, Identity] = {}
        found = scan_groups(reader, container, progress, tracked)
        record.groups = _tracked_objects(tracked) if found is not None else None
        return found

    def scope(
        self,
        reader: AdReader,
        root: str,
        table: DaclTable,
        classes: tuple[str, ...],
        progress: Progress,
    ) -> ScopeScan | None:
        record = self.record(reader, root)
        tracked: dict[str, Identity] = {}
        scan = scan_scope(reader, root, table, classes, progress, tracked)
        record.scan = scan
        record.containers = _pairs(scan.containers, tracked) if scan is not None else None
        record.objects = _pairs(scan.objects, tracked) if scan is not None else None
        return scan

    # ------------------------------------------------------------------ marks

    def known_anchors(self) -> Mapping[str, TrackedObject]:
        """Anchors known without a read, by lower-cased DN (none in a full read)."""
        return {}

    def finish(self, session: LdapSession, mark: int) -> tuple[RootMarks, ...]:
        """The marks of every root read (``mark``: the USN the read started from), with the
        objectGUID of each ancestor of a tracked object that is not a scanned container (read
        now; usually there is none)."""
        known = self.known_anchors()
        out = []
        for key in sorted(self.records):
            record = self.records[key]
            out.append(record.marks(_anchors(session, record, known), mark))
        return tuple(out)


def read_identity(session: LdapSession, dn: str) -> Entry | None:
    """Base read of ``dn``'s objectGUID, uSNChanged and DACL; None when absent or unreadable."""
    try:
        return session.read(dn, ["objectGUID", "uSNChanged", "nTSecurityDescriptor"], security=True)
    except LdapConnectError:
        raise
    except LdapError:
        return None


def _anchors(
    session: LdapSession, record: RootRecord, known: Mapping[str, TrackedObject]
) -> tuple[TrackedObject, ...] | None:
    if record.anchors is not None:
        return record.anchors
    if record.dn is None:
        return None
    base = record.dn.lower()
    scan = record.scan
    containers = scan.containers if scan is not None else ()
    seen = {base} | {c.dn.lower() for c in containers}
    dns = [o.dn for o in (*containers, *(scan.objects if scan is not None else ()))]
    dns += [g.dn for g in record.groups or ()]
    needed: dict[str, str] = {}
    for dn in dns:
        parent = parent_of(dn)
        while parent is not None:
            low = parent.lower()
            if low in seen or low in needed or not low.endswith("," + base):
                break
            needed[low] = parent
            parent = parent_of(parent)
    anchors = []
    for low in sorted(needed):
        hit = known.get(low)
        if hit is None:
            entry = read_identity(session, needed[low])
            ident = identity_of(entry) if entry is not None else None
            if ident is None or ident.guid is None:
                return None
            hit = TrackedObject(guid=ident.guid, dn=needed[low], usn_changed=ident.usn)
        anchors.append(hit)
    return tuple(anchors)


@dataclass
class _Anchor:
    dn: str
    dacl: str | None
    dirty: bool
    """Changed while the previous read ran (uSNChanged above its mark): what was read below it
    may predate or postdate the change, so its subtree is read again."""


@dataclass
class RootPlan:
    """How the changes touch one root: subtrees that left it, subtrees to read again."""

    complete: bool
    """Every ancestor of a tracked object below the root is known (the previous scope scan
    of the root was read and tracked): moves below it can be followed."""
    moved: list[str] = field(default_factory=list)
    """Lower-cased old DNs of tracked containers that moved, were renamed or were deleted."""
    relocated: list[str] = field(default_factory=list)
    """DNs (as read now) inside the root of containers that moved or were renamed, and of
    objects that existed before the mark and moved in: their subtrees are read again."""
    redacled: list[str] = field(default_factory=list)
    """DNs inside the root of tracked containers whose DACL changed in place."""


class MergingReads(TrackingReads):
    """Bulk reads answered from ``previous`` plus ``changes`` (see module docstring)."""

    def __init__(self, previous: AdState, changes: Sequence[Change]) -> None:
        super().__init__()
        assert previous.marks is not None
        self.previous = previous
        self.changes = changes
        self.changed = {c.guid for c in changes}
        self.prev_marks = {dn_key(r.root): r for r in previous.marks.roots}
        self.prev_scans = {dn_key(s.root): s for s in previous.scopes}
        self.prev_unread: dict[str, list[Unread]] = {}
        for u in previous.unread:
            self.prev_unread.setdefault(u.what, []).append(u)
        self.mark = previous.marks.highest_committed_usn
        self.reread: list[str] = []
        """Subtrees read again, for ``AdRead.reread``."""
        self._plans: dict[str, RootPlan | None] = {}

    def known_anchors(self) -> Mapping[str, TrackedObject]:
        out = {}
        for marks in self.previous.marks.roots if self.previous.marks else ():
            for anchor in marks.anchors:
                if anchor.guid not in self.changed:
                    out[anchor.dn.lower()] = anchor
        return out

    # ------------------------------------------------------------------ planning

    def plan(self, reader: AdReader, root: str) -> RootPlan | None:
        """How the changes touch ``root``; None when the previous read of it cannot be
        merged into (not tracked, or another object now holds its DN)."""
        key = dn_key(root)
        if key in self._plans:
            return self._plans[key]
        record = self.record(reader, root)
        marks = self.prev_marks.get(key)
        result: RootPlan | None = None
        if marks is not None and marks.guid is not None and record.guid == marks.guid:
            result = self._plan_for(root, marks)
        self._plans[key] = result
        return result

    def _plan_for(self, root: str, marks: RootMarks) -> RootPlan:
        scan = self.prev_scans.get(dn_key(root))
        anchors: dict[str, _Anchor] = {}
        complete = (
            scan is not None
            and marks.containers is not None
            and len(marks.containers) == len(scan.containers)
        )
        mark = self.mark
        if scan is not None and complete and marks.containers is not None:
            for (guid, usn), item in zip(marks.containers, scan.containers, strict=True):
                anchors[guid] = _Anchor(item.dn, item.dacl, usn > mark)
        for anchor in marks.anchors:
            dirty = anchor.usn_changed is None or anchor.usn_changed > mark
            anchors[anchor.guid] = _Anchor(anchor.dn, None, dirty)
        plan = RootPlan(complete=complete)
        root_key = dn_key(root)
        for change in self.changes:
            inside = (
                not change.deleted and change.key != root_key and is_at_or_under(change.dn, root)
            )
            old = anchors.get(change.guid)
            if old is not None:
                moved = change.deleted or old.dirty or dn_key(old.dn) != change.key
                if moved:
                    plan.moved.append(old.dn.lower())
                if inside and moved:
                    plan.relocated.append(change.dn)
                elif inside and (old.dacl is None or change.dacl != old.dacl):
                    plan.redacled.append(change.dn)
            elif inside and change.existed_before and change.cls.lower() not in LEAF_CLASSES:
                plan.relocated.append(change.dn)
        return plan

    def _scratch(self, reader: AdReader) -> AdReader:
        # Reads of the merge note what they cannot read here; only the notes of objects that
        # end up in a scan are passed on (a full read notes exactly those).
        return AdReader(reader.session)

    # ------------------------------------------------------------------ devices

    def devices(self, reader: AdReader, location: str, progress: Progress) -> AdDevices | None:
        key = dn_key(location)
        record = self.record(reader, location)
        marks = self.prev_marks.get(key)
        previous = self.previous.devices
        if (
            marks is None
            or marks.devices is None
            or previous is None
            or dn_key(previous.location) != key
            or record.guid is None
            or record.guid != marks.guid
        ):
            self.reread.append(f"devices {location}")
            return super().devices(reader, location, progress)
        tracked = {d.guid: d for d in marks.devices}
        for change in self.changes:
            tracked.pop(change.guid, None)
            parent = parent_of(change.dn)
            if (
                not change.deleted
                and "msds-device" in change.classes
                and parent is not None
                and dn_key(parent) == key
            ):
                tracked[change.guid] = TrackedObject(
                    guid=change.guid,
                    dn=change.dn,
                    usn_changed=change.entry.integer("uSNChanged"),
                    values=tuple(device_ids(change.entry)),
                )
        record.devices = list(tracked.values())
        ids = sorted(v for d in tracked.values() for v in d.values)
        return AdDevices(location=location, count=len(tracked), device_ids=tuple(ids))

    # ------------------------------------------------------------------ groups

    def groups(
        self, reader: AdReader, container: str, progress: Progress
    ) -> GroupsInContainer | None:
        key = dn_key(container)
        plan = self.plan(reader, container)
        marks = self.prev_marks.get(key)
        previous = next((g for g in self.previous.groups if dn_key(g.container) == key), None)
        if (
            plan is None
            or not plan.complete
            or previous is None
            or marks is None
            or marks.groups is None
        ):
            self.reread.append(f"groups {container}")
            return super().groups(reader, container, progress)
        record = self.record(reader, container)
        tracked = {g.guid: g for g in marks.groups}
        _drop_under(tracked, plan.moved, _tracked_dn)
        for change in self.changes:
            tracked.pop(change.guid, None)
            if (
                not change.deleted
                and "group" in change.classes
                and is_at_or_under(change.dn, container)
            ):
                tracked[change.guid] = TrackedObject(
                    guid=change.guid, dn=change.dn, usn_changed=change.entry.integer("uSNChanged")
                )
        scratch = self._scratch(reader)
        for base in _outermost(plan.relocated):
            _drop_under(tracked, [base.lower()], _tracked_dn)
            found: dict[str, Identity] = {}
            if scan_groups(scratch, base, progress, found) is None:
                self.reread.append(f"groups {container}")
                return super().groups(reader, container, progress)
            fresh = _tracked_objects(found)
            if fresh is None:
                self.reread.append(f"groups {container}")
                return super().groups(reader, container, progress)
            for item in fresh:
                tracked[item.guid] = item
        record.groups = list(tracked.values())
        dns = sorted((g.dn for g in tracked.values()), key=dn_key)
        return GroupsInContainer(
            container=container, count=len(dns), first=tuple(dns[:GROUPS_LISTED])
        )

    # ------------------------------------------------------------------ scopes

    def scope(
        self,
        reader: AdReader,
        root: str,
        table: DaclTable,
        classes: tuple[str, ...],
        progress: Progress,
    ) -> ScopeScan | None:
        key = dn_key(root)
        plan = self.plan(reader, root)
        record = self.record(reader, root)
        marks = self.prev_marks.get(key)
        previous = self.prev_scans.get(key)
        mergeable = (
            plan is not None
            and plan.complete
            and marks is not None
            and previous is not None
            and tuple(previous.classes) == tuple(classes)
            and marks.objects is not None
            and len(marks.objects) == len(previous.objects)
            and record.dacl is not None
            and record.dacl == marks.dacl
        )
        merged = None
        if mergeable and plan is not None and marks is not None and previous is not None:
            if self._untouched(root, plan, marks):
                merged = self._keep_scope(reader, root, table, marks, previous)
            if merged is None:
                merged = self._merge_scope(
                    reader, root, table, classes, progress, plan, marks, previous
                )
        if merged is None:
            self.reread.append(root)
            return super().scope(reader, root, table, classes, progress)
        return merged

    def _untouched(self, root: str, plan: RootPlan, marks: RootMarks) -> bool:
        """No change lies below ``root`` or concerns what was tracked there."""
        if plan.moved or plan.relocated or plan.redacled:
            return False
        tracked = {guid for guid, _usn in marks.containers or ()}
        tracked.update(guid for guid, _usn in marks.objects or ())
        tracked.update(a.guid for a in marks.anchors)
        tracked.update(g.guid for g in marks.groups or ())
        return not any(
            c.guid in tracked or (not c.deleted and is_at_or_under(c.dn, root))
            for c in self.changes
        )

    def _keep_scope(
        self,
        reader: AdReader,
        root: str,
        table: DaclTable,
        marks: RootMarks,
        previous: ScopeScan,
    ) -> ScopeScan | None:
        # The common case (nothing changed below this root): the previous scan as it was.
        items = (*previous.containers, *previous.objects)
        for digest in {o.dacl for o in items if o.dacl is not None} - table.dacls.keys():
            known = self.previous.dacls.get(digest)
            if known is None:
                return None
            table.dacls[digest] = known
        for item in items:
            if item.dacl is None:
                for note in self.prev_unread.get(object_address(item.dn), []):
                    reader.note(note.what, note.reason, note.verify_at)
        record = self.record(reader, root)
        record.scan = previous
        record.containers, record.objects = marks.containers, marks.objects
        record.anchors = marks.anchors
        return previous

    def _merge_scope(
        self,
        reader: AdReader,
        root: str,
        table: DaclTable,
        classes: tuple[str, ...],
        progress: Progress,
        plan: RootPlan,
        marks: RootMarks,
        previous: ScopeScan,
    ) -> ScopeScan | None:
        record = self.record(reader, root)
        assert marks.containers is not None and marks.objects is not None
        containers: dict[str, tuple[ScopedObject, int]] = {
            guid: (item, usn)
            for (guid, usn), item in zip(marks.containers, previous.containers, strict=True)
        }
        objects: dict[str, tuple[ScopedObject, int]] = {
            guid: (item, usn)
            for (guid, usn), item in zip(marks.objects, previous.objects, strict=True)
        }
        fresh: set[str] = set()
        """GUIDs read in this run (their notes come from this run)."""
        scratch = self._scratch(reader)
        _drop_under(containers, plan.moved, _scoped_dn)
        _drop_under(objects, plan.moved, _scoped_dn)
        root_key = dn_key(root)
        for change in self.changes:
            containers.pop(change.guid, None)
            objects.pop(change.guid, None)
            if change.deleted or not is_at_or_under(change.dn, root):
                continue
            usn = change.entry.integer("uSNChanged") or 0
            if change.key != root_key and is_container(change):
                item = _scoped(change.entry, change.cls, table.intern(scratch, change.entry))
                containers[change.guid] = (item, usn)
                fresh.add(change.guid)
            if is_scope_object(change, classes):
                item = _scoped(
                    change.entry,
                    change.cls,
                    table.intern(scratch, change.entry),
                    admin_count=change.entry.integer("adminCount") == 1,
                )
                objects[change.guid] = (item, usn)
                fresh.add(change.guid)
        bases = _outermost([*plan.relocated, *plan.redacled])
        _drop_under(containers, (b.lower() for b in bases), _scoped_dn)
        _drop_under(objects, (b.lower() for b in bases), _scoped_dn)
        for base in bases:
            tracked: dict[str, Identity] = {}
            found = scan_scope(scratch, base, table, classes, progress, tracked)
            base_pairs = _pairs(found.containers, tracked) if found is not None else None
            object_pairs = _pairs(found.objects, tracked) if found is not None else None
            if found is None or base_pairs is None or object_pairs is None:
                return None
            self.reread.append(f"{root}: {base}")
            for item, (guid, usn) in zip(found.containers, base_pairs, strict=True):
                containers[guid] = (item, usn)
                fresh.add(guid)
            for item, (guid, usn) in zip(found.objects, object_pairs, strict=True):
                objects[guid] = (item, usn)
                fresh.add(guid)
            # The base itself (scan_scope leaves its root out): as the change search read it.
            own = next((c for c in self.changes if c.key == dn_key(base)), None)
            if own is not None and is_container(own):
                item = _scoped(own.entry, own.cls, table.intern(scratch, own.entry))
                containers[own.guid] = (item, own.entry.integer("uSNChanged") or 0)
                fresh.add(own.guid)
        kept_containers = sorted(containers.items(), key=lambda kv: kv[1][0].dn.lower())
        kept_objects = sorted(objects.items(), key=lambda kv: kv[1][0].dn.lower())
        for _guid, (item, _usn) in (*kept_containers, *kept_objects):
            if item.dacl is not None and item.dacl not in table.dacls:
                known = self.previous.dacls.get(item.dacl)
                if known is None:
                    return None  # a snapshot naming a DACL it does not hold: read it again
                table.dacls[item.dacl] = known
        self._pass_notes(reader, scratch, kept_containers, kept_objects, fresh)
        record.scan = ScopeScan(
            root=root,
            classes=tuple(classes),
            containers=tuple(item for _g, (item, _u) in kept_containers),
            objects=tuple(item for _g, (item, _u) in kept_objects),
            ous_total=sum(
                item.object_class == "organizationalUnit" for _g, (item, _u) in kept_containers
            ),
        )
        record.containers = [(g, u) for g, (_i, u) in kept_containers]
        record.objects = [(g, u) for g, (_i, u) in kept_objects]
        return record.scan

    def _pass_notes(
        self,
        reader: AdReader,
        scratch: AdReader,
        containers: Sequence[tuple[str, tuple[ScopedObject, int]]],
        objects: Sequence[tuple[str, tuple[ScopedObject, int]]],
        fresh: set[str],
    ) -> None:
        # A full read notes each scanned object whose DACL it could not read or parse.
        new_notes: dict[str, list[Unread]] = {}
        for u in scratch.unread:
            new_notes.setdefault(u.what, []).append(u)
        for guid, (item, _usn) in (*containers, *objects):
            if item.dacl is not None:
                continue
            address = object_address(item.dn)
            notes = (
                new_notes.get(address, []) if guid in fresh else self.prev_unread.get(address, [])
            )
            for note in notes:
                reader.note(note.what, note.reason, note.verify_at)

    # ------------------------------------------------------------------ names

    def principals(
        self,
        reader: AdReader,
        sids: set[str],
        domains: Sequence[Domain],
        held: Mapping[str, AdObject],
        default_nc: str,
    ) -> dict[str, str]:
        previous = self.previous
        before_held = {dn_key(o.dn) for o in previous.objects if o.exists}
        now_held = {k for k, o in held.items() if o.exists}
        same_domains = tuple(domains) == previous.domains and all(
            (dn_key(d.dn) in before_held) == (dn_key(d.dn) in now_held) for d in domains
        )
        failed = any(u.what == "ad.principals" for u in previous.unread)
        lost = any(
            c.deleted and c.sid is None and (not c.classes or c.classes & PRINCIPAL_CLASSES)
            for c in self.changes
        )
        if not same_domains or failed or lost:
            return super().principals(reader, sids, domains, held, default_nc)
        before = trustees(previous.objects, previous.dacls.values())
        affected = {c.sid for c in self.changes if c.sid}
        wanted = (sids - before) | (sids & affected)
        names = {
            sid: name
            for sid, name in previous.principals.items()
            if sid in sids and sid not in wanted
        }
        names.update(resolve_principals(reader, wanted, domains, held, default_nc))
        return dict(sorted(names.items()))


def _scoped(entry: Entry, cls: str, dacl: str | None, *, admin_count: bool = False) -> ScopedObject:
    return ScopedObject.model_construct(
        dn=entry.dn, object_class=cls, dacl=dacl, admin_count=admin_count
    )


def _drop_under(
    items: MutableMapping[str, T], bases: Iterable[str], dn_of: Callable[[T], str]
) -> None:
    """Remove every item whose DN lies at or under one of ``bases`` (lower-cased DNs): one set
    lookup per RDN of each item, however many bases."""
    wanted = set(bases)
    if not wanted:
        return
    doomed = [guid for guid, value in items.items() if _under_any(dn_of(value).lower(), wanted)]
    for guid in doomed:
        del items[guid]


def _under_any(dn_lower: str, bases: set[str]) -> bool:
    if dn_lower in bases:
        return True
    if len(bases) < 4:  # the usual case: a suffix test per base beats a lookup per RDN
        return any(dn_lower.endswith("," + b) for b in bases)
    start = dn_lower.find(",")
    while start != -1:
        if dn_lower[start + 1 :] in bases:
            return True
        start = dn_lower.find(",", start + 1)
    return False


def _scoped_dn(value: tuple[ScopedObject, int]) -> str:
    return value[0].dn


def _tracked_dn(value: TrackedObject) -> str:
    return value.dn
