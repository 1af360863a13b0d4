"""Diff of AD resources: schema gates, objects, ACE requirements, the connector, key groups,
and what Cloud Sync needs besides ACEs (its gMSA, the KDS root key).

An ACE requirement is satisfied by *effective* rights — an equivalent ACE already granted
explicitly, through a group in the principal's tokenGroups, or inherited from above — so wbplan
never plans a duplicate ACE. The principal is the connector account, or the Cloud Sync gMSA for
a requirement whose ``desired["principal"]`` is ``gmsa``: the same evaluation, another token. An
explicit deny that defeats the grant is not something wbplan removes (it never drops an ACE it
did not add): it becomes a ``manual`` change naming the ACE.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner import connectv2
from planner.diff.outcome import Outcome, not_observed
from planner.model.dn import dn_key
from planner.model.guids import CLASS_GUIDS
from planner.model.plan import ActionReason, BlastRadius, Resource
from planner.model.state import Ace, AdObject
from planner.observations import Index
from planner.rights import (
    CREATE_CHILD,
    DELETE_CHILD,
    Right,
    RightsCheck,
    rights_on_new_child,
    rights_on_object,
)
from planner.scope_rights import PrincipalKind, ScopeAnalysis, analyse, principal_of

ENFORCED_ATTRIBUTES = ("msDS-DeviceLocation", "keywords")
"""Attributes wbplan keeps in step on existing objects. Other desired attributes (e.g.
msDS-RegistrationQuota) are only set at creation: changing them on an object a person already
configured is not wbplan's call."""

SET_WHEN_ABSENT = ("msDS-ExternalDirectoryObjectId",)
"""Attributes wbplan sets only where they have no value: Cloud Sync's join anchor, copied from
adminDescription for the migration from group writeback v2 (``planner.connectv2``). Another
value already there ties the group to another cloud group: a person decides, wbplan never
overwrites it (Microsoft's copy script adds the value, which AD refuses on a single-valued
attribute that has one)."""

DN_VALUED = ("msDS-DeviceLocation",)
GROUPS_LISTED = 20
"""Group DNs a blast radius names (the count covers them all), as ``GroupsInContainer``."""

SYSTEM_ONLY = ("msDS-DeviceLocation",)
"""Attributes the schema marks ``systemOnly: TRUE`` (Sch59, domain.md §1.2): AD accepts them when
the object is created but refuses a later modify ("can only be modified as system"). Drift on one
of them is a manual step, never an ``update`` apply would be refused."""


def _ace_view(ace: Ace) -> dict[str, object]:
    return ace.model_dump(mode="json")


def _object_classes(obj: AdObject, index: Index) -> list[str]:
    """The object's most specific class GUID: the root of the access check's object type list
    (an ACE whose object type is, say, ``person`` does not decide on a user)."""
    schema = index.ad.schema_info.classes if index.ad else {}
    for name in reversed(obj.object_class):
        guid = schema.get(name) or CLASS_GUIDS.get(name)
        if guid:
            return [guid]
    return []


def diff_schema(r: Resource, index: Index) -> Outcome:
    """Forest schema gates (2012 R2 for devices, 2016 for keys)."""
    assert index.ad is not None
    info = index.ad.schema_info
    minimum = int(r.desired.get("min_object_version", 0))
    missing = [c for c in r.desired.get("classes", []) if not info.classes.get(c)]
    missing += [a for a in r.desired.get("attributes", []) if not info.attributes.get(a)]
    before = {"object_version": info.object_version, "missing": missing}
    ok = info.object_version is not None and info.object_version >= minimum and not missing
    if ok:
        return Outcome("no-op", "satisfied", before, before)
    return Outcome(
        "manual", "schema_too_old", before, {"object_version": f">= {minimum}", "missing": []}
    )


def diff_exchange(r: Resource, index: Index) -> Outcome:
    """Exchange schema gate (rangeUpper of ms-Exch-Schema-Version-Pt)."""
    assert index.ad is not None
    found = index.ad.schema_info.exchange_range_upper
    minimum = int(r.desired["min_range_upper"])
    before = {"range_upper": found}
    if found is not None and found >= minimum:
        return Outcome("no-op", "satisfied", before, before)
    return Outcome("manual", "exchange_schema_missing", before, {"range_upper": f">= {minimum}"})


