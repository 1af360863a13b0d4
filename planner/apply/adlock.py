"""The apply lock held in Active Directory itself: one apply or rollback per forest and tenant,
whatever machine or working directory it runs from.

The file lock (:mod:`planner.apply.lock`) lives under a working directory, so two applies run
from two directories (or two machines) never saw each other. This lock lives in the forest, at

    CN=<forest>__<tenant id>,CN=wbplan-locks,CN=Program Data,<forest root domain NC>

as an object of class ``container`` (every AD and Samba has it; ``CN=Program Data`` exists in
every domain and is meant for application data). Its ``description`` holds the lock as JSON:
id (uuid4), holder (``user@host``), pid, operation, forest, tenant id, ``since`` and
``expires`` — no secret. The forest root domain is used, not the domain of whichever DC the
run binds to, so that every runner on one forest meets at the same object.

* **acquire** is one LDAP add, atomic by nature: the DC refuses a second add of the same DN with
  ``entryAlreadyExists``. ``CN=wbplan-locks`` is created on first use (a concurrent creator's
  ``entryAlreadyExists`` is fine). Times come from the DC's clock (rootDSE ``currentTime``), so
  runners with skewed clocks agree on what has expired.
* **taken** → :class:`~planner.errors.LockedError` naming holder, since, expiry, the lock id and
  ``wbplan force-unlock ID``. An *expired* lock is reported as expired and is never taken over
  silently: only ``force-unlock`` with its exact id breaks it.
* **release** reads the object, compares the lock id, and deletes it *by its objectGUID*
  (``<GUID=…>``): a lock that was force-unlocked and taken by another run in between is a new
  object with a new GUID, so release can never delete somebody else's lock.
* **refresh** extends the expiry with one modify that deletes the exact old value and adds the
  new one (the DC refuses it with ``noSuchAttribute`` when the value changed meanwhile).

Rights the apply account needs (README "The apply lock in AD"): *Create container objects* and
*Delete container objects* on ``CN=Program Data`` (this object and all descendant objects) —
or an administrator creates ``CN=wbplan-locks`` once and grants those two rights on it.
Reading needs nothing beyond what Authenticated Users have by default.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import re
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from planner.apply.ldapwrite import write_failure
from planner.apply.lock import LockInfo, _who
from planner.errors import (
    LdapAccessError,
    LdapConnectError,
    LdapError,
    LockedError,
    UsageError,
)
from planner.model.dn import dn_key, parent_dn
from planner.observe.ldapconn import LdapSession, parse_generalized_time
from planner.observe.sd import guid_from_bytes

with warnings.catch_warnings():
    # ldap3 2.9.1 imports pyasn1 names that pyasn1 0.6 deprecates (tagMap, typeMap); harmless.
    warnings.filterwarnings("ignore", "(tagMap|typeMap) is deprecated", DeprecationWarning)
    import ldap3
    from ldap3.core import exceptions as ldap3_exc

log = logging.getLogger("wbplan.lock")

DEFAULT_TTL = dt.timedelta(hours=2)
"""How long a lock is valid unless refreshed; after that it is reported as expired."""
PROGRAM_DATA = "CN=Program Data"
LOCKS_RDN = "CN=wbplan-locks"
LOCK_CLASS = ["top", "container"]
LOCK_ATTRIBUTE = "description"
FORMAT = "wbplan-apply-lock/1"
"""The ``format`` key of a lock's JSON (objects without it are not wbplan locks)."""
CONTAINER_DESCRIPTION = (
    "wbplan apply locks: one child per forest and tenant while a wbplan apply or rollback runs"
)
_CN_MAX = 64
"""rangeUpper of ``cn``."""
_ATTEMPTS = 3

# RFC 4511 result codes the lock tells apart
_SUCCESS = 0
_NO_SUCH_ATTRIBUTE = 16
_NO_SUCH_OBJECT = 32
_INSUFFICIENT_ACCESS = 50
_ENTRY_ALREADY_EXISTS = 68


