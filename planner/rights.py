"""Effective rights: does a principal hold a directory right on an object, as Windows decides it?

Pure (no LDAP): input is the model's ``SecurityDescriptor`` (read by ``observe/ad.py``) and the
principal's SIDs (the connector's objectSid + tokenGroups); output is a :class:`RightsCheck`
naming what is granted, denied or missing, with the deciding ACEs as evidence.

The evaluation follows the Windows access check for directory objects (MS-DTYP 2.5.3.2, MS-ADTS
5.1.3), simplified to what the writeback rules need:

* ACEs are evaluated in DACL order; for each requested access bit the **first** applicable ACE
  decides it (so an explicit deny placed first, as canonical order puts it — explicit deny,
  explicit allow, then inherited ACEs nearest parent first — beats any later allow).
* Inherit-only ACEs (IO) do not apply to the object that holds them.
* An ACE applies to a principal when its trustee is one of the principal's SIDs, Everyone
  (S-1-1-0) or Authenticated Users (S-1-5-11) — the bind is always authenticated.
* Object-type scoping: an ACE with ``object_type`` covers only that right / property (or the
  property set given in :attr:`Right.property_sets`); without one it covers every property and
  right. A right requested without an object type is only granted by ACEs without one.
* Inherited-object-type scoping: an ACE with ``inherited_object_type`` applies only to objects
  whose class is listed in ``object_class_guids``. Inheritance matches the *exact* class: an
  ACE scoped to user does not reach inetOrgPerson (domain.md §3), so callers pass the object's
  most specific class. (For an *explicit* non-IO ACE carrying an inherited object type, applying
  the same scoping is OBS/UNCONFIRMED: no primary source read says how Windows treats it.)
* Generic rights are mapped to DS rights with the AD generic mapping: GR → RC|LC|RP|LO,
  GW → RC|WP|SW, GX → RC|LC, GA → all DS + standard rights (0xF01FF). AD appears to store the
  expanded bits (Samba does: ``0xf01ff`` for GA, ``0x20094`` for GR), but domain.md §1.6 marks
  the stored form UNCONFIRMED, so both forms are normalised, on ACEs and on requested rights.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from planner.model.guids import ATTRIBUTE_GUIDS, CLASS_GUIDS, EXTENDED_RIGHTS
from planner.model.state import (
    CONTAINER_INHERIT_ACE,
    INHERIT_ONLY_ACE,
    INHERITED_ACE,
    NO_PROPAGATE_INHERIT_ACE,
    OBJECT_INHERIT_ACE,
    Ace,
    SecurityDescriptor,
)

# ADS_RIGHTS_ENUM (domain.md §1.6)
CREATE_CHILD = 0x1
DELETE_CHILD = 0x2
LIST_CHILDREN = 0x4
SELF_WRITE = 0x8
READ_PROPERTY = 0x10
WRITE_PROPERTY = 0x20
DELETE_TREE = 0x40
LIST_OBJECT = 0x80
CONTROL_ACCESS = 0x100
DELETE = 0x10000
READ_CONTROL = 0x20000
WRITE_DAC = 0x40000
WRITE_OWNER = 0x80000
GENERIC_ALL = 0x10000000
GENERIC_EXECUTE = 0x20000000
GENERIC_WRITE = 0x40000000
GENERIC_READ = 0x80000000

DS_GENERIC_READ = READ_CONTROL | LIST_CHILDREN | READ_PROPERTY | LIST_OBJECT  # 0x20094
DS_GENERIC_WRITE = READ_CONTROL | WRITE_PROPERTY | SELF_WRITE  # 0x20028
DS_GENERIC_EXECUTE = READ_CONTROL | LIST_CHILDREN  # 0x20004
DS_GENERIC_ALL = 0xF01FF  # every DS right + DELETE, READ_CONTROL, WRITE_DAC, WRITE_OWNER

EVERYONE = "S-1-1-0"
AUTHENTICATED_USERS = "S-1-5-11"

# Cross-check values (planner.model.guids); the planner prefers GUIDs resolved at run time.
RESET_PASSWORD_GUID = EXTENDED_RIGHTS["User-Force-Change-Password"]
UNEXPIRE_PASSWORD_GUID = EXTENDED_RIGHTS["Unexpire-Password"]
LOCKOUT_TIME_GUID = ATTRIBUTE_GUIDS["lockoutTime"]
PWD_LAST_SET_GUID = ATTRIBUTE_GUIDS["pwdLastSet"]
USER_CLASS_GUID = CLASS_GUIDS["user"]
GROUP_CLASS_GUID = CLASS_GUIDS["group"]


@dataclass(frozen=True)
class Right:
    """One right to check, e.g. ``Right("reset-password", 0x100, RESET_PASSWORD_GUID)``."""

    name: str
    mask: int
    object_type: str | None = None
    """Right / property / class GUID the right is about; None = all properties / any right."""
    property_sets: frozenset[str] = field(default_factory=frozenset)
    """Property-set GUIDs that contain ``object_type`` (an ACE on the set grants the property).
    Optional: AD stores the membership in the attribute's ``attributeSecurityGUID``."""


@dataclass(frozen=True)
class RightsCheck:
    """Outcome for a set of requested rights (by :attr:`Right.name`)."""

    granted: frozenset[str]
    denied: frozenset[str]
    """A deny ACE decided at least one bit of the right before any allow did."""
    missing: frozenset[str]
    """Neither fully granted nor denied: no applicable ACE (for some bits)."""
    evidence: tuple[Ace, ...]
    """The ACEs that decided a bit of a requested right, in DACL order."""

    @property
    def ok(self) -> bool:
        """True when every requested right is granted."""
        return not self.denied and not self.missing


