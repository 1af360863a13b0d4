"""AD writes for apply and rollback, over the ldap3 connection of an ``LdapSession``.

Each method does one LDAP operation and turns a refusal into an ``LdapError`` that says what
the bind account lacks (``insufficientAccessRights`` → which right on which DN) or what the
directory objected to (constraint and object-class violations, an existing entry, a non-leaf
delete …). Security descriptors are always read and written with the SD-flags control asking
for the DACL only, so owner, group and SACL are never sent or touched.

A DACL is changed by :meth:`AdWriter.swap_sd`, never by a blind replace: a compare-and-swap
(one modify that deletes the exact value read and adds the new one) where the DC enforces it,
and otherwise a replace guarded by the attribute's replication version (see :class:`Swap`).
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from planner.errors import LdapAccessError, LdapConnectError, LdapError
from planner.model.dn import parent_dn
from planner.observe.ldapconn import DACL_SECURITY_INFORMATION, LdapSession
from planner.observe.sd import guid_from_bytes

with warnings.catch_warnings():
    # ldap3 2.9.1 imports pyasn1 names that pyasn1 0.6 deprecates (tagMap, typeMap); harmless.
    warnings.filterwarnings("ignore", "(tagMap|typeMap) is deprecated", DeprecationWarning)
    import ldap3
    from ldap3.core import exceptions as ldap3_exc
    from ldap3.protocol.microsoft import security_descriptor_control

# RFC 4511 result codes, with what they mean for a write
_CAUSES: dict[int, str] = {
    16: "an attribute value to remove is not there (noSuchAttribute)",
    17: "the schema does not know an attribute (undefinedAttributeType)",
    19: "the directory refused a value (constraintViolation)",
    20: "the value is already there (attributeOrValueExists)",
    21: "a value has the wrong syntax (invalidAttributeSyntax)",
    32: "the object (or its parent) does not exist (noSuchObject)",
    34: "the DN is malformed (invalidDNSyntax)",
    53: "the DC is unwilling to perform it (unwillingToPerform)",
    64: "the naming attribute is wrong for the class (namingViolation)",
    65: "the object class or its mandatory attributes do not fit the schema (objectClassViolation)",
    66: "the object has children (notAllowedOnNonLeaf)",
    68: "an object with this DN already exists (entryAlreadyExists)",
    10: "this DC does not hold that naming context (referral)",
}
_INSUFFICIENT_ACCESS = 50
_NO_SUCH_OBJECT = 32
_NO_SUCH_ATTRIBUTE = 16
_UNWILLING = 53

ATT_NT_SECURITY_DESCRIPTOR = 0x20119
"""The attribute id of nTSecurityDescriptor in replPropertyMetaData (MS-ADA3 / MS-DRSR)."""


def sd_version(blob: bytes) -> int | None:
    """The replication version of nTSecurityDescriptor in a ``replPropertyMetaData`` value
    (MS-DRSR REPL_PROPERTY_META_DATA_BLOB: 16-byte header, then 48-byte entries of attid,
    version, time, originating DSA, originating USN, local USN). The version grows by exactly
    one with every originating change of the attribute, which is how a write made by someone
    else between wbplan's read and its own write is detected."""
    try:
        _, _, count, _ = struct.unpack_from("<IIII", blob, 0)
        for i in range(count):
            attid, version = struct.unpack_from("<II", blob, 16 + 48 * i)
            if attid == ATT_NT_SECURITY_DESCRIPTOR:
                return int(version)
    except struct.error:
        return None
    return None


@dataclass(frozen=True)
class Descriptor:
    """A DACL-only security descriptor as read, with its replication version (None when the
    bind account may not read ``replPropertyMetaData``)."""

    data: bytes
    version: int | None


@dataclass(frozen=True)
class Swap:
    """What :meth:`AdWriter.swap_sd` did.

    ``atomic``: the DC compared and swapped in one operation (nothing written in between can be
    lost). Otherwise the write was a replace, and ``concurrent`` counts the other changes of
    the DACL the replication version shows between wbplan's read and its re-read: when it is
    not 0, a change made between the read and the write may have been overwritten (the caller
    reports it). ``after`` is the descriptor re-read after the write."""

    after: Descriptor
    atomic: bool
    concurrent: int


class SwapConflictError(LdapError):
    """The DACL changed between the read and a compare-and-swap (the DC refused the swap)."""


@dataclass(frozen=True)
class ObjectIdentity:
    """What identifies an object apply created (rollback checks it before deleting)."""

    object_guid: str
    usn_changed: int | None


