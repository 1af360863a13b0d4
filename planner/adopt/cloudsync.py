"""The ``cloud_sync`` section import writes when an observation shows Microsoft Entra Cloud Sync
(pure).

Cloud Sync shows in two places: in AD, the agent's gMSA (``AdState.cloud_sync``) and the grants
it holds; in the tenant, the configurations and their jobs (``TenantState.cloud_sync``). From
them import proposes, per AD domain, each feature the policy can declare —

* ``group_provisioning``: the target OUs the domain's Group Provision to AD job really uses —
  the DNs its ``parentDistinguishedName`` mapping yields, read from the job schema — when that
  was read and is fully known (WB-CS-056 compares the policy with exactly those); otherwise
  (schema not read, no mapping, a DN computed from the group) each OU or container of the
  domain where the gMSA holds an explicit grant is tried, as before the schema was read. The
  scope is what the domain's Entra-to-AD configuration shows (assignment required:
  ``selected_groups``; not required: ``all_security_groups``). ``migrate_from_connect_v2`` is
  proposed for an OU group writeback v2 wrote to that the snapshot read
  (``ad.cloud_sync.connect_v2``) while v2 is still on or copies are still pending there: an
  unfinished migration plans changes, so it is written commented out with what the plan would
  still do;
* ``password_writeback`` and ``exchange_hybrid``: declared for the domain;

— and keeps a candidate only when planning it against the same observation changes nothing
(:class:`planner.adopt.verify.Verifier`, the planner's own requirements and diff), as for the
Connect features. The gMSA is written as the policy's choice: default discovery (``gmsa``
absent) when the observation found the agent's default gMSA, the account by name when it was
read for a custom one.

What cannot be inferred is said in comments: the password writeback check box (no Graph API
shows it), and, for a domain whose job schema was not read or is partly computed, that its
target OUs were found from the gMSA's grants rather than read from the attribute mapping. A Cloud Sync feature for a domain whose Connect counterpart
was imported is not imported (one engine per domain and feature: the policy refuses both).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from planner.adopt import cloudsync_v2
from planner.adopt.candidates import broad, explicit_trustees, places
from planner.adopt.verify import Verdict, Verifier
from planner.adopt.words import held, listed, summary, unknowns
from planner.diff.cloudsync_tenant import configurations_for, direction_of
from planner.model.dn import (
    DnError,
    dn_key,
    dns_name_of,
    domain_dn,
    is_at_or_under,
    split_rdns,
)
from planner.model.state import (
    CloudSyncConfiguration,
    CloudSyncTenant,
    GmsaObservation,
    ObservedState,
)
from planner.requirements.cloudsync_tenant import GROUP_PROVISIONING, Direction, kind

FEATURES = ("group_provisioning", "password_writeback", "exchange_hybrid")
"""In the order a ``cloud_sync.domains[]`` entry lists them."""

IMPORTED = "imported"
PARTLY = "partly prepared, not imported"
ABSENT = "not prepared"

DISTINCTIVE = {
    "group_provisioning": ("create-delete-groups",),
    "password_writeback": ("reset-password",),
    "exchange_hybrid": ("read-write-user", "read-write-inetOrgPerson", "read-write-contact"),
}
"""Grants of the gMSA that only the feature's preparation makes (as for the connector)."""

CONNECT_TWIN = {"password_writeback": "password", "exchange_hybrid": "exchange_hybrid"}
"""The Connect feature serving the same thing: a domain has one engine per feature."""

NOT_INFERRED = (
    "the Cloud Sync password writeback check box ('Write back passwords with Microsoft Entra "
    "Connect cloud sync'): no Microsoft Graph API shows it (tenant.sspr[cloud-sync-writeback])",
    "the provisioning agents' builds: no Microsoft Graph property exposes them",
)

FROM_GRANTS = (
    "group_provisioning.target_ous where the job schema's parentDistinguishedName mapping was "
    "not read, is absent or is partly computed: found where the gMSA holds the group "
    "provisioning grants; "
    "a target OU the configuration maps groups to without those grants is not found"
)
"""Added to the not-inferred list when a domain's target OUs came from the grants."""


