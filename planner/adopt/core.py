"""From an observation to the policy that describes it (pure): identity (forest, tenant,
connector), licences, and the writeback features the planner finds already in place.

``adopt`` needs an observation that found its connector account: every ACE requirement is
judged for it. ``rank_connectors`` proposes one from the ACEs when none is known — each
principal holding explicit ACEs where writeback is prepared is tried as the connector, and the
one for which most features import wins; a tie is refused, listing the candidates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from planner.adopt.candidates import (
    Principal,
    as_connector,
    holder_sids,
    ou_candidates,
    principals,
    scope_candidates,
    with_scans,
)
from planner.adopt.cloudsync import CloudSyncFinding
from planner.adopt.cloudsync import infer as infer_cloud_sync
from planner.adopt.features import (
    FEATURES,
    INFER,
    Context,
    Finding,
    scp_keywords,
)
from planner.adopt.verify import Verifier, base_document
from planner.adopt.words import summary
from planner.connect.verdicts import connector_account, connector_for, usable
from planner.errors import UsageError, WbplanError
from planner.model.policy import API_VERSION, KIND
from planner.model.state import ObservedState
from planner.observe.licences import licence_status

PLACEHOLDER_TENANT_ID = "00000000-0000-0000-0000-000000000000"
PLACEHOLDER_TENANT_DOMAIN = "replace-me.onmicrosoft.com"
CONNECTOR_CANDIDATES = 8
"""Principals tried as the connector (those holding explicit ACEs on the most objects)."""

NOT_INFERRED = (
    "connect.option[...]: whether the Connect server has each optional feature ticked; no API "
    "exposes it (`wbplan refresh --connect-evidence` imports what the server reports)",
    "tenant.sspr[on-premises-writeback]: the SSPR on-premises integration toggle; no API "
    "exposes it",
    "connect.version: the Connect server's build; declare it for the version gates",
    "other_forests: other forests the same Connect server synchronises",
    "metadata.owner and waivers: decisions, not observations",
)


@dataclass(frozen=True)
class Options:
    """What the command line adds to the observation."""

    source: str
    """Where the observation came from (``state/prod.json``, ``live ldaps://dc1…``)."""
    connector: str | None = None
    name: str | None = None
    tenant_id: str | None = None
    tenant_domain: str | None = None
    tenant_source: str | None = None
    """Where the tenant part came from when not from the AD source (``--state-tenant``:
    ``the tenant snapshot state/tenant.json``); None: read with the rest."""


@dataclass
class Adoption:
    """The imported policy and what each part was inferred from."""

    source: str
    observed_at: str
    name: str
    forest: str
    tenant_id: str
    tenant_domain: str
    connector: str | None
    """None: no connector (the snapshot was read for a policy naming none, and no principal
    holds Entra Connect's writeback ACEs): no Connect feature is imported."""
    forest_note: str
    connect_version: str | None = None
    """``connect.version`` as the Connect server's evidence reports it (None: no evidence that
    counts, or it states no version)."""
    connect_notes: list[str] = field(default_factory=list)
    tenant_notes: list[str] = field(default_factory=list)
    connector_notes: list[str] = field(default_factory=list)
    licence_notes: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    cloud_sync: CloudSyncFinding | None = None
    """What import found of Microsoft Entra Cloud Sync (None: the observation shows none)."""
    global_notes: list[str] = field(default_factory=list)
    """What every plan of the observation shows, whatever the policy says."""
    shared_notes: list[str] = field(default_factory=list)
    """What every plan with a writeback feature shows (a missing licence, the Connect server
    signing in as another account …): features it stops are not imported."""
    not_inferred: list[str] = field(default_factory=list)

    def writeback(self) -> dict[str, Any]:
        """The imported features' entries, in policy order."""
        return {f.feature: f.entry for f in self.findings if f.entry is not None}

    def document(self) -> dict[str, Any]:
        """The policy as data (what the YAML holds)."""
        return {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": self.name, "description": self.description},
            "forest": self.forest,
            "tenant": {"id": self.tenant_id, "domain": self.tenant_domain},
            **({"connector": {"account": self.connector}} if self.connector is not None else {}),
            **({"connect": {"version": self.connect_version}} if self.connect_version else {}),
            "licences": {"require": ["AAD_PREMIUM"]},
            "writeback": self.writeback(),
            **({"cloud_sync": section} if (section := self.cloud_section()) else {}),
        }

    def cloud_section(self) -> dict[str, Any] | None:
        """The imported ``cloud_sync`` section (None: nothing of Cloud Sync imported)."""
        return self.cloud_sync.section() if self.cloud_sync is not None else None

    @property
    def description(self) -> str:
        return f"Imported by wbplan import from {self.source} (observed {self.observed_at})"


@dataclass(frozen=True)
class Ranked:
    """A principal tried as the connector: the features that import with it, and how many ACE
    requirements it satisfies."""

    principal: Principal
    imported: tuple[str, ...]
    aces: int

    @property
    def score(self) -> tuple[int, int]:
        return (len(self.imported), self.aces)

    def words(self) -> str:
        who = self.principal.name or self.principal.sid
        what = ", ".join(self.imported) if self.imported else "no feature"
        return f"{who} ({self.principal.sid}): {what}; {self.aces} ACE requirement(s) held"


def _require_ad(state: ObservedState) -> None:
    if state.ad is None:
        raise UsageError(
            "the observation holds no Active Directory part: what is prepared lives in AD",
            hint="import from a snapshot `wbplan refresh` wrote with --ldap-url, or read live "
            "with --ldap-url",
        )


def _tenant(state: ObservedState, options: Options) -> tuple[str, str, list[str]]:
    notes: list[str] = []
    keywords = scp_keywords(state)
    tenant = state.tenant
    where = f", in {options.tenant_source}" if options.tenant_source else ""
    if options.tenant_id:
        tenant_id, why = options.tenant_id, "given with --tenant-id"
    elif tenant is not None:
        tenant_id, why = tenant.tenant_id, f"the tenant Microsoft Graph answered for{where}"
    elif keywords.get("azureadid"):
        tenant_id, why = keywords["azureadid"], "the hybrid-join SCP's azureADId keyword"
    else:
        tenant_id = PLACEHOLDER_TENANT_ID
        why = "NOT INFERRED: the tenant was not read; replace it (or pass --tenant-id)"
    notes.append(f"id: {why}")
    domains = (tenant.domains or ()) if tenant is not None else ()
    initial = next((d.id for d in domains if d.is_initial), None)
    scp_name = keywords.get("azureadname", "")
    if options.tenant_domain:
        domain, why = options.tenant_domain, "given with --tenant-domain"
    elif initial:
        domain, why = initial, f"the tenant's initial domain (Microsoft Graph /domains{where})"
    elif scp_name.lower().endswith(".onmicrosoft.com"):
        domain, why = scp_name, "the hybrid-join SCP's azureADName keyword"
    else:
        domain = PLACEHOLDER_TENANT_DOMAIN
        why = (
            "NOT INFERRED: the tenant's domains were not read; replace it (or pass --tenant-domain)"
        )
    notes.append(f"domain: {why}")
    if tenant is not None and tenant.unread:
        # Cloud Sync's parts are the cloud_sync section's to report (a live import asks for
        # them whether or not the forest uses Cloud Sync)
        unread = sorted(
            {
                u.what
                for u in tenant.unread
                if not u.what.startswith(("connect.", "tenant.cloud_sync"))
            }
        )
        if unread:
            notes.append(f"Not read from the tenant: {', '.join(unread)}")
    return tenant_id, domain, notes


def _same_account(given: str, state: ObservedState) -> bool:
    ad = state.ad
    assert ad is not None and ad.connector is not None
    conn = ad.connector
    names = {conn.account.lower()}
    if conn.sid:
        names |= {v.lower() for k, v in ad.principals.items() if k.upper() == conn.sid.upper()}
    if conn.dn:
        names.add(conn.dn.lower())
    return given.strip().lower() in names


def _infer(state: ObservedState, base: dict[str, Any]) -> tuple[list[Finding], Verifier]:
    holders = holder_sids(state)
    roots = scope_candidates(state, holders)
    extra = [g.container for g in state.ad.groups] if state.ad else []
    evidence = usable(state)
    if evidence is not None and isinstance(evidence.group_writeback_container.value, str):
        extra.append(evidence.group_writeback_container.value)
    ous = ou_candidates(state, holders, extra)
    judged = with_scans(state, [*roots, *ous])
    verifier = Verifier(judged, base)
    ctx = Context(judged, verifier, roots, ous)
    return [INFER[f](ctx) for f in FEATURES], verifier


def rank_connectors(state: ObservedState, options: Options) -> list[Ranked]:
    """Principals holding explicit ACEs, each tried as the connector, best first."""
    _require_ad(state)
    assert state.ad is not None
    tenant_id, tenant_domain, _ = _tenant(state, options)
    ranked: list[Ranked] = []
    named = [p for p in principals(state) if p.name is not None][:CONNECTOR_CANDIDATES]
    for p in named:
        assert p.name is not None
        base = base_document(
            forest=state.ad.forest,
            tenant_id=tenant_id,
            tenant_domain=tenant_domain,
            connector=p.name,
        )
        findings, _ = _infer(as_connector(state, p), base)
        scored = [f for f in findings if f.feature != "user"]
        ranked.append(
            Ranked(
                p,
                tuple(f.feature for f in scored if f.imported),
                sum(f.aces for f in scored),
            )
        )
    return sorted(ranked, key=lambda r: (-r.score[0], -r.score[1], r.principal.name or ""))


def choose_connector(ranked: list[Ranked], state: ObservedState) -> Ranked:
    """The one principal that holds the writeback ACEs (refused when none does, or when two
    hold them equally)."""
    unnamed = [p for p in principals(state) if p.name is None]
    if not ranked or ranked[0].score == (0, 0):
        extra = (
            f" ({len(unnamed)} principal(s) whose name could not be resolved were left out)"
            if unnamed
            else ""
        )
        raise WbplanError(
            "no principal holds writeback ACEs in this forest, so the connector account cannot be "
            f"inferred{extra}",
            hint="name it: --connector DOMAIN\\MSOL_… (on the Connect server, "
            "Get-ADSyncADConnectorAccount shows it)",
        )
    if len(ranked) > 1 and ranked[1].score == ranked[0].score:
        tied = [r for r in ranked if r.score == ranked[0].score]
        raise WbplanError(
            "the connector account is ambiguous: " + "; ".join(r.words() for r in tied),
            hint="name it: --connector DOMAIN\\name (on the Connect server, "
            "Get-ADSyncADConnectorAccount shows it)",
        )
    return ranked[0]


def _connector_notes(
    state: ObservedState, options: Options, chosen: Ranked | None, others: tuple[Ranked, ...]
) -> list[str]:
    ad = state.ad
    assert ad is not None and ad.connector is not None
    conn = ad.connector
    notes = [f"found in AD: {conn.dn} ({conn.sid})"]
    if chosen is not None:
        notes.append("inferred from the ACEs it holds: " + chosen.words().split(": ", 1)[1])
        weaker = [r.words() for r in others if r is not chosen and r.score != (0, 0)][:3]
        if weaker:
            notes.append("other principals holding grants, fewer: " + "; ".join(weaker))
    elif options.connector:
        notes.append("given with --connector")
    else:
        notes.append(f"the connector account {options.source} was read for (its policy named it)")
    evidence = usable(state)
    server = connector_for(evidence, ad.forest) if evidence is not None else None
    account = connector_account(server) if server is not None else None
    if account:
        notes.append(f"the Connect server's evidence signs in to this forest as {account}")
    return notes


def _licence_notes(state: ObservedState, options: Options) -> list[str]:
    tenant = state.tenant
    if tenant is None:
        return ["NOT VERIFIED: the tenant was not read (writeback features need Entra ID P1 or P2)"]
    if tenant.subscribed_skus is None:
        return ["NOT VERIFIED: the tenant's licences could not be read"]
    p1 = licence_status(tenant.subscribed_skus, "AAD_PREMIUM")
    notes = [p1.summary]
    if options.tenant_source:
        notes[0] = f"{notes[0]} (Microsoft Graph /subscribedSkus, in {options.tenant_source})"
    p2 = licence_status(tenant.subscribed_skus, "AAD_PREMIUM_P2")
    if p2.satisfied:
        notes.append(f"also {p2.summary} (P2 satisfies P1; writeback needs P1)")
    if not p1.satisfied:
        notes.append(
            "features that need a P1 licence are not imported (their plans would wait for it)"
        )
    return notes


def adopt(
    state: ObservedState,
    options: Options,
    chosen: Ranked | None = None,
    others: tuple[Ranked, ...] = (),
) -> Adoption:
    """The policy describing what ``state`` shows prepared (``chosen``: how the connector was
    inferred, when it was, and ``others``: the principals it was preferred to)."""
    _require_ad(state)
    ad = state.ad
    assert ad is not None
    tenant_id, tenant_domain, tenant_notes = _tenant(state, options)
    conn = ad.connector
    if conn is None and not options.connector and not rank_connectors(state, options):
        return _without_connector(state, options, tenant_id, tenant_domain, tenant_notes)
    if conn is None or not conn.found or conn.sid is None:
        ranked = rank_connectors(state, options)
        named = conn.account if conn is not None else "the connector"
        found = "; ".join(r.words() for r in ranked[:3]) or "none"
        raise WbplanError(
            f"{named}, the connector account {options.source} was read for, was not found in AD, "
            f"so no ACE can be judged; principals holding writeback ACEs: {found}",
            hint="refresh with a policy naming the right account, or import live with "
            "--ldap-url (and --connector DOMAIN\\name)",
        )
    if options.connector and not _same_account(options.connector, state):
        raise UsageError(
            f"{options.source} was read for the connector {conn.account}, not {options.connector}",
            hint=f"refresh with a policy naming {options.connector}, or import live with "
            "--ldap-url --connector",
        )
    base = base_document(
        forest=ad.forest, tenant_id=tenant_id, tenant_domain=tenant_domain, connector=conn.account
    )
    findings, verifier = _infer(state, base)
    _settle(findings, verifier)
    adoption = _adoption(
        state,
        options,
        (tenant_id, tenant_domain, tenant_notes),
        conn.account,
        _connector_notes(state, options, chosen, others),
        findings,
    )
    _from_evidence(adoption, state, verifier)
    _with_cloud_sync(adoption, state, verifier)
    if verifier.global_pending:
        adoption.global_notes.append(summary(verifier.global_pending))
    shared = {i.address: i for f in findings if not f.imported for i in f.shared}
    if shared:
        adoption.shared_notes.append(summary(shared.values()))
    return adoption


def _without_connector(
    state: ObservedState,
    options: Options,
    tenant_id: str,
    tenant_domain: str,
    tenant_notes: list[str],
) -> Adoption:
    """The import of a snapshot read for a policy naming no connector (its writeback all Cloud
    Sync) where no principal holds Entra Connect's writeback ACEs: Cloud Sync only."""
    ad = state.ad
    assert ad is not None
    base = base_document(
        forest=ad.forest, tenant_id=tenant_id, tenant_domain=tenant_domain, connector=None
    )
    verifier = Verifier(state, base)
    note = (
        f"{options.source} was read for a policy naming no connector, and no principal holds "
        "Entra Connect's writeback ACEs: no Entra Connect feature is imported"
    )
    adoption = _adoption(state, options, (tenant_id, tenant_domain, tenant_notes), None, [note], [])
    _with_cloud_sync(adoption, state, verifier)
    return adoption


def _adoption(
    state: ObservedState,
    options: Options,
    tenant: tuple[str, str, list[str]],
    connector: str | None,
    connector_notes: list[str],
    findings: list[Finding],
) -> Adoption:
    """The adoption's frame: what names the policy (forest, tenant, connector) and why, the
    licences, and the Entra Connect ``findings``."""
    ad = state.ad
    assert ad is not None
    tenant_id, tenant_domain, tenant_notes = tenant
    return Adoption(
        source=options.source,
        observed_at=state.observed_at,
        name=options.name or ad.forest.lower().replace(".", "-"),
        forest=ad.forest.lower(),
        tenant_id=tenant_id,
        tenant_domain=tenant_domain,
        connector=connector,
        forest_note=f"the rootDSE's rootDomainNamingContext ({ad.root_dse.root_domain_naming_context})",
        tenant_notes=tenant_notes,
        connector_notes=connector_notes,
        licence_notes=_licence_notes(state, options),
        findings=findings,
        not_inferred=list(NOT_INFERRED),
    )


def _with_cloud_sync(adoption: Adoption, state: ObservedState, verifier: Verifier) -> None:
    """Add what ``state`` shows of Cloud Sync (checked with the rest of the adoption)."""
    adoption.cloud_sync = infer_cloud_sync(state, verifier, adoption.writeback())
    if adoption.cloud_sync is not None:
        adoption.not_inferred += adoption.cloud_sync.not_inferred


def _settle(findings: list[Finding], verifier: Verifier) -> None:
    """Check the imported entries together; a feature whose resources change only in company
    (shared objects, shared licences) is taken out, saying why."""
    for _ in range(len(findings)):
        writeback = {f.feature: f.entry for f in findings if f.entry is not None}
        if not writeback:
            return
        verdict = verifier.check(writeback)
        clashing = {feat for i in verdict.pending for feat in i.features}
        if not verdict.pending:
            return
        for f in findings:
            if f.entry is not None and (f.feature in clashing or not clashing):
                f.suggestion, f.entry = f.entry, None
                f.status = "not imported"
                f.shared.extend(i for i in verdict.pending if not i.features)
                f.notes.append(
                    "together with the other features the plan would still do this — "
                    + summary(verdict.pending)
                )


def evidence_words(state: ObservedState) -> str | None:
    """``the Connect server SYNC01's evidence (evidence.json, collected …)``, when evidence that
    counts was imported (None otherwise)."""
    from planner.connect.verdicts import freshness

    evidence = usable(state)
    if evidence is None:
        return None
    files = ", ".join(f.path for f in evidence.files)
    server = (
        f"the Connect server {evidence.server}'s" if evidence.server else "the Connect server's"
    )
    return f"{server} evidence ({files}; {freshness(state).describe()})"


def _from_evidence(adoption: Adoption, state: ObservedState, verifier: Verifier) -> None:
    """What the Connect server's evidence (``--connect-evidence``) settles: its version becomes
    ``connect.version``, and each imported feature's Connect option is checked against it (a
    feature whose option the evidence shows off is not imported: its plan would still ask for
    it)."""
    from planner.connect.verdicts import evidence_version

    words = evidence_words(state)
    evidence = usable(state)
    if words is None or evidence is None:
        if state.connect is not None:
            from planner.connect.verdicts import freshness

            fresh = freshness(state)
            adoption.connect_notes.append(
                f"the Connect server's evidence does not count ({fresh.status}: "
                f"{fresh.describe()}), so nothing was taken from it"
            )
        return
    adoption.not_inferred = [
        n for n in adoption.not_inferred if not n.startswith(("connect.option", "connect.version"))
    ]
    version = evidence_version(state)
    if version is not None:
        adoption.connect_version = str(version.value).strip()
        adoption.connect_notes.append(f"version: the installed build, from {words}")
    else:
        adoption.not_inferred.insert(
            0, f"connect.version: {words} states no version; declare it for the version gates"
        )
    adoption.connect_notes.append(
        f"optional features (connect.option[...]): each imported feature's is checked against {words}"
    )
    for f in adoption.findings:
        if f.entry is None:
            continue
        verdict = verifier.check({f.feature: f.entry})
        options = [i.address for i in verdict.satisfied if i.type == "connect.option"]
        if options:
            f.notes.append(f"{', '.join(options)}: enabled, per the Connect server's evidence")
        still = [i.address for i in verdict.unchecked if i.type == "connect.option"]
        if still:
            f.notes.append(f"{', '.join(still)}: the Connect server's evidence does not say")
