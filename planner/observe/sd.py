"""Security descriptors: binary ``nTSecurityDescriptor`` ⇄ the model's ``SecurityDescriptor``.

Parsing uses winacl's binary API (``SECURITY_DESCRIPTOR.from_bytes``): it round-trips AD
descriptors byte-exactly and parses thousands per second (samba.md). winacl's *SDDL parser* is
never used — it mis-reads concatenated rights and BUILTIN aliases — SDDL is produced only for
display (``SecurityDescriptor.sddl``).

Writing (for apply) goes the other way: :func:`merge_into_descriptor` inserts new ACEs into the
binary DACL read from the DC, in canonical order, keeping every existing ACE byte-for-byte
(including ACE types the model does not carry), and :func:`descriptor_bytes` serialises a model
descriptor as a DACL-only self-relative descriptor (what the SD-flags control reads and writes).

Also here: objectSid / objectGUID byte decoding, since SIDs and GUIDs in ACEs use the same
encodings.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable
from typing import Any

from winacl.dtyp.ace import (
    ACCESS_ALLOWED_ACE,
    ACCESS_ALLOWED_OBJECT_ACE,
    ACCESS_DENIED_ACE,
    ACCESS_DENIED_OBJECT_ACE,
    ACE_OBJECT_PRESENCE,
    AceFlags,
    ACEType,
)
from winacl.dtyp.acl import ACL, ACL_REVISION
from winacl.dtyp.guid import GUID
from winacl.dtyp.security_descriptor import SE_SACL, SECURITY_DESCRIPTOR
from winacl.dtyp.sid import SID

from planner.model.state import Ace, SecurityDescriptor

SE_DACL_PRESENT = 0x0004
SE_DACL_AUTO_INHERITED = 0x0400
SE_DACL_PROTECTED = 0x1000
SE_SELF_RELATIVE = 0x8000
DACL_ONLY_CONTROL = SE_SELF_RELATIVE | SE_DACL_PRESENT | SE_DACL_AUTO_INHERITED
"""Control word of the DACL-only descriptor AD and Samba return under the SD-flags control (4)."""

_ALLOW_TYPES = (ACEType.ACCESS_ALLOWED_ACE_TYPE, ACEType.ACCESS_ALLOWED_OBJECT_ACE_TYPE)
_DENY_TYPES = (ACEType.ACCESS_DENIED_ACE_TYPE, ACEType.ACCESS_DENIED_OBJECT_ACE_TYPE)
_OBJECT_TYPES = (ACEType.ACCESS_ALLOWED_OBJECT_ACE_TYPE, ACEType.ACCESS_DENIED_OBJECT_ACE_TYPE)


class SecurityDescriptorError(ValueError):
    """The bytes are not a security descriptor winacl can parse (the message says why)."""


# --------------------------------------------------------------------------- SIDs and GUIDs


def sid_from_bytes(data: bytes) -> str:
    """Binary SID (objectSid, tokenGroups values) → ``S-1-…``."""
    if len(data) < 8 or len(data) != 8 + 4 * data[1]:
        raise SecurityDescriptorError(f"not a binary SID ({len(data)} bytes)")
    return str(SID.from_bytes(data))


def sid_to_bytes(sid: str) -> bytes:
    """``S-1-…`` → binary SID."""
    return bytes(SID.from_string(sid).to_bytes())


def guid_from_bytes(data: bytes) -> str:
    """Binary GUID as AD stores it (objectGUID, schemaIDGUID; little-endian first three fields)
    → lower-case ``8-4-4-4-12``."""
    if len(data) != 16:
        raise SecurityDescriptorError(f"not a binary GUID ({len(data)} bytes)")
    return str(uuid.UUID(bytes_le=data))


def normalise_guid(text: str) -> str:
    """Any GUID spelling (braces, upper case) → lower-case ``8-4-4-4-12``."""
    return str(uuid.UUID(text.strip().strip("{}")))


# --------------------------------------------------------------------------- parsing


def parse_descriptor(data: bytes) -> SecurityDescriptor:
    """Binary ``nTSecurityDescriptor`` → model (DACL part only; audit and callback ACEs are
    dropped from ``aces`` but kept in ``sddl``). A descriptor without a DACL — which would let
    everyone do everything — yields no ACEs, so wbplan never counts it as granting a right."""
    raw = _parse_raw(data)
    try:
        aces = tuple(a for a in (_ace_to_model(x) for x in _dacl_aces(raw)) if a is not None)
        return SecurityDescriptor(
            dacl_protected=bool(int(raw.Control) & SE_DACL_PROTECTED),
            aces=aces,
            sddl=dacl_sddl(raw),
        )
    except (AttributeError, TypeError, ValueError, KeyError, IndexError) as exc:
        # damaged bytes winacl half-parsed (an ACE without its SID, a short object ACE)
        raise SecurityDescriptorError(f"cannot parse security descriptor: {exc}") from exc


def is_dacl_protected(data: bytes) -> bool:
    """SE_DACL_PROTECTED straight from the control word of a self-relative descriptor (bytes 2-3,
    little-endian, MS-DTYP 2.4.6), without parsing the ACEs: a scan of thousands of OUs keeps
    only the protected ones, and parsing every descriptor was most of its client time. Bytes
    that do not look like a descriptor (revision ≠ 1, too short) answer True, so that the
    caller's full parse reports them instead of skipping them silently."""
    if len(data) < 20 or data[0] != 1:
        return True
    return bool(int.from_bytes(data[2:4], "little") & SE_DACL_PROTECTED)


