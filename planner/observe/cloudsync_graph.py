"""Read Microsoft Entra Cloud Sync from the tenant over Microsoft Graph (cloud-sync.md §4).

Read only when the policy has a ``cloud_sync`` section, through the same :class:`GraphClient`
as every other tenant read (auth, paging, throttling, bounds). For each domain of the policy:

1. ``GET /servicePrincipals?$filter=displayName eq '<domain>'`` — Cloud Sync names each
   configuration's service principal after the AD domain (cloud-sync.md §4.1 [C23][C32b]);
2. ``GET /servicePrincipals/{id}/synchronization/jobs`` — a service principal is a Cloud Sync
   configuration when it has a job whose ``templateId`` is one of :data:`JOB_TEMPLATES`. Found
   by listing jobs rather than by an application template id: the Entra-to-AD configurations'
   template id is UNCONFIRMED (cloud-sync.md §8 item 7);
3. ``GET /servicePrincipals/{id}/appRoleAssignedTo`` — for a configuration with a Group
   Provision to AD job: how many groups are assigned to it (its "selected security groups");
4. ``GET /servicePrincipals/{id}/synchronization/jobs/{jobId}/schema`` — for each Group
   Provision to AD job: the group target container, i.e. the ``parentDistinguishedName``
   attribute mapping of the group object mapping (:func:`target_container`). Microsoft Learn,
   "Get synchronizationSchema": delegated ``Synchronization.Read.All``; application
   ``CustomSecAttributeProvisioning.Read.All`` least, ``Synchronization.Read.All`` higher —
   app-only credentials may read it.

Then, once, the provisioning agents: ``GET /beta/onPremisesPublishingProfiles/provisioning/
agents?$expand=agentGroups``, a beta endpoint Microsoft documents for delegated sign-in only
(``OnPremisesPublishingProfiles.ReadWrite.All``, later ``Directory.ReadWrite.All``; application
permissions "Not supported").

A request Graph refuses (403) leaves that part unknown, never false: ``None`` plus an
``Unread`` entry naming the request and the permission it needs — ``tenant.cloud_sync`` when
the configurations cannot be listed, ``tenant.cloud_sync.assignments`` when the group
assignments cannot, ``tenant.cloud_sync.schema`` when a job schema cannot,
``tenant.cloud_sync.agents`` for the agents (an app-only credential always gets 403 there).

Nothing read here is a secret. The configurations' synchronization *secrets* (where the
accidental-deletion threshold, ``SyncNotificationSettings``, is kept) are not read: Microsoft
Learn documents only writing them ("Add synchronization secrets", ``PUT
/servicePrincipals/{id}/synchronization/secrets``, ``Synchronization.ReadWrite.All``), no GET,
and they hold credentials besides the threshold.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

from planner.graphapi.client import GraphClient, GraphForbiddenError
from planner.model.policy import CloudSync
from planner.model.state import (
    CloudSyncAgent,
    CloudSyncConfiguration,
    CloudSyncJob,
    CloudSyncTargetContainer,
    CloudSyncTenant,
    Unread,
)
from planner.observe.mapping_expression import ExpressionError, possible_values
from planner.progress import NO_PROGRESS, Progress

logger = logging.getLogger(__name__)

GROUP_PROVISIONING = "AAD2ADGroupProvisioning"
EXCHANGE_HYBRID = "AAD2ADExchangeHybridWriteback"
AD_TO_ENTRA = "AD2AADProvisioning"
PASSWORD_HASH_SYNC = "AD2AADPasswordHash"  # noqa: S105 -- a job template id, not a password
JOB_TEMPLATES = (GROUP_PROVISIONING, EXCHANGE_HYBRID, AD_TO_ENTRA, PASSWORD_HASH_SYNC)
"""Job template ids of Cloud Sync (cloud-sync.md §4.1 table). A job's ``id`` is
``<templateId>.<hex>.<guid>``; its ``templateId`` says which feature it runs."""

SP_SELECT = "id,displayName,appRoleAssignmentRequired"
ASSIGNMENT_SELECT = "principalType"
PAGE_SIZE = "999"

_ADMIN = "Entra admin center (https://entra.microsoft.com)"
CLOUD_SYNC_PORTAL = f"{_ADMIN} → Entra ID → Entra Connect → Cloud sync"
VERIFY_AT = {
    "tenant.cloud_sync": f"{CLOUD_SYNC_PORTAL} → Configurations (one per AD domain, its status)",
    "tenant.cloud_sync.assignments": f"{CLOUD_SYNC_PORTAL} → Configurations → the domain's "
    "configuration → Scoping filters (the selected security groups)",
    "tenant.cloud_sync.agents": f"{CLOUD_SYNC_PORTAL} → Agents (each agent's status and the "
    "domains it serves)",
    "tenant.cloud_sync.schema": f"{CLOUD_SYNC_PORTAL} → Configurations → the domain's "
    "Entra-to-AD configuration → Attribute mapping → parentDistinguishedName (the target "
    "container)",
}
TARGET_ATTRIBUTE = "parentDistinguishedName"
"""The attribute mapping that places a provisioned group in AD: its target container."""
AGENTS_REASON = (
    "the provisioning agents are listed only by a Microsoft Graph beta endpoint that serves "
    "signed-in administrators (delegated permission OnPremisesPublishingProfiles.ReadWrite.All "
    "or Directory.ReadWrite.All); application permissions are not supported, so an app-only "
    "credential cannot read it"
)


def _refused(what: str, exc: GraphForbiddenError, words: str = "") -> Unread:
    logger.info("not readable: %s (%s)", what, exc.requirement)
    prefix = f"{words}: " if words else ""
    return Unread(
        what=what,
        reason=f"{prefix}no permission to read it: {exc.endpoint} needs {exc.requirement}",
        verify_at=VERIFY_AT[what],
    )


def observe_cloud_sync(
    client: GraphClient,
    cloud_sync: CloudSync,
    unread: list[Unread],
    progress: Progress = NO_PROGRESS,
) -> CloudSyncTenant | None:
    """Cloud Sync as the tenant shows it, for the policy's domains (see the module docstring).
    ``unread`` receives an entry for each part Graph refused; None when not even the
    configurations could be listed."""
    progress.phase("Reading tenant: Cloud Sync configurations")
    seen: set[str] = set()
    configurations: list[CloudSyncConfiguration] = []
    assignments_refused: GraphForbiddenError | None = None
    schema_refused: GraphForbiddenError | None = None
    try:
        for domain in dict.fromkeys(d.domain.lower() for d in cloud_sync.domains):
            for sp in _service_principals(client, domain):
                sp_id = str(sp.get("id") or "")
                if not sp_id or sp_id in seen:
                    continue
                seen.add(sp_id)
                jobs = read_jobs(client, sp_id)
                if not jobs:
                    continue  # named after the domain, but no Cloud Sync job: not a configuration
                assigned: int | None = None
                if assignments_refused is None and any(
                    j.template_id == GROUP_PROVISIONING for j in jobs
                ):
                    try:
                        assigned = read_assigned_groups(client, sp_id)
                    except GraphForbiddenError as exc:
                        assignments_refused = exc
                if schema_refused is None:
                    try:
                        jobs = with_target_containers(client, sp_id, jobs)
                    except GraphForbiddenError as exc:
                        schema_refused = exc
                configurations.append(
                    CloudSyncConfiguration(
                        service_principal_id=sp_id,
                        display_name=_opt_str(sp.get("displayName")),
                        domain=configuration_domain(jobs, sp.get("displayName")),
                        jobs=jobs,
                        app_role_assignment_required=_opt_bool(sp.get("appRoleAssignmentRequired")),
                        assigned_groups=assigned,
                    )
                )
    except GraphForbiddenError as exc:
        unread.append(_refused("tenant.cloud_sync", exc, "the Cloud Sync configurations"))
        return None
    if assignments_refused is not None:
        unread.append(
            _refused(
                "tenant.cloud_sync.assignments",
                assignments_refused,
                "the groups assigned to the Cloud Sync configurations",
            )
        )
    if schema_refused is not None:
        unread.append(
            _refused(
                "tenant.cloud_sync.schema",
                schema_refused,
                "the group target container of the Cloud Sync configurations (job schema)",
            )
        )
    progress.phase("Reading tenant: Cloud Sync provisioning agents")
    agents: tuple[CloudSyncAgent, ...] | None = None
    try:
        agents = read_agents(client)
    except GraphForbiddenError as exc:
        logger.info("not readable: tenant.cloud_sync.agents (%s)", exc.requirement)
        unread.append(
            Unread(
                what="tenant.cloud_sync.agents",
                reason=f"{AGENTS_REASON}; Graph refused {exc.endpoint}",
                verify_at=VERIFY_AT["tenant.cloud_sync.agents"],
            )
        )
    return CloudSyncTenant(configurations=tuple(configurations), agents=agents)


def _service_principals(client: GraphClient, domain: str) -> list[dict[str, Any]]:
    """Service principals whose display name is ``domain`` (an OData string literal doubles
    its single quotes)."""
    literal = domain.replace("'", "''")
    params = {"$filter": f"displayName eq '{literal}'", "$select": SP_SELECT}
    return list(client.get_all("/servicePrincipals", params))


def read_jobs(client: GraphClient, sp_id: str) -> tuple[CloudSyncJob, ...]:
    """The Cloud Sync jobs of one service principal (other templates left out)."""
    path = f"/servicePrincipals/{quote(sp_id, safe='')}/synchronization/jobs"
    jobs = (job(item) for item in client.get_all(path))
    return tuple(j for j in jobs if j.template_id in JOB_TEMPLATES)


def read_assigned_groups(client: GraphClient, sp_id: str) -> int:
    """How many groups are assigned to the service principal (``appRoleAssignedTo`` entries
    whose ``principalType`` is ``Group``)."""
    path = f"/servicePrincipals/{quote(sp_id, safe='')}/appRoleAssignedTo"
    params = {"$select": ASSIGNMENT_SELECT, "$top": PAGE_SIZE}
    return sum(1 for a in client.get_all(path, params) if a.get("principalType") == "Group")


def with_target_containers(
    client: GraphClient, sp_id: str, jobs: tuple[CloudSyncJob, ...]
) -> tuple[CloudSyncJob, ...]:
    """``jobs`` with the target container of each group provisioning job read from its schema."""
    return tuple(
        j.model_copy(update={"target_container": read_target_container(client, sp_id, j.id)})
        if j.template_id == GROUP_PROVISIONING
        else j
        for j in jobs
    )


def read_target_container(client: GraphClient, sp_id: str, job_id: str) -> CloudSyncTargetContainer:
    """``GET …/synchronization/jobs/{jobId}/schema`` and its group target container."""
    path = (
        f"/servicePrincipals/{quote(sp_id, safe='')}/synchronization/jobs/"
        f"{quote(job_id, safe='')}/schema"
    )
    return target_container(client.get(path))


def _group_mappings(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The enabled object mappings whose target object is an AD ``group`` (every
    ``synchronizationRules[].objectMappings[]``; Graph "synchronizationRule" and
    "objectMapping" resource types)."""
    return [
        m
        for rule in schema.get("synchronizationRules") or ()
        if isinstance(rule, dict)
        for m in rule.get("objectMappings") or ()
        if isinstance(m, dict)
        and str(m.get("targetObjectName") or "").lower() == "group"
        and m.get("enabled") is not False
    ]