def _attr_equal(name: str, observed: tuple[str, ...], desired: object) -> bool:
    want = desired if isinstance(desired, list) else [desired]
    if name in DN_VALUED:
        return sorted(dn_key(v) for v in observed) == sorted(dn_key(str(v)) for v in want)
    return sorted(observed) == sorted(str(v) for v in want)


def diff_object(r: Resource, index: Index) -> Outcome:
    """An object that must exist with a class and (some) attributes."""
    assert r.dn is not None
    obj = index.object(r.dn)
    if obj is None:
        return not_observed(f"AD object {r.dn}")
    want_class = r.desired.get("objectClass")
    if not obj.exists:
        # an object is created only with its class: a requirement that sets attributes on an
        # existing object (no objectClass desired) never creates one
        if r.manageable and want_class:
            return Outcome("create", "missing_object", None, {"dn": r.dn, **r.desired})
        return Outcome("manual", "missing_object", None, {"dn": r.dn, "exists": True})
    classes = [c.lower() for c in obj.object_class]
    if want_class and str(want_class).lower() not in classes:
        return Outcome(
            "manual",
            "wrong_object_class",
            {"objectClass": list(obj.object_class)},
            {"objectClass": want_class},
            instructions=f"{r.dn} exists but is not a {want_class}; wbplan does not replace objects it did not create: move or rename it",
        )
    drift = {
        name: value
        for name, value in r.desired.items()
        if name in (*ENFORCED_ATTRIBUTES, *SET_WHEN_ABSENT)
        and not _attr_equal(name, obj.attributes.get(name, ()), value)
    }
    if not drift:
        return Outcome("no-op", "satisfied")
    before = {name: list(obj.attributes.get(name, ())) for name in drift}
    after = {name: value if isinstance(value, list) else [value] for name, value in drift.items()}
    taken = sorted(name for name in drift if name in SET_WHEN_ABSENT and obj.attributes.get(name))
    if taken:
        found = "; ".join(f"{name}={', '.join(obj.attributes[name])}" for name in taken)
        wanted = "; ".join(f"{name}={', '.join(after[name])}" for name in taken)
        return Outcome(
            "manual",
            "attribute_drift",
            before,
            after,
            instructions=(
                f"{r.dn} already has {found}, not {wanted}: the value ties the group to another cloud group, "
                "and wbplan does not overwrite it. Find which cloud group it is (Get-MgGroup -GroupId <id after "
                "'Group_'>), then correct the value in ADSI Edit or with Set-ADGroup -Replace, and plan again"
            ),
        )
    fixed = sorted(name for name in drift if name in SYSTEM_ONLY)
    if fixed:
        values = "; ".join(f"{name}={', '.join(after[name])}" for name in fixed)
        return Outcome(
            "manual",
            "attribute_drift",
            before,
            after,
            instructions=(
                f"{', '.join(fixed)} on {r.dn} is system-only: AD sets it when the object is "
                f"created and refuses to change it. Check that nothing else relies on the current "
                f"value (e.g. AD FS device registration), delete the object, and run wbplan apply "
                f"again: it recreates the object with {values}"
            ),
        )
    return Outcome("update", "attribute_drift", before, after)


def connector_sids(index: Index) -> list[str] | None:
    """The connector's SID and its tokenGroups (None when the connector was not found)."""
    conn = index.ad.connector if index.ad else None
    if conn is None or not conn.found or conn.sid is None:
        return None
    return [conn.sid, *conn.token_groups]


PLACEHOLDERS: dict[PrincipalKind, str] = {"connector": "<connector SID>", "gmsa": "<gMSA SID>"}
"""The trustee a planned ACE shows while its principal was not found (apply refuses it)."""
WHO: dict[PrincipalKind, str] = {"connector": "the connector", "gmsa": "the Cloud Sync gMSA"}


def principal_kind(r: Resource) -> PrincipalKind:
    """Whose right the requirement is: the Cloud Sync gMSA's when ``desired["principal"]``
    says ``gmsa``, else the connector's."""
    return "gmsa" if r.desired.get("principal") == "gmsa" else "connector"


def _principal_dn(index: Index, kind: PrincipalKind) -> str | None:
    if kind == "connector":
        conn = index.ad.connector if index.ad else None
        return conn.dn if conn else None
    who = principal_of(index.state, kind)
    return who.dn if who else None