@dataclass(frozen=True)
class AdLockInfo(LockInfo):
    """What a lock object says (:class:`LockInfo` plus its expiry and where it lives)."""

    expires: str
    dn: str = ""
    """The lock object's DN (not part of the JSON)."""

    def expired(self, now: dt.datetime) -> bool:
        """True when ``now`` (aware, UTC) is at or past the expiry."""
        return _parse_iso(self.expires) <= now

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "lock_id": self.lock_id,
                "who": self.who,
                "pid": self.pid,
                "operation": self.operation,
                "forest": self.forest,
                "tenant_id": self.tenant_id,
                "since": self.since,
                "expires": self.expires,
            },
            separators=(",", ":"),
        )


# ----------------------------------------------------------------------------- location


def lock_rdn_value(forest: str, tenant_id: str) -> str:
    """``<forest>__<tenant id>``, lower case, safe characters only, at most 64 characters
    (``cn``'s limit: a long forest name is shortened and made unique with a hash)."""
    safe_forest = re.sub(r"[^a-z0-9.-]+", "_", forest.strip().lower())
    safe_tenant = re.sub(r"[^a-z0-9.-]+", "_", tenant_id.strip().lower())
    value = f"{safe_forest}__{safe_tenant}"
    if len(value) <= _CN_MAX:
        return value
    digest = hashlib.sha256(f"{forest.lower()}__{tenant_id.lower()}".encode()).hexdigest()[:12]
    room = _CN_MAX - len(digest) - 3 - min(len(safe_tenant), 36)
    return f"{safe_forest[: max(room, 1)]}-{digest}__{safe_tenant[:36]}"[:_CN_MAX]


def locks_container(session: LdapSession) -> str:
    """``CN=wbplan-locks,CN=Program Data,<forest root domain>``; ``LdapError`` when this DC is
    not a DC of the forest root domain (it cannot write there)."""
    entry = session.require("", ["rootDomainNamingContext", "defaultNamingContext"])
    root = entry.text("rootDomainNamingContext") or ""
    default = entry.text("defaultNamingContext") or ""
    if not root:
        raise LdapError(
            f"the rootDSE of {session.url} names no rootDomainNamingContext: not an AD domain controller?",
            hint="point --ldap-url at a domain controller of the forest",
        )
    if default and dn_key(default) != dn_key(root):
        raise LdapError(
            f"the apply lock lives in the forest root domain ({PROGRAM_DATA},{root}), but "
            f"{session.url} is a DC of {default} and cannot write there",
            hint="point --ldap-url at a domain controller of the forest root domain",
        )
    return f"{LOCKS_RDN},{PROGRAM_DATA},{root}"


def lock_dn(container: str, forest: str, tenant_id: str) -> str:
    return f"CN={lock_rdn_value(forest, tenant_id)},{container}"


# ----------------------------------------------------------------------------- the lock


def acquire(
    session: LdapSession,
    forest: str,
    tenant_id: str,
    operation: str,
    *,
    ttl: dt.timedelta = DEFAULT_TTL,
    container: str | None = None,
) -> AdLockInfo:
    """Create the lock object or raise ``LockedError`` naming its holder (or saying that the
    lock there has expired and needs ``wbplan force-unlock``)."""
    if ttl <= dt.timedelta(0):
        raise UsageError(f"the lock TTL must be positive (got {ttl})")
    where = container or locks_container(session)
    _ensure_container(session, where)
    dn = lock_dn(where, forest, tenant_id)
    for _ in range(_ATTEMPTS):
        now = dc_now(session)
        info = AdLockInfo(
            lock_id=str(uuid.uuid4()),
            who=_who(),
            pid=os.getpid(),
            since=_iso(now),
            operation=operation,
            forest=forest.lower(),
            tenant_id=tenant_id.lower(),
            expires=_iso(now + ttl),
            dn=dn,
        )
        code = _add(session, dn, info.to_json())
        if code == _SUCCESS:
            log.debug("took the AD lock %s at %s", info.lock_id, dn)
            return info
        entry = session.read(dn, [LOCK_ATTRIBUTE])
        if entry is None:
            continue  # released between our add and our read: try again
        holder = _parse(entry.texts(LOCK_ATTRIBUTE), dn)
        if holder is None:
            raise LockedError(
                f"{dn} exists but does not hold a wbplan lock (its {LOCK_ATTRIBUTE} is not wbplan's)",
                hint="if no wbplan apply or rollback is running, an administrator deletes that "
                "object (ADSI Edit, or `ldapdelete`); then try again",
            )
        raise _locked(holder, now)
    raise LockedError(
        f"the lock {dn} was taken and released by others {_ATTEMPTS} times while wbplan tried to take it",
        hint="another apply or rollback is busy on this forest and tenant; try again in a moment",
    )