def target_container(schema: dict[str, Any]) -> CloudSyncTargetContainer:
    """The group target container in a ``synchronizationSchema``: the group object mapping's
    ``attributeMappings[]`` entry whose ``targetAttributeName`` is ``parentDistinguishedName``.
    Its ``source`` is an ``attributeMappingSource`` (Microsoft Learn "attributeMappingSource
    resource type"): type ``Constant`` → ``name`` is the constant value; otherwise its
    ``expression`` is parsed (:mod:`planner.observe.mapping_expression`). The mapping's
    ``defaultValue`` (used when the source evaluates to null, "attributeMapping resource type")
    is a possible value too. No such mapping: not mapped ("SchemaInvalid" when the job runs)."""
    found = [
        a
        for m in _group_mappings(schema)
        for a in m.get("attributeMappings") or ()
        if isinstance(a, dict)
        and str(a.get("targetAttributeName") or "").lower() == TARGET_ATTRIBUTE.lower()
    ]
    if not found:
        return CloudSyncTargetContainer(mapped=False)
    dns: list[str] = []
    open_: list[str] = []
    types: list[str] = []
    expressions: list[str] = []
    if len(found) > 1:
        open_.append(f"{len(found)} group object mappings map {TARGET_ATTRIBUTE}")
    for mapping in found:
        source = _dict(mapping.get("source"))
        kind = str(source.get("type") or "Attribute")
        types.append(kind)
        expression = _opt_str(source.get("expression"))
        if kind == "Constant":
            value = _opt_str(source.get("name"))
            if value is None:
                open_.append("a Constant source without a value")
            else:
                dns.append(value)
            expressions.append(expression or value or "")
        else:
            expressions.append(expression or "")
            try:
                values = possible_values(expression or "")
            except ExpressionError as exc:
                open_.append(f"an expression wbplan cannot parse ({exc})")
            else:
                dns.extend(values.literals)
                open_.extend(values.open)
        default = mapping.get("defaultValue")
        if isinstance(default, str) and default:
            dns.append(default)
    return CloudSyncTargetContainer(
        mapped=True,
        source_type=" / ".join(dict.fromkeys(types)),
        expression=" / ".join(expressions),
        dns=tuple(dict.fromkeys(dns)),
        open=tuple(dict.fromkeys(open_)),
    )