def _evaluate(
    r: Resource, obj: AdObject, sids: list[str], index: Index, kind: PrincipalKind = "connector"
) -> RightsCheck:
    assert obj.security is not None
    results: list[RightsCheck] = []
    own_dn = _principal_dn(index, kind)
    is_self = bool(own_dn and dn_key(own_dn) == dn_key(obj.dn))
    for spec in r.rights:
        right = Right(spec.name, spec.mask, spec.object_type, frozenset(spec.property_sets))
        if spec.applies_to == "object":
            classes = _object_classes(obj, index)
            if spec.object_type and not spec.mask & ~(CREATE_CHILD | DELETE_CHILD):
                # Creating or deleting a child of class X is checked on the parent with X alone
                # as the object type list (Samba's acl_add/acl_delete pass the child's class):
                # an object ACE for the parent's own class gives no such right. Found by the DC
                # judging the Cloud Sync gMSA (tests/rules/test_dc_judge_gmsa.py).
                classes = [spec.object_type]
            results.append(rights_on_object(obj.security, sids, classes, [right], is_self=is_self))
        else:
            assert spec.target_class is not None
            results.append(rights_on_new_child(obj.security, sids, spec.target_class, [right]))
    return RightsCheck(
        granted=frozenset().union(*(c.granted for c in results)),
        denied=frozenset().union(*(c.denied for c in results)),
        missing=frozenset().union(*(c.missing for c in results)),
        evidence=tuple(a for c in results for a in c.evidence),
    )


def _trustee(r: Resource, index: Index) -> tuple[PrincipalKind, str | None, list[str] | None]:
    """(principal kind, its SID, its token SIDs) for the ACE requirement ``r``."""
    kind = principal_kind(r)
    if kind == "connector":
        conn = index.ad.connector if index.ad else None
        return kind, conn.sid if conn is not None and conn.found else None, connector_sids(index)
    who = principal_of(index.state, kind)
    return kind, who.sids[0] if who else None, list(who.sids) if who else None


def diff_ace(r: Resource, index: Index) -> Outcome:
    """An ACE requirement on ``r.dn`` for the connector (or the Cloud Sync gMSA)."""
    assert r.dn is not None and r.ace is not None
    obj = index.object(r.dn)
    if obj is None:
        return not_observed(f"AD object {r.dn}")
    kind, sid, sids = _trustee(r, index)
    planned = r.ace.with_trustee(sid or PLACEHOLDERS[kind])
    if r.destroy:
        if (
            obj.exists
            and obj.security
            and any(_same_explicit(a, planned) for a in obj.security.aces)
        ):
            return Outcome("delete", "remove_preparation", _ace_view(planned), None)
        return Outcome("no-op", "satisfied")
    if not obj.exists:
        return Outcome("create", "missing_ace", None, _ace_view(planned))
    if obj.security is None:
        return Outcome(
            "read",
            "unverifiable",
            instructions=f"the DACL of {r.dn} could not be read; grant the reading account 'Read permissions' there",
        )
    if sids is None:
        return Outcome("create", "missing_ace", None, _ace_view(planned))
    blocked = r.desired.get("at") in ("container", "object")
    reason: ActionReason = "inheritance_blocked" if blocked else "missing_ace"
    lacking = _lacking(r, index)
    if lacking:
        # Existing objects the grant would reach lack the right: grant it, even where a deny
        # decides for other objects (that deny is a manual step of its own, ad.deny[…]).
        return Outcome(
            "create",
            reason,
            {"objects_lacking": len(lacking), "first": lacking[:5]},
            _ace_view(planned),
        )
    check = _evaluate(r, obj, sids, index, kind)
    if check.ok:
        return Outcome("no-op", "satisfied")
    if check.denied:
        if _deny_step_covers(r, index):
            # Objects it governs are denied by ACEs the plan lists as manual ad.deny steps.
            return Outcome("no-op", "satisfied")
        denies = [a for a in check.evidence if a.qualifier == "deny"]
        from planner.acewords import Names

        names = Names(index.state)
        shown = "; ".join(names.ace(a) for a in denies) or "an explicit deny ACE"
        return Outcome(
            "manual",
            "denied_by_ace",
            {"denied": sorted(check.denied), "deny_aces": [_ace_view(a) for a in denies]},
            {"denied": [], "deny_aces": []},
            instructions=f"A deny ACE on {r.dn} defeats the grant ({shown}); wbplan never removes ACEs it did not add. Remove or narrow it, then plan again",
        )
    return Outcome("create", reason, None, _ace_view(planned))