@dataclass
class FeatureFinding:
    """What import found for one Cloud Sync feature of one domain."""

    key: str
    status: str = ABSENT
    value: Any = None
    """The imported value (a mapping for ``group_provisioning``, ``True`` otherwise)."""
    suggestion: Any = None
    """A value to uncomment when the feature is partly prepared."""
    notes: list[str] = field(default_factory=list)
    pending: dict[str, Any] = field(default_factory=dict)
    """Keys written commented out inside the imported value (``migrate_from_connect_v2`` of an
    unfinished migration, when the rest of ``group_provisioning`` plans no change)."""


@dataclass
class DomainFinding:
    """What import found for one AD domain."""

    domain: str
    features: list[FeatureFinding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def entry(self) -> dict[str, Any] | None:
        """The domain's imported entry (None: no feature imported)."""
        found = {f.key: f.value for f in self.features if f.value is not None}
        return {"domain": self.domain, **found} if found else None

    def suggestion(self) -> dict[str, Any] | None:
        """The entry with the partly prepared features too (None: none of those)."""
        partly = {f.key: f.suggestion for f in self.features if f.suggestion is not None}
        if not partly:
            return None
        found = {f.key: f.value for f in self.features if f.value is not None}
        return {"domain": self.domain, **found, **partly}


@dataclass
class CloudSyncFinding:
    """What import found of Cloud Sync."""

    gmsa: dict[str, Any] = field(default_factory=dict)
    """``cloud_sync.gmsa`` (empty: default discovery)."""
    gmsa_notes: list[str] = field(default_factory=list)
    domains: list[DomainFinding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    not_inferred: list[str] = field(default_factory=lambda: list(NOT_INFERRED))

    def section(self) -> dict[str, Any] | None:
        """The imported ``cloud_sync`` section (None: no domain imported)."""
        entries = [e for d in self.domains if (e := d.entry()) is not None]
        if not entries:
            return None
        return {**({"gmsa": self.gmsa} if self.gmsa else {}), "domains": entries}


# --------------------------------------------------------------------------- the gMSA


def _gmsa_account(state: ObservedState, gmsa: GmsaObservation) -> str | None:
    """``NETBIOS\\name$`` of the gMSA (None: its domain's NetBIOS name was not read)."""
    ad = state.ad
    assert ad is not None
    home = max(
        (d for d in ad.domains if is_at_or_under(gmsa.dn, d.dn)),
        key=lambda d: len(dn_key(d.dn)),
        default=None,
    )
    if home is None or not home.netbios_name:
        return None
    return f"{home.netbios_name}\\{gmsa.sam_account_name}"


def _gmsa(state: ObservedState, found: CloudSyncFinding) -> GmsaObservation | None:
    ad = state.ad
    assert ad is not None
    cloud = ad.cloud_sync
    if cloud is None:
        found.gmsa_notes.append(
            "NOT OBSERVED: this observation did not look for the Cloud Sync gMSA (its policy "
            "had no cloud_sync section), so no Cloud Sync right can be judged"
        )
        return None
    gmsa = cloud.gmsa
    if gmsa is None:
        unread = next((u for u in ad.unread if u.what == "ad.cloud_sync.gmsa"), None)
        if cloud.gmsa_candidates:
            found.gmsa_notes.append(
                f"NOT INFERRED: {len(cloud.gmsa_candidates)} gMSAs look like the agent's default "
                f"one ({listed(list(cloud.gmsa_candidates), 3)}); name the one the agent runs as "
                "in cloud_sync.gmsa.account (DOMAIN\\name$; on the agent server, the "
                "'Microsoft Azure AD Connect Provisioning Agent' service's log-on account)"
            )
        elif unread is not None:
            found.gmsa_notes.append(f"NOT OBSERVED: the gMSA could not be read: {unread.reason}")
        else:
            found.gmsa_notes.append("no gMSA of the Cloud Sync agent was found in AD")
        return None
    if gmsa.found_by == "custom":
        account = _gmsa_account(state, gmsa)
        if account is None:
            found.gmsa_notes.append(
                f"NOT INFERRED: the custom gMSA {gmsa.dn} was found, but its domain's NetBIOS "
                "name was not read: name it in cloud_sync.gmsa.account (DOMAIN\\name$)"
            )
            return None
        found.gmsa = {"account": account}
        found.gmsa_notes.append(
            f"account: the custom gMSA the observation was read for, found in AD: {gmsa.dn} "
            f"({gmsa.sid})"
        )
    else:
        found.gmsa_notes.append(
            f"default discovery (no account named): the agent's default gMSA {gmsa.dn} "
            f"({gmsa.sam_account_name}, {gmsa.sid}) is the only one found by cn=provAgentgMSA "
            "or sAMAccountName=pGMSA_*"
        )
    return gmsa


def gmsa_holders(state: ObservedState, gmsa: GmsaObservation) -> frozenset[str]:
    """The gMSA's SID and the groups in its tokenGroups that are not broad: whoever of them
    holds an explicit ACE marks a place as prepared for Cloud Sync."""
    ad = state.ad
    assert ad is not None
    return frozenset(
        s.upper() for s in (gmsa.sid, *gmsa.token_groups) if s == gmsa.sid or not broad(s, ad)
    )


# --------------------------------------------------------------------------- candidates


def _domain_of(state: ObservedState, dn: str) -> str | None:
    """The DNS name of the forest domain whose naming context holds ``dn`` (its deepest)."""
    ad = state.ad
    assert ad is not None
    home = max(
        (d for d in ad.domains if is_at_or_under(dn, d.dn)),
        key=lambda d: len(dn_key(d.dn)),
        default=None,
    )
    if home is not None:
        return home.dns_name.lower()
    name = dns_name_of(dn)
    return name.lower() if name else None


def _target_ou_candidates(state: ObservedState, holders: frozenset[str]) -> dict[str, list[str]]:
    """Domain → OUs and containers (not the domain root) where a holder has an explicit allow
    ACE, shallowest first."""
    ad = state.ad
    assert ad is not None
    roots = {dn_key(d.dn) for d in ad.domains}
    config = ad.root_dse.configuration_naming_context
    out: dict[str, list[str]] = {}
    for p in places(state):
        if dn_key(p.dn) in roots or is_at_or_under(p.dn, config):
            continue
        if not ({"organizationalunit", "container"} & set(p.classes)):
            continue
        if explicit_trustees(p.sd) & holders:
            domain = _domain_of(state, p.dn)
            if domain is not None:
                out.setdefault(domain, []).append(p.dn)
    return {d: sorted(ous, key=lambda o: (o.count(","), dn_key(o))) for d, ous in out.items()}


def _domains(
    state: ObservedState, tenant: CloudSyncTenant | None, ous: dict[str, list[str]]
) -> list[str]:
    """Domains of the forest to try: those a tenant configuration serves and those where the
    gMSA holds grants, in the forest's order (a configuration of another forest's domain is
    not this policy's: the policy refuses a domain outside its forest)."""
    ad = state.ad
    assert ad is not None
    forest = [d.dns_name.lower() for d in ad.domains] or [ad.forest.lower()]
    wanted = set(ous)
    if tenant is not None:
        wanted |= {configured(c) for c in tenant.configurations}
    wanted |= {d for d in forest if _holds_at_root(state, d)}
    return [d for d in forest if d in wanted]


def configured(config: CloudSyncConfiguration) -> str:
    """The domain a configuration serves, as addresses carry it."""
    return (config.domain or config.display_name or "").lower().rstrip(".")


def _holds_at_root(state: ObservedState, domain: str) -> bool:
    ad = state.ad
    assert ad is not None
    cloud = ad.cloud_sync
    if cloud is None or cloud.gmsa is None:
        return False
    holders = gmsa_holders(state, cloud.gmsa)
    key = dn_key(_root(state, domain))
    return any(dn_key(p.dn) == key and explicit_trustees(p.sd) & holders for p in places(state))


def _root(state: ObservedState, domain: str) -> str:
    ad = state.ad
    assert ad is not None
    for d in ad.domains:
        if d.dns_name.lower() == domain:
            return d.dn
    return domain_dn(domain)


def _scopes(tenant: CloudSyncTenant | None, domain: str) -> tuple[list[str], str]:
    """Scopes to try for ``domain``'s group provisioning, the observed one first, and why."""
    configs = configurations_for(tenant, domain, "entra-to-ad") if tenant is not None else []
    if len(configs) == 1:
        c = configs[0]
        if c.app_role_assignment_required is True:
            groups = "" if c.assigned_groups is None else f", {c.assigned_groups} group(s) assigned"
            return ["selected_groups"], (
                "scope: selected_groups — its Microsoft Entra ID to AD configuration requires "
                f"assignment{groups} (Microsoft Graph appRoleAssignmentRequired, appRoleAssignedTo)"
            )
        if c.app_role_assignment_required is False:
            return ["all_security_groups"], (
                "scope: all_security_groups — its Microsoft Entra ID to AD configuration does "
                "not require assignment (how Microsoft stores 'All security groups' is not "
                "documented; wbplan reads it this way)"
            )
    return ["selected_groups", "all_security_groups"], (
        "scope: the first the plan accepts (the configuration's assignment setting was not read)"
    )


# --------------------------------------------------------------------------- judging


@dataclass(frozen=True)
class _Judge:
    verifier: Verifier
    state: ObservedState
    writeback: dict[str, Any]
    """The Connect features import keeps (planned together, as the policy will be)."""
    gmsa: dict[str, Any]

    def check(self, domain: str, features: dict[str, Any]) -> Verdict:
        section = {
            **({"gmsa": self.gmsa} if self.gmsa else {}),
            "domains": [{"domain": domain, **features}],
        }
        # judged alone: the Connect features' own grants must not count as the gMSA's
        return self.verifier.check({}, section)


def _distinctive(key: str, verdict: Verdict) -> bool:
    names = held(verdict.aces()).split(", ")
    return any(n.startswith(DISTINCTIVE[key]) for n in names if n)


def _unchecked(verdict: Verdict) -> list[str]:
    if not verdict.unchecked:
        return []
    return [f"not verifiable here (the plan shows them as '?'): {unknowns(verdict.unchecked)}"]


def _jobs(verdict: Verdict) -> list[str]:
    """``the AD2AADProvisioning job runs (Microsoft Graph)`` for the healthy jobs judged."""
    jobs = sorted(
        i.address.rpartition("/")[2].rstrip("]")
        for i in verdict.satisfied
        if i.type == "tenant.cloud_sync_job"
    )
    if not jobs:
        return []
    return [
        f"the configuration's {', '.join(jobs)} "
        + ("jobs run" if len(jobs) > 1 else "job runs")
        + " healthy (Microsoft Graph synchronization jobs)"
    ]


def _pending(verdict: Verdict) -> str:
    own = [i for i in verdict.pending if i.features] or list(verdict.pending)
    return "the plan would still do this — " + summary(own, 3)


def _mapped_targets(tenant: CloudSyncTenant | None, domain: str) -> tuple[list[str] | None, str]:
    """The DNs the domain's Group Provision to AD job creates groups in, when its job schema was
    read and its ``parentDistinguishedName`` mapping is fully known — what the configuration
    really uses, and what WB-CS-056 compares ``target_ous`` with — and words saying where they
    come from; (None, why not) otherwise."""
    if tenant is None:
        return None, "the tenant's Cloud Sync configurations were not read"
    configs = configurations_for(tenant, domain, "entra-to-ad")
    jobs = [j for c in configs for j in c.jobs if j.template_id == GROUP_PROVISIONING]
    if not jobs:
        return None, f"the tenant shows no {GROUP_PROVISIONING} job for this domain"
    targets = [j.target_container for j in jobs]
    if any(t is None for t in targets):
        return None, "its job schema (parentDistinguishedName mapping) was not read"
    read = [t for t in targets if t is not None]
    if not all(t.mapped for t in read):
        return None, (
            "its job schema maps no parentDistinguishedName (the job cannot create groups: "
            "SchemaInvalid)"
        )
    open_ = list(dict.fromkeys(why for t in read for why in t.open))
    if open_:
        return None, (
            "its parentDistinguishedName mapping computes DNs from "
            f"{listed(open_, 2)}, so not every OU it writes to is known"
        )
    dns: dict[str, str] = {}
    for t in read:
        for dn in t.dns:
            dns.setdefault(_key(dn), dn)
    if not dns:
        return None, "its parentDistinguishedName mapping yields no DN"
    # a value the policy would refuse (not a DN, or a DN of another domain: WBP020, WBP064)
    # cannot be declared; WB-CS-056 then fails in the plan, naming it
    foreign = [dn for dn in dns.values() if (_dns_name(dn) or "") != domain]
    if foreign:
        return None, (
            f"its parentDistinguishedName mapping yields {listed(foreign, 2)}, not a DN of "
            "this domain"
        )
    expressions = "; ".join(dict.fromkeys(t.expression or "?" for t in read))
    return list(dns.values()), (
        f"target_ous: the DNs the configuration's parentDistinguishedName mapping yields "
        f"({expressions}), read from its {GROUP_PROVISIONING} job schema (Microsoft Graph "
        "synchronizationSchema)"
    )


def _dns_name(dn: str) -> str | None:
    """The DNS name of ``dn``'s domain components, lower-cased (None: not a DN)."""
    try:
        split_rdns(dn)
    except DnError:
        return None
    name = dns_name_of(dn)
    return name.lower() if name else None


def _key(dn: str) -> str:
    try:
        return dn_key(dn)
    except ValueError:  # not a DN: compared as written (the policy check then names it)
        return dn.strip().lower()


def _held_on(verdict: Verdict, ou: str) -> str:
    """The satisfied ACE requirements of ``verdict`` on ``ou``, by name."""
    key = _key(ou)
    return held(i for i in verdict.aces() if i.dn is not None and _key(i.dn) == key)


def _group(
    judge: _Judge, state: ObservedState, domain: str, ous: list[str]
) -> tuple[FeatureFinding, bool]:
    """Group provisioning of ``domain``, and whether its target OUs came from the gMSA's grants
    (the job schema not read, or not fully known)."""
    tenant = state.tenant.cloud_sync if state.tenant is not None else None
    mapped, why = _mapped_targets(tenant, domain)
    if mapped is not None:
        return _group_from_mapping(judge, state, domain, mapped, why, ous), False
    found = _group_from_grants(judge, state, domain, ous)
    if found.value is not None or found.suggestion is not None:
        found.notes.insert(0, f"target_ous: found where the gMSA holds grants, because {why}")
    return found, bool(ous) or found.suggestion is not None


def _group_from_mapping(
    judge: _Judge,
    state: ObservedState,
    domain: str,
    mapped: list[str],
    source: str,
    ous: list[str],
) -> FeatureFinding:
    """Group provisioning with the target OUs the configuration maps groups to: imported when
    it plans no change; commented out (partly prepared) when, say, the gMSA lacks the grants on
    one of them. OUs where the gMSA holds the grants but the mapping never writes are named,
    not declared (WB-CS-056 would fail for them)."""
    found = FeatureFinding("group_provisioning")
    tenant = state.tenant.cloud_sync if state.tenant is not None else None
    scopes, scope_note = _scopes(tenant, domain)
    verdict: Verdict | None = None
    for scope in scopes:
        value = {"target_ous": list(mapped), "scope": scope}
        verdict = judge.check(domain, {"group_provisioning": value})
        if verdict.ok:
            break
    assert verdict is not None
    found.notes.append(source)
    if verdict.ok:
        found.status, found.value = IMPORTED, value
        for ou in mapped:
            found.notes.append(f"the gMSA holds {_held_on(verdict, ou)} on {ou}")
        found.notes.append(scope_note)
        found.notes += _jobs(verdict)
        found.notes += _unchecked(verdict)
    else:
        found.status = PARTLY
        found.suggestion = {"target_ous": list(mapped), "scope": scopes[0]}
        for ou in mapped:
            if not _held_on(verdict, ou):
                found.notes.append(
                    f"the configuration creates groups in {ou}, but the gMSA holds no group "
                    "provisioning grant there"
                )
        found.notes.append(_pending(verdict))
    mapped_keys = {_key(ou) for ou in mapped}
    for ou in ous:
        if _key(ou) in mapped_keys:
            continue
        alone = judge.check(
            domain, {"group_provisioning": {"target_ous": [ou], "scope": scopes[0]}}
        )
        if _distinctive("group_provisioning", alone):
            found.notes.append(
                f"not declared: the gMSA also holds {_held_on(alone, ou)} on {ou}, but the "
                "configuration's parentDistinguishedName mapping never creates groups there"
            )
    return found


def _group_from_grants(
    judge: _Judge, state: ObservedState, domain: str, ous: list[str]
) -> FeatureFinding:
    """Group provisioning with the OUs where the gMSA holds grants tried as target OUs."""
    found = FeatureFinding("group_provisioning")
    tenant = state.tenant.cloud_sync if state.tenant is not None else None
    scopes, scope_note = _scopes(tenant, domain)
    verified: dict[str, list[tuple[str, Verdict]]] = {s: [] for s in scopes}
    partial: list[tuple[str, Verdict]] = []
    for ou in ous:
        last: Verdict | None = None
        for scope in scopes:
            last = judge.check(domain, {"group_provisioning": {"target_ous": [ou], "scope": scope}})
            if last.ok:
                verified[scope].append((ou, last))
                break
        else:
            if last is not None and _distinctive("group_provisioning", last):
                partial.append((ou, last))
    best = next((s for s in scopes if verified[s]), None)
    if best is not None:
        chosen = verified[best]
        value = {"target_ous": [ou for ou, _ in chosen], "scope": best}
        together = judge.check(domain, {"group_provisioning": value})
        if together.ok:
            found.status, found.value = IMPORTED, value
            for ou, verdict in chosen:
                found.notes.append(f"target_ous: the gMSA holds {held(verdict.aces())} on {ou}")
            found.notes.append(scope_note)
            found.notes += _jobs(together)
            found.notes += _unchecked(together)
            return found
        partial = [(ou, together) for ou, _ in chosen]
    if partial:
        ou, verdict = partial[0]
        found.status = PARTLY
        found.suggestion = {"target_ous": [o for o, _ in partial], "scope": scopes[0]}
        found.notes.append(f"{ou}: the gMSA holds {held(verdict.aces())}; " + _pending(verdict))
    elif tenant is not None and configurations_for(tenant, domain, "entra-to-ad"):
        found.notes.append(
            "the tenant has a Microsoft Entra ID to AD configuration for this domain, but the "
            "gMSA holds the group provisioning grants on no OU of it"
        )
    return found


def _migration(judge: _Judge, state: ObservedState, domain: str, found: FeatureFinding) -> None:
    """``migrate_from_connect_v2`` of ``domain``'s group provisioning
    (:mod:`planner.adopt.cloudsync_v2`): kept commented out — under the imported value, or in
    the partly prepared suggestion."""
    base = found.value if found.value is not None else found.suggestion
    proposal = cloudsync_v2.propose(
        state, domain, base, lambda gp: judge.check(domain, {"group_provisioning": gp})
    )
    found.notes += proposal.notes
    if proposal.migration is None or base is None:
        return
    if found.value is not None:
        found.pending = {cloudsync_v2.KEY: proposal.migration}
    else:
        found.suggestion = {**base, cloudsync_v2.KEY: proposal.migration}


def _simple(judge: _Judge, domain: str, key: str, words: str) -> FeatureFinding:
    found = FeatureFinding(key)
    verdict = judge.check(domain, {key: True})
    if verdict.ok:
        found.status, found.value = IMPORTED, True
        found.notes.append(f"the gMSA holds {held(verdict.aces())} for {words}")
        found.notes += _jobs(verdict)
        found.notes += _unchecked(verdict)
    elif _distinctive(key, verdict):
        found.status, found.suggestion = PARTLY, True
        found.notes.append(f"the gMSA holds {held(verdict.aces())}; " + _pending(verdict))
    elif job := _tenant_job(judge.state, domain, TENANT_SIGN[key]):
        found.status, found.suggestion = PARTLY, True
        found.notes.append(f"the tenant has its {job} job, but " + _pending(verdict))
    return found


TENANT_SIGN: dict[str, tuple[Direction, str]] = {
    "password_writeback": ("ad-to-entra", "AD2AADProvisioning"),
    "exchange_hybrid": ("ad-to-entra", "AAD2ADExchangeHybridWriteback"),
}
"""The job whose presence in the tenant marks a feature as begun there (password writeback:
the domain's AD-to-Entra configuration, which wbplan infers it needs)."""


def _tenant_job(state: ObservedState, domain: str, sign: tuple[Direction, str]) -> str | None:
    """``AD to Microsoft Entra ID configuration's AD2AADProvisioning`` when the tenant shows
    that job for ``domain`` (None otherwise)."""
    tenant = state.tenant.cloud_sync if state.tenant is not None else None
    if tenant is None:
        return None
    direction, template = sign
    for config in configurations_for(tenant, domain, direction):
        if any(j.template_id == template for j in config.jobs):
            return f"{kind(direction)} configuration's {template}"
    return None


def _connect_serves(writeback: dict[str, Any], feature: str, domain: str) -> bool:
    """The imported Connect ``feature`` serves ``domain`` (its scope roots' domains; every
    domain when it has no scope), as the policy's one-engine check reads it."""
    entry = writeback.get(feature)
    if not isinstance(entry, dict) or entry.get("enabled") is not True:
        return False
    scope = entry.get("scope") or []
    if not scope:
        return True
    return any((dns_name_of(str(root)) or "").lower() == domain for root in scope)


def infer(
    state: ObservedState, verifier: Verifier, writeback: dict[str, Any]
) -> CloudSyncFinding | None:
    """The ``cloud_sync`` section ``state`` shows prepared (None: the observation shows no
    Cloud Sync at all). ``writeback``: the Connect features import keeps."""
    ad = state.ad
    assert ad is not None
    tenant = state.tenant.cloud_sync if state.tenant is not None else None
    cloud = ad.cloud_sync
    in_ad = cloud is not None and (cloud.gmsa is not None or bool(cloud.gmsa_candidates))
    if not in_ad and (tenant is None or not tenant.configurations):
        return None  # no gMSA of the agent and no configuration: no Cloud Sync to describe
    found = CloudSyncFinding()
    gmsa = _gmsa(state, found)
    if tenant is None:
        found.notes.append(
            "NOT OBSERVED: the tenant's Cloud Sync configurations were not read, so the "
            "configurations, jobs, scope and agents are not verified"
        )
    else:
        forest = {d.dns_name.lower() for d in ad.domains} or {ad.forest.lower()}
        for config in tenant.configurations:
            if configured(config) not in forest:
                found.notes.append(
                    f"the tenant's Cloud Sync configuration for {configured(config) or '?'} "
                    f"(service principal {config.service_principal_id}) serves a domain outside "
                    f"{ad.forest.lower()}: another forest's policy declares it"
                )
                continue
            direction = direction_of(config)
            jobs = ", ".join(sorted({j.template_id for j in config.jobs}))
            found.notes.append(
                f"the tenant has {'an' if direction == 'ad-to-entra' else 'a'} "
                f"{kind(direction) if direction else 'Cloud Sync'} "
                f"configuration for {config.domain or config.display_name} (service principal "
                f"{config.service_principal_id}; jobs {jobs})"
            )
    if gmsa is None:
        return found
    holders = gmsa_holders(state, gmsa)
    ous = _target_ou_candidates(state, holders)
    judge = _Judge(verifier, state, writeback, found.gmsa)
    for domain in _domains(state, tenant, ous):
        d = DomainFinding(domain)
        group, from_grants = _group(judge, state, domain, ous.get(domain, []))
        _migration(judge, state, domain, group)
        d.features.append(group)
        if from_grants and FROM_GRANTS not in found.not_inferred:
            found.not_inferred.append(FROM_GRANTS)
        for key, words in (
            ("password_writeback", f"password writeback on {_root(state, domain)}"),
            ("exchange_hybrid", f"Exchange hybrid writeback on {_root(state, domain)}"),
        ):
            twin = CONNECT_TWIN[key]
            if _connect_serves(writeback, twin, domain):
                f = FeatureFinding(
                    key,
                    notes=[
                        f"not tried: the imported writeback.{twin} serves "
                        f"{domain}, and a domain has one engine per feature"
                    ],
                )
                d.features.append(f)
                continue
            d.features.append(_simple(judge, domain, key, words))
        found.domains.append(d)
    _settle(found, judge)
    return found


def _settle(found: CloudSyncFinding, judge: _Judge) -> None:
    """The imported domains checked together (one gMSA, one licence for all configurations):
    when they change something only in company, nothing is imported, saying why."""
    section = found.section()
    if section is None:
        return
    verdict = judge.verifier.check(judge.writeback, section)
    if verdict.ok:
        return
    for d in found.domains:
        for f in d.features:
            if f.value is not None:
                f.suggestion, f.value, f.status = (
                    {**f.value, **f.pending} if isinstance(f.value, dict) else f.value,
                    None,
                    "not imported",
                )
                f.pending = {}
                f.notes.append(
                    "together with the other domains the plan would still do this — "
                    + summary(verdict.pending, 3)
                )