def read_agents(client: GraphClient) -> tuple[CloudSyncAgent, ...]:
    """Every provisioning agent with its agent groups (beta, delegated only)."""
    path = "/onPremisesPublishingProfiles/provisioning/agents"
    found = client.get_all(path, {"$expand": "agentGroups"}, beta=True)
    return tuple(
        CloudSyncAgent(
            id=str(a["id"]),
            machine_name=_opt_str(a.get("machineName")),
            status=str(a.get("status") or "unknown"),
            agent_groups=tuple(
                str(g["displayName"])
                for g in a.get("agentGroups") or ()
                if isinstance(g, dict) and g.get("displayName")
            ),
        )
        for a in found
        if a.get("id")
    )


def job(item: dict[str, Any]) -> CloudSyncJob:
    """One ``synchronizationJob`` in the model (cloud-sync.md §4.3 shapes)."""
    job_id = str(item.get("id") or "")
    status = _dict(item.get("status"))
    quarantine = _dict(status.get("quarantine"))
    error = _dict(quarantine.get("error"))
    last = _dict(status.get("lastExecution"))
    success = _dict(status.get("lastSuccessfulExecution"))
    code, message = _opt_str(error.get("code")), _opt_str(error.get("message"))
    settings = {
        str(s["name"]): "" if s.get("value") is None else str(s["value"])
        for s in item.get("synchronizationJobSettings") or ()
        if isinstance(s, dict) and s.get("name")
    }
    return CloudSyncJob(
        id=job_id,
        template_id=str(item.get("templateId") or job_id.partition(".")[0]),
        status_code=_opt_str(status.get("code")),
        quarantine_reason=_opt_str(quarantine.get("reason")),
        quarantine_error=f"{code}: {message}" if code and message else code or message,
        last_execution_state=_opt_str(last.get("state")),
        last_execution_ended=_opt_str(last.get("timeEnded")),
        last_successful_execution_ended=_opt_str(success.get("timeEnded")),
        schedule_state=_opt_str(_dict(item.get("schedule")).get("state")),
        settings=settings,
    )


def configuration_domain(jobs: tuple[CloudSyncJob, ...], display_name: object) -> str | None:
    """The AD domain a configuration serves: a job's ``DomainFQDN`` setting, else the
    ``DomainFQDN`` (or ``domain``) inside its ``Domain`` setting's JSON, else the service
    principal's display name (Cloud Sync names it after the domain)."""
    for j in jobs:
        if j.settings.get("DomainFQDN"):
            return j.settings["DomainFQDN"]
    for j in jobs:
        try:
            value = json.loads(j.settings.get("Domain") or "null")
        except ValueError:
            continue
        if isinstance(value, dict):
            name = value.get("DomainFQDN") or value.get("domain")
            if isinstance(name, str) and name:
                return name
    return _opt_str(display_name)


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _opt_bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None