def release(session: LdapSession, info: LockInfo) -> bool:
    """Delete the lock object if it still carries ``info``'s lock id (force-unlock may have
    handed the lock to someone else). True when it was deleted."""
    dn = info.dn if isinstance(info, AdLockInfo) and info.dn else None
    if dn is None:
        dn = lock_dn(locks_container(session), info.forest, info.tenant_id)
    entry = session.read(dn, ["objectGUID", LOCK_ATTRIBUTE])
    if entry is None:
        log.warning("the AD lock %s is gone already (%s)", info.lock_id, dn)
        return False
    current = _parse(entry.texts(LOCK_ATTRIBUTE), dn)
    if current is None or current.lock_id != info.lock_id:
        log.warning(
            "the AD lock %s was broken; %s now holds another lock (%s), left alone",
            info.lock_id,
            dn,
            current.lock_id if current else "not a wbplan lock",
        )
        return False
    guid = entry.raw("objectGUID")
    if not guid:
        raise LdapError(f"the DC returned no objectGUID for {dn}", hint="is this an AD DC?")
    deleted = _delete_by_guid(session, guid[0], dn, info.lock_id)
    if not deleted:
        log.warning(
            "the AD lock %s was broken while it was being released; left alone", info.lock_id
        )
    return deleted


def refresh(
    session: LdapSession, info: AdLockInfo, *, ttl: dt.timedelta = DEFAULT_TTL
) -> AdLockInfo:
    """Move the expiry of a lock we hold to the DC's now + ``ttl`` (compare-and-swap: one
    modify deleting the exact old value and adding the new). ``LockedError`` when the lock is
    no longer ours."""
    entry = session.read(info.dn, [LOCK_ATTRIBUTE])
    values = entry.texts(LOCK_ATTRIBUTE) if entry is not None else ()
    current = _parse(values, info.dn) if values else None
    if current is None or current.lock_id != info.lock_id:
        raise _lost(info)
    renewed = dataclasses.replace(current, expires=_iso(dc_now(session) + ttl))
    old_value = values[0]
    code = _write(
        session,
        "modify",
        info.dn,
        lambda: session.connection.modify(
            info.dn,
            {
                LOCK_ATTRIBUTE: [
                    (ldap3.MODIFY_DELETE, [old_value]),
                    (ldap3.MODIFY_ADD, [renewed.to_json()]),
                ]
            },
        ),
        expected=(_NO_SUCH_ATTRIBUTE, _NO_SUCH_OBJECT),
        right=f"Write property {LOCK_ATTRIBUTE} on {info.dn}",
    )
    if code != _SUCCESS:
        raise _lost(info)
    return renewed


@contextlib.contextmanager
def held(
    session: LdapSession,
    forest: str,
    tenant_id: str,
    operation: str,
    ttl: dt.timedelta = DEFAULT_TTL,
    *,
    container: str | None = None,
) -> Iterator[AdLockInfo]:
    """Hold the AD lock for the ``with`` block; released however the block ends. When the
    block failed and the release fails too (the DC is gone), the block's error is kept and the
    lock id is logged for ``wbplan force-unlock``."""
    info = acquire(session, forest, tenant_id, operation, ttl=ttl, container=container)
    try:
        yield info
    except BaseException:
        try:
            release(session, info)
        except LdapError as exc:
            log.warning(
                "could not release the AD lock %s (%s): %s; it expires at %s, or break it with "
                "`wbplan force-unlock %s`",
                info.lock_id,
                info.dn,
                exc.message,
                info.expires,
                info.lock_id,
            )
        raise
    release(session, info)


def read_locks(session: LdapSession, *, container: str | None = None) -> list[AdLockInfo]:
    """Every wbplan lock in the container (sorted by DN); [] when there is none yet. Objects
    there that are not wbplan locks are skipped."""
    return [info for info, _ in _lock_entries(session, container or locks_container(session))]