def _listed(dns: list[str]) -> str:
    shown = ", ".join(dns[:3])
    return shown + (f" and {len(dns) - 3} more" if len(dns) > 3 else "")


def _analysis_for(r: Resource, index: Index) -> ScopeAnalysis | None:
    scope = r.desired.get("scope")
    if not scope or index.state is None or r.dn is None:
        return None
    kind = str(r.desired.get("analysis", "password"))
    return analyse(index.state, str(scope), kind, principal_kind(r))


def _ops_of(analysis: ScopeAnalysis, grant: str) -> set[str]:
    return {op.name for op in analysis.operations if op.grant_name == grant}


def _lacking(r: Resource, index: Index) -> list[str]:
    """DNs of existing objects governed by ``r.dn`` (no protected DACL between them and it) of
    the grant's class that lack a right the grant gives (planner.scope_rights); adminCount=1
    users aside."""
    analysis = _analysis_for(r, index)
    if analysis is None or r.dn is None:
        return []
    point, cls = dn_key(r.dn), str(r.desired["object_class"])
    dns: dict[str, str] = {}
    for op in sorted(_ops_of(analysis, str(r.desired["grant"]))):
        for v in analysis.missing.get((point, cls, op), []):
            dns.setdefault(v.key, v.obj.dn)
    return list(dns.values())


def _deny_step_covers(r: Resource, index: Index) -> bool:
    """Some object the grant governs is denied a right it gives by a deny ACE (an ad.deny
    step)."""
    analysis = _analysis_for(r, index)
    if analysis is None or r.dn is None:
        return False
    point, ops = dn_key(r.dn), _ops_of(analysis, str(r.desired["grant"]))
    return any(
        v.governing_key == point
        for (_origin, denied_op), verdicts in analysis.denied.items()
        if denied_op in ops
        for v in verdicts
    )


def diff_duplicate(r: Resource, index: Index) -> Outcome:
    """A surplus object that must not exist (a second DRS object): a person deletes it."""
    assert r.dn is not None
    obj = index.object(r.dn)
    if obj is None:
        return not_observed(f"AD object {r.dn}")
    if not obj.exists:
        return Outcome("no-op", "satisfied")
    return Outcome("manual", "duplicate_object", {"exists": True}, {"exists": False})


def diff_deny(r: Resource, index: Index) -> Outcome:
    """A deny ACE explicit below a scope root decides against the connector on some objects: a
    person must remove or narrow it (wbplan never drops an ACE it did not add)."""
    assert r.dn is not None
    scope, op = str(r.desired["scope"]), str(r.desired["operation"])
    kind = str(r.desired.get("analysis", "password"))
    who = principal_kind(r)
    analysis = analyse(index.state, scope, kind, who) if index.state is not None else None
    if analysis is None:
        return not_observed(f"the objects under {scope}")
    verdicts = analysis.denied.get((dn_key(r.dn), op), [])
    if not verdicts:
        return Outcome("no-op", "satisfied")
    ace = verdicts[0].decisions[op].ace
    where = (
        f"inherited from above {r.dn}"
        if dn_key(r.dn) in analysis.unlocated
        else f"explicit on {r.dn}"
    )
    return Outcome(
        "manual",
        "denied_by_ace",
        {"denied_objects": len(verdicts), "deny_aces": [_ace_view(ace)] if ace else []},
        {"denied_objects": 0, "deny_aces": []},
        instructions=(
            f"A deny ACE {where} decides against {WHO[who]} on {len(verdicts)} object(s) "
            f"({_listed([v.obj.dn for v in verdicts])}); wbplan never removes ACEs it did not add. "
            "Remove or narrow it, then plan again"
        ),
    )


def _same_explicit(a: Ace, b: Ace) -> bool:
    return (
        not a.inherited
        and a.qualifier == b.qualifier
        and a.trustee == b.trustee
        and a.mask == b.mask
        and (a.flags & 0x0F) == (b.flags & 0x0F)
        and a.object_type == b.object_type
        and a.inherited_object_type == b.inherited_object_type
    )


