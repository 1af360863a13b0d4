"""Which writeback features an observation shows prepared (and enabled), one function per feature
(pure).

Each proposes candidate policy entries — scope roots and OUs where the connector holds explicit
ACEs, the device domain the DRS object names, the Key Admins group, the SCP's domain — and keeps
the first one whose plan changes nothing (:class:`planner.adopt.verify.Verifier`). A feature
whose candidates all fail is not imported; its :class:`Finding` says what was found and what the
plan would still do, and suggests the entry to uncomment when it is partly prepared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from planner.adopt.candidates import covers
from planner.adopt.verify import Item, Verdict, Verifier
from planner.adopt.words import SHOWN, held, listed, summary, unknowns
from planner.model.dn import (
    dn_key,
    drs_configuration_dn,
    is_at_or_under,
    registered_devices_dn,
    scp_dn,
)
from planner.model.state import NEW_GROUP_WRITEBACK_DEFAULT, ObservedState
from planner.scope_rights import EXCHANGE_CLASSES, PASSWORD_CLASSES, analyse

FEATURES = ("password", "device", "group", "exchange_hybrid", "user", "ngc_keys", "hybrid_join")
"""In the order the policy lists them."""

IMPORTED = "imported"
PARTLY = "partly prepared, not imported"
BLOCKED = "prepared, not imported"
ABSENT = "not prepared"
UNREAD = "not observed"

GATES = frozenset(
    {"ad.schema", "ad.exchange_schema", "ad.connector", "tenant.licence", "tenant.sync_status"}
)
"""Prerequisites features share: holding them is no sign of any one feature."""

DISTINCTIVE = {
    "password": ("reset-password",),
    "exchange_hybrid": ("read-write-user", "read-write-inetOrgPerson", "read-write-contact"),
    "group": ("create-delete-groups",),
}
"""Grants that only the feature's preparation makes: a root where the connector holds none of
them is not "partly prepared" for it, even if another feature's grants satisfy some of its
requirements (Exchange hybrid's RPWP on users also lets the connector write pwdLastSet; group
writeback's GR GW on groups is RPWP on groups)."""


@dataclass
class Finding:
    """What import found for one feature."""

    feature: str
    status: str = ABSENT
    entry: dict[str, Any] | None = None
    """The imported policy entry (None: not imported)."""
    notes: list[str] = field(default_factory=list)
    """What the entry was inferred from, or why it was not imported."""
    unverified: list[str] = field(default_factory=list)
    """What the plan cannot judge for it (``?`` items)."""
    suggestion: dict[str, Any] | None = None
    """An entry to uncomment when the feature is partly prepared (the plan then lists what is
    missing)."""
    shared: list[Item] = field(default_factory=list)
    """Pending items of no feature in particular (a missing licence, the Connect server's
    account): every feature's plan shows them."""
    aces: int = 0
    """ACE requirements the connector already satisfies (for ranking connector candidates)."""

    @property
    def imported(self) -> bool:
        return self.entry is not None


@dataclass(frozen=True)
class Context:
    """What every feature is inferred from."""

    state: ObservedState
    """The observation, with scans cut for candidate roots below scanned ones."""
    verifier: Verifier
    roots: list[str]
    """Scope-root candidates, shallowest first."""
    ous: list[str]
    """Group writeback OU candidates."""


def _unread(verdict: Verdict) -> bool:
    return any(i.action == "read" for i in verdict.pending)


def _status(verdict: Verdict, ignore: frozenset[str] = frozenset()) -> str:
    """How far a feature is prepared (``ignore``: addresses another feature prepares too)."""
    if verdict.ok:
        return IMPORTED
    if _unread(verdict):
        return UNREAD
    if not any(i.features for i in verdict.pending):
        return BLOCKED
    if any(i.type not in GATES and i.address not in ignore for i in verdict.satisfied):
        return PARTLY
    return ABSENT


def _why_not(found: Finding, verdict: Verdict, what: str = "") -> str:
    """What the plan would still do for it (items of no feature go to ``found.shared``)."""
    own = [i for i in verdict.pending if i.features]
    found.shared.extend(i for i in verdict.pending if not i.features)
    lead = f"{what}; " if what else ""
    if not own:
        return (
            lead + "its own part is in place; what every feature's plan shows (at the top) stops it"
        )
    if _unread(verdict):
        return lead + "the observation did not read all it needs — " + summary(own, 2)
    short = 2 if not any(i.type not in GATES for i in verdict.satisfied) else SHOWN
    return lead + "the plan would still do this — " + summary(own, short)


def _unchecked(verdict: Verdict) -> list[str]:
    if not verdict.unchecked:
        return []
    return [f"not verifiable here (the plan shows them as '?'): {unknowns(verdict.unchecked)}"]


# --------------------------------------------------------------------------- scoped features


def _coverage(ctx: Context, root: str, analysis: str, classes: tuple[str, ...]) -> str:
    """How far the objects below ``root`` were checked."""
    read = [c for c in classes if covers(ctx.state, root, c)]
    if not read:
        return "the objects below it were not read in this observation: only the rights on it were checked"
    found = analyse(ctx.state, root, analysis)
    count = len(found.verdicts) if found is not None else 0
    admins = len(found.admin) if found is not None else 0
    text = (
        f"every one of the {count} {'/'.join(read)} object(s) below it has them"
        if count
        else f"no {'/'.join(read)} object below it yet (new ones get the grants by inheritance)"
    )
    if admins:
        text += f" ({admins} of them adminCount=1: judged on AdminSDHolder too)"
    missing = [c for c in classes if c not in read]
    if missing:
        text += f"; {'/'.join(missing)} objects below it were not read"
    return text


def _distinctive(feature: str, verdict: Verdict) -> bool:
    names = held(verdict.aces()).split(", ")
    return any(n.startswith(DISTINCTIVE[feature]) for n in names if n)


def _scoped(
    ctx: Context,
    feature: str,
    entry: Callable[[list[str]], dict[str, Any]],
    analysis: str,
    classes: tuple[str, ...],
) -> Finding:
    found = Finding(feature)
    verified: list[tuple[str, Verdict]] = []
    partial: list[tuple[str, Verdict]] = []
    for root in ctx.roots:
        if any(is_at_or_under(root, r) for r, _ in verified):
            continue  # a root above it already covers it
        verdict = ctx.verifier.check({feature: entry([root])})
        if verdict.ok:
            verified.append((root, verdict))
        elif _distinctive(feature, verdict):
            partial.append((root, verdict))
    found.aces = sum(len(v.aces()) for _, v in [*verified, *partial])
    for root, verdict in verified:
        found.notes.append(
            f"{root}: the connector holds {held(verdict.aces())} — "
            + _coverage(ctx, root, analysis, classes)
        )
    remaining = [(r, v) for r, v in partial if not any(is_at_or_under(r, s) for s, _ in verified)]
    for root, verdict in remaining:
        found.notes.append(
            _why_not(found, verdict, f"{root}: the connector holds {held(verdict.aces())}")
        )
    if verified:
        found.status = IMPORTED
        found.entry = entry([r for r, _ in verified])
        found.unverified = _unchecked(verified[0][1])
    elif remaining:
        own = any(i.features for _, v in remaining for i in v.pending)
        found.status = PARTLY if own else BLOCKED
        found.suggestion = entry([r for r, _ in remaining])
    else:
        found.notes.append("no domain root, OU or container where the connector holds its grants")
    return found


def password(ctx: Context) -> Finding:
    """Password writeback: the scope roots whose users the connector can reset (every one of
    them, per object), and Unexpire Password on the domain roots."""

    def entry(scope: list[str]) -> dict[str, Any]:
        return {"enabled": True, "scope": scope}

    found = _scoped(ctx, "password", entry, "password", PASSWORD_CLASSES)
    if found.entry is not None:
        unexpire = ctx.verifier.check({"password": {**found.entry, "unexpire_password": True}})
        found.entry["unexpire_password"] = unexpire.ok
        if unexpire.ok:
            found.notes.append(
                "unexpire_password: the connector holds Unexpire Password on every domain root "
                "(itself or through a group such as Authenticated Users)"
            )
        else:
            found.notes.append("unexpire_password: false — " + summary(unexpire.pending))
    return found


def exchange_hybrid(ctx: Context) -> Finding:
    """Exchange hybrid writeback: the scope roots where the connector reads and writes users,
    inetOrgPersons, groups and contacts (RPWP)."""

    def entry(scope: list[str]) -> dict[str, Any]:
        return {"enabled": True, "scope": scope}

    return _scoped(ctx, "exchange_hybrid", entry, "exchange", EXCHANGE_CLASSES)


# --------------------------------------------------------------------------- group writeback


def _new_group_defaults(state: ObservedState) -> tuple[list[bool], str]:
    tenant = state.tenant
    setting = tenant.group_unified if tenant is not None else None
    if setting is None:
        return [False, True], (
            "new_group_default: the Group.Unified setting was not read; false is wbplan's safe "
            "default, not an observation"
        )
    raw = setting.values.get(NEW_GROUP_WRITEBACK_DEFAULT) if setting.present else None
    value = True if raw is None or raw == "" else raw.strip().lower() == "true"
    shown = "unset (absent or empty means true)" if raw in (None, "") else repr(raw)
    note = f"new_group_default: Group.Unified {NEW_GROUP_WRITEBACK_DEFAULT} is {shown}"
    if value:
        note += (
            "; every new Microsoft 365 group is written back: set it to false to stop that "
            "(the plan then changes the setting)"
        )
    return [value], note


def _group_entry(ou: str, default: bool) -> dict[str, Any]:
    return {"enabled": True, "version": "v1", "container": ou, "new_group_default": default}


def group(ctx: Context) -> Finding:
    """Group writeback v1: the one OU where the connector creates, deletes and manages groups,
    the tenant flag, and NewUnifiedGroupWritebackDefault as the tenant has it."""
    found = Finding("group")
    defaults, default_note = _new_group_defaults(ctx.state)
    verified: list[tuple[str, bool, Verdict]] = []
    partial: list[tuple[str, Verdict]] = []
    for ou in ctx.ous:
        for value in defaults:
            verdict = ctx.verifier.check({"group": _group_entry(ou, value)})
            if verdict.ok:
                verified.append((ou, value, verdict))
                break
        else:
            if _distinctive("group", verdict):
                partial.append((ou, verdict))
    found.aces = max(
        [len(v.aces()) for _, _, v in verified] + [len(v.aces()) for _, v in partial] + [0]
    )
    if len(verified) == 1:
        ou, value, verdict = verified[0]
        found.status = IMPORTED
        found.entry = _group_entry(ou, value)
        found.notes.append(
            f"container: the connector holds {held(verdict.aces())} on {ou} — "
            + _coverage(ctx, ou, "group", ("group",))
        )
        found.notes.append(default_note)
        found.notes.append("version: v1 (Microsoft 365 groups); v2 was retired after June 30, 2024")
        found.unverified = _unchecked(verdict)
    elif verified:
        found.status = "prepared on several OUs, not imported"
        found.notes.append(
            f"the group writeback grants are on {len(verified)} OUs ("
            + listed([ou for ou, _, _ in verified])
            + "); Connect writes to one: uncomment it with the right OU"
        )
        found.suggestion = _group_entry(verified[0][0], verified[0][1])
    elif partial:
        ou, verdict = partial[0]
        found.status = PARTLY if any(i.features for i in verdict.pending) else BLOCKED
        found.notes.append(
            _why_not(found, verdict, f"{ou}: the connector holds {held(verdict.aces())}")
        )
        found.suggestion = _group_entry(ou, defaults[0])
    else:
        found.notes.append("no OU where the connector holds the group writeback grants")
    return found


# --------------------------------------------------------------------------- single-place features


def _first(
    ctx: Context, feature: str, entries: list[dict[str, Any]]
) -> tuple[dict[str, Any] | None, Verdict]:
    """The first entry that holds (None), and its verdict (else the first entry's)."""
    first: Verdict | None = None
    for entry in entries:
        verdict = ctx.verifier.check({feature: entry})
        if verdict.ok:
            return entry, verdict
        first = first or verdict
    assert first is not None
    return None, first


def _not_imported(
    found: Finding,
    verdict: Verdict,
    entry: dict[str, Any],
    ignore: frozenset[str] = frozenset(),
) -> None:
    found.status = _status(verdict, ignore)
    found.aces = len(verdict.aces())
    found.notes.append(_why_not(found, verdict))
    if found.status in (PARTLY, BLOCKED):
        found.suggestion = entry


def _drs_configuration(state: ObservedState) -> frozenset[str]:
    """The DRS configuration container and the connector's grant on it: hybrid join needs them
    as much as device writeback (no sign of either alone)."""
    assert state.ad is not None
    dn = drs_configuration_dn(state.ad.root_dse.configuration_naming_context)
    return frozenset({f"ad.object[{dn}]", f"ad.ace[{dn}/device-registration/read-write]"})


def _device_domains(state: ObservedState) -> list[str]:
    ad = state.ad
    assert ad is not None
    located: list[str] = []
    for obj in ad.objects:
        for location in obj.attributes.get("msDS-DeviceLocation", ()):
            for d in ad.domains:
                if dn_key(location) == dn_key(registered_devices_dn(d.dns_name)):
                    located.append(d.dns_name)
    return list(dict.fromkeys([*located, ad.forest.lower()]))


def _other_locations(state: ObservedState) -> list[str]:
    ad = state.ad
    assert ad is not None
    defaults = {dn_key(registered_devices_dn(d.dns_name)) for d in ad.domains}
    return [
        loc
        for obj in ad.objects
        for loc in obj.attributes.get("msDS-DeviceLocation", ())
        if dn_key(loc) not in defaults
    ]


def device(ctx: Context) -> Finding:
    """Device writeback: the DRS object naming CN=RegisteredDevices of a domain, the container
    and the connector's grants, and the tenant flag."""
    found = Finding("device")
    entries = [{"enabled": True, "domain": d} for d in _device_domains(ctx.state)]
    entry, verdict = _first(ctx, "device", entries)
    if entry is None:
        _not_imported(found, verdict, entries[0], _drs_configuration(ctx.state))
        for location in _other_locations(ctx.state):
            found.notes.append(
                f"a DRS object's msDS-DeviceLocation is {location}, which is not "
                "CN=RegisteredDevices of a domain: writeback.device.domain cannot name it"
            )
        return found
    found.status, found.entry, found.aces = IMPORTED, entry, len(verdict.aces())
    found.notes.append(
        "domain: the DRS object's msDS-DeviceLocation is "
        f"{registered_devices_dn(str(entry['domain']))}, which exists with the connector's grants "
        f"({held(verdict.aces())})"
    )
    found.unverified = _unchecked(verdict)
    return found


def ngc_keys(ctx: Context) -> Finding:
    """Windows Hello for Business key writeback: the connector in Key Admins (or Enterprise Key
    Admins) on a 2016 schema."""
    found = Finding("ngc_keys")
    entries = [{"enabled": True, "group": g} for g in ("key_admins", "enterprise_key_admins")]
    entry, verdict = _first(ctx, "ngc_keys", entries)
    if entry is None:
        _not_imported(found, verdict, entries[0])
        return found
    found.status, found.entry = IMPORTED, entry
    name = "Key Admins" if entry["group"] == "key_admins" else "Enterprise Key Admins"
    found.notes.append(
        f"group: the connector is a member of {name} (its tokenGroups), and the schema has "
        "msDS-KeyCredentialLink"
    )
    return found


def scp_keywords(state: ObservedState) -> dict[str, str]:
    """The hybrid-join SCP's ``keywords`` by lower-cased name (``azureadname``,
    ``azureadid``), when the SCP was read."""
    ad = state.ad
    if ad is None:
        return {}
    key = dn_key(scp_dn(ad.root_dse.configuration_naming_context))
    out: dict[str, str] = {}
    for obj in ad.objects:
        if dn_key(obj.dn) == key and obj.exists:
            for keyword in obj.attributes.get("keywords", ()):
                name, sep, value = keyword.partition(":")
                if sep:
                    out[name.lower()] = value
    return out


def hybrid_join(ctx: Context) -> Finding:
    """The hybrid-join SCP: it exists with keywords naming the tenant, and the connector holds
    its grant on the DRS configuration."""
    found = Finding("hybrid_join")
    entries: list[dict[str, Any]] = [{"enabled": True}]
    name = scp_keywords(ctx.state).get("azureadname")
    if name:
        entries.append({"enabled": True, "azure_ad_name": name})
    entry, verdict = _first(ctx, "hybrid_join", entries)
    if entry is None:
        _not_imported(found, verdict, entries[-1], _drs_configuration(ctx.state))
        if found.status == PARTLY and not name:
            found.status, found.suggestion = ABSENT, None  # the SCP is the feature
        return found
    found.status, found.entry = IMPORTED, entry
    found.notes.append(
        f"the SCP exists with keywords azureADName:{name} and azureADId: the tenant id"
        + (" (azure_ad_name: the SCP's own value)" if "azure_ad_name" in entry else "")
    )
    return found


def user(ctx: Context) -> Finding:
    """User writeback (withdrawn in 2015): declared off when the tenant flag is observed off."""
    found = Finding("user")
    entry, verdict = _first(ctx, "user", [{"enabled": False}])
    if entry is not None:
        found.status, found.entry = IMPORTED, entry
        found.notes.append(
            "userWritebackEnabled is false in the tenant (user writeback was withdrawn in 2015)"
        )
    elif verdict.pending:
        _not_imported(found, verdict, {"enabled": False})
        found.status, found.suggestion = "not imported", None
    return found


INFER: dict[str, Callable[[Context], Finding]] = {
    "password": password,
    "device": device,
    "group": group,
    "exchange_hybrid": exchange_hybrid,
    "user": user,
    "ngc_keys": ngc_keys,
    "hybrid_join": hybrid_join,
}
