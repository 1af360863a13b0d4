"""Rollback: restore the before-images an apply journal recorded, newest first.

Before each restore the object must still look exactly as apply left it (the after-image): the
same DACL bytes, the same created object (objectGUID, attribute values, no children), the same
attribute values, membership or tenant value. Otherwise rollback stops *before* writing that
entry — it never overwrites a change somebody made after apply — and says what differs and what
the user can do; entries already restored stay restored. An entry that already equals its
before-image is skipped, so rollback can be re-run after the user fixed what stopped it.

Rollback writes a journal of its own (operation ``rollback``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from planner.apply.executors import Targets, is_member, sd_bytes, sd_image
from planner.apply.journal import Journal, JournalDoc, JournalEntry
from planner.errors import RollbackRefusedError, UsageError, WbplanError
from planner.observe.live import now_iso
from planner.observe.sd import parse_descriptor

Progress = Callable[[str, JournalEntry], None]


@dataclass
class RollbackResult:
    restored: int = 0
    unchanged: int = 0
    failed: int = 0
    refused: list[str] = field(default_factory=list)


class _RefusedError(Exception):
    def __init__(self, what: str, hint: str) -> None:
        super().__init__(what)
        self.what = what
        self.hint = hint


def restorable(doc: JournalDoc) -> list[JournalEntry]:
    """Entries that may have written something, newest first."""
    return [e for e in reversed(doc.entries) if e.status in ("done", "started")]


def run_rollback(
    doc: JournalDoc, targets: Targets, journal: Journal, progress: Progress
) -> RollbackResult:
    """Restore ``doc``'s entries; stops at the first entry that no longer matches."""
    todo = restorable(doc)
    for source in todo:
        journal.entries.append(
            JournalEntry(
                seq=len(journal.entries) + 1,
                address=source.address,
                type=source.type,
                action="restore",
                dn=source.dn,
                before_image=source.after_image,
                after_image=source.before_image,
                note=f"restores entry {source.seq} ({source.action}, {source.status})",
            )
        )
    journal.save()
    result = RollbackResult()
    for source, entry in zip(todo, journal.entries[-len(todo) :] if todo else [], strict=True):
        progress("start", entry)
        try:
            journal.update(entry, status="started", started=now_iso())
            note = _restore(source, targets, _earlier_descriptors(doc, source))
        except _RefusedError as refusal:
            result.refused.append(source.address)
            journal.update(entry, status="failed", error=refusal.what, finished=now_iso())
            progress("failed", entry)
            raise RollbackRefusedError(
                f"rollback stopped at {source.address}: {refusal.what}", hint=refusal.hint
            ) from None
        except WbplanError as exc:
            result.failed += 1
            journal.update(entry, status="failed", error=str(exc), finished=now_iso())
            progress("failed", entry)
            raise
        if note:
            result.unchanged += 1
        else:
            result.restored += 1
        journal.update(entry, status="done", note=note or entry.note, finished=now_iso())
        progress("done", entry)
    return result


def _earlier_descriptors(doc: JournalDoc, entry: JournalEntry) -> list[bytes]:
    """Before-images of the apply's earlier descriptor changes on the same DN: a DACL equal to
    one of them has been rolled back past ``entry`` already."""
    return [
        sd_bytes(e.before_image or {})
        for e in doc.entries
        if e.seq < entry.seq
        and e.dn == entry.dn
        and e.status in ("done", "started")
        and (e.before_image or {}).get("kind") == "security_descriptor"
    ]


_FIX = (
    "undo that change by hand first (so the object is as apply left it) and run rollback "
    "again, or restore the rest by hand from the journal's before-images; `wbplan plan` shows "
    "where things stand"
)


def _restore(e: JournalEntry, t: Targets, earlier: list[bytes]) -> str | None:
    """Check and restore one entry; returns a note when nothing had to be written."""
    before, after = e.before_image or {}, e.after_image or {}
    kind = before.get("kind")
    if kind == "security_descriptor":
        return _restore_sd(e, t, before, after, earlier)
    if kind == "absent":
        return _remove_created(e, t, after)
    if kind == "attributes":
        return _restore_attributes(e, t, before, after)
    if kind == "membership":
        return _restore_membership(e, t, before, after)
    if kind == "tenant" and e.type == "tenant.feature":
        return _restore_feature(e, t, before, after)
    if kind == "tenant" and e.type == "tenant.setting":
        return _restore_setting(e, t, before, after)
    raise UsageError(f"journal entry {e.seq} ({e.address}) has no before-image rollback knows")


def _ace_diff(now: bytes, expected: bytes) -> str:
    have = {a.model_dump_json() for a in parse_descriptor(now).aces if not a.inherited}
    want = {a.model_dump_json() for a in parse_descriptor(expected).aces if not a.inherited}
    parts = []
    if have - want:
        parts.append("added since: " + "; ".join(sorted(have - want)))
    if want - have:
        parts.append("removed since: " + "; ".join(sorted(want - have)))
    return ", ".join(parts) or "the descriptor's flags or inherited ACEs differ"


def _restore_sd(
    e: JournalEntry, t: Targets, before: dict[str, Any], after: dict[str, Any], earlier: list[bytes]
) -> str | None:
    assert e.dn is not None
    ad = t.need_ad(e.address)
    now, old = ad.read_sd(e.dn), sd_bytes(before)
    if now == old or now in earlier:
        # restored already (an earlier run of this rollback got further on this DN)
        return "the DACL already equals the before-image"
    if e.status != "done" or not after:
        raise _RefusedError(
            f"apply was interrupted on {e.dn} and its DACL differs from the before-image",
            "compare the DACL with the journal's before-image and restore it by hand",
        )
    if now != sd_bytes(after):
        raise _RefusedError(
            f"the DACL of {e.dn} changed after apply ({_ace_diff(now, sd_bytes(after))})", _FIX
        )
    ad.write_sd(e.dn, old)
    return None


