"""Diff of the tenant-side Cloud Sync requirements (:mod:`planner.requirements.cloudsync_tenant`)
against what Graph showed (:mod:`planner.observe.cloudsync_graph`). Pure.

One :func:`judge` per resource gives the verdict in words (pass / fail / unknown, a sentence,
the evidence) and the plan's :class:`Outcome`; the plan and the Cloud Sync rules
(:mod:`planner.rules.cloudsync_tenant`) both take it from here, so they tell one story. Every
unmet requirement is a ``manual`` step (Cloud Sync is configured in the Entra admin center);
what Graph did not show is ``read``, never a failure.

Configurations are matched to a domain by the domain their jobs' settings name (else the
service principal's display name), and to a direction by their jobs' template ids: a
configuration with an ``AAD2ADGroupProvisioning`` job provisions to AD ("entra-to-ad"), one with
``AD2AADProvisioning``, ``AD2AADPasswordHash`` or ``AAD2ADExchangeHybridWriteback`` jobs
synchronizes from AD ("ad-to-entra").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from planner.diff.outcome import Outcome, not_observed
from planner.model.dn import dn_key
from planner.model.plan import Resource
from planner.model.report import CheckStatus as Status
from planner.model.state import (
    CloudSyncAgent,
    CloudSyncConfiguration,
    CloudSyncJob,
    CloudSyncTenant,
)
from planner.observations import Index
from planner.observe.licences import RequiredPlan, licence_status
from planner.requirements.cloudsync_tenant import (
    GROUP_PROVISIONING,
    PORTAL,
    Direction,
    kind,
    new_configuration,
    target_instructions,
)
from planner.syncstate import SYNC_STALE_AFTER, parse_time

JOB_STALE_AFTER = SYNC_STALE_AFTER
"""A job's last successful run older than this (relative to the observation) is stale. Cloud
Sync runs every 2 minutes (AD to Entra) or 20 minutes (provisioning to AD); Microsoft names no
threshold, so wbplan uses the one it uses for Connect (three hours)."""
MAX_CONFIGURATIONS = 20
P1_CONFIGURATIONS = 2
"""Provisioning-to-AD configurations a tenant's P1 covers; the 3rd to 20th need Governance."""
AD_TO_ENTRA_TEMPLATES = (
    "AD2AADProvisioning",
    "AD2AADPasswordHash",
    "AAD2ADExchangeHybridWriteback",
)


@dataclass(frozen=True)
class Judgement:
    """The verdict on one requirement, in words, and the plan's outcome for it."""

    status: Status
    message: str
    outcome: Outcome
    evidence: dict[str, Any] = field(default_factory=dict)
    verify_at: str | None = None
    """For ``unknown``: where a person checks by hand."""
    parts: dict[str, str] = field(default_factory=dict)
    """Named sentences of a failure with several causes (a configuration: ``missing``,
    ``duplicated``), for the rules that judge one cause each."""


def direction_of(config: CloudSyncConfiguration) -> Direction | None:
    """Which way a configuration synchronizes, from its jobs' templates."""
    templates = {j.template_id for j in config.jobs}
    if GROUP_PROVISIONING in templates:
        return "entra-to-ad"
    if templates & set(AD_TO_ENTRA_TEMPLATES):
        return "ad-to-entra"
    return None


def configurations_for(
    cs: CloudSyncTenant, domain: str, direction: Direction
) -> list[CloudSyncConfiguration]:
    """The configurations serving ``domain`` in ``direction``."""
    key = domain.lower()
    return [
        c
        for c in cs.configurations
        if (c.domain or c.display_name or "").lower().rstrip(".") == key
        and direction_of(c) == direction
    ]


# -- what was not read ---------------------------------------------------------------------------
def _not_read(index: Index, what: str, words: str) -> Judgement:
    """``words`` were not read: the observer's reason and where to check, else "not observed"."""
    tenant = index.tenant
    entry = next((u for u in tenant.unread if u.what == what), None) if tenant else None
    if entry is None:
        message = f"wbplan did not read {words}"
        outcome = Outcome(
            "read",
            "not_observed",
            instructions=f"{message}; run `wbplan refresh` with access to the tenant",
        )
        return Judgement("unknown", message, outcome)
    message = f"{words} could not be read: {entry.reason}"
    outcome = Outcome(
        "read",
        "not_observed",
        instructions=f"{message}; check by hand: {entry.verify_at}" if entry.verify_at else message,
    )
    return Judgement("unknown", message, outcome, verify_at=entry.verify_at)


