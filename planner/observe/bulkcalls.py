"""The bulk reads an AD read made, recorded so that a later read can be shown to need none of
them again (``planner.observe.unchanged``).

``observe_ad`` hands its paged reads (scope scans, the groups below the group-writeback OU, the
devices, the trustee names) to a ``BulkReads``; :class:`RecordingReads` passes them on and keeps
one :class:`BulkCall` per call. :func:`with_keeps` then marks, from the state read, which of them
``MergingReads`` would keep as they were if nothing changed, and :func:`bulk_notes` lists the
``unread`` notes such a kept scan carries over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from planner.model.dn import dn_key
from planner.model.state import (
    AdDevices,
    AdObject,
    AdState,
    Domain,
    GroupsInContainer,
    ScopeScan,
    Unread,
)
from planner.observe.ad import BulkReads
from planner.observe.ad_common import AdReader, object_address
from planner.observe.ad_scan import DaclTable
from planner.progress import Progress

Kind = Literal["scope", "groups", "devices"]


@dataclass(frozen=True)
class BulkCall:
    """One call ``observe_ad`` made to its bulk reads, and what a merge with no change does."""

    kind: Kind
    root: str
    """The root as the policy names it (scope root, group-writeback OU, device location)."""
    classes: tuple[str, ...] = ()
    """Scope scans: the object classes asked for."""
    present: bool = True
    """Whether the read returned a result (None otherwise)."""
    keeps: bool = False
    """Whether ``MergingReads`` with no change keeps the previous result as it was (set from
    the snapshot: :func:`with_keeps`)."""
    guid: str | None = None
    """The root's objectGUID in the snapshot's marks."""
    dacl: str | None = None
    """The root's DACL digest in the snapshot's marks (None: not settled)."""

    def same_call(self, other: BulkCall) -> bool:
        """The same call (kind, root, classes), whatever it returned. The root is compared as
        spelled: the merge writes a root's groups and devices under the policy's spelling."""
        return (self.kind, self.root, self.classes) == (other.kind, other.root, other.classes)

    def as_json(self) -> dict[str, Any]:
        """JSON data (``planner.statecache`` keeps it beside the snapshot)."""
        return {
            "kind": self.kind,
            "root": self.root,
            "classes": list(self.classes),
            "present": self.present,
            "keeps": self.keeps,
            "guid": self.guid,
            "dacl": self.dacl,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BulkCall:
        """The inverse of :meth:`as_json`; ``ValueError`` for anything else."""
        kind = data.get("kind")
        if kind not in ("scope", "groups", "devices"):
            raise ValueError(f"not a bulk call kind: {kind!r}")
        classes = data.get("classes")
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
            raise ValueError("classes must be a list of strings")
        root, guid, dacl = data.get("root"), data.get("guid"), data.get("dacl")
        if not isinstance(root, str) or not all(
            v is None or isinstance(v, str) for v in (guid, dacl)
        ):
            raise ValueError("root, guid and dacl must be strings")
        present, keeps = data.get("present"), data.get("keeps")
        if not isinstance(present, bool) or not isinstance(keeps, bool):
            raise ValueError("present and keeps must be booleans")
        return cls(kind, root, tuple(classes), present, keeps, guid, dacl)


class RecordingReads(BulkReads):
    """The bulk reads of ``inner``, recording each call (:attr:`calls`)."""

    def __init__(self, inner: BulkReads) -> None:
        self.inner = inner
        self.calls: list[BulkCall] = []

    def devices(self, reader: AdReader, location: str, progress: Progress) -> AdDevices | None:
        found = self.inner.devices(reader, location, progress)
        self.calls.append(BulkCall("devices", location, present=found is not None))
        return found

    def groups(
        self, reader: AdReader, container: str, progress: Progress
    ) -> GroupsInContainer | None:
        found = self.inner.groups(reader, container, progress)
        self.calls.append(BulkCall("groups", container, present=found is not None))
        return found

    def scope(
        self,
        reader: AdReader,
        root: str,
        table: DaclTable,
        classes: tuple[str, ...],
        progress: Progress,
    ) -> ScopeScan | None:
        found = self.inner.scope(reader, root, table, classes, progress)
        self.calls.append(BulkCall("scope", root, tuple(classes), present=found is not None))
        return found

    def principals(
        self,
        reader: AdReader,
        sids: set[str],
        domains: Sequence[Domain],
        held: Mapping[str, AdObject],
        default_nc: str,
    ) -> dict[str, str]:
        return self.inner.principals(reader, sids, domains, held, default_nc)


def with_keeps(calls: Sequence[BulkCall], ad: AdState) -> tuple[BulkCall, ...]:
    """``calls`` (recorded while ``ad`` was read) with what a merge of no change would do with
    each, decided on ``ad`` as ``MergingReads`` decides it on its previous state."""
    roots = {dn_key(r.root): r for r in ad.marks.roots} if ad.marks is not None else {}
    scans = {dn_key(s.root): s for s in ad.scopes}
    out = []
    for call in calls:
        key = dn_key(call.root)
        marks = roots.get(key)
        scan = scans.get(key)
        # MergingReads.plan: the root's marks name its objectGUID; plan.complete: a previous
        # scan whose containers the marks follow one by one.
        complete = (
            marks is not None
            and marks.guid is not None
            and scan is not None
            and marks.containers is not None
            and len(marks.containers) == len(scan.containers)
        )
        if not call.present or marks is None:
            keeps = False
        elif call.kind == "scope":
            keeps = (
                complete
                and scan is not None
                and tuple(scan.classes) == call.classes
                and marks.objects is not None
                and len(marks.objects) == len(scan.objects)
                and marks.dacl is not None
                and all(
                    o.dacl is None or o.dacl in ad.dacls for o in (*scan.containers, *scan.objects)
                )
            )
        elif call.kind == "groups":
            keeps = (
                complete
                and marks.groups is not None
                and any(dn_key(g.container) == key for g in ad.groups)
            )
        else:
            keeps = (
                marks.devices is not None
                and marks.guid is not None
                and ad.devices is not None
                and dn_key(ad.devices.location) == key
            )
        out.append(
            BulkCall(
                call.kind,
                call.root,
                call.classes,
                call.present,
                keeps,
                marks.guid if marks else None,
                marks.dacl if marks else None,
            )
        )
    return tuple(out)


def bulk_notes(ad: AdState) -> tuple[Unread, ...]:
    """The snapshot's ``unread`` entries a kept scan notes again (``MergingReads._keep_scope``:
    those of scanned objects whose DACL could not be read)."""
    addresses = {
        object_address(o.dn)
        for s in ad.scopes
        for o in (*s.containers, *s.objects)
        if o.dacl is None
    }
    return tuple(u for u in ad.unread if u.what in addresses)


__all__ = ["BulkCall", "RecordingReads", "bulk_notes", "with_keeps"]
