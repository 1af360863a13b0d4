"""Rollback: undo what an apply journal recorded, newest first, deciding per step from the
object as it is *now*.

- **DACL changes** (``ad.ace``): rollback removes exactly the ACE apply added (or re-adds the
  one it removed) — nothing else. When the DACL is still byte for byte what apply left, the
  whole before-image is written back (byte-identical restore); when somebody changed the DACL
  since, only wbplan's ACE is taken out and their changes stay. Every write is a
  compare-and-swap where the DC offers one (see :meth:`AdWriter.swap_sd`).
- **Created objects** are deleted only if they are the object apply created (objectGUID, or for
  a step whose reply was lost: the planned attributes, created after the step started) and are
  unchanged, with no children.
- **Attribute, membership and tenant changes** are restored when the value is still what apply
  set; already as before → nothing to do; changed by somebody else → refused with details.

Steps whose outcome is ``started`` or ``unknown`` (a crash, a lost reply) are decided the same
way, from the live object. A step that cannot be proven safe is refused *and rollback goes on*
with the others (except a created object whose later steps were refused: it is kept), then
reports every refusal. A DACL somebody else changed while rollback wrote it (a DC without
compare-and-swap: see :meth:`AdWriter.swap_sd`) gets a warning on the step, which is ``done``,
and rollback exits 1 listing it. Before anything is written, every entry must agree with the
change the plan approved (embedded in the journal): same DN, images that differ by exactly the
planned ACE; with ``WBPLAN_PLAN_KEY`` set the journal's signature must verify. A journal edited to
point elsewhere is refused as a whole.

Rollback writes a journal of its own (operation ``rollback``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pydantic

from planner.apply.engine import StopFlag
from planner.apply.executors import (
    Targets,
    concurrent_note,
    created_attributes,
    explicit_aces,
    has_ace,
    is_member,
    sd_bytes,
    sd_image,
    swap_ace,
    text_values,
)
from planner.apply.journal import Journal, JournalDoc, JournalEntry
from planner.apply.ldapwrite import SwapConflictError
from planner.errors import JournalError, RollbackRefusedError, UsageError, WbplanError
from planner.model.dn import dn_key, is_at_or_under
from planner.model.state import Ace
from planner.observe.ldapconn import parse_generalized_time
from planner.observe.live import now_iso
from planner.observe.sd import merge_into_descriptor, parse_descriptor, remove_aces
from planner.syncstate import parse_time

Progress = Callable[[str, JournalEntry], None]

RESTORABLE = ("done", "started", "unknown")
"""Outcomes after which the object may differ from its before-image."""


@dataclass
class RollbackResult:
    restored: int = 0
    unchanged: int = 0
    failed: int = 0
    not_started: int = 0
    """Steps left because a stop was requested (SIGTERM/SIGINT)."""
    refused: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    """One line per refused step: address and why."""
    warnings: list[str] = field(default_factory=list)
    """One line per warning of a step that wrote: address and what may have been overwritten."""


class Written(str):
    """A note on a step that did write (the others' notes say why nothing was written)."""

    __slots__ = ()


@dataclass(frozen=True)
class Warned:
    """A step that wrote, around which somebody else changed the DACL: a change of theirs may
    have been overwritten (the step is ``done`` and carries the warnings; rollback exits 1)."""

    note: str
    warnings: list[str]


class _RefusedError(Exception):
    def __init__(self, what: str, hint: str) -> None:
        super().__init__(what)
        self.what = what
        self.hint = hint


def restorable(doc: JournalDoc) -> list[JournalEntry]:
    """Entries that may have written something, newest first."""
    return [e for e in reversed(doc.entries) if e.status in RESTORABLE]


# --------------------------------------------------------------------------- the journal's word


def _image_bytes(e: JournalEntry, image: dict[str, Any], which: str) -> bytes:
    try:
        data = base64.b64decode(str(image.get("sd_base64", "")), validate=True)
        parse_descriptor(data)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise JournalError(
            f"journal entry {e.seq} ({e.address}): its {which}-image is not a security descriptor",
            hint="a journal must not be edited by hand; restore from a backup of the journal",
        ) from exc
    return data


def planned_ace_of(e: JournalEntry) -> Ace:
    """The ACE the approved change of an ``ad.ace`` entry added (create) or removed (delete)."""
    planned = e.planned or {}
    raw = planned.get("after") if e.action == "create" else planned.get("before")
    try:
        return Ace.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise JournalError(
            f"journal entry {e.seq} ({e.address}) does not carry the ACE its plan approved",
            hint="a journal must not be edited by hand (journals of wbplan before 0.9 cannot "
            "be rolled back ACE by ACE: restore by hand from their before-images)",
        ) from exc


def check_journal(doc: JournalDoc) -> None:
    """Refuse a journal whose entries do not agree with the changes the plan approved (before
    anything is read or written)."""
    from planner.signing import verify_journal

    verify_journal(doc)
    for e in restorable(doc):
        planned = e.planned
        if planned is None and not e.type.startswith("ad."):
            continue  # tenant steps are decided from Graph's values alone
        if planned is None:
            raise JournalError(
                f"journal entry {e.seq} ({e.address}) does not carry the change its plan "
                "approved; rollback cannot tell what apply did",
                hint="restore by hand from the journal's before-images",
            )
        if (e.dn or planned.get("dn")) and dn_key(e.dn or "") != dn_key(planned.get("dn") or ""):
            raise JournalError(
                f"journal entry {e.seq} ({e.address}) names {e.dn}, but the plan's change was "
                f"for {planned.get('dn')}: the journal was edited",
                hint="rollback refuses an edited journal; restore by hand",
            )
        before, after = e.before_image or {}, e.after_image or {}
        if e.type == "ad.ace" and before.get("kind") == "security_descriptor":
            ace = planned_ace_of(e)
            old = _image_bytes(e, before, "before")
            if after:
                new = _image_bytes(e, after, "after")
                _check_sd_pair(e, ace, old, new, concurrent=bool(after.get("concurrent")))
        elif e.type == "ad.object" and e.action == "create":
            wanted = object_attributes_of(e)
            recorded = (after.get("attributes") or {}) if after else {}
            extra = sorted(set(recorded) - set(wanted))
            if extra:
                raise JournalError(
                    f"journal entry {e.seq} ({e.address}) records attributes the plan did not "
                    f"create ({', '.join(extra)}): the journal was edited",
                    hint="rollback refuses an edited journal; restore by hand",
                )
        elif e.type == "ad.object" and before.get("kind") == "attributes":
            names = set(planned.get("after") or {})
            if set(before.get("values") or {}) - names:
                raise JournalError(
                    f"journal entry {e.seq} ({e.address}) would restore attributes the plan "
                    "did not change: the journal was edited",
                    hint="rollback refuses an edited journal; restore by hand",
                )


def _check_sd_pair(
    e: JournalEntry, ace: Ace, old: bytes, new: bytes, *, concurrent: bool = False
) -> None:
    """Before- and after-image of a DACL step differ by the planned ACE and by nothing wbplan
    did not report (concurrent changes are recorded in the entry's warnings, or as the
    after-image's ``concurrent`` count): the same explicit ACEs but the planned one, the same
    inherited ACEs and the same protection."""
    if e.warnings or concurrent:
        return
    before, after = Counter(_keys(explicit_aces(old))), Counter(_keys(explicit_aces(new)))
    key = ace.model_dump_json()
    added = after - before
    removed = before - after
    if e.action == "create":
        mine, others = added, removed
    else:
        mine, others = removed, added
    unexplained = (mine - Counter({key: 1})) + others
    if mine and key not in mine:
        unexplained = mine + others
    old_sd, new_sd = parse_descriptor(old), parse_descriptor(new)
    inherited_old = Counter(a.model_dump_json() for a in old_sd.aces if a.inherited)
    inherited_new = Counter(a.model_dump_json() for a in new_sd.aces if a.inherited)
    if (
        unexplained
        or old_sd.dacl_protected != new_sd.dacl_protected
        or inherited_old != inherited_new
    ):
        raise JournalError(
            f"journal entry {e.seq} ({e.address}): its before- and after-image differ by more "
            "than the planned ACE: the journal was edited",
            hint="rollback refuses an edited journal; restore by hand",
        )


def _keys(aces: list[Ace]) -> list[str]:
    return [a.model_dump_json() for a in aces]


def object_attributes_of(e: JournalEntry) -> dict[str, list[str]]:
    """The attributes the approved create of an ``ad.object`` entry added."""
    return created_attributes((e.planned or {}).get("after"))


# --------------------------------------------------------------------------- the run


def run_rollback(
    doc: JournalDoc,
    targets: Targets,
    journal: Journal,
    progress: Progress,
    stop: StopFlag | None = None,
) -> RollbackResult:
    """Undo ``doc``'s entries, each decided from the live object; refused steps are reported
    together at the end (``RollbackRefusedError``)."""
    check_journal(doc)
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
                planned=source.planned,
            )
        )
    journal.save()
    result = RollbackResult()
    refused_dns: list[str] = []
    hints: list[str] = []
    for source, entry in zip(todo, journal.entries[-len(todo) :] if todo else [], strict=True):
        if stop is not None and stop.requested:
            result.not_started += 1
            continue
        progress("start", entry)
        try:
            journal.update(entry, status="started", started=now_iso())
            blocked = [d for d in refused_dns if source.dn and is_at_or_under(d, source.dn)]
            if blocked and source.action == "create" and source.type == "ad.object":
                raise _RefusedError(
                    f"{source.dn} is kept: the rollback of {blocked[0]} below it was refused",
                    "resolve that step first, then run rollback again",
                )
            note = _restore(source, targets)
        except _RefusedError as refusal:
            result.refused.append(source.address)
            result.reasons.append(f"{source.address}: {refusal.what}")
            hints.append(refusal.hint)
            if source.dn:
                refused_dns.append(source.dn)
            journal.update(entry, status="failed", error=refusal.what, finished=now_iso())
            progress("failed", entry)
            continue
        except WbplanError as exc:
            result.failed += 1
            journal.update(entry, status="failed", error=str(exc), finished=now_iso())
            progress("failed", entry)
            raise
        warned: dict[str, Any] = {}
        if isinstance(note, Warned):
            warned = {"warnings": list(note.warnings)}
            result.warnings += [f"{source.address}: {w}" for w in note.warnings]
            note = Written(note.note)
        if note and not isinstance(note, Written):
            result.unchanged += 1
        else:
            result.restored += 1
        journal.update(
            entry, status="done", note=str(note or entry.note), finished=now_iso(), **warned
        )
        progress("done", entry)
    if result.refused or result.warnings:
        lines = "\n  ".join(result.reasons + result.warnings)
        if result.refused:
            what = (
                f"rollback refused {len(result.refused)} step(s); the other "
                f"{result.restored + result.unchanged} were restored or already as before"
            )
        else:
            what = (
                f"rollback restored {result.restored} step(s) ({result.unchanged} already as "
                "before), but somebody else changed a DACL while rollback wrote it: a change of "
                f"theirs may have been overwritten ({len(result.warnings)} warning(s))"
            )
        hint = hints[0] if len(set(hints)) == 1 else _FIX
        if result.warnings:
            hint = _CHECK if not hints else f"{hint}; and {_CHECK}"
        raise RollbackRefusedError(f"{what}:\n  {lines}", hint=hint)
    return result