def _cloud_sync(index: Index) -> CloudSyncTenant | Judgement:
    if index.tenant is None:
        return Judgement("unknown", "the tenant was not observed", not_observed("the tenant"))
    if index.tenant.cloud_sync is None:
        return _not_read(index, "tenant.cloud_sync", "the Cloud Sync configurations")
    return index.tenant.cloud_sync


def _no_job(
    domain: str, direction: Direction, template: str, how: str | None, evidence: dict[str, Any]
) -> Judgement:
    """A configuration of ``direction`` exists for ``domain`` but has no ``template`` job: a
    manual step (``how``: what a person does)."""
    message = f"the {kind(direction)} configuration of {domain} has no {template} job"
    outcome = Outcome(
        "manual",
        "feature_disabled",
        {"job": None},
        {"job": template},
        instructions=f"{message}. {how}",
    )
    return Judgement("fail", message, outcome, evidence)


def _missing_configuration(r: Resource, domain: str, direction: Direction) -> Judgement:
    message = f"{domain} has no {kind(direction)} Cloud Sync configuration"
    outcome = Outcome(
        "manual",
        "missing_object",
        {"configurations": 0},
        {"configurations": 1},
        instructions=f"{message}. {r.instructions}",
    )
    return Judgement("fail", message, outcome, {"domain": domain, "configurations": 0})


# -- configuration -------------------------------------------------------------------------------
def judge_configuration(r: Resource, index: Index) -> Judgement:
    """Exactly one configuration of each direction the domain's features need. ``parts`` of
    the judgement: ``missing`` and ``duplicated``, each a sentence or absent."""
    cs = _cloud_sync(index)
    if isinstance(cs, Judgement):
        return cs
    domain = r.desired["domain"]
    found = {d: configurations_for(cs, domain, d) for d in r.desired["directions"]}
    ids = {d: [c.service_principal_id for c in found[d]] for d in found}
    evidence = {"domain": domain, "configurations": {d: len(c) for d, c in found.items()}}
    evidence["service_principals"] = ids
    missing = [d for d, c in found.items() if not c]
    duplicated = [d for d, c in found.items() if len(c) > 1]
    parts: dict[str, str] = {}
    steps: list[str] = []
    if missing:
        parts["missing"] = f"{domain} has no {' and no '.join(map(kind, missing))} configuration"
        steps += [new_configuration(domain, d) for d in missing]
    if duplicated:
        parts["duplicated"] = "; ".join(
            f"{domain} has {len(found[d])} {kind(d)} configurations (service principals "
            f"{', '.join(ids[d])}); Microsoft allows one per AD domain"
            for d in duplicated
        )
        steps.append(
            f"keep one and delete the others ({PORTAL} → Configurations → the configuration → "
            "Delete configuration)"
        )
    if not parts:
        names = "; ".join(
            f"one {kind(d)} configuration ({', '.join(sorted({j.template_id for j in c[0].jobs}))})"
            for d, c in found.items()
        )
        message = f"{domain} has {names}"
        outcome = Outcome("no-op", "satisfied", evidence, evidence)
        return Judgement("pass", message, outcome, evidence)
    message = "; ".join(parts.values())
    after = {
        **evidence,
        "configurations": dict.fromkeys(found, 1),
        "service_principals": {d: v[:1] for d, v in ids.items()},
    }
    outcome = Outcome(
        "manual",
        "missing_object" if missing else "duplicate_object",
        evidence,
        after,
        instructions=f"{message}: {'; '.join(steps)}",
    )
    return Judgement("fail", message, outcome, evidence, parts=parts)