def _remove_created(e: JournalEntry, t: Targets, after: dict[str, Any]) -> str | None:
    assert e.dn is not None
    ad = t.need_ad(e.address)
    identity = ad.identity(e.dn)
    if identity is None:
        return "the object does not exist (any more)"
    if e.status != "done" or not after:
        raise _RefusedError(
            f"apply was interrupted while creating {e.dn}; it exists now",
            f"check that {e.dn} is the object apply meant to create, then delete it by hand",
        )
    if identity.object_guid != after.get("object_guid"):
        raise _RefusedError(
            f"{e.dn} is another object than the one apply created (objectGUID "
            f"{identity.object_guid}, apply created {after.get('object_guid')})",
            "leave it: it was created by someone else after apply",
        )
    recorded = after.get("attributes") or {}
    now = ad.values(e.dn, list(recorded)) or {}
    changed = [n for n in recorded if sorted(now.get(n, [])) != sorted(recorded[n])]
    if changed:
        raise _RefusedError(f"attributes of {e.dn} changed after apply: {', '.join(changed)}", _FIX)
    children = ad.has_children(e.dn)
    if children:
        raise _RefusedError(
            f"{e.dn}, created by apply, now has children ({', '.join(children)})",
            "move or delete the children first if they are not needed, then run rollback again",
        )
    ad.delete(e.dn)
    return None


def _restore_attributes(
    e: JournalEntry, t: Targets, before: dict[str, Any], after: dict[str, Any]
) -> str | None:
    assert e.dn is not None
    ad = t.need_ad(e.address)
    old: dict[str, list[str]] = before.get("values") or {}
    now = ad.values(e.dn, list(old))
    if now is None:
        raise _RefusedError(f"{e.dn} does not exist any more", "nothing to restore there")
    if now == old:
        return "the attributes already equal the before-image"
    if e.status != "done" or now != (after.get("values") or {}):
        raise _RefusedError(f"attributes of {e.dn} changed after apply: now {now}", _FIX)
    ad.replace(e.dn, old)
    return None


def _restore_membership(
    e: JournalEntry, t: Targets, before: dict[str, Any], after: dict[str, Any]
) -> str | None:
    ad = t.need_ad(e.address)
    group, member = str(before["group_dn"]), str(before["member_dn"])
    now = is_member(ad, group, member)
    if now == bool(before.get("member")):
        return "the membership already equals the before-image"
    if e.status != "done" or now != bool(after.get("member")):
        raise _RefusedError(f"the membership of {member} in {group} changed after apply", _FIX)
    ad.member(group, member, add=bool(before.get("member")))
    return None


def _restore_feature(
    e: JournalEntry, t: Targets, before: dict[str, Any], after: dict[str, Any]
) -> str | None:
    from planner.graphapi.tenant_ops import set_sync_feature
    from planner.observe.graph import read_sync_features

    client = t.need_graph(e.address)
    name = e.address.removeprefix("tenant.feature[").removesuffix("]")
    sync = read_sync_features(client)
    if sync is None:
        raise _RefusedError("the tenant has no onPremisesSynchronization object", _FIX)
    now, old = sync.features.get(name), before.get("value")
    if bool(now) == bool(old):
        return "the flag already equals the before-image"
    if e.status != "done" or now != after.get("value"):
        raise _RefusedError(f"{name} is {now!r} now; apply left it {after.get('value')!r}", _FIX)
    # An absent flag (None) reads as off: it is restored as false (Graph has no "unset").
    set_sync_feature(client, sync.id, name, bool(old))
    return None


def _restore_setting(
    e: JournalEntry, t: Targets, before: dict[str, Any], after: dict[str, Any]
) -> str | None:
    from planner.model.state import NEW_GROUP_WRITEBACK_DEFAULT
    from planner.observe.graph import find_group_unified

    client = t.need_graph(e.address)
    setting = find_group_unified(client)
    created = before.get("created_id")
    values = {
        str(v.get("name")): v.get("value")
        for v in (setting or {}).get("values") or ()
        if isinstance(v, dict)
    }
    now = values.get(NEW_GROUP_WRITEBACK_DEFAULT)
    if created:
        if setting is None:
            return "the Group.Unified setting apply created is gone"
        if str(setting.get("id")) != created:
            raise _RefusedError(
                f"the Group.Unified setting is {setting.get('id')}, not the one apply created ({created})",
                _FIX,
            )
        if now != after.get("value"):
            raise _RefusedError(
                f"{NEW_GROUP_WRITEBACK_DEFAULT} is {now!r} now, apply left {after.get('value')!r}",
                _FIX,
            )
        client.delete(f"/groupSettings/{created}")
        return None
    old_object = before.get("object") or {}
    if setting is None or str(setting.get("id")) != str(old_object.get("id")):
        raise _RefusedError("the Group.Unified setting apply changed is gone or replaced", _FIX)
    if now == before.get("value"):
        return "the setting already equals the before-image"
    if e.status != "done" or now != after.get("value"):
        raise _RefusedError(
            f"{NEW_GROUP_WRITEBACK_DEFAULT} is {now!r} now, apply left {after.get('value')!r}", _FIX
        )
    client.patch(
        f"/groupSettings/{created or old_object['id']}", {"values": old_object.get("values") or []}
    )
    return None


__all__ = ["RollbackResult", "restorable", "run_rollback", "sd_image"]
