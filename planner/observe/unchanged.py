"""Proving that nothing observed changed since a snapshot, without reading the snapshot's bulk.

An incremental read (``planner.observe.incremental``) loads the whole snapshot (40 MB at 100,000
users), merges the changes into it and writes it back. When the DC reports no change at all,
that merge returns the snapshot's bulk reads as they were; what costs the time is only moving
them. This module decides that case from what is small:

* the snapshot's **rest** — the ``ObservedState`` without the bulk reads (``ad.scopes``,
  ``ad.groups``, ``ad.devices``, ``ad.dacls``, ``ad.principals``, ``ad.marks.roots``),
  kept beside the snapshot by ``planner.statecache``;
* the **bulk calls** the last read made (:class:`BulkCall`: which scan of which root, with which
  classes, and whether the merge could keep that scan as it was), recorded by
  :class:`RecordingReads` while ``observe_ad`` ran.

:func:`read_unchanged` then does what ``observe_ad_marked`` does for an incremental read, up to
the point where the two could differ:

1. the DC's position and every reason to read in full (``full_read_reason``, the same code);
2. the change search over the same naming contexts: **any** object returned ends this path;
3. ``observe_ad`` itself, so that every object the policy names is read again exactly as an
   incremental read reads it, with :class:`ProbeReads` answering the bulk calls: each must be the
   call recorded last time, in the same order, on a root with the same objectGUID and DACL, and
   one the merge would have kept as it was (``MergingReads``: a complete previous scan with the
   same classes, the root's DACL digest settled, every DACL of it in the table);
4. the rest read now must equal the snapshot's rest, apart from the marks' position.

With no change above the mark, ``MergingReads`` keeps each such scan (``_untouched`` holds
vacuously), answers the trustee names from the snapshot (no trustee is new and none changed),
and keeps every root's marks; so the snapshot a full incremental read would write is the old one
with the new marks and ``source``, and its observations are the old ones. The Samba test
``tests/ad/test_unchanged.py`` holds the two paths to that, byte for byte, over rounds with and
without changes; any doubt here (a call not recorded, a root not mergeable, a difference in the
rest) returns a reason and the caller takes the full incremental path.

:func:`splice_unchanged` then writes that snapshot from the old bytes. And when the full path
did run, :func:`same_observations` tells whether its result observes what the snapshot did
(changes only to attributes wbplan does not read), so that ``check`` may keep the last report.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from planner.model.policy import Policy
from planner.model.state import (
    AdDevices,
    AdMarks,
    AdObject,
    AdRead,
    AdState,
    Domain,
    GroupsInContainer,
    ObservedState,
    ScopeScan,
)
from planner.observe.ad import BulkReads, observe_ad
from planner.observe.ad_common import AdReader
from planner.observe.ad_scan import DaclTable, identity_of
from planner.observe.bulkcalls import BulkCall
from planner.observe.incremental import (
    FullRead,
    changes_since,
    held_naming_contexts,
    read_position,
)
from planner.observe.incremental_merge import read_identity
from planner.observe.ldapconn import LdapSession
from planner.progress import NO_PROGRESS, Progress

BULK_FIELDS = frozenset({"scopes", "groups", "devices", "dacls", "principals"})
"""``AdState`` fields filled by the bulk reads (``observe_ad``'s ``BulkReads``)."""
REST_EXCLUDE: dict[str, Any] = {"ad": {**dict.fromkeys(BULK_FIELDS, True), "marks": {"roots"}}}
"""``model_dump(exclude=…)`` of an ``ObservedState`` that leaves its rest."""


class Declined(Exception):  # noqa: N818 -- a signal carrying why, like incremental.FullRead
    """The unchanged path does not apply; ``reason`` says why (for ``--debug``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProbeReads(BulkReads):
    """Bulk reads answered only when they are the recorded calls and a merge of no change would
    keep them; results are placeholders (only the rest of the state is used)."""

    def __init__(self, recorded: Sequence[BulkCall]) -> None:
        self.recorded = list(recorded)
        self.made = 0

    def _next(self, reader: AdReader, call: BulkCall) -> BulkCall:
        if self.made >= len(self.recorded):
            raise Declined(f"a bulk read not made last time: {call.kind} {call.root}")
        expected = self.recorded[self.made]
        self.made += 1
        if not expected.same_call(call):
            raise Declined(
                f"the bulk reads differ from last time: {call.kind} {call.root} "
                f"where {expected.kind} {expected.root} was read"
            )
        if not expected.keeps:
            raise Declined(f"the {call.kind} read of {call.root} would not be kept as it was")
        entry = read_identity(reader.session, call.root)
        ident = identity_of(entry) if entry is not None else None
        if ident is None or ident.guid is None or ident.guid != expected.guid:
            raise Declined(f"{call.root} is not the object read last time")
        if call.kind != "devices" and (ident.dacl is None or ident.dacl != expected.dacl):
            raise Declined(f"the DACL of {call.root} is not the one read last time")
        return expected

    def devices(self, reader: AdReader, location: str, progress: Progress) -> AdDevices | None:
        self._next(reader, BulkCall("devices", location))
        return AdDevices.model_construct(location=location, count=0, device_ids=())

    def groups(
        self, reader: AdReader, container: str, progress: Progress
    ) -> GroupsInContainer | None:
        self._next(reader, BulkCall("groups", container))
        return GroupsInContainer.model_construct(container=container, count=0, first=())

    def scope(
        self,
        reader: AdReader,
        root: str,
        table: DaclTable,
        classes: tuple[str, ...],
        progress: Progress,
    ) -> ScopeScan | None:
        self._next(reader, BulkCall("scope", root, tuple(classes)))
        return ScopeScan.model_construct(root=root, classes=tuple(classes))

    def principals(
        self,
        reader: AdReader,
        sids: set[str],
        domains: Sequence[Domain],
        held: Mapping[str, AdObject],
        default_nc: str,
    ) -> dict[str, str]:
        return {}  # MergingReads with no change and the same domains: the snapshot's names


def rest_of(state: ObservedState) -> dict[str, Any]:
    """The state without its bulk reads, as JSON data (what the snapshot's rest is compared
    with and spliced from)."""
    rest: dict[str, Any] = state.model_dump(mode="json", by_alias=True, exclude=REST_EXCLUDE)
    return rest


def head_state(rest: Mapping[str, Any]) -> AdState:
    """The snapshot's AD part without its bulk reads (enough for ``full_read_reason``)."""
    return AdState.model_validate(rest["ad"])


def _unread_key(u: Mapping[str, Any]) -> tuple[str, str]:
    return (str(u.get("what")), str(u.get("reason")))


def _merged_unread(
    read: Sequence[Mapping[str, Any]], carried: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    # AdReader.note keeps the first note per (what, reason); observe_ad sorts them.
    found: dict[tuple[str, str], Mapping[str, Any]] = {}
    for u in (*read, *carried):
        found.setdefault(_unread_key(u), u)
    return [found[k] for k in sorted(found)]


@dataclass(frozen=True)
class Unchanged:
    """AD read and found as the snapshot observed it: the new marks and how it was read."""

    marks: AdMarks
    read: AdRead


def read_unchanged(
    session: LdapSession,
    policy: Policy,
    rest: Mapping[str, Any],
    calls: Sequence[BulkCall],
    carried: Sequence[Mapping[str, Any]],
    *,
    progress: Progress = NO_PROGRESS,
    max_age: tuple[str, dt.timedelta] | None = None,
    now: dt.datetime | None = None,
) -> Unchanged:
    """Read AD over ``session`` as an incremental read from the snapshot whose rest is ``rest``
    would, as far as needed to show that it would observe what the snapshot observes (see the
    module docstring); ``carried``: the snapshot's :func:`bulk_notes`. Raises
    :class:`Declined` (with the reason) when it cannot show that."""
    moment = now or dt.datetime.now(dt.UTC)
    head = head_state(rest)
    marks = head.marks
    if marks is None:
        raise Declined("the snapshot records no marks")
    if any(u.what == "ad.principals" for u in head.unread):
        raise Declined("the snapshot's trustee names were not all read")
    position = read_position(session, moment)
    try:
        _marks, changes = changes_since(session, head, position, max_age, moment, progress)
    except FullRead as signal:
        raise Declined(f"a full read is needed: {signal.reason}") from None
    assert position is not None
    if changes:
        raise Declined(f"{len(changes)} object(s) changed since the mark")
    probe = ProbeReads(calls)
    ad = observe_ad(session, policy, progress, probe)
    if probe.made != len(calls):
        raise Declined("fewer bulk reads than last time")
    if held_naming_contexts(ad) != marks.naming_contexts:
        raise Declined("the domains this DC holds changed")
    now_rest = ad.model_dump(mode="json", by_alias=True, exclude={*BULK_FIELDS, "marks"})
    before = {k: v for k, v in rest["ad"].items() if k != "marks"}
    now_rest["unread"] = _merged_unread(now_rest.get("unread", []), carried)
    if now_rest != before:
        differing = sorted(k for k in {*now_rest, *before} if now_rest.get(k) != before.get(k))
        raise Declined(f"the objects the policy names read differently ({', '.join(differing)})")
    new_marks = marks.model_copy(
        update={
            "dc": position.dc,
            "invocation_id": position.invocation_id,
            "highest_committed_usn": position.usn,
            "marked_at": position.at,
            "bind_token": position.token,
        }
    )
    read = AdRead(mode="incremental", since_usn=marks.highest_committed_usn, changes=0)
    return Unchanged(new_marks, read)


def same_observations(before: ObservedState, after: ObservedState) -> bool:
    """Whether ``after`` observes exactly what ``before`` did: everything but the marks, the
    time of the observation and how it was read (``source``, ``wbplan_version``). The bulk reads
    a merge kept are the same objects (``is``), so a scan no change touched costs nothing to
    compare; a scan the merge rebuilt is compared field by field."""
    if (before.ad is None) != (after.ad is None):
        return False
    if before.tenant != after.tenant or before.connect != after.connect:
        return False
    if before.ad is None or after.ad is None:
        return True
    for name in BULK_FIELDS:
        a, b = getattr(before.ad, name), getattr(after.ad, name)
        if a is b:
            continue
        if isinstance(a, tuple) and isinstance(b, tuple):
            if len(a) != len(b) or not all(x is y or x == y for x, y in zip(a, b, strict=True)):
                return False
        elif a != b:
            return False
    light = {*BULK_FIELDS, "marks"}
    return before.ad.model_dump(exclude=light) == after.ad.model_dump(exclude=light)


def changed_paths(
    old: Mapping[str, Any], new: Mapping[str, Any]
) -> dict[tuple[str | int, ...], Any]:
    """The values to splice between two rests: top-level keys but ``ad``, and the keys of
    ``ad.marks`` (the rest of ``ad`` must be equal, and ``ad.marks.roots`` is in no rest);
    ``ValueError`` when the two differ otherwise."""
    if old.keys() != new.keys() or old["ad"].keys() != new["ad"].keys():
        raise ValueError("the snapshot's keys differ")
    out: dict[tuple[str | int, ...], Any] = {}
    for key, value in new.items():
        if key != "ad" and old[key] != value:
            out[(key,)] = value
    for key, value in new["ad"].items():
        if key != "marks" and old["ad"][key] != value:
            raise ValueError(f"ad.{key} differs")
    old_marks, new_marks = old["ad"]["marks"], new["ad"]["marks"]
    if old_marks.keys() != new_marks.keys():
        raise ValueError("the marks' keys differ")
    for key, value in new_marks.items():
        if old_marks[key] != value:
            out[("ad", "marks", key)] = value
    return out


def splice_unchanged(
    raw: bytes, rest: Mapping[str, Any], found: Unchanged, ldap_url: str, observed_at: str
) -> tuple[bytes, dict[str, Any]]:
    """The snapshot an incremental read would write after :func:`read_unchanged` found AD
    unchanged — ``raw`` (the snapshot's canonical bytes, whose rest is ``rest``) with the new
    marks, ``source`` and ``observed_at`` spliced in (``planner.jsonspan``) — and its rest. As
    ``observe_live`` builds a state: this wbplan's version, no tenant (no Graph read), the
    Connect evidence kept. ``LookupError``/``ValueError`` when ``raw`` cannot be spliced."""
    from planner import __version__
    from planner.jsonspan import replace_values
    from planner.model.state import Source

    new = copy.deepcopy(dict(rest))
    new["wbplan_version"] = __version__
    new["observed_at"] = observed_at
    new["source"] = Source(ldap_url=ldap_url, ad_read=found.read).model_dump(mode="json")
    new["tenant"] = None
    new["ad"]["marks"] = found.marks.model_dump(mode="json", exclude={"roots"})
    return replace_values(raw, changed_paths(rest, new)), new


__all__ = [
    "BULK_FIELDS",
    "REST_EXCLUDE",
    "Declined",
    "ProbeReads",
    "Unchanged",
    "changed_paths",
    "head_state",
    "read_unchanged",
    "rest_of",
    "same_observations",
    "splice_unchanged",
]