class AdWriter:
    """Reads and writes apply needs, on one bound session."""

    def __init__(self, session: LdapSession) -> None:
        self.session = session
        self.conn: Any = session.connection
        self.cas: bool | None = None
        """Whether the DC enforces a compare-and-swap of nTSecurityDescriptor (None: not tried
        yet). Samba 4.17 refuses the delete-old/add-new modify ("MOD_DELETE for
        nTSecurityDescriptor not supported yet", unwillingToPerform) and has no LDAP assertion
        control (RFC 4528); whether Windows AD accepts it for nTSecurityDescriptor is
        UNCONFIRMED (AD documents it for single-valued attributes in general)."""
        self.between_read_and_write: Callable[[str], None] | None = None
        """Test hook: called between the read and the write of a DACL (a concurrent writer)."""

    # ----------------------------------------------------------------- reads

    def read_sd(self, dn: str) -> bytes:
        """The DACL-only security descriptor of ``dn``."""
        return self.session.read_security(dn)

    def read_descriptor(self, dn: str) -> Descriptor:
        """The DACL-only descriptor of ``dn`` and its replication version, in one read."""
        entry = self.session.require(
            dn, ["nTSecurityDescriptor", "replPropertyMetaData"], security=True
        )
        found = entry.raw("nTSecurityDescriptor")
        if not found:
            return Descriptor(self.session.read_security(dn), None)  # raises the access error
        meta = entry.raw("replPropertyMetaData")
        return Descriptor(found[0], sd_version(meta[0]) if meta else None)

    def identity(self, dn: str) -> ObjectIdentity | None:
        """objectGUID and uSNChanged of ``dn`` (None when it does not exist)."""
        entry = self.session.read(dn, ["objectGUID", "uSNChanged"])
        if entry is None:
            return None
        guid = entry.raw("objectGUID")
        return ObjectIdentity(
            object_guid=guid_from_bytes(guid[0]) if guid else "",
            usn_changed=entry.integer("uSNChanged"),
        )

    def values(self, dn: str, names: Sequence[str]) -> dict[str, list[str]] | None:
        """The current values of ``names`` on ``dn`` as text (None when it does not exist)."""
        entry = self.session.read(dn, list(names))
        if entry is None:
            return None
        return {name: sorted(entry.texts(name)) for name in names}

    def has_children(self, dn: str) -> list[str]:
        """Up to five DNs of children of ``dn`` (a created container someone filled since)."""
        return [
            e.dn
            for _, e in zip(
                range(5),
                self.session.search(dn, "(objectClass=*)", ["objectClass"], scope="one"),
                strict=False,
            )
        ]

    # ----------------------------------------------------------------- writes

    def write_sd(self, dn: str, data: bytes) -> None:
        """Replace the DACL of ``dn`` (owner, group and SACL untouched: SD-flags = DACL)."""
        controls = security_descriptor_control(sdflags=DACL_SECURITY_INFORMATION)
        self._do(
            "modify",
            dn,
            lambda: self.conn.modify(
                dn, {"nTSecurityDescriptor": [(ldap3.MODIFY_REPLACE, [data])]}, controls=controls
            ),
            right=_write_dac(dn),
        )

    def swap_sd(self, dn: str, old: Descriptor, new: bytes) -> Swap:
        """Replace the DACL ``old`` (as read) of ``dn`` by ``new`` only if it is still ``old``.

        Where the DC enforces it, one modify deletes the exact old value and adds the new one:
        a DACL changed since the read makes it fail (``SwapConflictError``; the caller re-reads,
        re-merges and tries again). Where the DC refuses that modify (Samba), the write is a
        replace, and the replication version read before and after tells whether anybody else
        changed the DACL in between (:class:`Swap` ``concurrent``)."""
        if self.between_read_and_write is not None:
            self.between_read_and_write(dn)
        if self.cas is not False:
            code = self._try_swap(dn, old.data, new)
            if code == 0:
                self.cas = True
                return Swap(self.read_descriptor(dn), atomic=True, concurrent=0)
            if code == _NO_SUCH_ATTRIBUTE:
                now = self.read_descriptor(dn)
                if now.data != old.data or now.version != old.version:
                    raise SwapConflictError(f"the DACL of {dn} changed since wbplan read it")
                # The DC compares differently than assumed: the value read is still there.
                self.cas = False
            elif code == _UNWILLING:
                self.cas = False
            else:
                result = self.conn.result or {}
                raise write_failure(
                    "modify", dn, code, str(result.get("message") or ""), _write_dac(dn)
                )
        self.write_sd(dn, new)
        after = self.read_descriptor(dn)
        if old.version is None or after.version is None:
            concurrent = 0 if after.data == new else 1
        else:
            concurrent = max(0, after.version - old.version - 1)
        return Swap(after, atomic=False, concurrent=concurrent)

    def _try_swap(self, dn: str, old: bytes, new: bytes) -> int:
        controls = security_descriptor_control(sdflags=DACL_SECURITY_INFORMATION)
        changes = {
            "nTSecurityDescriptor": [(ldap3.MODIFY_DELETE, [old]), (ldap3.MODIFY_ADD, [new])]
        }
        self.session.requests += 1
        try:
            self.conn.modify(dn, changes, controls=controls)
        except ldap3_exc.LDAPOperationResult:
            pass  # a connection that raises on results: the code is in conn.result
        except (ldap3_exc.LDAPCommunicationError, ldap3_exc.LDAPResponseTimeoutError, OSError):
            raise _lost(self.session.url, "modify", dn) from None
        return int((self.conn.result or {}).get("result", -1))

    def add(self, dn: str, attributes: Mapping[str, list[str]]) -> None:
        """Add ``dn`` with exactly ``attributes`` (objectClass among them)."""
        classes = attributes.get("objectClass") or ["?"]
        parent = parent_dn(dn) or dn
        self._do(
            "add",
            dn,
            lambda: self.conn.add(dn, None, {k: list(v) for k, v in attributes.items()}),
            right=f"Create {classes[-1]} objects (Create Child of {classes[-1]}) on {parent}",
        )

    def replace(self, dn: str, values: Mapping[str, list[str]]) -> None:
        """MODIFY_REPLACE of exactly the attributes given (``[]`` removes every value)."""
        names = ", ".join(values)
        self._do(
            "modify",
            dn,
            lambda: self.conn.modify(
                dn, {k: [(ldap3.MODIFY_REPLACE, list(v))] for k, v in values.items()}
            ),
            right=f"Write property {names} on {dn}",
        )

    def delete(self, dn: str) -> None:
        """Delete the leaf object ``dn``."""
        parent = parent_dn(dn) or dn
        self._do(
            "delete",
            dn,
            lambda: self.conn.delete(dn),
            right=f"Delete on {dn} (or Delete Child on {parent})",
        )

    def member(self, group_dn: str, member_dn: str, *, add: bool) -> None:
        """Add ``member_dn`` to (or remove it from) ``group_dn``."""
        op = ldap3.MODIFY_ADD if add else ldap3.MODIFY_DELETE
        self._do(
            "modify",
            group_dn,
            lambda: self.conn.modify(group_dn, {"member": [(op, [member_dn])]}),
            right=f"Write property member on {group_dn}",
        )

    # ----------------------------------------------------------------- internals

    def _do(self, op: str, dn: str, call: Any, *, right: str) -> None:
        self.session.requests += 1
        try:
            call()
        except (ldap3_exc.LDAPCommunicationError, ldap3_exc.LDAPResponseTimeoutError, OSError):
            raise _lost(self.session.url, op, dn) from None
        result = self.conn.result or {}
        code = result.get("result")
        if code == 0:
            return
        raise write_failure(op, dn, code, str(result.get("message") or ""), right)


