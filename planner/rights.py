"""Effective rights: does a principal hold a directory right on an object, as the DC decides it?

Pure (no LDAP): input is the model's ``SecurityDescriptor`` (read by ``observe/ad.py``) and the
principal's SIDs (the connector's objectSid + tokenGroups); output is a :class:`RightsCheck`
naming what is granted, denied or missing, with the deciding ACEs as evidence.

The evaluation follows the access check for directory objects (MS-DTYP 2.5.3.2 with an object
type list, MS-ADTS 5.1.3.3), and the Samba DC's implementation of it, which the test suite uses
as the judge (``tests/rules/test_dc_judge.py``):

* ACEs are evaluated in stored order; for each requested access bit the **first** applicable
  ACE decides it (canonical order puts explicit deny, explicit allow, then inherited ACEs
  nearest parent first).
* Inherit-only ACEs (IO) do not apply to the object that holds them. The inherited object type
  of an effective ACE is *not* consulted by the access check: the DC already used it when it
  decided which ACEs an object inherits (matching the object's exact class), and an effective
  ACE applies whatever its inherited object type says (observed on Samba 4.17: an explicit
  ``(OA;;WP;pwdLastSet;user;…)`` on an inetOrgPerson grants the write).
* The principal's token: its SID, its groups (``tokenGroups``, which includes the primary group
  and BUILTIN aliases), Everyone (S-1-1-0), Authenticated Users (S-1-5-11) and Network
  (S-1-5-2): an LDAP bind is a network logon. SIDs a token may or may not carry depending on
  the DC and the authentication (This Organization, S-1-5-15: added by Windows for network
  logons, not by Samba 4.17; the authentication-method SIDs) are counted **for deny ACEs
  only**, so that an uncertain membership can make wbplan stricter, never make it pass.
  Principal Self (S-1-5-10) applies only when the object is the principal itself.
* Object types (the object type list): a request for a property or an extended right is a path
  of three GUIDs — the object's class, the property set holding the property (from the schema's
  ``attributeSecurityGUID``), and the property or right itself. An object ACE applies when its
  object type is any GUID on that path; an ACE without an object type applies to every request.
  A request without an object type (e.g. Delete) is checked with a list holding only the
  object's class: it is decided by ACEs without an object type and by object ACEs for that
  class (Samba's acl_check_access_on_objectclass; the DC-as-judge run for the Cloud Sync gMSA
  found an ``(OA;;GA;group;;gMSA)`` on a group letting the gMSA delete it).
* Generic rights are mapped to DS rights with the AD generic mapping: GR → RC|LC|RP|LO,
  GW → RC|WP|SW, GX → RC|LC, GA → all DS + standard rights (0xF01FF). AD appears to store the
  expanded bits (Samba does: ``0xf01ff`` for GA, ``0x20094`` for GR); both forms are normalised,
  on ACEs and on requested rights.
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
NETWORK = "S-1-5-2"
PRINCIPAL_SELF = "S-1-5-10"
THIS_ORGANIZATION = "S-1-5-15"
UNCERTAIN_SIDS = frozenset(
    {
        THIS_ORGANIZATION,
        "S-1-18-1",  # Authentication authority asserted identity (Kerberos logons)
        "S-1-18-2",  # Service asserted identity
        "S-1-5-64-10",  # NTLM Authentication
        "S-1-5-64-14",  # SChannel Authentication
        "S-1-5-64-21",  # Digest Authentication
    }
)
"""Well-known SIDs a bind's token may carry depending on the DC and the authentication method:
they make a deny ACE apply (stricter) but never an allow ACE (see the module docstring)."""

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


def principal_sids(sids: Iterable[str], *, is_self: bool = False) -> frozenset[str]:
    """The SIDs an authenticated LDAP bind certainly acts as: its own + groups + Everyone +
    Authenticated Users + Network (+ Principal Self on the principal's own object)."""
    out = frozenset(s.upper() for s in sids) | {EVERYONE, AUTHENTICATED_USERS, NETWORK}
    return out | {PRINCIPAL_SELF} if is_self else out


def _applies(ace: Ace, principal: frozenset[str], classes: frozenset[str], right: Right) -> bool:
    if ace.flags & INHERIT_ONLY_ACE:
        return False
    trustee = ace.trustee.upper()
    if trustee not in principal and not (ace.qualifier == "deny" and trustee in UNCERTAIN_SIDS):
        return False
    if ace.object_type is None:
        return True
    if right.object_type is None:
        # the object type list is the object's class alone: an object ACE for that class decides
        return ace.object_type.lower() in classes
    wanted = {right.object_type.lower(), *(g.lower() for g in right.property_sets), *classes}
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
    *,
    is_self: bool = False,
) -> RightsCheck:
    """Evaluate ``rights`` for the principal ``sids`` on the object whose DACL is ``sd``;
    ``object_class_guids`` is the object's (most specific) class, the root of the object type
    list; ``is_self`` when the object is the principal's own."""
    principal = principal_sids(sids, is_self=is_self)
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


def _worst(checks: Sequence[RightsCheck]) -> RightsCheck:
    denied = frozenset().union(*(c.denied for c in checks))
    missing = frozenset().union(*(c.missing for c in checks)) - denied
    granted = frozenset().union(*(c.granted for c in checks)) - denied - missing
    evidence: dict[int, Ace] = {}
    for c in checks:
        for a in c.evidence:
            evidence.setdefault(id(a), a)
    return RightsCheck(granted, denied, missing, tuple(evidence.values()))


def rights_on_new_child(
    parent_sd: SecurityDescriptor,
    sids: Collection[str],
    child_class_guid: str,
    rights: Sequence[Right],
    *,
    container_class_guid: str = CLASS_GUIDS["organizationalUnit"],
) -> RightsCheck:
    """Rights a (non-protected) object of class ``child_class_guid`` would give the principal
    through inheritance alone, both directly under the parent and one OU further down (an ACE
    with NO_PROPAGATE_INHERIT reaches the first but not the second). Existing objects are
    judged on their own DACLs (``planner.scope_rights``); this answers for objects created
    later. Explicit ACEs from the class's defaultSecurityDescriptor are not included.

    ``evidence`` names the parent's ACEs (what exists in AD), not their inherited copies.
    """
    direct = _inherit(parent_sd, child_class_guid)
    via_ou = _inherit(parent_sd, container_class_guid)
    ou_sd = SecurityDescriptor(dacl_protected=False, aces=tuple(c for _, c in via_ou))
    grand = _inherit(ou_sd, child_class_guid)
    # Map each grandchild copy back to the parent ACE it came from.
    first_hop = {id(c): p for p, c in via_ou}
    grand_pairs = [(first_hop[id(mid)], c) for mid, c in grand]
    checks = []
    for pairs in (direct, grand_pairs):
        child = SecurityDescriptor(dacl_protected=False, aces=tuple(c for _, c in pairs))
        check = rights_on_object(child, sids, (child_class_guid,), rights)
        deciding = {id(a) for a in check.evidence}
        origin = tuple(parent for parent, copy in pairs if id(copy) in deciding)
        checks.append(RightsCheck(check.granted, check.denied, check.missing, origin))
    return _worst(checks)