# -- job -----------------------------------------------------------------------------------------
def job_verdict(job: CloudSyncJob, observed_at: str) -> tuple[Status, str]:
    """Is one job healthy: not quarantined, configured, running on schedule, with a successful
    run within :data:`JOB_STALE_AFTER` of the observation?"""
    code, schedule = job.status_code, job.schedule_state
    if code == "Quarantine" or job.quarantine_reason:
        why = job.quarantine_reason or "no reason given"
        error = f"; error {job.quarantine_error}" if job.quarantine_error else ""
        return "fail", f"is quarantined (reason {why}{error})"
    if code == "NotConfigured":
        return "fail", "is not configured (status NotConfigured)"
    if code == "NotRun":
        return "fail", "has never run (status NotRun)"
    if code == "Paused" or (schedule is not None and schedule != "Active"):
        return "fail", f"is not running on schedule (status {code}, schedule {schedule})"
    if code is None:
        return "unknown", "has no status in Graph's answer"
    last = parse_time(job.last_successful_execution_ended or "")
    if last is None:
        return "fail", f"has no successful run yet (status {code})"
    observed = parse_time(observed_at)
    if observed is None:
        return "unknown", f"last succeeded at {job.last_successful_execution_ended}"
    age = observed - last
    hours = JOB_STALE_AFTER.total_seconds() / 3600
    if age > JOB_STALE_AFTER:
        return "fail", (
            f"last succeeded at {job.last_successful_execution_ended}, more than {hours:g} "
            f"hours before the observation (last run: {job.last_execution_state or 'unknown'})"
        )
    minutes = max(0, int(age.total_seconds() // 60))
    return "pass", (
        f"is {code} and last succeeded {minutes} minutes before the observation"
        + (
            f" (the last run: {job.last_execution_state})"
            if job.last_execution_state not in (None, "Succeeded")
            else ""
        )
    )


def _job_evidence(job: CloudSyncJob) -> dict[str, Any]:
    return {
        "job": job.id,
        "status": job.status_code,
        "quarantine_reason": job.quarantine_reason,
        "quarantine_error": job.quarantine_error,
        "schedule": job.schedule_state,
        "last_execution": job.last_execution_state,
        "last_execution_ended": job.last_execution_ended,
        "last_successful_execution_ended": job.last_successful_execution_ended,
    }


QUARANTINE_FIX = {
    "TooManyDeletes": "review the pending deletions in the provisioning logs, then allow them "
    "or fix the scope, and restart the job (Configurations → the configuration → Restart sync)",
}


def judge_job(r: Resource, index: Index) -> Judgement:
    """The job exists (in the domain's configuration of its direction) and is healthy."""
    cs = _cloud_sync(index)
    if isinstance(cs, Judgement):
        return cs
    domain, template, direction = r.desired["domain"], r.desired["template"], r.desired["direction"]
    configs = configurations_for(cs, domain, direction)
    if not configs:
        return _missing_configuration(r, domain, direction)
    jobs = [j for c in configs for j in c.jobs if j.template_id == template]
    if not jobs:
        return _no_job(
            domain, direction, template, r.instructions, {"domain": domain, "template": template}
        )
    observed_at = index.state.observed_at if index.state else ""
    verdicts = [(j, *job_verdict(j, observed_at)) for j in jobs]
    order = {"fail": 0, "unknown": 1, "pass": 2}
    job, status, words = min(verdicts, key=lambda v: order[v[1]])
    message = f"the {template} job of {domain} {words}"
    evidence = {"domain": domain, "template": template, **_job_evidence(job)}
    if status == "pass":
        return Judgement(
            "pass", message, Outcome("no-op", "satisfied", evidence, evidence), evidence
        )
    if status == "unknown":
        outcome = Outcome("read", "unverifiable", evidence, instructions=message)
        return Judgement(
            "unknown", message, outcome, evidence, verify_at=f"{PORTAL} → Configurations"
        )
    hours = JOB_STALE_AFTER.total_seconds() / 3600
    fix = QUARANTINE_FIX.get(
        job.quarantine_reason or "",
        "open the configuration's status and provisioning logs, fix the cause, and restart "
        "the job (Configurations → the configuration → Restart sync)",
    )
    outcome = Outcome(
        "manual",
        "sync_stale",
        evidence,
        {
            **evidence,
            "status": "Active",
            "quarantine_reason": None,
            "quarantine_error": None,
            "schedule": "Active",
            "last_successful_execution_ended": f"within {hours:g} hours",
        },
        instructions=f"{message}: {PORTAL} → Configurations → {domain}: {fix}",
    )
    return Judgement("fail", message, outcome, evidence)


# -- scope ---------------------------------------------------------------------------------------
def judge_scope(r: Resource, index: Index) -> Judgement:
    """The group scope the policy declares: ``selected_groups`` → assignment required and at
    least one group assigned; ``all_security_groups`` → assignment not required (how Microsoft
    stores "All security groups" is UNCONFIRMED, cloud-sync.md §8 item 8: a configuration that
    requires assignment is reported unknown, not failed)."""
    cs = _cloud_sync(index)
    if isinstance(cs, Judgement):
        return cs
    domain, scope = r.desired["domain"], r.desired["scope"]
    configs = configurations_for(cs, domain, "entra-to-ad")
    if not configs:
        return _missing_configuration(r, domain, "entra-to-ad")
    required = [c.app_role_assignment_required for c in configs]
    groups = [c.assigned_groups for c in configs]
    evidence = {
        "domain": domain,
        "scope": scope,
        "appRoleAssignmentRequired": required[0] if len(configs) == 1 else required,
        "assigned_groups": groups[0] if len(configs) == 1 else groups,
    }
    if any(v is None for v in required) or (
        scope == "selected_groups" and any(g is None for g in groups)
    ):
        unread = _not_read(
            index, "tenant.cloud_sync.assignments", f"the group scope of {domain}'s configuration"
        )
        return Judgement(unread.status, unread.message, unread.outcome, evidence, unread.verify_at)
    if scope == "selected_groups":
        problems = []
        if not all(required):
            problems.append(
                "does not require assignment (every cloud security group may be provisioned)"
            )
        if not all(g for g in groups):
            problems.append("has no group assigned (nothing is provisioned)")
        if not problems:
            n = sum(g or 0 for g in groups)
            message = f"{domain}'s configuration provisions the {n} group(s) assigned to it"
            return Judgement(
                "pass", message, Outcome("no-op", "satisfied", evidence, evidence), evidence
            )
        message = (
            f"{domain} declares selected groups, but its configuration {' and '.join(problems)}"
        )
        outcome = Outcome(
            "manual",
            "attribute_drift",
            evidence,
            {**evidence, "appRoleAssignmentRequired": True, "assigned_groups": "at least 1"},
            instructions=f"{message}. {r.instructions}",
        )
        return Judgement("fail", message, outcome, evidence)
    if not any(required):
        message = f"{domain}'s configuration does not require assignment (all security groups)"
        return Judgement(
            "pass", message, Outcome("no-op", "satisfied", evidence, evidence), evidence
        )
    message = (
        f"{domain} declares all security groups, but its configuration requires assignment, "
        "as 'Selected security groups' does; Microsoft does not document how 'All security "
        "groups' is stored, so check the scoping filter by hand"
    )
    verify = f"{PORTAL} → Configurations → {domain} → Scoping filters"
    outcome = Outcome("read", "unverifiable", evidence, instructions=f"{message}: {verify}")
    return Judgement("unknown", message, outcome, evidence, verify_at=verify)


# -- target container ----------------------------------------------------------------------------
def _key(dn: str) -> str:
    try:
        return dn_key(dn)
    except ValueError:  # not a DN at all: compared as written, case-folded
        return dn.strip().lower()


def judge_target(r: Resource, index: Index) -> Judgement:
    """The group target container of the domain's Group Provision to AD job (its schema's
    ``parentDistinguishedName`` mapping) is the set of OUs the policy declares: fail for a
    mapping that is missing (the job fails with SchemaInvalid and creates nothing) or a DN the
    tenant can write to that the policy does not declare, or a declared OU the mapping never
    yields; unknown when the schema was not read or part of the mapping is computed (from an
    attribute, another function, or an expression wbplan cannot parse). ``evidence["mapped"]``
    says whether the mapping exists (None: not known), for the rule about that alone."""
    cs = _cloud_sync(index)
    if isinstance(cs, Judgement):
        return cs
    domain, declared = r.desired["domain"], list(r.desired["target_ous"])
    configs = configurations_for(cs, domain, "entra-to-ad")
    if not configs:
        return _missing_configuration(r, domain, "entra-to-ad")
    jobs = [j for c in configs for j in c.jobs if j.template_id == GROUP_PROVISIONING]
    evidence: dict[str, Any] = {"domain": domain, "declared": declared, "mapped": None}
    targets = [j.target_container for j in jobs]
    if not jobs:
        how = new_configuration(domain, "entra-to-ad")
        return _no_job(domain, "entra-to-ad", GROUP_PROVISIONING, how, evidence)
    if any(t is None for t in targets):
        unread = _not_read(
            index,
            "tenant.cloud_sync.schema",
            f"the group target container of {domain}'s configuration",
        )
        return Judgement(unread.status, unread.message, unread.outcome, evidence, unread.verify_at)
    read = [t for t in targets if t is not None]
    evidence["mapped"] = all(t.mapped for t in read)
    if not evidence["mapped"]:
        message = (
            f"{domain}'s group provisioning maps no target container (parentDistinguishedName): "
            "the job cannot create groups (SchemaInvalid)"
        )
        outcome = Outcome(
            "manual",
            "missing_object",
            {**evidence, "target_ous": []},
            {**evidence, "mapped": True, "target_ous": declared},
            instructions=f"{message}. {r.instructions or target_instructions(domain)}",
        )
        return Judgement("fail", message, outcome, evidence)
    tenant_dns = list(dict.fromkeys(dn for t in read for dn in t.dns))
    open_ = list(dict.fromkeys(why for t in read for why in t.open))
    evidence.update(
        {
            "expression": read[0].expression if len(read) == 1 else [t.expression for t in read],
            "target_ous": tenant_dns,
            "open": open_,
        }
    )
    declared_keys = {_key(d) for d in declared}
    tenant_keys = {_key(d) for d in tenant_dns}
    undeclared = [d for d in tenant_dns if _key(d) not in declared_keys]
    unused = [d for d in declared if _key(d) not in tenant_keys]
    problems = []
    if undeclared:
        problems.append(
            f"writes groups to {', '.join(undeclared)}, which the policy does not declare in "
            "group_provisioning.target_ous (the gMSA's rights are not checked there)"
        )
    if unused and not open_:
        problems.append(f"never writes to the declared {', '.join(unused)}")
    if problems:
        message = f"{domain}'s group target container {' and '.join(problems)}"
        outcome = Outcome(
            "manual",
            "attribute_drift",
            evidence,
            {**evidence, "target_ous": declared, "open": []},
            instructions=f"{message}. {r.instructions or target_instructions(domain)}; or "
            "declare the OUs the configuration uses in the policy",
        )
        return Judgement("fail", message, outcome, evidence)
    if open_:
        found = f"the DNs {', '.join(tenant_dns)} and " if tenant_dns else ""
        message = (
            f"{domain}'s group target container yields {found}values computed from "
            f"{', '.join(open_)}: wbplan cannot tell every OU it writes to"
        )
        verify = (
            f"{PORTAL} → Configurations → {domain} → Attribute mapping → parentDistinguishedName"
        )
        outcome = Outcome("read", "unverifiable", evidence, instructions=f"{message}: {verify}")
        return Judgement("unknown", message, outcome, evidence, verify_at=verify)
    message = f"{domain}'s group target container is {', '.join(tenant_dns)}, as declared"
    return Judgement("pass", message, Outcome("no-op", "satisfied", evidence, evidence), evidence)


# -- agents --------------------------------------------------------------------------------------
def serves(agent: CloudSyncAgent, domain: str) -> bool:
    """Whether ``agent`` is in the agent group of ``domain``'s published resource
    (``Group-<domain>-…``; the naming comes from a support-wiki sample — UNCONFIRMED)."""
    prefix = f"group-{domain.lower()}-"
    return any(g.lower().startswith(prefix) for g in agent.agent_groups)


def _agent_words(agents: list[CloudSyncAgent]) -> list[str]:
    return [f"{a.machine_name or a.id}: {a.status}" for a in agents]


def judge_agent(r: Resource, index: Index) -> Judgement:
    """At least one active provisioning agent serves the domain."""
    cs = _cloud_sync(index)
    if isinstance(cs, Judgement):
        return cs
    domain = r.desired["domain"]
    if cs.agents is None:
        return _not_read(index, "tenant.cloud_sync.agents", "the provisioning agents")
    serving = [a for a in cs.agents if serves(a, domain)]
    active = [a for a in serving if a.status.lower() == "active"]
    evidence = {"domain": domain, "agents": _agent_words(serving)}
    if active:
        message = f"{len(active)} of {len(serving)} provisioning agent(s) of {domain} active"
        return Judgement(
            "pass", message, Outcome("no-op", "satisfied", evidence, evidence), evidence
        )
    if serving:
        message = f"no provisioning agent of {domain} is active ({', '.join(evidence['agents'])})"
    elif not cs.agents:
        message = "no provisioning agent is registered in the tenant"
    elif any(a.status.lower() == "active" for a in cs.agents):
        evidence["all_agents"] = _agent_words(list(cs.agents))
        message = (
            f"{len(cs.agents)} provisioning agent(s) registered, none in an agent group named "
            f"after {domain}; wbplan tells which agent serves which domain by the agent group's "
            "name, which Microsoft does not document: check by hand"
        )
        verify = f"{PORTAL} → Agents"
        outcome = Outcome("read", "unverifiable", evidence, instructions=f"{message}: {verify}")
        return Judgement("unknown", message, outcome, evidence, verify_at=verify)
    else:
        evidence["all_agents"] = _agent_words(list(cs.agents))
        message = (
            f"every registered provisioning agent is inactive ({', '.join(evidence['all_agents'])})"
        )
    outcome = Outcome(
        "manual",
        "missing_object",
        evidence,
        {**evidence, "agents": "at least 1 active"},
        instructions=f"{message}. {r.instructions}",
    )
    return Judgement("fail", message, outcome, evidence)


# -- licence -------------------------------------------------------------------------------------
def entra_to_ad_count(r: Resource, cs: CloudSyncTenant | None) -> int:
    """Provisioning-to-AD configurations of the policy's domains: those observed, plus one for
    each declared domain that has none yet. Configurations of domains the policy does not name
    (another forest's) are not read, so not counted."""
    policy_domains = set(r.desired["policy_domains"])
    observed = (
        [
            c
            for c in cs.configurations
            if direction_of(c) == "entra-to-ad"
            and (c.domain or c.display_name or "").lower() in policy_domains
        ]
        if cs is not None
        else []
    )
    have = {(c.domain or c.display_name or "").lower() for c in observed}
    return len(observed) + len([d for d in r.desired["entra_to_ad_domains"] if d not in have])


def judge_licence(r: Resource, index: Index) -> Judgement:
    """P1 (or P2) always; Microsoft Entra ID Governance too from the third provisioning-to-AD
    configuration on (at most 20)."""
    if index.tenant is None:
        return Judgement("unknown", "the tenant was not observed", not_observed("the tenant"))
    skus = index.tenant.subscribed_skus
    if skus is None:
        return _not_read(index, "tenant.licences", "the tenant's subscribed SKUs")
    count = entra_to_ad_count(r, index.tenant.cloud_sync)
    plans: list[RequiredPlan] = ["AAD_PREMIUM"]
    if count > P1_CONFIGURATIONS:
        plans.append("Entra_Identity_Governance")
    verdicts = {p: licence_status(skus, p) for p in plans}
    evidence: dict[str, Any] = {
        "entra_to_ad_configurations": count,
        "plans": {p: v.summary for p, v in verdicts.items()},
    }
    counted = f"{count} provisioning-to-AD configuration(s)"
    if count > MAX_CONFIGURATIONS:
        message = f"{counted}: Microsoft supports at most {MAX_CONFIGURATIONS} per tenant"
        outcome = Outcome(
            "manual",
            "licence_missing",
            evidence,
            {**evidence, "entra_to_ad_configurations": MAX_CONFIGURATIONS},
            instructions=f"{message}; remove configurations ({PORTAL} → Configurations)",
        )
        return Judgement("fail", message, outcome, evidence)
    missing = [p for p, v in verdicts.items() if not v.satisfied]
    held = "; ".join(v.summary for v in verdicts.values())
    if not missing:
        message = f"{counted} need {' and '.join(plans)}: {held}"
        return Judgement(
            "pass", message, Outcome("no-op", "satisfied", evidence, evidence), evidence
        )
    need = " and ".join(missing)
    message = f"{counted} need {need}: {held}"
    if count > P1_CONFIGURATIONS:
        message += (
            " (configurations created before the licensing change keep P1; Graph does not show "
            "when a configuration was created)"
        )
    outcome = Outcome(
        "manual",
        "licence_missing",
        evidence,
        {**evidence, "plans": dict.fromkeys(plans, "held")},
        instructions=f"{message}. {r.instructions}",
    )
    return Judgement("fail", message, outcome, evidence)


JUDGES = {
    "tenant.cloud_sync_configuration": judge_configuration,
    "tenant.cloud_sync_job": judge_job,
    "tenant.cloud_sync_scope": judge_scope,
    "tenant.cloud_sync_target": judge_target,
    "tenant.cloud_sync_agent": judge_agent,
    "tenant.cloud_sync_licence": judge_licence,
}


def judge(r: Resource, index: Index) -> Judgement:
    """The verdict on one tenant-side Cloud Sync requirement."""
    return JUDGES[r.type](r, index)


def diff_cloud_sync(r: Resource, index: Index) -> Outcome | None:
    """The plan's outcome for a Cloud Sync resource; None for any other type."""
    if r.type not in JUDGES:
        return None
    return judge(r, index).outcome
