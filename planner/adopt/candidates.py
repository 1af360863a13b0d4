"""Where import looks for candidates, and the observation it judges them on (pure).

Candidates are proposed from where ACEs are *explicit* — a place that carries a non-inherited
allow ACE of the connector (or of a group it is in) is where someone prepared something — and
are then judged by :mod:`planner.adopt.verify`, which asks the planner; nothing here decides
whether a right is held.

A scope root below a scanned root (the probe of a live import scans every domain root; a
snapshot scans its policy's scope roots) gets a scan of its own cut from the enclosing one —
the containers and objects below it — so that candidates are judged per object, as a refresh
with the imported policy will read them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from planner.acewords import WELL_KNOWN_SIDS
from planner.model.dn import DnError, dn_key, is_at_or_under, split_rdns
from planner.model.state import (
    AdState,
    ConnectorAccount,
    ObservedState,
    ScopeScan,
    SecurityDescriptor,
)

SCOPE_CLASSES = frozenset({"domaindns", "organizationalunit", "container"})
"""Object classes a password / Exchange hybrid scope root can have."""
USER_CLASSES = frozenset({"user", "inetOrgPerson", "contact"})
"""Classes a password or Exchange hybrid scope scan reads (a group OU's or the device
location's scan is no sign of a scope)."""
FIRST_ORDINARY_RID = 1000
"""RIDs below this are the built-in accounts and groups (Administrator, Domain Admins …)."""


@dataclass(frozen=True)
class Place:
    """An object whose DACL was read: an object read on its own or a container of a scan."""

    dn: str
    classes: tuple[str, ...]
    """lower-cased objectClass values (a scanned container has only its most specific one)."""
    sd: SecurityDescriptor


def depth(dn: str) -> int:
    """Number of RDNs (parents sort before children)."""
    try:
        return len(split_rdns(dn))
    except DnError:
        return dn.count(",") + 1


def by_depth(dns: Iterable[str]) -> list[str]:
    """``dns`` deduplicated by DN key, shallowest first, then by key."""
    unique = {dn_key(d): d for d in reversed(list(dns))}
    return sorted(unique.values(), key=lambda d: (depth(d), dn_key(d)))


def broad(sid: str, ad: AdState) -> bool:
    """A principal that cannot be the connector: well-known (Everyone, SYSTEM …), BUILTIN, or
    a domain's built-in account or group (RID below 1000: Domain Admins, Key Admins …)."""
    upper = sid.upper()
    if (
        upper in WELL_KNOWN_SIDS
        or upper.startswith("S-1-5-32-")
        or not upper.startswith("S-1-5-21-")
    ):
        return True
    prefix, _, rid = upper.rpartition("-")
    domains = {(d.sid or "").upper() for d in ad.domains}
    return prefix in domains and rid.isdigit() and int(rid) < FIRST_ORDINARY_RID


def holder_sids(state: ObservedState) -> frozenset[str]:
    """The connector's SID and the groups in its tokenGroups that are not broad: whoever of
    them holds an explicit ACE marks a place as prepared for the connector."""
    ad = state.ad
    conn = ad.connector if ad else None
    if ad is None or conn is None or not conn.found or conn.sid is None:
        return frozenset()
    return frozenset(
        s.upper() for s in (conn.sid, *conn.token_groups) if s == conn.sid or not broad(s, ad)
    )


def explicit_trustees(sd: SecurityDescriptor) -> set[str]:
    """Trustees of the non-inherited allow ACEs of ``sd`` (upper-cased SIDs)."""
    return {a.trustee.upper() for a in sd.aces if a.qualifier == "allow" and not a.inherited}


def places(state: ObservedState) -> list[Place]:
    """Every object with a DACL read: objects read on their own, then scanned containers."""
    ad = state.ad
    if ad is None:
        return []
    found: dict[str, Place] = {}
    for obj in ad.objects:
        if obj.exists and obj.security is not None:
            classes = tuple(c.lower() for c in obj.object_class)
            found.setdefault(dn_key(obj.dn), Place(obj.dn, classes, obj.security))
    for scan in ad.scopes:
        for c in scan.containers:
            sd = ad.dacls.get(c.dacl) if c.dacl else None
            if sd is not None:
                found.setdefault(dn_key(c.dn), Place(c.dn, (c.object_class.lower(),), sd))
    return list(found.values())


def prepared_places(state: ObservedState, holders: frozenset[str]) -> list[Place]:
    """Places where one of ``holders`` has an explicit allow ACE."""
    return [p for p in places(state) if explicit_trustees(p.sd) & holders]


def in_domains(dn: str, ad: AdState) -> bool:
    """``dn`` lies in one of the forest's domain naming contexts (not configuration/schema)."""
    config = ad.root_dse.configuration_naming_context
    if is_at_or_under(dn, config):
        return False
    return any(is_at_or_under(dn, d.dn) for d in ad.domains)


def scope_candidates(state: ObservedState, holders: frozenset[str]) -> list[str]:
    """Roots to try for password and Exchange hybrid writeback: domain roots, OUs and
    containers that carry an explicit ACE of the connector, and those the observation scanned
    for users; shallowest first."""
    ad = state.ad
    if ad is None:
        return []
    kinds = {dn_key(p.dn): set(p.classes) for p in places(state)}
    roots = [p.dn for p in prepared_places(state, holders)]
    roots += [s.root for s in ad.scopes if set(s.classes) & USER_CLASSES]
    return by_depth(
        r for r in roots if kinds.get(dn_key(r), set()) & SCOPE_CLASSES and in_domains(r, ad)
    )


def ou_candidates(state: ObservedState, holders: frozenset[str], extra: Iterable[str]) -> list[str]:
    """OUs to try as the group writeback OU: those carrying an explicit ACE of the connector,
    plus ``extra`` (the observation's group OU, the Connect server's own setting)."""
    ad = state.ad
    if ad is None:
        return []
    ous = [
        p.dn
        for p in prepared_places(state, holders)
        if "organizationalunit" in p.classes and in_domains(p.dn, ad)
    ]
    return by_depth([*ous, *extra])


def scanned_root(state: ObservedState, root: str) -> ScopeScan | None:
    """The scan rooted at ``root``, else the nearest scan whose root lies above it."""
    ad = state.ad
    if ad is None:
        return None
    key = dn_key(root)
    best: ScopeScan | None = None
    for scan in ad.scopes:
        if dn_key(scan.root) == key:
            return scan
        if is_at_or_under(root, scan.root) and (
            best is None or depth(scan.root) > depth(best.root)
        ):
            best = scan
    return best


def cut_scan(scan: ScopeScan, root: str) -> ScopeScan:
    """The part of ``scan`` below ``root`` (the root itself excluded, as a scan of it reads)."""
    key = dn_key(root)

    def below(dn: str) -> bool:
        k = dn_key(dn)
        return k != key and k.endswith("," + key)

    containers = tuple(c for c in scan.containers if below(c.dn))
    return ScopeScan(
        root=root,
        classes=scan.classes,
        containers=containers,
        objects=tuple(o for o in scan.objects if below(o.dn)),
        ous_total=sum(c.object_class == "organizationalUnit" for c in containers),
    )


def with_scans(state: ObservedState, roots: Iterable[str]) -> ObservedState:
    """``state`` with a scan of each of ``roots`` that lies below a scanned root but has no
    scan of its own."""
    ad = state.ad
    if ad is None:
        return state
    added: list[ScopeScan] = []
    have = {dn_key(s.root) for s in ad.scopes}
    for root in roots:
        if dn_key(root) in have:
            continue
        enclosing = scanned_root(state, root)
        if enclosing is not None:
            added.append(cut_scan(enclosing, root))
            have.add(dn_key(root))
    if not added:
        return state
    return state.model_copy(update={"ad": ad.model_copy(update={"scopes": (*ad.scopes, *added)})})


def covers(state: ObservedState, root: str, object_class: str) -> bool:
    """A scan rooted at ``root`` reads the ``object_class`` objects below it."""
    ad = state.ad
    key = dn_key(root)
    return ad is not None and any(
        dn_key(s.root) == key and object_class in s.classes for s in ad.scopes
    )


@dataclass(frozen=True)
class Principal:
    """A principal holding explicit allow ACEs where writeback is prepared."""

    sid: str
    name: str | None
    """``DOMAIN\\name`` as the observation resolved it; None when it could not."""
    places: int
    """Objects where it holds an explicit allow ACE."""


def principals(state: ObservedState) -> list[Principal]:
    """Every principal that holds an explicit allow ACE on an object the observation read and
    could be an AD DS connector account (not a broad or built-in one, nor the Cloud Sync
    agent's gMSA: its grants are Cloud Sync's), most places first."""
    ad = state.ad
    if ad is None:
        return []
    gmsa = ad.cloud_sync.gmsa if ad.cloud_sync is not None else None
    cloud = {gmsa.sid.upper()} if gmsa is not None else set()
    counts: dict[str, int] = {}
    for p in places(state):
        for sid in explicit_trustees(p.sd):
            if not broad(sid, ad) and sid not in cloud:
                counts[sid] = counts.get(sid, 0) + 1
    names = {k.upper(): v for k, v in ad.principals.items()}
    conn = ad.connector
    if conn is not None and conn.found and conn.sid:
        names.setdefault(conn.sid.upper(), conn.account)
    found = [Principal(sid, names.get(sid), n) for sid, n in counts.items()]
    return sorted(found, key=lambda p: (-p.places, p.name or "~", p.sid))


def as_connector(state: ObservedState, principal: Principal) -> ObservedState:
    """``state`` with ``principal`` as the connector account (its group memberships unknown:
    only rights it holds itself count)."""
    ad = state.ad
    assert ad is not None and principal.name is not None
    conn = ad.connector
    if conn is not None and conn.found and (conn.sid or "").upper() == principal.sid:
        return state
    account = ConnectorAccount(account=principal.name, found=True, sid=principal.sid)
    return state.model_copy(update={"ad": ad.model_copy(update={"connector": account})})
