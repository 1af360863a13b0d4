"""How one planned ACE is written on Windows: a ``dsacls`` grant when dsacls can say exactly
that ACE, else the .NET ACL objects (``ActiveDirectoryAccessRule`` via ``AccessRuleFactory``).

dsacls is what Microsoft's own ADSyncConfig module shells out to (domain.md §1.6), so an
administrator recognises ``dsacls "<DN>" /G "<DOMAIN\\sam>:<perms>;<object>;<inherited>"
/I:<T|S>``. It is used only when it cannot mean anything else:

* an allow ACE for the connector named ``DOMAIN\\sam`` (dsacls takes names, not SIDs);
* inheritance this object only (no ``/I``), this object and sub-objects (``/I:T`` = CI) or
  sub-objects only (``/I:S`` = CI|IO) — ``/I:P`` (one level) is left to .NET;
* rights spelled with dsacls's one-right letters (never the generic GR/GW/GA, whose stored form
  domain.md §1.6 marks UNCONFIRMED), and object types the plan names (dsacls wants display
  names: ``Reset Password``, ``lockoutTime``, ``user``).

Everything else — and every removal — uses .NET: ``dsacls /R`` removes *every* ACE of a trustee
on the object, whereas ``RemoveAccessRuleSpecific`` removes exactly the one planned.
Pure: returns the strings the PowerShell renderer places in its script.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.model.state import (
    CONTAINER_INHERIT_ACE,
    INHERIT_ONLY_ACE,
    NO_PROPAGATE_INHERIT_ACE,
    OBJECT_INHERIT_ACE,
    Ace,
)

DSACLS_LETTERS: tuple[tuple[int, str], ...] = (
    (0x1, "CC"),  # create child
    (0x2, "DC"),  # delete child
    (0x4, "LC"),  # list contents
    (0x8, "WS"),  # write to self (validated write)
    (0x10, "RP"),  # read property
    (0x20, "WP"),  # write property
    (0x40, "DT"),  # delete tree
    (0x80, "LO"),  # list object
    (0x100, "CA"),  # control access (extended right)
    (0x10000, "SD"),  # delete
    (0x20000, "RC"),  # read permissions
    (0x40000, "WD"),  # change permissions
    (0x80000, "WO"),  # change owner
)
_INHERITANCE = {
    0: None,
    CONTAINER_INHERIT_ACE: "/I:T",
    CONTAINER_INHERIT_ACE | INHERIT_ONLY_ACE: "/I:S",
}
_UNSAFE = set('";:/\\') | {"\n", "\r"}


@dataclass(frozen=True)
class NetFlags:
    """.NET's split of the ACE header flags (System.Security.AccessControl)."""

    inheritance: int
    """InheritanceFlags: ContainerInherit 1, ObjectInherit 2."""
    propagation: int
    """PropagationFlags: NoPropagateInherit 1, InheritOnly 2."""


def net_flags(flags: int) -> NetFlags:
    """ACE header flags → .NET InheritanceFlags / PropagationFlags."""
    inheritance = (1 if flags & CONTAINER_INHERIT_ACE else 0) | (
        2 if flags & OBJECT_INHERIT_ACE else 0
    )
    propagation = (1 if flags & NO_PROPAGATE_INHERIT_ACE else 0) | (
        2 if flags & INHERIT_ONLY_ACE else 0
    )
    return NetFlags(inheritance, propagation)


def rights_letters(mask: int) -> str | None:
    """``0x30`` → ``RPWP``; None when a bit has no dsacls letter."""
    letters, rest = "", mask
    for bit, letter in DSACLS_LETTERS:
        if mask & bit:
            letters += letter
            rest &= ~bit
    return letters if letters and not rest else None


def _name_ok(name: str | None) -> bool:
    return bool(name) and not (set(name or "") & _UNSAFE)


def dsacls_grant(
    ace: Ace,
    dn: str,
    *,
    account: str | None,
    account_sid: str | None,
    object_type_name: str | None,
    inherited_object_type_name: str | None,
) -> list[str] | None:
    """dsacls's arguments after the DN (``["/G", "DOM\\sam:RPWP;;user", "/I:S"]``), or None
    when dsacls cannot express exactly this ACE for this trustee."""
    if ace.qualifier != "allow" or ace.trustee != account_sid or account is None:
        return None
    domain, sep, sam = account.partition("\\")
    if not sep or not _name_ok(domain) or not _name_ok(sam) or '"' in dn:
        return None
    if ace.flags not in _INHERITANCE:
        return None
    letters = rights_letters(ace.mask)
    if letters is None:
        return None
    parts = [letters]
    if ace.object_type is not None or ace.inherited_object_type is not None:
        if ace.object_type is not None and not _name_ok(object_type_name):
            return None
        if ace.inherited_object_type is not None and not _name_ok(inherited_object_type_name):
            return None
        parts.append((object_type_name or "") if ace.object_type is not None else "")
        if ace.inherited_object_type is not None:
            parts.append(inherited_object_type_name or "")
    args = ["/G", f"{domain}\\{sam}:{';'.join(parts)}"]
    flag = _INHERITANCE[ace.flags]
    return [*args, flag] if flag else args