def diff_connector(r: Resource, index: Index) -> Outcome:
    """The connector account exists."""
    conn = index.ad.connector if index.ad else None
    if conn is None:
        return not_observed("the connector account")
    if conn.found:
        return Outcome("no-op", "satisfied", {"sid": conn.sid}, {"sid": conn.sid})
    return Outcome("manual", "connector_missing", {"found": False}, {"found": True})


def diff_group(r: Resource, index: Index) -> Outcome:
    """A well-known group (Key Admins / Enterprise Key Admins) exists."""
    assert index.ad is not None
    name = str(r.desired["name"])
    if name not in index.ad.well_known_groups:
        return not_observed(f"group {name}")
    sid = index.ad.well_known_groups[name]
    if sid:
        return Outcome("no-op", "satisfied", {"sid": sid}, {"sid": sid})
    return Outcome("manual", "group_missing", {"exists": False}, {"exists": True})


def diff_membership(r: Resource, index: Index) -> Outcome:
    """The connector is a (transitive) member of a group."""
    assert index.ad is not None
    name = str(r.desired["group"])
    group_sid = index.ad.well_known_groups.get(name)
    conn = index.ad.connector
    if conn is None or name not in index.ad.well_known_groups:
        return not_observed(f"membership of {name}")
    member = bool(group_sid and conn.found and group_sid in conn.token_groups)
    if r.destroy:
        if member:
            before = {"member": True, "group": name}
            return Outcome("delete", "remove_preparation", before, {"member": False})
        return Outcome("no-op", "satisfied")
    if member:
        return Outcome("no-op", "satisfied")
    return Outcome(
        "create", "missing_membership", {"member": False}, {"member": True, "group": name}
    )


def diff_schema_attribute(r: Resource, index: Index) -> Outcome:
    """One attribute the forest schema must hold, found by its lDAPDisplayName in the schema NC
    (not inferred from objectVersion: an attribute may come with another schema extension)."""
    assert index.ad is not None
    name = str(r.desired["attribute"])
    cloud = index.ad.cloud_sync
    if name == "msDS-ExternalDirectoryObjectId" and cloud is not None:
        present = cloud.external_directory_object_id
    else:
        present = bool(index.ad.schema_info.attributes.get(name))
    if present is None:
        return not_observed(f"the schema attribute {name}")
    before = {"attribute": name, "present": present}
    if present:
        return Outcome("no-op", "satisfied", before, before)
    return Outcome("manual", "schema_too_old", before, {"attribute": name, "present": True})


def diff_gmsa(r: Resource, index: Index) -> Outcome:
    """The Cloud Sync agent's gMSA is found, and only one candidate is (``planner.observe.
    ad_cloudsync``): every Cloud Sync ACE is granted to its SID."""
    assert index.ad is not None
    cloud = index.ad.cloud_sync
    unread = next((u for u in index.ad.unread if u.what == "ad.cloud_sync.gmsa"), None)
    if cloud is None or (cloud.gmsa is None and unread is not None):
        out = not_observed("the Cloud Sync gMSA")
        if unread is not None:
            return Outcome(
                "read", "not_observed", instructions=f"{unread.reason}; {out.instructions}"
            )
        return out
    gmsa = cloud.gmsa
    if gmsa is not None:
        before = {"dn": gmsa.dn, "sam_account_name": gmsa.sam_account_name, "sid": gmsa.sid}
        return Outcome("no-op", "satisfied", before, before)
    if len(cloud.gmsa_candidates) > 1:
        return Outcome(
            "manual",
            "duplicate_object",
            {"candidates": list(cloud.gmsa_candidates)},
            {"candidates": "one, named in cloud_sync.gmsa.account"},
            instructions=(
                f"{len(cloud.gmsa_candidates)} gMSAs look like the Cloud Sync agent's "
                f"({_listed(list(cloud.gmsa_candidates))}): name the one the agents run as in "
                "cloud_sync.gmsa.account (DOMAIN\\name$), then plan again"
            ),
        )
    return Outcome("manual", "missing_object", {"found": False}, {"found": True})