class ReplyLostError(LdapConnectError):
    """The connection broke while a write was in flight: the DC may or may not have made it
    (the journal marks the step ``unknown``; rollback reads the object to decide)."""


def _lost(url: str, op: str, dn: str) -> ReplyLostError:
    return ReplyLostError(
        f"lost the connection to {url} during the {op} of {dn}; the DC may have made it or not",
        hint="check the DC; the journal marks the step unknown — `wbplan plan` shows where AD "
        "stands, and `wbplan rollback JOURNAL` reads the object before it undoes anything",
    )


def _write_dac(dn: str) -> str:
    return f"Modify permissions (WRITE_DAC) on {dn}"


def write_failure(op: str, dn: str, code: Any, message: str, right: str) -> LdapError:
    """The error for a refused write: the missing right, or the directory's objection."""
    detail = " ".join(message.split())[:300]
    if code == _INSUFFICIENT_ACCESS:
        return LdapAccessError(
            f"the {op} of {dn} was refused: the bind account lacks {right}",
            hint="grant that right to the bind account (or bind as an account that holds it), "
            "or hand the change to an administrator with `wbplan apply PLAN --emit powershell`",
        )
    cause = _CAUSES.get(code) if isinstance(code, int) else None
    what = cause or f"LDAP result {code}"
    return LdapError(
        f"the {op} of {dn} failed: {what}" + (f" — {detail}" if detail else ""),
        hint="run `wbplan plan` to see the directory as it is now",
    )