def normalise_mask(mask: int) -> int:
    """Replace generic bits by the DS rights they map to (see module docstring)."""
    result = mask & ~(GENERIC_ALL | GENERIC_EXECUTE | GENERIC_WRITE | GENERIC_READ)
    if mask & GENERIC_READ:
        result |= DS_GENERIC_READ
    if mask & GENERIC_WRITE:
        result |= DS_GENERIC_WRITE
    if mask & GENERIC_EXECUTE:
        result |= DS_GENERIC_EXECUTE
    if mask & GENERIC_ALL:
        result |= DS_GENERIC_ALL
    return result


def principal_sids(sids: Iterable[str]) -> frozenset[str]:
    """The SIDs an authenticated bind acts as: its own + groups + Everyone + Authenticated
    Users."""
    return frozenset(s.upper() for s in sids) | {EVERYONE, AUTHENTICATED_USERS}


def _applies(ace: Ace, principal: frozenset[str], classes: frozenset[str], right: Right) -> bool:
    if ace.flags & INHERIT_ONLY_ACE or ace.trustee.upper() not in principal:
        return False
    if ace.inherited_object_type is not None and ace.inherited_object_type.lower() not in classes:
        return False
    if ace.object_type is None:
        return True
    if right.object_type is None:
        return False  # an ACE for one property does not grant "all properties"
    wanted = {right.object_type.lower(), *(g.lower() for g in right.property_sets)}
    return ace.object_type.lower() in wanted


def _evaluate(
    aces: Sequence[Ace], principal: frozenset[str], classes: frozenset[str], right: Right
) -> tuple[str, list[Ace]]:
    wanted = normalise_mask(right.mask)
    remaining, granted, denied = wanted, 0, 0
    deciding: list[Ace] = []
    for ace in aces:
        if not remaining:
            break
        if not _applies(ace, principal, classes, right):
            continue
        bits = normalise_mask(ace.mask) & remaining
        if not bits:
            continue
        if ace.qualifier == "deny":
            denied |= bits
        else:
            granted |= bits
        remaining &= ~bits
        deciding.append(ace)
    if denied:
        return "denied", deciding
    return ("granted" if granted == wanted else "missing"), deciding


def rights_on_object(
    sd: SecurityDescriptor,
    sids: Collection[str],
    object_class_guids: Collection[str],
    rights: Sequence[Right],
) -> RightsCheck:
    """Evaluate ``rights`` for the principal ``sids`` on the object whose DACL is ``sd``."""
    principal = principal_sids(sids)
    classes = frozenset(g.lower() for g in object_class_guids)
    outcome: dict[str, set[str]] = {"granted": set(), "denied": set(), "missing": set()}
    evidence: set[int] = set()
    for right in rights:
        state, deciding = _evaluate(sd.aces, principal, classes, right)
        outcome[state].add(right.name)
        evidence.update(id(a) for a in deciding)
    return RightsCheck(
        granted=frozenset(outcome["granted"]),
        denied=frozenset(outcome["denied"]),
        missing=frozenset(outcome["missing"]),
        evidence=tuple(a for a in sd.aces if id(a) in evidence),
    )


def _inherit(parent: SecurityDescriptor, child_class_guid: str) -> list[tuple[Ace, Ace]]:
    child_class = child_class_guid.lower()
    pairs: list[tuple[Ace, Ace]] = []
    for ace in parent.aces:
        if not ace.flags & CONTAINER_INHERIT_ACE:
            continue
        matches = ace.inherited_object_type is None or ace.inherited_object_type == child_class
        if ace.flags & NO_PROPAGATE_INHERIT_ACE:
            if not matches:
                continue
            flags = INHERITED_ACE
        else:
            flags = INHERITED_ACE | (ace.flags & (CONTAINER_INHERIT_ACE | OBJECT_INHERIT_ACE))
            if not matches:
                flags |= INHERIT_ONLY_ACE
        pairs.append((ace, ace.model_copy(update={"flags": flags})))
    return pairs


def inherited_by_child(parent: SecurityDescriptor, child_class_guid: str) -> tuple[Ace, ...]:
    """The ACEs a new, non-protected child of class ``child_class_guid`` inherits from
    ``parent`` (MS-DTYP 2.5.3.4 for a container child: every DS object is a container).

    * Only container-inherit (CI) ACEs reach a child object; object-inherit-only ACEs are
      meant for leaf objects, which the directory does not have.
    * An ACE scoped to another class is still inherited, as inherit-only, so that it keeps
      propagating to grandchildren; NP stops propagation after this child.
    """
    return tuple(child for _, child in _inherit(parent, child_class_guid))


def rights_on_new_child(
    parent_sd: SecurityDescriptor,
    sids: Collection[str],
    child_class_guid: str,
    rights: Sequence[Right],
) -> RightsCheck:
    """Rights a (non-protected) child of class ``child_class_guid`` under the parent would
    give the principal through inheritance alone — the answer for "every user under this OU"
    as long as no object on the way has a protected DACL (reported separately) or an explicit
    deny. Explicit ACEs from the class's defaultSecurityDescriptor are not included.

    ``evidence`` names the parent's ACEs (what exists in AD), not their inherited copies.
    """
    pairs = _inherit(parent_sd, child_class_guid)
    child = SecurityDescriptor(dacl_protected=False, aces=tuple(c for _, c in pairs))
    check = rights_on_object(child, sids, (child_class_guid,), rights)
    deciding = {id(a) for a in check.evidence}
    origin = tuple(parent for parent, copy in pairs if id(copy) in deciding)
    return RightsCheck(check.granted, check.denied, check.missing, origin)