_CHECK = (
    "check each DACL named in a warning with whoever changed it: their change may have been "
    "overwritten (the warning shows the DACL rollback read)"
)


_FIX = (
    "undo that change by hand first (so the object is as apply left it) and run rollback "
    "again, or restore the rest by hand from the journal's before-images; `wbplan plan` shows "
    "where things stand"
)


def _restore(e: JournalEntry, t: Targets) -> str | Warned | None:
    """Check and restore one entry; returns a note when nothing had to be written (``Warned``:
    it wrote, and somebody else's change may have been overwritten)."""
    before, after = e.before_image or {}, e.after_image or {}
    kind = before.get("kind")
    if e.type == "ad.ace":
        return _restore_ace(e, t, before, after)
    if kind == "absent" or (e.type == "ad.object" and e.action == "create" and not before):
        return _remove_created(e, t, after)
    if not before:
        return "the step did not get to read the object; nothing was written"
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


def _restore_ace(
    e: JournalEntry, t: Targets, before: dict[str, Any], after: dict[str, Any]
) -> str | Warned | None:
    """Take out the ACE apply added (or put back the one it removed), nothing else."""
    assert e.dn is not None
    ad = t.need_ad(e.address)
    ace = planned_ace_of(e)
    added = e.action == "create"
    if not before:
        # the step stopped before it read the DACL: apply wrote nothing
        return "the step did not get to read the DACL; nothing was written"
    old = sd_bytes(before)
    if has_ace(old, ace) == added:
        return "the ACE was already " + ("there" if added else "absent") + " before apply"
    now = ad.read_descriptor(e.dn)
    if has_ace(now.data, ace) != added:
        return "the ACE is already " + ("absent" if added else "back") + " (as before apply)"
    overwritten: list[str] = []
    if (
        after
        and now.data == sd_bytes(after)
        and not e.warnings
        and not after.get("concurrent")
        and _only_the_ace_apart(old, now.data, ace, added=added)
    ):
        # untouched since apply: write the before-image back, byte for byte
        try:
            swap = ad.swap_sd(e.dn, now, old)
        except SwapConflictError:
            swap = None
        if swap is not None:
            # a change somebody else made between the read and this replace is gone with it
            note = concurrent_note(e.dn, swap, now.data, old)
            overwritten = [note] if note else []
            if has_ace(swap.after.data, ace) != added:
                return Warned("restored the before-image", overwritten) if overwritten else None
    written, swap2, _, warnings = swap_ace(ad, e.dn, ace, add=not added)
    warnings = overwritten + warnings
    if written is None:
        done = "the ACE is already " + ("absent" if added else "back") + " (as before apply)"
        return Warned(done, warnings) if warnings else done
    note = Written(
        "removed only wbplan's ACE; the DACL had changed since apply and those changes were "
        f"kept ({_ace_diff(swap2.after.data if swap2 else written, old)})"
        if added
        else "put wbplan's removed ACE back; the DACL had changed since apply and those "
        "changes were kept"
    )
    return Warned(note, warnings) if warnings else note


