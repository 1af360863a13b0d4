"""Incremental refresh: read only what changed in AD since a snapshot, and merge it in.

Every AD read through :func:`observe_ad_marked` records **marks** in the snapshot
(``AdState.marks``): the DC read (``dsServiceName``), its database's ``invocationId``, its
``highestCommittedUSN`` read *before* anything else, and, per root, the identity (objectGUID,
uSNChanged) of everything the bulk reads hold (``planner.observe.incremental_merge``).

An incremental read (``refresh --incremental``, ``plan``/``check --incremental``) then:

1. reads the DC's position again and decides whether the snapshot's mark can be read from
   (:func:`full_read_reason`): the same DC, the same database (invocationId), a USN not below
   the mark, a mark younger than ``--max-incremental-age`` and than the forest's tombstone
   lifetime, a bind that may see deleted objects (the Show Deleted control, probed on the
   ``Deleted Objects`` container of each naming context), the same bind identity (the SIDs
   of the bind's token, see below), an unchanged schema (no object of the schema naming
   context above the mark). Otherwise everything is read again, and the reason is returned
   (the CLI prints it; the snapshot's ``source.ad_read`` keeps it);
2. searches each domain naming context the snapshot read for ``(uSNChanged>=mark+1)``, paged,
   with the SD-flags control (the DACL) and Show Deleted (tombstones);
3. runs ``observe_ad`` with :class:`~planner.observe.incremental_merge.MergingReads`: the
   objects the policy names (a few dozen base reads: rootDSE, domains, schema, scope roots,
   device tree, connector and its groups) are read again as always — they decide what the bulk
   reads cover and cost less than proving them unchanged — while the bulk reads are merged
   from the snapshot and the changes, re-reading only the subtrees whose content the DC may
   have rewritten without changing their uSNChanged;
4. records the new mark.

The merged result is the same ``AdState`` a full read returns at that moment (the Samba test
``tests/ad/test_incremental.py`` compares them field for field over random changes).

**The bind's identity.** What a read returns depends on who reads: objects and attributes the
account may not read are left out, deleted objects show only to accounts that may read the
Deleted Objects container, and security descriptors come back under the SD-flags control only as
far as the account may read them. A snapshot read by one account merged with the changes another
account sees would be neither account's view, so the marks record the bind's token — the SIDs the
rootDSE's constructed ``tokenGroups`` returns to this connection (MS-ADTS 3.1.1.3.2, rootDSE
attributes; the account's own SID and those of its groups and well-known principals) — and an
incremental read requires the same set. Another account, or the same account with other group
memberships, reads everything again. The LDAP "Who am I?" extended operation (RFC 4532) would
name the account but not its groups, and Samba 4.17 answers it with protocolError ("Extended
Operation(1.3.6.1.4.1.4203.1.11.3) not supported", measured), so the token is what is compared.
UNCONFIRMED on Windows AD: whether the well-known SIDs in that token differ between
authentication methods (simple bind vs Kerberos) for one account; if they do, changing the method
costs one full read, never a wrong merge.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from planner.errors import LdapConnectError, LdapError
from planner.model.dn import dn_key
from planner.model.policy import Policy
from planner.model.state import AdMarks, AdRead, AdState, ObservedState
from planner.observe.ad import observe_ad
from planner.observe.bulkcalls import BulkCall, RecordingReads
from planner.observe.incremental_merge import (
    Change,
    MergingReads,
    TrackingReads,
    change_of,
)
from planner.observe.ldapconn import LdapSession
from planner.observe.sd import SecurityDescriptorError, guid_from_bytes, sid_from_bytes
from planner.progress import NO_PROGRESS, Progress
from planner.syncstate import parse_time

DEFAULT_MAX_AGE = dt.timedelta(days=7)
"""``--max-incremental-age`` when not given."""
DEFAULT_TOMBSTONE_LIFETIME_DAYS = 60
"""What AD assumes when ``tombstoneLifetime`` is not set (forests created before 2003 SP1)."""
DELETED_OBJECTS_WKGUID = "18e2ea80684f11d2b9aa00c04f79f805"
"""GUID_DELETED_OBJECTS_CONTAINER_W (MS-ADTS 6.1.1.4): ``<WKGUID=…,NC>`` names the container."""
CHANGE_ATTRIBUTES = (
    "objectGUID",
    "objectClass",
    "objectCategory",
    "uSNChanged",
    "uSNCreated",
    "isDeleted",
    "adminCount",
    "nTSecurityDescriptor",
    "objectSid",
    "msDS-DeviceID",
)
"""What the change search asks for: identity, what the scans' filters test, what they keep."""


