"""Diff of AD resources: schema gates, objects, ACE requirements, the connector, key groups.

An ACE requirement is satisfied by *effective* rights — an equivalent ACE already granted
explicitly, through a group in the connector's tokenGroups, or inherited from above — so wbplan
never plans a duplicate ACE. An explicit deny that defeats the grant is not something wbplan
removes (it never drops an ACE it did not add): it becomes a ``manual`` change naming the ACE.
"""

from __future__ import annotations

from planner.diff.outcome import Outcome, not_observed
from planner.model.dn import dn_key
from planner.model.guids import CLASS_GUIDS
from planner.model.plan import ActionReason, Resource
from planner.model.state import Ace, AdObject
from planner.observations import Index
from planner.rights import Right, RightsCheck, rights_on_new_child, rights_on_object
from planner.scope_rights import ScopeAnalysis, analyse

ENFORCED_ATTRIBUTES = ("msDS-DeviceLocation", "keywords")
"""Attributes wbplan keeps in step on existing objects. Other desired attributes (e.g.
msDS-RegistrationQuota) are only set at creation: changing them on an object a person already
configured is not wbplan's call."""

DN_VALUED = ("msDS-DeviceLocation",)

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
        if r.manageable:
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
        if name in ENFORCED_ATTRIBUTES
        and not _attr_equal(name, obj.attributes.get(name, ()), value)
    }
    if not drift:
        return Outcome("no-op", "satisfied")
    before = {name: list(obj.attributes.get(name, ())) for name in drift}
    after = {name: value if isinstance(value, list) else [value] for name, value in drift.items()}
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


def _evaluate(r: Resource, obj: AdObject, sids: list[str], index: Index) -> RightsCheck:
    assert obj.security is not None
    results: list[RightsCheck] = []
    conn = index.ad.connector if index.ad else None
    is_self = bool(conn and conn.dn and dn_key(conn.dn) == dn_key(obj.dn))
    for spec in r.rights:
        right = Right(spec.name, spec.mask, spec.object_type, frozenset(spec.property_sets))
        if spec.applies_to == "object":
            results.append(
                rights_on_object(
                    obj.security, sids, _object_classes(obj, index), [right], is_self=is_self
                )
            )
        else:
            assert spec.target_class is not None
            results.append(rights_on_new_child(obj.security, sids, spec.target_class, [right]))
    return RightsCheck(
        granted=frozenset().union(*(c.granted for c in results)),
        denied=frozenset().union(*(c.denied for c in results)),
        missing=frozenset().union(*(c.missing for c in results)),
        evidence=tuple(a for c in results for a in c.evidence),
    )


def diff_ace(r: Resource, index: Index) -> Outcome:
    """An ACE requirement on ``r.dn`` for the connector."""
    assert r.dn is not None and r.ace is not None
    obj = index.object(r.dn)
    if obj is None:
        return not_observed(f"AD object {r.dn}")
    conn = index.ad.connector if index.ad else None
    sid = conn.sid if conn is not None and conn.found else None
    planned = r.ace.with_trustee(sid or "<connector SID>")
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
    sids = connector_sids(index)
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
    check = _evaluate(r, obj, sids, index)
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
    return analyse(index.state, str(scope), str(r.desired.get("analysis", "password")))


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
    analysis = analyse(index.state, scope, kind) if index.state is not None else None
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
            f"A deny ACE {where} decides against the connector on {len(verdicts)} object(s) "
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
    raise AssertionError(f"no diff for resource type {r.type}")