def force_unlock(session: LdapSession, lock_id: str, *, container: str | None = None) -> AdLockInfo:
    """Delete the lock whose id is ``lock_id`` (expired or not); ``UsageError`` listing the
    locks there when none has that id."""
    where = container or locks_container(session)
    wanted = lock_id.strip().lower()
    found = _lock_entries(session, where)
    for info, guid in found:
        if info.lock_id.lower() == wanted:
            _delete_by_guid(session, guid, info.dn, info.lock_id)
            return info
    now = dc_now(session)
    listed = "; ".join(_describe(info, now) for info, _ in found)
    raise UsageError(
        f"no lock with id {lock_id} in {where}"
        + (f"; locks there: {listed}" if listed else " (there are no locks)"),
        hint="copy the lock id from the message of the refused apply",
    )


def dc_now(session: LdapSession) -> dt.datetime:
    """The DC's clock (rootDSE ``currentTime``), whole seconds, UTC; this machine's clock when
    the DC does not say."""
    entry = session.read("", ["currentTime"])
    text = entry.text("currentTime") if entry is not None else None
    when = parse_generalized_time(text) if text else None
    return when or dt.datetime.now(dt.UTC).replace(microsecond=0)


# ----------------------------------------------------------------------------- internals


def _ensure_container(session: LdapSession, container: str) -> None:
    if session.read(container, ["objectClass"]) is None:
        # entryAlreadyExists: another runner created it just now, which is as good
        _add(session, container, CONTAINER_DESCRIPTION)


def _add(session: LdapSession, dn: str, description: str) -> int:
    """Add a lock ``container`` named ``dn`` with ``description``."""
    return add_container(session, dn, description, what="the apply lock")


def add_container(session: LdapSession, dn: str, description: str, *, what: str) -> int:
    """Add a ``container`` named ``dn`` with ``description``: success or entryAlreadyExists.

    ``what`` names the object in messages ("the apply lock", "the journal record"): the
    journal anchor uses the same object class and rights as the lock, but a denial should
    say which of the two could not be written."""
    parent = _parent(dn)
    return _write(
        session,
        "add",
        dn,
        lambda: session.connection.add(
            dn, None, {"objectClass": LOCK_CLASS, LOCK_ATTRIBUTE: [description]}
        ),
        expected=(_ENTRY_ALREADY_EXISTS,),
        right=f"Create container objects (Create Child of container) on {parent}",
        on_denied=lambda: _create_denied(parent, what),
        what=what,
    )


def _parent(dn: str) -> str:
    return parent_dn(dn) or dn


def _lock_entries(session: LdapSession, container: str) -> list[tuple[AdLockInfo, bytes]]:
    if session.read(container, ["objectClass"]) is None:
        return []
    found = []
    for entry in session.search(
        container, "(objectClass=container)", ["objectGUID", LOCK_ATTRIBUTE], scope="one"
    ):
        info = _parse(entry.texts(LOCK_ATTRIBUTE), entry.dn)
        guid = entry.raw("objectGUID")
        if info is not None and guid:
            found.append((info, guid[0]))
    return sorted(found, key=lambda pair: dn_key(pair[0].dn))


def _delete_by_guid(session: LdapSession, guid: bytes, dn: str, lock_id: str) -> bool:
    """Delete the object whose objectGUID is ``guid`` (``dn`` is for messages): an object
    re-created under the same DN meanwhile has another GUID and is left alone."""
    target = f"<GUID={guid_from_bytes(guid)}>"
    parent = _parent(dn)
    code = _write(
        session,
        "delete",
        dn,
        lambda: session.connection.delete(target),
        expected=(_NO_SUCH_OBJECT,),  # deleted by someone else meanwhile
        right=f"Delete container objects (Delete Child of container) on {parent}",
        on_denied=lambda: LdapAccessError(
            f"the apply lock {lock_id} ({dn}) cannot be removed: the bind account lacks "
            f"Delete container objects (Delete Child of container) on {parent}",
            hint=f"grant the apply account Delete container objects on {parent} (README: "
            "'The apply lock in AD'); until then an administrator deletes the object",
        ),
    )
    return code == _SUCCESS