@dataclass(frozen=True)
class Position:
    """Where a DC's database stands."""

    dc: str
    invocation_id: str
    usn: int
    at: str
    token: tuple[str, ...] | None = None
    """The bind's token (sorted SIDs of the rootDSE's ``tokenGroups``); None: not returned."""


class FullRead(Exception):  # noqa: N818 -- a signal, not an error: it carries the reason
    """An incremental read is not possible; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def now_iso(now: dt.datetime | None = None) -> str:
    """UTC time, second precision, ISO 8601 with Z."""
    moment = now or dt.datetime.now(dt.UTC)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def read_position(session: LdapSession, now: dt.datetime | None = None) -> Position | None:
    """The DC's ``dsServiceName``, ``invocationId`` and ``highestCommittedUSN``; None when the
    server does not say (not an AD DC, or the bind may not read its NTDS Settings object)."""
    try:
        # tokenGroups in the same request: the bind's identity costs no round trip
        root = session.read("", ["dsServiceName", "highestCommittedUSN", "tokenGroups"])
        dc = root.text("dsServiceName") if root else None
        usn = root.integer("highestCommittedUSN") if root else None
        if dc is None or usn is None:
            return None
        settings = session.read(dc, ["invocationId"])
    except LdapConnectError:
        raise
    except LdapError:
        return None
    raw = settings.raw("invocationId") if settings else ()
    try:
        invocation = guid_from_bytes(raw[0]) if raw else None
    except SecurityDescriptorError:
        invocation = None
    if invocation is None:
        return None
    token = bind_token(root.raw("tokenGroups")) if root else None
    return Position(dc=dc, invocation_id=invocation, usn=usn, at=now_iso(now), token=token)


def bind_token(values: Sequence[bytes]) -> tuple[str, ...] | None:
    """The SIDs of the rootDSE's ``tokenGroups`` values, upper-case, sorted and unique; None
    when there are none or one is not a SID (then the identity is unknown)."""
    try:
        sids = {sid_from_bytes(v).upper() for v in values}
    except SecurityDescriptorError:
        return None
    return tuple(sorted(sids)) if sids else None


def _sids(sids: Sequence[str]) -> str:
    shown = ", ".join(sids[:4])
    return shown + (f" and {len(sids) - 4} more" if len(sids) > 4 else "")


def bind_change(before: Sequence[str], now: Sequence[str]) -> str | None:
    """Why a snapshot read with token ``before`` cannot be merged with reads under ``now``
    (None: the same SIDs)."""
    gone = sorted(set(before) - set(now))
    new = sorted(set(now) - set(before))
    if not gone and not new:
        return None
    differences = []
    if gone:
        differences.append(f"{len(gone)} SID(s) only in the snapshot's: {_sids(gone)}")
    if new:
        differences.append(f"{len(new)} only in this bind's: {_sids(new)}")
    return (
        "the snapshot was read by a bind with another token — another account, or the same one "
        f"in other groups ({'; '.join(differences)}) — and what an account may read and see "
        "(objects, attributes, deleted objects, security descriptors) differs, so its changes "
        "cannot be merged into that snapshot"
    )


def _duration(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d"] if days else []
    parts += [f"{hours}h"] if hours else []
    parts += [f"{minutes}m"] if minutes and not days else []
    return "".join(parts) or f"{seconds}s"


def tombstone_lifetime(session: LdapSession, config_nc: str) -> int:
    """The forest's tombstone lifetime in days (``tombstoneLifetime``; 60 when unset)."""
    dn = f"CN=Directory Service,CN=Windows NT,CN=Services,{config_nc}"
    try:
        entry = session.read(dn, ["tombstoneLifetime"])
    except LdapConnectError:
        raise
    except LdapError:
        return DEFAULT_TOMBSTONE_LIFETIME_DAYS
    days = entry.integer("tombstoneLifetime") if entry else None
    return days if days and days > 0 else DEFAULT_TOMBSTONE_LIFETIME_DAYS


def sees_deleted_objects(session: LdapSession, nc: str) -> bool:
    """Whether the bind may read the Deleted Objects container of ``nc`` with Show Deleted (the
    DC applies its DACL: by default only SYSTEM and administrators may). An account that may
    not is served searches without the tombstones, so deletions would go unseen."""
    try:
        entry = session.read(
            f"<WKGUID={DELETED_OBJECTS_WKGUID},{nc}>", ["objectGUID"], show_deleted=True
        )
    except LdapConnectError:
        raise
    except LdapError:
        return False
    return entry is not None and bool(entry.raw("objectGUID"))


