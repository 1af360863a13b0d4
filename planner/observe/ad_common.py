"""Shared plumbing of the AD observer: the reader that records what could not be read, object
reads with their DACL, and LDAP filter escaping.

A failure to read one thing (missing rights, an object outside this DC's naming contexts, an
unparseable descriptor) becomes an ``Unread`` entry with the reason, never an exception: the
planner then reports the affected addresses as unknown instead of guessing. Connection-level
failures (``LdapConnectError``) still propagate — nothing else can be read after them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from planner.errors import LdapConnectError, LdapError
from planner.model.dn import dn_key
from planner.model.state import AdObject, Unread
from planner.observe.ldapconn import Entry, LdapSession
from planner.observe.sd import SecurityDescriptorError, parse_descriptor

BASE_ATTRIBUTES = ("objectClass", "uSNChanged", "nTSecurityDescriptor")
NO_ATTRIBUTES = ("1.1",)
"""RFC 4511 "no attributes": the search returns DNs only."""


def escape_filter_value(value: str | bytes) -> str:
    """RFC 4515 escaping of an assertion value (bytes are escaped whole, e.g. a binary SID)."""
    if isinstance(value, bytes):
        return "".join(f"\\{b:02x}" for b in value)
    out = []
    for ch in value:
        out.append(f"\\{ord(ch):02x}" if ch in "\\*()\x00" else ch)
    return "".join(out)


def object_address(dn: str) -> str:
    """The plan address of an AD object (design.md §3)."""
    return f"ad.object[{dn}]"


class AdReader:
    """One observation's reads over a session, with the ``Unread`` entries they produced."""

    def __init__(self, session: LdapSession) -> None:
        self.session = session
        self.unread: list[Unread] = []

    def note(self, what: str, reason: str, verify_at: str | None = None) -> None:
        """Record that ``what`` could not be read, and why."""
        if not any(u.what == what and u.reason == reason for u in self.unread):
            self.unread.append(Unread(what=what, reason=reason, verify_at=verify_at))

    @contextmanager
    def section(self, what: str) -> Iterator[None]:
        """Run a block of reads; an ``LdapError`` (other than a lost connection) ends the block
        and is recorded against ``what``."""
        try:
            yield
        except LdapConnectError:
            raise
        except LdapError as exc:
            reason = exc.message if exc.hint is None else f"{exc.message} ({exc.hint})"
            self.note(what, reason)

    def object_from_entry(self, entry: Entry, attributes: Sequence[str] = ()) -> AdObject:
        """Model object from a search entry read with :data:`BASE_ATTRIBUTES` (+ ``attributes``)
        under the SD-flags control."""
        security = None
        raw = entry.raw("nTSecurityDescriptor")
        if raw:
            try:
                security = parse_descriptor(raw[0])
            except SecurityDescriptorError as exc:
                self.note(object_address(entry.dn), str(exc))
        else:
            self.note(
                object_address(entry.dn),
                "the bind account may not read this object's security descriptor "
                "(it needs Read Permissions / READ_CONTROL)",
            )
        values = {name: entry.texts(name) for name in attributes if entry.raw(name)}
        return AdObject(
            dn=entry.dn,
            exists=True,
            object_class=entry.texts("objectClass"),
            attributes=values,
            usn_changed=entry.integer("uSNChanged"),
            security=security,
        )

    def read_object(self, dn: str, attributes: Sequence[str] = ()) -> AdObject | None:
        """Base read of ``dn`` with its DACL; ``exists=False`` when absent; None (and an
        ``Unread`` entry) when it could not be read at all."""
        with self.section(object_address(dn)):
            entry = self.session.read(dn, [*BASE_ATTRIBUTES, *attributes], security=True)
            if entry is None:
                return AdObject(dn=dn, exists=False)
            return self.object_from_entry(entry, attributes)
        return None


def sorted_objects(objects: dict[str, AdObject]) -> tuple[AdObject, ...]:
    """Objects in DN-key order (deterministic snapshots)."""
    return tuple(objects[k] for k in sorted(objects))


def add_object(objects: dict[str, AdObject], obj: AdObject | None) -> None:
    """Keep one object per DN key; an existing observation wins over a later absent one."""
    if obj is None:
        return
    key = dn_key(obj.dn)
    if key not in objects or (obj.exists and not objects[key].exists):
        objects[key] = obj
