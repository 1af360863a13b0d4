"""A record in AD of what an apply journal may undo, so an edited journal file cannot steer
rollback.

The journal is a file anybody with access to the runner can edit; a consistent edit (the
entry's DN, the change the plan approved and both images together) would pass every check
rollback can make from the file alone. So before its first write, an apply with an LDAP
connection records the journal's *immutable* part in the directory, next to the apply lock:
``CN=<lock id>,CN=wbplan-journals,CN=Program Data,<forest root domain>`` (class ``container``,
``description`` = JSON: the journal's file name, start, plan digest and a SHA-256 over every
entry's seq, address, type, action, DN and approved change, and the lineage). Rollback of a
journal that changed AD reads that record and refuses the journal when it is missing or does
not match — unless the journal carries a valid signature (``WBPLAN_PLAN_KEY``), which is the
other anchor. Only the apply account (and administrators) may write there: the rights are the
ones the lock needs (README: "The apply lock in AD"). wbplan never deletes these records; they
are a few hundred bytes each.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from planner.apply import adlock
from planner.errors import JournalError
from planner.model.dn import parent_dn

if TYPE_CHECKING:
    from planner.apply.journal import JournalDoc
    from planner.observe.ldapconn import LdapSession

JOURNALS_RDN = "CN=wbplan-journals"
FORMAT = "wbplan-journal-anchor"


def journal_digest(doc: JournalDoc) -> str:
    """SHA-256 over what a journal may undo: the entries' identity and approved change, the
    lineage and the plan digest (the images and statuses, written as apply goes, are not in
    it; rollback checks them against the approved change)."""
    body: dict[str, Any] = {
        "lineage": doc.lineage,
        "plan": doc.plan.get("digest"),
        "lock_id": doc.lock_id,
        "entries": [[e.seq, e.address, e.type, e.action, e.dn, e.planned] for e in doc.entries],
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def journals_container(session: LdapSession) -> str:
    """``CN=wbplan-journals,CN=Program Data,<forest root domain>`` (beside the locks)."""
    program_data = parent_dn(adlock.locks_container(session)) or ""
    return f"{JOURNALS_RDN},{program_data}"


def record_dn(session: LdapSession, lock_id: str) -> str:
    return f"CN={lock_id.lower()},{journals_container(session)}"


def write_record(session: LdapSession, doc: JournalDoc, journal_name: str) -> str:
    """Record ``doc`` (entries already listed) in AD; returns the record's DN."""
    if not doc.lock_id:
        raise JournalError("an apply journal without a lock id cannot be recorded in AD")
    container = journals_container(session)
    if session.read(container, ["objectClass"]) is None:
        adlock.add_container(
            session,
            container,
            "wbplan: what each apply journal may undo",
            what="the journal records' container",
        )
    dn = record_dn(session, doc.lock_id)
    value = json.dumps(
        {
            "format": FORMAT,
            "journal": journal_name,
            "started": doc.started,
            "digest": journal_digest(doc),
        },
        sort_keys=True,
    )
    adlock.add_container(session, dn, value, what="the apply journal's record")
    return dn


def check_record(session: LdapSession, doc: JournalDoc, *, signed: bool) -> None:
    """Refuse ``doc`` when AD's record of it is missing (and the journal is not signed) or
    does not match."""
    dn = record_dn(session, doc.lock_id or "-")
    entry = session.read(dn, [adlock.LOCK_ATTRIBUTE]) if doc.lock_id else None
    recorded = None
    for value in entry.texts(adlock.LOCK_ATTRIBUTE) if entry is not None else ():
        try:
            data = json.loads(value)
        except ValueError:
            continue
        if isinstance(data, dict) and data.get("format") == FORMAT:
            recorded = data
    if recorded is None:
        if signed:
            return
        raise JournalError(
            f"AD holds no record of this journal ({dn}): it was written by an apply without "
            "an LDAP connection or by an older wbplan, or it was edited (its lock id changed)",
            hint="rollback trusts a journal file only with that record or a signature "
            "(WBPLAN_PLAN_KEY); restore by hand from the journal's before-images",
        )
    if recorded.get("digest") != journal_digest(doc):
        raise JournalError(
            f"the journal does not match AD's record of it ({dn}): an entry's DN, action or "
            "approved change was edited",
            hint="rollback refuses an edited journal; restore by hand from a trusted copy",
        )