def _parse_raw(data: bytes) -> Any:
    try:
        return SECURITY_DESCRIPTOR.from_bytes(data)
    except Exception as exc:  # winacl raises bare Exception for unknown ACE types
        raise SecurityDescriptorError(f"cannot parse security descriptor: {exc}") from exc


def _dacl_aces(raw: Any) -> list[Any]:
    return list(raw.Dacl.aces) if raw.Dacl is not None else []


def dacl_sddl(raw: Any) -> str:
    """``D:<flags>(ace)…`` of a parsed descriptor, for display only."""
    control = int(raw.Control)
    flags = "P" if control & SE_DACL_PROTECTED else ""
    flags += "AI" if control & SE_DACL_AUTO_INHERITED else ""
    body = "".join(ace.to_sddl() for ace in _dacl_aces(raw))
    return f"D:{flags}{body}"


def _ace_to_model(ace: Any) -> Ace | None:
    if ace.AceType in _ALLOW_TYPES:
        qualifier = "allow"
    elif ace.AceType in _DENY_TYPES:
        qualifier = "deny"
    else:
        return None  # audit / callback / label ACEs neither grant nor deny directory access
    object_type = inherited_object_type = None
    if ace.AceType in _OBJECT_TYPES:
        presence = int(ace.Flags or 0)
        if presence & ACE_OBJECT_PRESENCE.ACE_OBJECT_TYPE_PRESENT:
            object_type = str(ace.ObjectType).lower()
        if presence & ACE_OBJECT_PRESENCE.ACE_INHERITED_OBJECT_TYPE_PRESENT:
            inherited_object_type = str(ace.InheritedObjectType).lower()
    return Ace(
        qualifier=qualifier,
        trustee=str(ace.Sid),
        mask=int(ace.Mask),
        flags=int(ace.AceFlags),
        object_type=object_type,
        inherited_object_type=inherited_object_type,
    )


# --------------------------------------------------------------------------- building


def ace_to_winacl(ace: Ace) -> Any:
    """Model ACE → winacl ACE object. An object ACE is used iff a GUID is present (the model
    does not record an object ACE that carries neither GUID; AD writes none)."""
    if ace.object_type is None and ace.inherited_object_type is None:
        built: Any = ACCESS_ALLOWED_ACE() if ace.qualifier == "allow" else ACCESS_DENIED_ACE()
    else:
        built = (
            ACCESS_ALLOWED_OBJECT_ACE() if ace.qualifier == "allow" else ACCESS_DENIED_OBJECT_ACE()
        )
        built.Flags = ACE_OBJECT_PRESENCE(0)
        if ace.object_type is not None:
            built.ObjectType = GUID.from_string(normalise_guid(ace.object_type))
        if ace.inherited_object_type is not None:
            built.InheritedObjectType = GUID.from_string(normalise_guid(ace.inherited_object_type))
    built.AceFlags = AceFlags(ace.flags)
    built.Mask = ace.mask
    built.Sid = SID.from_string(ace.trustee)
    return built


def _ace_bytes(ace: Any) -> bytes:
    # winacl's object-ACE classes lack to_bytes(); to_buffer() exists on every ACE class.
    buff = io.BytesIO()
    ace.to_buffer(buff)
    return buff.getvalue()


