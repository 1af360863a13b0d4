"""Cloud Sync in the Graph emulator: configurations (service principals and their
synchronization jobs), group assignments and provisioning agents, in the shapes Microsoft
documents (cloud-sync.md §4.3: the job JSON of the inbound-sync how-to, ``synchronizationStatus``
codes, the ``synchronizationQuarantine`` object, the agents list of the beta API page, and the
``synchronizationSchema`` of a Group Provision to AD job with its ``parentDistinguishedName``
mapping — a Constant, a ``Switch()`` expression or none).

Builders return plain JSON-like dicts as Graph returns them; :func:`configure` adds one
configuration to an :class:`~tests.support.graph_tenants.EmulatedTenant`. The named scenarios of
issue 18 (a healthy job, a quarantined one, a missing configuration, two configurations for one
domain, selected groups with N assignments) are built from them.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any, Final

from tests.support.graph_tenants import TENANT_ID, EmulatedTenant, tenant

GROUP_PROVISIONING = "AAD2ADGroupProvisioning"
EXCHANGE_HYBRID = "AAD2ADExchangeHybridWriteback"
AD_TO_ENTRA = "AD2AADProvisioning"
PASSWORD_HASH_SYNC = "AD2AADPasswordHash"
APP_ROLE_ID = "1a0abf4d-b9fa-4512-a3a2-51ee82c6fd9f"
"""The app role "selected security groups" are assigned with, public cloud (cloud-sync.md §2.4)."""
AD_TO_ENTRA_TEMPLATE = "1a4721b3-e57f-4451-ae87-ef078703ec94"
"""Application template of AD-to-Entra configurations (cloud-sync.md §4.1 [C21])."""


def ago(minutes: float) -> str:
    """A Graph timestamp ``minutes`` before now (seven fractional digits, as Graph writes)."""
    when = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def quarantine(
    reason: str = "TooManyDeletes",
    code: str = "TooManyDeletes",
    message: str = "The number of deletions in this cycle (612) exceeds the accidental-deletion "
    "threshold of 500.",
) -> dict[str, Any]:
    """A ``synchronizationQuarantine``; the error's code and message are made up (Microsoft
    documents their shape, not the values a TooManyDeletes quarantine carries)."""
    return {
        "currentBegan": ago(90),
        "nextAttempt": ago(-30),
        "reason": reason,
        "seriesBegan": ago(90),
        "seriesCount": 3,
        "error": {"code": code, "message": message, "tenantActionable": True},
    }


def job(
    template: str,
    domain: str,
    *,
    code: str = "Active",
    quarantined: dict[str, Any] | None = None,
    last_state: str = "Succeeded",
    last_success_minutes: float | None = 12,
    schedule: str = "Active",
) -> dict[str, Any]:
    """A ``synchronizationJob`` as the inbound-sync how-to shows it (cloud-sync.md §4.3)."""
    netbios = domain.partition(".")[0].upper()
    forest = domain  # a single-domain forest
    domain_setting = {
        "DomainFQDN": domain,
        "DomainNetBios": netbios,
        "ForestFQDN": forest,
        "ForestNetBios": netbios,
    }
    last = {
        "state": last_state,
        "error": None,
        "countExported": 0,
        "timeBegan": ago(13),
        "timeEnded": ago(12),
    }
    success = (
        None
        if last_success_minutes is None
        else {
            "state": "Succeeded",
            "error": None,
            "countExported": 4,
            "timeBegan": ago(last_success_minutes + 1),
            "timeEnded": ago(last_success_minutes),
        }
    )
    return {
        "id": f"{template}.{uuid.uuid4().hex}.{uuid.uuid4()}",
        "templateId": template,
        "schedule": {
            "expiration": None,
            "interval": "PT20M" if template.startswith("AAD2AD") else "PT2M",
            "state": schedule,
        },
        "status": {
            "code": code,
            "countSuccessiveCompleteFailures": 0 if last_state == "Succeeded" else 3,
            "escrowsPruned": False,
            "quarantine": quarantined,
            "troubleshootingUrl": "",
            "lastExecution": last,
            "lastSuccessfulExecution": success,
            "lastSuccessfulExecutionWithExports": success,
            "progress": [],
            "steadyStateFirstAchievedTime": ago(60 * 24 * 30),
            "steadyStateLastAchievedTime": ago(12),
            "synchronizedEntryCountByType": [
                {"key": "group to Group", "value": 33},
                {"key": "user to User", "value": 3},
            ],
        },
        "synchronizationJobSettings": [
            {"name": "Domain", "value": json.dumps(domain_setting, separators=(",", ":"))},
            {"name": "DomainFQDN", "value": domain},
            {"name": "ForestFQDN", "value": forest},
            {"name": "QuarantineTooManyDeletesThreshold", "value": "500"},
        ],
    }


def domain_dn(domain: str) -> str:
    """``contoso.test`` → ``DC=contoso,DC=test``."""
    return ",".join(f"DC={label}" for label in domain.split("."))


def _quoted(value: str) -> str:
    """A string constant of the expression syntax (backslash and quote escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def constant(value: str) -> dict[str, Any]:
    """An ``attributeMappingSource`` of type Constant (Microsoft Learn "attributeMappingSource
    resource type": ``name`` is the constant, ``expression`` its expression form)."""
    return {"expression": _quoted(value), "name": value, "parameters": [], "type": "Constant"}


def attribute(name: str) -> dict[str, Any]:
    """An ``attributeMappingSource`` of type Attribute."""
    return {"expression": f"[{name}]", "name": name, "parameters": [], "type": "Attribute"}


def switch(source: str, default: str, cases: dict[str, str]) -> dict[str, Any]:
    """``Switch([source], "default", "key1", "value1", …)`` as an ``attributeMappingSource`` of
    type Function (the function's arguments as ``parameters``, each an attributeMappingSource;
    the parameter keys follow the function reference's argument names)."""
    parameters = [
        {"key": "source", "value": attribute(source)},
        {"key": "defaultValue", "value": constant(default)},
    ]
    for key, value in cases.items():
        parameters += [
            {"key": "key", "value": constant(key)},
            {"key": "value", "value": constant(value)},
        ]
    args = ", ".join(
        [f"[{source}]", _quoted(default), *(_quoted(x) for kv in cases.items() for x in kv)]
    )
    return {
        "expression": f"Switch({args})",
        "name": "Switch",
        "parameters": parameters,
        "type": "Function",
    }


def function(expression: str, name: str) -> dict[str, Any]:
    """Any other Function source, given as its expression (parameters left out)."""
    return {"expression": expression, "name": name, "parameters": [], "type": "Function"}


def _mapping(target: str, source: dict[str, Any]) -> dict[str, Any]:
    return {
        "defaultValue": None,
        "exportMissingReferences": False,
        "flowBehavior": "FlowWhenChanged",
        "flowType": "Always",
        "matchingPriority": 0,
        "source": source,
        "targetAttributeName": target,
    }


def group_schema(target: dict[str, Any] | None) -> dict[str, Any]:
    """A Group Provision to AD job's ``synchronizationSchema``: the group object mapping with the
    default attribute mappings Microsoft lists for groups (cloud-sync.md §2.3) and
    ``parentDistinguishedName`` mapped from ``target`` (None: not mapped at all, the
    "SchemaInvalid" case)."""
    mappings = [
        _mapping(
            "adminDescription",
            function('Append("Group_", [objectId])', "Append"),
        ),
        _mapping(
            "msDS-ExternalDirectoryObjectId",
            function('Append("Group_", [objectId])', "Append"),
        ),
        _mapping(
            "cn",
            function(
                'Append(Append(Left(Trim([displayName]), 51), "_"), Mid([objectId], 25, 12))',
                "Append",
            ),
        ),
        _mapping("description", function("Left(Trim([description]), 448)", "Left")),
        _mapping("displayName", attribute("displayName")),
        _mapping("member", attribute("members")),
        _mapping("isSecurityGroup", constant("True")),
        _mapping("UniversalScope", constant("True")),
    ]
    if target is not None:
        mappings.append(_mapping("parentDistinguishedName", target))
    return {
        "directories": [],
        "synchronizationRules": [
            {
                "editable": True,
                "id": "AAD2ADGroupProvisioning",
                "metadata": [],
                "name": "AAD2ADGroupProvisioning",
                "objectMappings": [
                    {
                        "attributeMappings": mappings,
                        "enabled": True,
                        "flowTypes": "Add, Update, Delete",
                        "metadata": [],
                        "name": "Provision Microsoft Entra ID Groups",
                        "scope": None,
                        "sourceObjectName": "Group",
                        "targetObjectName": "group",
                    }
                ],
                "priority": 1,
                "sourceDirectoryName": "Azure Active Directory",
                "targetDirectoryName": "Active Directory",
            }
        ],
    }


DEFAULT_TARGET: Final = object()
"""``configure``'s default target: a Constant ``OU=CloudGroups,<domain DN>``."""


def service_principal(domain: str, *, assignment_required: bool = True) -> dict[str, Any]:
    """A configuration's service principal, named after the domain (cloud-sync.md §4.1)."""
    return {
        "id": str(uuid.uuid4()),
        "appId": str(uuid.uuid4()),
        "displayName": domain,
        "appOwnerOrganizationId": TENANT_ID,
        "appRoleAssignmentRequired": assignment_required,
        "applicationTemplateId": AD_TO_ENTRA_TEMPLATE,
        "servicePrincipalType": "Application",
        "accountEnabled": True,
        "tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
    }


def assignment(sp: dict[str, Any], index: int, principal_type: str = "Group") -> dict[str, Any]:
    """One ``appRoleAssignment`` of a group (or user) to the configuration's service principal."""
    return {
        "id": f"assignment-{sp['id'][:8]}-{index}",
        "deletedDateTime": None,
        "appRoleId": APP_ROLE_ID,
        "createdDateTime": ago(60 * 24),
        "principalDisplayName": f"SG-Cloud-{index:03d}",
        "principalId": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{sp['id']}/{index}")),
        "principalType": principal_type,
        "resourceDisplayName": sp["displayName"],
        "resourceId": sp["id"],
    }


def configure(
    t: EmulatedTenant,
    domain: str,
    templates: tuple[str, ...] = (GROUP_PROVISIONING,),
    *,
    assigned_groups: int = 3,
    assigned_users: int = 0,
    assignment_required: bool = True,
    target: Any = DEFAULT_TARGET,
    **job_options: Any,
) -> dict[str, Any]:
    """Add a configuration for ``domain`` running ``templates`` (``job_options`` as for
    :func:`job`, for every job); returns its service principal. A group provisioning job's
    schema maps ``parentDistinguishedName`` from ``target`` (an attributeMappingSource; None:
    not mapped; default: the Constant ``OU=CloudGroups,<domain DN>``)."""
    sp = service_principal(domain, assignment_required=assignment_required)
    t.service_principals.append(sp)
    t.sync_jobs[sp["id"]] = [job(template, domain, **job_options) for template in templates]
    if target is DEFAULT_TARGET:
        target = constant(f"OU=CloudGroups,{domain_dn(domain)}")
    for j in t.sync_jobs[sp["id"]]:
        if j["templateId"] == GROUP_PROVISIONING:
            t.sync_schemas[j["id"]] = group_schema(target)
    t.app_role_assignments[sp["id"]] = [
        *(assignment(sp, i) for i in range(assigned_groups)),
        *(assignment(sp, assigned_groups + i, "User") for i in range(assigned_users)),
    ]
    return sp


def agent(machine: str, domains: tuple[str, ...], status: str = "active") -> dict[str, Any]:
    """A provisioning agent with one agent group per domain it serves (beta ``onPremisesAgent``
    with ``$expand=agentGroups``; cloud-sync.md §4.3)."""
    groups = [
        {
            "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"group.{d}")),
            "displayName": f"Group-{d}-{uuid.uuid5(uuid.NAMESPACE_DNS, d).hex[:6]}",
            "publishingType": "provisioning",
            "isDefault": False,
        }
        for d in domains
    ]
    groups.append(
        {
            "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, "default-sync-fabric")),
            "displayName": "Default group for AD Sync Fabric",
            "publishingType": "provisioning",
            "isDefault": False,
        }
    )
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, machine)),
        "machineName": machine,
        "externalIp": "203.0.113.7",
        "status": status,
        "supportedPublishingTypes": ["provisioning"],
        "agentGroups": groups,
    }