def held_naming_contexts(ad: AdState) -> tuple[str, ...]:
    """The domain naming contexts ``ad`` read (their root object exists): the change search
    covers these."""
    held = {dn_key(o.dn) for o in ad.objects if o.exists}
    return tuple(sorted((d.dn for d in ad.domains if dn_key(d.dn) in held), key=dn_key))


def full_read_reason(
    session: LdapSession,
    previous: AdState | None,
    position: Position | None,
    max_age: dt.timedelta,
    max_age_text: str,
    now: dt.datetime,
) -> str | None:
    """Why the snapshot's mark cannot be read from (None: it can). Reads the tombstone
    lifetime, probes the Deleted Objects containers and searches the schema for changes."""
    if previous is None:
        return "there is no earlier snapshot with an AD observation to start from"
    marks = previous.marks
    if marks is None:
        return "the snapshot records no replication marks (written by an older wbplan)"
    if position is None:
        return (
            "this server does not publish dsServiceName, highestCommittedUSN and invocationId "
            "(or the bind may not read them): no replication position to start from"
        )
    if dn_key(position.dc) != dn_key(marks.dc):
        return (
            f"the snapshot was read from another domain controller ({marks.dc}); this is "
            f"{position.dc}, and update sequence numbers are per DC"
        )
    if position.invocation_id != marks.invocation_id:
        return (
            f"the DC's invocationId changed ({marks.invocation_id} → {position.invocation_id}): "
            "its database was restored or replaced"
        )
    if position.usn < marks.highest_committed_usn:
        return (
            f"the DC's highestCommittedUSN ({position.usn}) is below the snapshot's mark "
            f"({marks.highest_committed_usn}): the DC was restored from a backup"
        )
    if marks.bind_token is None:
        return (
            "the snapshot does not record which account read it (the bind's tokenGroups; "
            "written by an older wbplan, or the DC did not return them)"
        )
    if position.token is None:
        return (
            "this DC did not return the bind's token (rootDSE tokenGroups), so it cannot be "
            "shown that the snapshot was read by the same account"
        )
    if changed_bind := bind_change(marks.bind_token, position.token):
        return changed_bind
    marked = parse_time(marks.marked_at)
    if marked is None:
        return f"the snapshot's mark has no readable time ({marks.marked_at!r})"
    age = now - marked
    if age > max_age:
        return (
            f"the snapshot's mark is {_duration(age)} old ({marks.marked_at}), older than "
            f"--max-incremental-age {max_age_text}"
        )
    lifetime = tombstone_lifetime(session, previous.root_dse.configuration_naming_context)
    if age > dt.timedelta(days=lifetime):
        return (
            f"the snapshot's mark is {_duration(age)} old, older than the forest's tombstone "
            f"lifetime ({lifetime} days): deletions before that left no trace"
        )
    for nc in marks.naming_contexts:
        if not sees_deleted_objects(session, nc):
            return (
                f"the bind account may not see deleted objects in {nc} (Show Deleted control "
                "1.2.840.113556.1.4.417; by default only administrators may read the Deleted "
                "Objects container), so deletions since the mark cannot be proven"
            )
    schema = previous.root_dse.schema_naming_context
    try:
        changed = sum(
            1
            for _ in session.search(
                schema, f"(uSNChanged>={marks.highest_committed_usn + 1})", ["1.1"]
            )
        )
    except LdapConnectError:
        raise
    except LdapError as exc:
        return f"the schema could not be searched for changes: {exc.message}"
    if changed:
        return (
            f"the schema changed since the mark ({changed} object(s) of {schema} above USN "
            f"{marks.highest_committed_usn})"
        )
    return None


def read_changes(
    session: LdapSession, naming_contexts: Sequence[str], mark: int, progress: Progress
) -> list[Change]:
    """Every object of ``naming_contexts`` whose uSNChanged is above ``mark``, tombstones
    included (paged; the DACL under the SD-flags control)."""
    progress.phase(f"Reading AD: changes since USN {mark}", "objects")
    changes: dict[str, Change] = {}
    count = 0
    for nc in naming_contexts:
        for entry in session.search(
            nc,
            f"(uSNChanged>={mark + 1})",
            CHANGE_ATTRIBUTES,
            security=True,
            show_deleted=True,
        ):
            count += 1
            progress.update(count)
            raw = entry.raw("objectGUID")
            try:
                guid = guid_from_bytes(raw[0]) if raw else None
            except SecurityDescriptorError:
                guid = None
            if guid is None:
                raise FullRead(f"the change search returned {entry.dn} without its objectGUID")
            changes[guid] = change_of(entry, mark, guid)
    return list(changes.values())