def _dacl_only(
    aces: list[Any], *, protected: bool, auto_inherited: bool = True, revision: int = 0
) -> bytes:
    acl = ACL()
    # Revision 4 (DS) is required as soon as one object ACE is present (MS-DTYP 2.4.5); a
    # revision read from the DC is kept so that an unchanged DACL round-trips byte-exactly.
    has_object = any(a.AceType in _OBJECT_TYPES for a in aces)
    needed = (ACL_REVISION.DS if has_object else ACL_REVISION.NO_DS).value
    acl.AclRevision = max(needed, revision)
    acl.aces = aces
    sd = SECURITY_DESCRIPTOR()
    control = SE_SELF_RELATIVE | SE_DACL_PRESENT
    control |= SE_DACL_AUTO_INHERITED if auto_inherited else 0
    control |= SE_DACL_PROTECTED if protected else 0
    sd.Control = SE_SACL(control)
    sd.Dacl = acl
    return bytes(sd.to_bytes())


def descriptor_bytes(sd: SecurityDescriptor) -> bytes:
    """Model → DACL-only self-relative descriptor (owner, group and SACL absent, as written
    under the SD-flags control so that the DC leaves them untouched)."""
    return _dacl_only([ace_to_winacl(a) for a in sd.aces], protected=sd.dacl_protected)


def _is_explicit_deny(ace: Any) -> bool:
    return ace.AceType in _DENY_TYPES and not int(ace.AceFlags) & AceFlags.INHERITED_ACE


def _canonical_position(aces: list[Any], new: Any) -> int:
    # Canonical DACL order: explicit deny, explicit allow, then inherited ACEs (which the DC
    # recomputes anyway). A new deny goes after the leading run of explicit denies; a new
    # allow after the last explicit ACE, i.e. before the first inherited one.
    if new.AceType in _DENY_TYPES:
        for i, ace in enumerate(aces):
            if not _is_explicit_deny(ace):
                return i
        return len(aces)
    for i, ace in enumerate(aces):
        if int(ace.AceFlags) & AceFlags.INHERITED_ACE:
            return i
    return len(aces)


def merge_aces(sd: SecurityDescriptor, new: Iterable[Ace]) -> SecurityDescriptor:
    """The model descriptor with ``new`` ACEs inserted canonically (already present = kept once).

    Inherited ACEs cannot be added: the DC computes them from the parent.
    """
    return parse_descriptor(merge_into_descriptor(descriptor_bytes(sd), new))


def merge_into_descriptor(data: bytes, new: Iterable[Ace], *, protect: bool | None = None) -> bytes:
    """Insert ``new`` explicit ACEs into the binary descriptor ``data`` read from the DC.

    Every existing ACE is kept, in order and byte-for-byte; an ACE equal to one already present
    explicitly is not added twice. ``protect`` sets (True) or clears (False) SE_DACL_PROTECTED;
    None keeps it. The result is DACL-only, ready for a MODIFY_REPLACE under the SD-flags
    control.
    """
    raw = _parse_raw(data)
    aces = _dacl_aces(raw)
    present = {_ace_bytes(a) for a in aces if not int(a.AceFlags) & AceFlags.INHERITED_ACE}
    for ace in new:
        if ace.inherited:
            raise ValueError(
                f"cannot add an inherited ACE for {ace.trustee}: the DC computes those"
            )
        built = ace_to_winacl(ace)
        encoded = _ace_bytes(built)
        if encoded in present:
            continue
        present.add(encoded)
        aces.insert(_canonical_position(aces, built), built)
    control = int(raw.Control)
    protected = bool(control & SE_DACL_PROTECTED) if protect is None else protect
    return _dacl_only(
        aces,
        protected=protected,
        auto_inherited=bool(control & SE_DACL_AUTO_INHERITED),
        revision=_revision(raw),
    )


def remove_aces(data: bytes, unwanted: Iterable[Ace]) -> bytes:
    """The binary descriptor without the explicit ACEs equal to ``unwanted`` (for rollback and
    ``remove_preparation``); every other ACE is kept byte-for-byte."""
    raw = _parse_raw(data)
    drop = {_ace_bytes(ace_to_winacl(a)) for a in unwanted}
    kept = [
        a
        for a in _dacl_aces(raw)
        if int(a.AceFlags) & AceFlags.INHERITED_ACE or _ace_bytes(a) not in drop
    ]
    control = int(raw.Control)
    return _dacl_only(
        kept,
        protected=bool(control & SE_DACL_PROTECTED),
        auto_inherited=bool(control & SE_DACL_AUTO_INHERITED),
        revision=_revision(raw),
    )


def _revision(raw: Any) -> int:
    return int(raw.Dacl.AclRevision) if raw.Dacl is not None else 0