def _only_the_ace_apart(old: bytes, now: bytes, ace: Ace, *, added: bool) -> bool:
    """Whether the before-image is exactly the DACL as it is now without wbplan's ACE (with it,
    for a removal): same protection and flags, every other ACE — explicit, inherited or of a
    kind wbplan does not model — the same and in the same order. Only then is it written back
    whole; otherwise (an image that would change more) rollback works ACE by ACE."""
    expected = remove_aces(now, [ace]) if added else merge_into_descriptor(now, [ace])
    return parse_descriptor(old).sddl == parse_descriptor(expected).sddl


def _remove_created(e: JournalEntry, t: Targets, after: dict[str, Any]) -> str | None:
    assert e.dn is not None
    ad = t.need_ad(e.address)
    identity = ad.identity(e.dn)
    if identity is None:
        return "the object does not exist (any more)"
    if e.status != "done" or not after:
        return _remove_unconfirmed(e, ad)
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


def _remove_unconfirmed(e: JournalEntry, ad: Any) -> str | None:
    """A create whose reply was lost (or a crash): the object exists; delete it only when it
    carries exactly the planned attributes, was created after the step started and is empty."""
    assert e.dn is not None
    wanted = {k: v for k, v in object_attributes_of(e).items() if k != "objectClass"}
    now = ad.values(e.dn, [*wanted, "whenCreated"]) or {}
    created = "".join(now.pop("whenCreated", []))
    differ = [n for n in wanted if sorted(now.get(n, [])) != sorted(wanted[n])]
    if differ:
        raise _RefusedError(
            f"apply's create of {e.dn} has no confirmed outcome, and the object there now "
            f"differs from the planned one ({', '.join(differ)})",
            f"check whether {e.dn} is the object apply meant to create; delete it by hand if so",
        )
    if e.started and created and _created_before(created, e.started, slack_seconds=300):
        raise _RefusedError(
            f"{e.dn} was created at {created}, before apply's step started ({e.started})",
            "leave it: it is not the object apply created",
        )
    children = ad.has_children(e.dn)
    if children:
        raise _RefusedError(
            f"{e.dn} (apply's create had no confirmed outcome) now has children "
            f"({', '.join(children)})",
            "move or delete the children first if they are not needed, then run rollback again",
        )
    ad.delete(e.dn)
    return Written("deleted: the planned object, created by the step whose reply was lost")


def _created_before(when_created: str, started: str, *, slack_seconds: int) -> bool:
    """``whenCreated`` lies more than ``slack_seconds`` (clock skew) before the step's start;
    times that cannot be read count as "before": the object is then not proven apply's."""
    created_at = parse_generalized_time(when_created)
    started_at = parse_time(started)
    if created_at is None or started_at is None:
        return True
    return created_at < started_at - dt.timedelta(seconds=slack_seconds)


def _planned_values(e: JournalEntry) -> dict[str, list[str]]:
    """The values the approved attribute update set (sorted, as ``AdWriter.values`` reads)."""
    return {k: sorted(v) for k, v in text_values((e.planned or {}).get("after")).items()}


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
    left = (after.get("values") or {}) if e.status == "done" else _planned_values(e)
    if now != left:
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
    left = bool(after.get("member")) if e.status == "done" else e.action == "create"
    if now != left:
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
    left = (
        after.get("value")
        if e.status == "done"
        else (e.planned or {}).get("after", {}).get("value")
    )
    if now != left:
        raise _RefusedError(f"{name} is {now!r} now; apply left it {left!r}", _FIX)
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