def changes_since(
    session: LdapSession,
    before: AdState | None,
    position: Position | None,
    max_age: tuple[str, dt.timedelta] | None,
    now: dt.datetime,
    progress: Progress,
) -> tuple[AdMarks, list[Change]]:
    """``before``'s marks and every change since them, when they can be read from
    (:func:`full_read_reason`); :class:`FullRead` with the reason otherwise."""
    text, limit = max_age or ("7d", DEFAULT_MAX_AGE)
    reason = full_read_reason(session, before, position, limit, text, now)
    if reason is not None:
        raise FullRead(reason)
    assert before is not None and before.marks is not None and position is not None
    marks = before.marks
    try:
        changes = read_changes(
            session, marks.naming_contexts, marks.highest_committed_usn, progress
        )
    except LdapConnectError:
        raise
    except LdapError as exc:
        raise FullRead(f"the change search failed: {exc.message}") from None
    return marks, changes


def observe_ad_marked(
    session: LdapSession,
    policy: Policy,
    progress: Progress = NO_PROGRESS,
    *,
    previous: ObservedState | None = None,
    incremental: bool = False,
    max_age: tuple[str, dt.timedelta] | None = None,
    now: dt.datetime | None = None,
    calls: list[BulkCall] | None = None,
) -> tuple[AdState, AdRead]:
    """Read AD for ``policy`` with marks: in full, or (``incremental``) from ``previous``'s
    marks when possible (see module docstring). Returns the state and how it was read;
    ``calls``, when given, receives the bulk reads made (``planner.observe.bulkcalls``)."""
    moment = now or dt.datetime.now(dt.UTC)
    position = read_position(session, moment)
    recorded: list[BulkCall] = [] if calls is None else calls
    if not incremental:
        return _full(session, policy, progress, position, None, recorded)
    before = previous.ad if previous is not None else None
    try:
        marks, changes = changes_since(session, before, position, max_age, moment, progress)
        assert before is not None
        bulk = MergingReads(before, changes)
        recording = RecordingReads(bulk)
        ad = observe_ad(session, policy, progress, recording)
        if held_naming_contexts(ad) != marks.naming_contexts:
            raise FullRead("the domains this DC holds changed since the mark")
    except FullRead as signal:
        return _full(session, policy, progress, position, signal.reason, recorded)
    recorded[:] = recording.calls
    ad = _finish(session, ad, bulk, position, marks.full_read_at)
    read = AdRead(
        mode="incremental",
        since_usn=marks.highest_committed_usn,
        changes=len(changes),
        reread=tuple(dict.fromkeys(bulk.reread)),
    )
    return ad, read


def _full(
    session: LdapSession,
    policy: Policy,
    progress: Progress,
    position: Position | None,
    reason: str | None,
    calls: list[BulkCall],
) -> tuple[AdState, AdRead]:
    bulk = TrackingReads()
    recording = RecordingReads(bulk)
    ad = observe_ad(session, policy, progress, recording)
    calls[:] = recording.calls
    ad = _finish(session, ad, bulk, position, position.at if position else None)
    return ad, AdRead(mode="full", full_read_reason=reason)


def _finish(
    session: LdapSession,
    ad: AdState,
    bulk: TrackingReads,
    position: Position | None,
    full_read_at: str | None,
) -> AdState:
    """``ad`` with its marks, and only the DACLs its scans refer to (a merge may have parsed
    DACLs of objects that then left)."""
    used = {o.dacl for s in ad.scopes for o in (*s.containers, *s.objects) if o.dacl}
    dacls = {k: v for k, v in ad.dacls.items() if k in used}
    marks = None
    if position is not None and full_read_at is not None:
        marks = AdMarks(
            dc=position.dc,
            invocation_id=position.invocation_id,
            highest_committed_usn=position.usn,
            marked_at=position.at,
            full_read_at=full_read_at,
            naming_contexts=held_naming_contexts(ad),
            roots=bulk.finish(session, position.usn),
            bind_token=position.token,
        )
    return ad.model_copy(update={"dacls": dacls, "marks": marks})


__all__ = [
    "DEFAULT_MAX_AGE",
    "FullRead",
    "Position",
    "bind_change",
    "bind_token",
    "changes_since",
    "full_read_reason",
    "observe_ad_marked",
    "read_changes",
    "read_position",
]
