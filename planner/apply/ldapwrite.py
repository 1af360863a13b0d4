"""AD writes for apply and rollback, over the ldap3 connection of an ``LdapSession``.

Each method does one LDAP operation and turns a refusal into an ``LdapError`` that says what
the bind account lacks (``insufficientAccessRights`` → which right on which DN) or what the
directory objected to (constraint and object-class violations, an existing entry, a non-leaf
delete …). Security descriptors are always read and written with the SD-flags control asking
for the DACL only, so owner, group and SACL are never sent or touched.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
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

    # ----------------------------------------------------------------- reads

    def read_sd(self, dn: str) -> bytes:
        """The DACL-only security descriptor of ``dn``."""
        return self.session.read_security(dn)

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
            right=f"Modify permissions (WRITE_DAC) on {dn}",
        )

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
            raise LdapConnectError(
                f"lost the connection to {self.session.url} during the {op} of {dn}",
                hint="check the DC; the journal records whether the step started — run "
                "`wbplan plan` to see where AD stands",
            ) from None
        result = self.conn.result or {}
        code = result.get("result")
        if code == 0:
            return
        raise write_failure(op, dn, code, str(result.get("message") or ""), right)


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