def _write(
    session: LdapSession,
    op: str,
    dn: str,
    call: Callable[[], Any],
    *,
    expected: tuple[int, ...],
    right: str,
    on_denied: Callable[[], LdapError] | None = None,
    what: str = "the apply lock",
) -> int:
    """One write; returns the result code when it is success or one of ``expected``, and
    raises the ``LdapError`` that names the problem otherwise."""
    session.requests += 1
    try:
        call()
    except (ldap3_exc.LDAPCommunicationError, ldap3_exc.LDAPResponseTimeoutError, OSError):
        raise LdapConnectError(
            f"lost the connection to {session.url} during the {op} of {dn} ({what})",
            hint="check the DC; `wbplan force-unlock ID` breaks a lock left behind",
        ) from None
    result = session.connection.result or {}
    code = result.get("result")
    if code == _SUCCESS or code in expected:
        return int(code)
    if code == _INSUFFICIENT_ACCESS and on_denied is not None:
        raise on_denied()
    raise write_failure(op, dn, code, str(result.get("message") or ""), right)


def _create_denied(parent: str, what: str = "the apply lock") -> LdapAccessError:
    return LdapAccessError(
        f"{what} cannot be created: the bind account lacks Create container objects "
        f"(Create Child of container) on {parent}",
        hint=f"grant the apply account Create container objects and Delete container objects "
        f'on {parent}, this object and all descendant objects (e.g. `dsacls "{parent}" /I:T '
        '/G "DOMAIN\\account:CCDC;container"`), or have an administrator create '
        f"{LOCKS_RDN} there and grant them on it (README: 'The apply lock in AD')",
    )


def _locked(holder: AdLockInfo, now: dt.datetime) -> LockedError:
    if holder.expired(now):
        return LockedError(
            f"the lock for {holder.forest} / {holder.tenant_id} has EXPIRED: {holder.who} "
            f"(pid {holder.pid}) took it for a wbplan {holder.operation} at {holder.since}; it "
            f"expired at {holder.expires} and was never released; lock id {holder.lock_id} "
            f"({holder.dn})",
            hint="wbplan does not take over an expired lock: make sure that run is over (it "
            f"crashed, or is still running past its TTL), then `wbplan force-unlock {holder.lock_id}`",
        )
    return LockedError(
        f"another wbplan {holder.operation} holds the lock for {holder.forest} / "
        f"{holder.tenant_id}: {holder.who} (pid {holder.pid}) since {holder.since}, until "
        f"{holder.expires}; lock id {holder.lock_id} ({holder.dn})",
        hint="wait for it to finish; if it crashed, break the lock with "
        f"`wbplan force-unlock {holder.lock_id}`",
    )


def _lost(info: AdLockInfo) -> LockedError:
    return LockedError(
        f"the lock {info.lock_id} ({info.dn}) is no longer held by this run: it was broken "
        "with force-unlock",
        hint="stop, check what the other run did (`wbplan plan`), and start again",
    )


def _describe(info: AdLockInfo, now: dt.datetime) -> str:
    state = "EXPIRED at" if info.expired(now) else "until"
    return (
        f"{info.lock_id} ({info.forest} / {info.tenant_id}, {info.operation} by {info.who} "
        f"since {info.since}, {state} {info.expires})"
    )


def _parse(values: tuple[str, ...], dn: str) -> AdLockInfo | None:
    """The lock in ``values`` (the attribute's values), or None when it is not a wbplan lock."""
    for value in values:
        try:
            data = json.loads(value)
        except ValueError:
            continue
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            continue
        fields: dict[str, Any] = {}
        for name, kind in (
            ("lock_id", str),
            ("who", str),
            ("pid", int),
            ("since", str),
            ("operation", str),
            ("forest", str),
            ("tenant_id", str),
            ("expires", str),
        ):
            item = data.get(name)
            if not isinstance(item, kind) or isinstance(item, bool):
                break
            fields[name] = item
        else:
            try:
                _parse_iso(fields["since"])
                _parse_iso(fields["expires"])
            except ValueError:
                continue
            return AdLockInfo(**fields, dn=dn)
    return None


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _parse_iso(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"no time zone in {text!r}")
    return moment