# -- the named scenarios of issue 18 -----------------------------------------------------------
def healthy(domain: str, templates: tuple[str, ...] = (GROUP_PROVISIONING,)) -> EmulatedTenant:
    """One healthy configuration for ``domain`` (3 selected groups) and an active agent."""
    t = tenant()
    configure(t, domain, templates)
    t.provisioning_agents.append(agent(f"cloudsync1.{domain}", (domain,)))
    return t


def quarantined(domain: str) -> EmulatedTenant:
    """The group provisioning job in quarantine for too many deletes."""
    t = tenant()
    configure(
        t,
        domain,
        code="Quarantine",
        quarantined=quarantine(),
        last_state="Failed",
        last_success_minutes=60 * 26,
    )
    t.provisioning_agents.append(agent(f"cloudsync1.{domain}", (domain,)))
    return t


def missing(domain: str) -> EmulatedTenant:
    """No configuration for ``domain``; an agent is registered for it."""
    t = tenant()
    t.provisioning_agents.append(agent(f"cloudsync1.{domain}", (domain,)))
    return t


def duplicated(domain: str) -> EmulatedTenant:
    """Two provisioning-to-AD configurations for the same domain."""
    t = healthy(domain)
    configure(t, domain)
    return t


def selected_groups(domain: str, assigned: int, *, required: bool = True) -> EmulatedTenant:
    """A healthy configuration with ``assigned`` groups (and one user) assigned to it."""
    t = tenant()
    configure(t, domain, assigned_groups=assigned, assigned_users=1, assignment_required=required)
    t.provisioning_agents.append(agent(f"cloudsync1.{domain}", (domain,)))
    return t


def target(domain: str, source: dict[str, Any] | None) -> EmulatedTenant:
    """A healthy configuration whose group target container is mapped from ``source`` (None:
    ``parentDistinguishedName`` not mapped)."""
    t = tenant()
    configure(t, domain, target=source)
    t.provisioning_agents.append(agent(f"cloudsync1.{domain}", (domain,)))
    return t


def two_ous(domain: str, first: str = "Finance", second: str = "Sales") -> dict[str, Any]:
    """The target container Microsoft's how-to shows for several OUs: ``Switch()`` on the
    group's display name, the ``CloudGroups`` OU by default and one OU per name."""
    dn = domain_dn(domain)
    return switch(
        "displayName",
        f"OU=CloudGroups,{dn}",
        {first: f"OU={first},OU=CloudGroups,{dn}", second: f"OU={second},{dn}"},
    )