def diff_kds_root_key(r: Resource, index: Index) -> Outcome:
    """A KDS root key exists (a gMSA's password needs one). Unreadable is unknown, never
    missing: its objects are visible to Domain and Enterprise Admins only."""
    assert index.ad is not None
    cloud = index.ad.cloud_sync
    if cloud is None:
        return not_observed("the KDS root key")
    if cloud.kds_root_key is True:
        return Outcome("no-op", "satisfied", {"present": True}, {"present": True})
    if cloud.kds_root_key is False:
        return Outcome("manual", "missing_object", {"present": False}, {"present": True})
    unread = next((u for u in index.ad.unread if u.what == "ad.cloud_sync.kds_root_key"), None)
    why = unread.reason if unread else "no KDS root key was visible to the account wbplan read with"
    return Outcome(
        "read",
        "unverifiable",
        {"present": None},
        None,
        instructions=f"{why}. {r.instructions}" if r.instructions else why,
    )


def migration_radius(index: Index, containers: Sequence[str]) -> BlastRadius | None:
    """The groups already under ``containers`` (Cloud Sync target OUs, from their scans): what
    the next Connect sync cycle deletes when group writeback v2 is turned off before they were
    taken out of its scope (``planner.requirements.cloudsync``). None: none of them was scanned."""
    if index.ad is None or not containers:
        return None
    dns: list[str] = []
    scanned = False
    for container in containers:
        scan = index.scan(dn_key(container))
        if scan is None:
            continue
        scanned = True
        dns += [o.dn for o in scan.objects if o.object_class == "group"]
    if not scanned:
        return None
    dns = sorted(dict.fromkeys(dns), key=dn_key)
    where = ", ".join(containers)
    return BlastRadius(
        description=(
            f"Turned off before its groups are out of Connect's scope, group writeback v2's next sync cycle deletes "
            f"the groups it wrote back; the Cloud Sync target OU(s) {where} hold these groups"
        ),
        count=len(dns),
        first=tuple(dns[:GROUPS_LISTED]),
    )


def v2_radius(index: Index, ous: Sequence[str]) -> tuple[BlastRadius, dict[str, list[str]]] | None:
    """The groups Connect group writeback v2 wrote back under ``ous`` (adminDescription
    ``Group_…``, read for a declared migration): the blast radius of turning v2 off, and every
    DN by what becomes of it (``written_back``: all of them; ``not_migrated``: those Microsoft's
    migration does not support, which stay with Connect). None: no OU was read."""
    if index.ad is None:
        return None
    reads = [r for ou in ous if (r := connectv2.read_of(index.ad, ou)) is not None]
    if not reads:
        return None
    groups = [g for read in reads for g in connectv2.groups_of(index.ad, read)]
    written = [g for g in groups if g.written_by_connect]
    dns = sorted(dict.fromkeys(g.dn for g in written), key=dn_key)
    kept = sorted(dict.fromkeys(g.dn for g in written if not g.universal_security), key=dn_key)
    where = ", ".join(ous)
    radius = BlastRadius(
        description=(
            f"The groups that group writeback v2 wrote back under {where}: turned off before they are out of Connect's "
            "scope (Microsoft's migration steps), its next sync cycle deletes them; Cloud Sync takes over the "
            f"universal security groups among them by msDS-ExternalDirectoryObjectId ({len(kept)} of them are not, "
            "and stay with Connect)"
        ),
        count=len(dns),
        first=tuple(dns[:GROUPS_LISTED]),
    )
    return radius, {"written_back": dns, "not_migrated": kept}


def diff_ad(r: Resource, index: Index) -> Outcome:
    """Dispatch on the AD resource type."""
    if index.ad is None:
        return not_observed("Active Directory")
    match r.type:
        case "ad.schema":
            return diff_schema(r, index)
        case "ad.exchange_schema":
            return diff_exchange(r, index)
        case "ad.object":
            return diff_object(r, index)
        case "ad.ace":
            return diff_ace(r, index)
        case "ad.deny":
            return diff_deny(r, index)
        case "ad.duplicate":
            return diff_duplicate(r, index)
        case "ad.connector":
            return diff_connector(r, index)
        case "ad.group":
            return diff_group(r, index)
        case "ad.membership":
            return diff_membership(r, index)
        case "ad.schema_attribute":
            return diff_schema_attribute(r, index)
        case "ad.gmsa":
            return diff_gmsa(r, index)
        case "ad.kds_root_key":
            return diff_kds_root_key(r, index)
    raise AssertionError(f"no diff for resource type {r.type}")
