"""Reading Cloud Sync from the tenant (issue 18 §3) against the Graph emulator: the configurations
found by listing jobs and their template ids, each job's status as Microsoft documents it, the
groups assigned for "selected groups", and the provisioning agents — a beta endpoint Graph serves
to delegated tokens only, so an app-only credential leaves them unknown, saying why. Every refused
request names the permission it needs; nothing it records is a secret."""

from __future__ import annotations

import ssl
from typing import Any

import httpx
import pytest

from planner.errors import GraphError
from planner.graphapi.auth import make_token_provider
from planner.graphapi.client import GraphClient, GraphForbiddenError, GraphOptions
from planner.model.policy import Policy
from planner.model.state import TenantState
from planner.observe.graph import observe_tenant
from tests.graph.conftest import make_policy
from tests.support import graph_cloudsync as gcs
from tests.support import graph_tenants as gt
from tests.support.graph_emulator import APP_ONLY_TOKEN, TEST_TOKEN, GraphEmulator
from tests.support.graph_routes import AGENTS

DOMAIN = "contoso.com"
CHILD = "emea.contoso.com"


def policy(*domains: dict[str, Any]) -> Policy:
    """The Graph tests' policy with a ``cloud_sync`` section (group provisioning in contoso.com
    by default)."""
    doc = make_policy().model_dump(mode="json", by_alias=True)
    doc["cloud_sync"] = {
        "domains": list(domains)
        or [{"domain": DOMAIN, "group_provisioning": {"target_ous": ["OU=G,DC=contoso,DC=com"]}}]
    }
    return Policy.model_validate(doc)


def read(
    emu: GraphEmulator, options: GraphOptions, p: Policy, token: str | None = None
) -> TenantState:
    provider = make_token_provider(options, env={"WBPLAN_GRAPH_TOKEN": token or emu.token})
    with GraphClient(options, provider, sleep=lambda _: None) as client:
        return observe_tenant(client, p)


def unread(state: TenantState, what: str) -> str:
    [entry] = [u for u in state.unread if u.what == what]
    return entry.reason


def test_a_configuration_is_read_in_full(
    graph_emulator: GraphEmulator, graph_options: GraphOptions
) -> None:
    graph_emulator.tenant = gcs.quarantined(DOMAIN)
    state = read(graph_emulator, graph_options, policy())
    assert state.cloud_sync is not None
    [config] = state.cloud_sync.configurations
    sp = graph_emulator.tenant.service_principals[0]
    assert config.service_principal_id == sp["id"]
    assert config.display_name == config.domain == DOMAIN
    assert config.app_role_assignment_required is True
    assert config.assigned_groups == 3
    [job] = config.jobs
    wire = graph_emulator.tenant.sync_jobs[sp["id"]][0]
    assert job.id == wire["id"] and job.template_id == "AAD2ADGroupProvisioning"
    assert job.status_code == "Quarantine"
    assert job.quarantine_reason == "TooManyDeletes"
    assert job.quarantine_error is not None
    assert job.quarantine_error.startswith("TooManyDeletes: The number of deletions")
    assert job.last_execution_state == "Failed"
    assert job.last_execution_ended == wire["status"]["lastExecution"]["timeEnded"]
    assert (
        job.last_successful_execution_ended
        == wire["status"]["lastSuccessfulExecution"]["timeEnded"]
    )
    assert job.schedule_state == "Active"
    assert job.settings["DomainFQDN"] == DOMAIN
    assert job.settings["QuarantineTooManyDeletesThreshold"] == "500"
    [agent] = state.cloud_sync.agents or ()
    assert agent.status == "active" and agent.machine_name == f"cloudsync1.{DOMAIN}"
    assert agent.agent_groups[0].startswith(f"Group-{DOMAIN}-")
    assert state.unread == ()


def test_the_requests_are_the_documented_ones(
    graph_emulator: GraphEmulator, graph_options: GraphOptions
) -> None:
    graph_emulator.tenant = gcs.healthy(DOMAIN)
    read(graph_emulator, graph_options, policy())
    sp = graph_emulator.tenant.service_principals[0]["id"]
    job_id = graph_emulator.tenant.sync_jobs[sp][0]["id"]
    cloud = [
        (r.method, r.path, r.query)
        for r in graph_emulator.requests
        if r.path.startswith(("/servicePrincipals", "/beta/"))
    ]
    assert cloud == [
        (
            "GET",
            "/servicePrincipals",
            {
                "$filter": f"displayName eq '{DOMAIN}'",
                "$select": "id,displayName,appRoleAssignmentRequired",
            },
        ),
        ("GET", f"/servicePrincipals/{sp}/synchronization/jobs", {}),
        (
            "GET",
            f"/servicePrincipals/{sp}/appRoleAssignedTo",
            {"$select": "principalType", "$top": "999"},
        ),
        ("GET", f"/servicePrincipals/{sp}/synchronization/jobs/{job_id}/schema", {}),
        ("GET", AGENTS, {"$expand": "agentGroups"}),
    ]


def test_nothing_is_read_without_cloud_sync(
    graph_emulator: GraphEmulator, graph_options: GraphOptions
) -> None:
    graph_emulator.tenant = gcs.healthy(DOMAIN)
    state = read(graph_emulator, graph_options, make_policy())
    assert state.cloud_sync is None
    assert not any(
        r.path.startswith(("/servicePrincipals", "/beta/")) for r in graph_emulator.requests
    )


def test_configurations_are_found_by_their_jobs_not_by_name_alone(
    graph_emulator: GraphEmulator, graph_options: GraphOptions
) -> None:
    """A service principal named after the domain without a Cloud Sync job (another app) is not a
    configuration; a job of another template is left out; two configurations are both kept."""
    t = gcs.duplicated(DOMAIN)
    other = gcs.service_principal(DOMAIN)
    t.service_principals.append(other)
    t.sync_jobs[other["id"]] = [gcs.job("SomeOtherTemplate", DOMAIN)]
    gcs.configure(t, CHILD, (gcs.AD_TO_ENTRA, gcs.EXCHANGE_HYBRID, gcs.PASSWORD_HASH_SYNC))
    graph_emulator.tenant = t
    p = policy(
        {"domain": DOMAIN, "group_provisioning": {"target_ous": ["OU=G,DC=contoso,DC=com"]}},
        {"domain": CHILD, "exchange_hybrid": True},
    )
    state = read(graph_emulator, graph_options, p)
    assert state.cloud_sync is not None
    configs = state.cloud_sync.configurations
    assert [c.domain for c in configs] == [DOMAIN, DOMAIN, CHILD]
    assert other["id"] not in {c.service_principal_id for c in configs}
    assert [j.template_id for j in configs[2].jobs] == [
        "AD2AADProvisioning", "AAD2ADExchangeHybridWriteback", "AD2AADPasswordHash"
    ]  # fmt: skip
    assert configs[2].assigned_groups is None  # read only where groups are provisioned


def test_the_domain_comes_from_the_job_settings(
    graph_emulator: GraphEmulator, graph_options: GraphOptions
) -> None:
    """The service principal's name finds the configuration; the job's settings name the domain
    (here with an upper-case name, and only inside the ``Domain`` JSON)."""
    t = gt.tenant()
    sp = gcs.configure(t, DOMAIN)
    sp["displayName"] = DOMAIN.upper()
    [job] = t.sync_jobs[sp["id"]]
    job["synchronizationJobSettings"] = [
        s for s in job["synchronizationJobSettings"] if s["name"] == "Domain"
    ]
    graph_emulator.tenant = t
    state = read(graph_emulator, graph_options, policy())
    assert state.cloud_sync is not None
    assert [c.domain for c in state.cloud_sync.configurations] == [DOMAIN]


def test_assignments_are_counted_over_every_page(
    graph_emulator: GraphEmulator, graph_options: GraphOptions
) -> None:
    graph_emulator.tenant = gcs.selected_groups(DOMAIN, 250)
    graph_emulator.page_size = 100
    state = read(graph_emulator, graph_options, policy())
    assert state.cloud_sync is not None
    assert state.cloud_sync.configurations[0].assigned_groups == 250  # the user is not counted
    sp = graph_emulator.tenant.service_principals[0]["id"]
    assert len(graph_emulator.graph_requests(f"/servicePrincipals/{sp}/appRoleAssignedTo")) == 3


def test_a_throttled_job_list_is_retried(
    graph_emulator: GraphEmulator, graph_options: GraphOptions
) -> None:
    graph_emulator.tenant = gcs.healthy(DOMAIN)
    sp = graph_emulator.tenant.service_principals[0]["id"]
    graph_emulator.throttle(f"/servicePrincipals/{sp}/synchronization/jobs", times=2)
    state = read(graph_emulator, graph_options, policy())
    assert state.cloud_sync is not None and state.cloud_sync.configurations[0].jobs


@pytest.mark.parametrize(
    ("refused", "what", "permission"),
    [
        ("/servicePrincipals", "tenant.cloud_sync", "Application.Read.All"),
        (
            "/servicePrincipals/{sp}/synchronization",
            "tenant.cloud_sync",
            "Synchronization.Read.All",
        ),
        (
            "/servicePrincipals/{sp}/appRoleAssignedTo",
            "tenant.cloud_sync.assignments",
            "Application.Read.All",
        ),
    ],
)
def test_a_refused_request_leaves_its_part_unknown_naming_the_permission(
    graph_emulator: GraphEmulator,
    graph_options: GraphOptions,
    refused: str,
    what: str,
    permission: str,
) -> None:
    graph_emulator.tenant = gcs.healthy(DOMAIN)
    sp = graph_emulator.tenant.service_principals[0]["id"]
    graph_emulator.forbid(refused.format(sp=sp))
    state = read(graph_emulator, graph_options, policy())
    reason = unread(state, what)
    assert f"needs {permission}" in reason
    if what == "tenant.cloud_sync":
        assert state.cloud_sync is None
    else:
        assert state.cloud_sync is not None
        [config] = state.cloud_sync.configurations
        assert config.assigned_groups is None  # unknown, never 0
        assert config.jobs and state.cloud_sync.agents  # the rest was read


def test_app_only_credentials_cannot_list_the_agents(
    graph_emulator: GraphEmulator, graph_options: GraphOptions
) -> None:
    graph_emulator.tenant = gcs.healthy(DOMAIN)
    token = graph_emulator.add_app_only_token()
    state = read(graph_emulator, graph_options, policy(), token=token)
    assert state.cloud_sync is not None
    assert state.cloud_sync.agents is None  # unknown, not "no agents"
    assert len(state.cloud_sync.configurations) == 1
    reason = unread(state, "tenant.cloud_sync.agents")
    assert "beta endpoint that serves signed-in administrators" in reason
    assert "OnPremisesPublishingProfiles.ReadWrite.All" in reason
    assert "application permissions are not supported" in reason
    assert f"Graph refused {AGENTS}" in reason
    assert APP_ONLY_TOKEN not in reason and TEST_TOKEN not in reason


def test_the_forbidden_error_names_the_delegated_requirement(
    graph_emulator: GraphEmulator, graph_options: GraphOptions
) -> None:
    token = graph_emulator.add_app_only_token()
    provider = make_token_provider(graph_options, env={"WBPLAN_GRAPH_TOKEN": token})
    with GraphClient(graph_options, provider) as client, pytest.raises(GraphForbiddenError) as info:
        list(client.get_all("/onPremisesPublishingProfiles/provisioning/agents", beta=True))
    err = info.value
    assert err.endpoint == AGENTS
    assert err.permission == "OnPremisesPublishingProfiles.ReadWrite.All or Directory.ReadWrite.All"
    assert str(err).startswith(f"Graph refused GET {AGENTS} (403 Authorization_RequestDenied")
    assert (
        "for a signed-in Hybrid Identity Administrator (application permissions are not supported)"
        in str(err)
    )
    assert "sign in as a Hybrid Identity Administrator to read it" in err.hint


def _raw(emu: GraphEmulator, path: str, token: str) -> httpx.Response:
    with httpx.Client(verify=ssl.create_default_context(cafile=str(emu.tls.ca_file))) as http:
        return http.get(f"{emu.origin}{path}", headers={"Authorization": f"Bearer {token}"})


def test_the_emulator_serves_the_beta_agents_to_delegated_tokens_only(
    graph_emulator: GraphEmulator,
) -> None:
    graph_emulator.tenant = gcs.healthy(DOMAIN)
    token = graph_emulator.add_app_only_token()
    refused = _raw(graph_emulator, AGENTS, token)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "Authorization_RequestDenied"
    page = _raw(graph_emulator, f"{AGENTS}?$expand=agentGroups", TEST_TOKEN).json()
    assert page["@odata.context"].startswith(f"{graph_emulator.origin}/beta/$metadata#")
    assert page["value"][0]["agentGroups"][0]["publishingType"] == "provisioning"
    bare = _raw(graph_emulator, AGENTS, TEST_TOKEN).json()
    assert "agentGroups" not in bare["value"][0]  # a navigation property needs $expand
    # the app-only token still reads the v1.0 Cloud Sync objects
    sp = graph_emulator.tenant.service_principals[0]["id"]
    assert (
        _raw(
            graph_emulator, f"/v1.0/servicePrincipals/{sp}/synchronization/jobs", token
        ).status_code
        == 200
    )


def test_the_emulator_answers_unknown_service_principals_and_filters_as_graph(
    graph_emulator: GraphEmulator, graph_options: GraphOptions
) -> None:
    provider = make_token_provider(graph_options, env={"WBPLAN_GRAPH_TOKEN": graph_emulator.token})
    with GraphClient(graph_options, provider) as client:
        with pytest.raises(
            GraphError, match="Graph has no GET /servicePrincipals/nope/synchronization/jobs"
        ):
            client.get("/servicePrincipals/nope/synchronization/jobs")
        with pytest.raises(GraphError, match="400 BadRequest: Invalid filter clause"):
            client.get("/servicePrincipals", {"$filter": "startswith(displayName,'c')"})
        assert (
            client.get("/servicePrincipals", {"$filter": "displayName eq 'it''s'"})["value"] == []
        )


# -- the group target container (the job schema) --------------------------------------------------
def _target(state: TenantState) -> Any:
    assert state.cloud_sync is not None
    [config] = state.cloud_sync.configurations
    [job] = config.jobs
    return job.target_container


def test_a_constant_target_container_is_read_from_the_job_schema(
    graph_emulator: GraphEmulator, graph_options: GraphOptions
) -> None:
    graph_emulator.tenant = gcs.target(DOMAIN, gcs.constant("OU=G,DC=contoso,DC=com"))
    target = _target(read(graph_emulator, graph_options, policy()))
    assert target.mapped is True
    assert target.source_type == "Constant"
    assert target.dns == ("OU=G,DC=contoso,DC=com",)
    assert target.open == ()
    assert target.expression == '"OU=G,DC=contoso,DC=com"'


def test_a_switch_over_two_ous_yields_its_default_and_both_values_never_its_keys(
    graph_emulator: GraphEmulator, graph_options: GraphOptions
) -> None:
    graph_emulator.tenant = gcs.target(DOMAIN, gcs.two_ous(DOMAIN))
    target = _target(read(graph_emulator, graph_options, policy()))
    assert target.mapped is True and target.source_type == "Function"
    assert target.dns == (
        "OU=CloudGroups,DC=contoso,DC=com",
        "OU=Finance,OU=CloudGroups,DC=contoso,DC=com",
        "OU=Sales,DC=contoso,DC=com",
    )
    assert "Finance" not in target.dns and "Sales" not in target.dns
    assert target.open == ()
    assert target.expression.startswith("Switch([displayName], ")


def test_a_missing_parent_dn_mapping_is_read_as_not_mapped(
    graph_emulator: GraphEmulator, graph_options: GraphOptions
) -> None:
    graph_emulator.tenant = gcs.target(DOMAIN, None)
    target = _target(read(graph_emulator, graph_options, policy()))
    assert target.mapped is False and target.dns == ()


def test_a_computed_target_container_is_open_naming_what_computes_it(
    graph_emulator: GraphEmulator, graph_options: GraphOptions
) -> None:
    # The documented way to keep an SOA-converted group's OU: a GroupDN directory extension.
    expression = 'IIF(IsPresent([extension_GroupDN]), [extension_GroupDN], "OU=CloudGroups,DC=contoso,DC=com")'
    graph_emulator.tenant = gcs.target(DOMAIN, gcs.function(expression, "IIF"))
    target = _target(read(graph_emulator, graph_options, policy()))
    assert target.mapped is True
    assert target.dns == ("OU=CloudGroups,DC=contoso,DC=com",)
    assert target.open == ("the attribute [extension_GroupDN]",)


def test_an_expression_that_does_not_parse_is_open_not_a_value(
    graph_emulator: GraphEmulator, graph_options: GraphOptions
) -> None:
    graph_emulator.tenant = gcs.target(
        DOMAIN, gcs.function('Switch([displayName], "OU=A', "Switch")
    )
    target = _target(read(graph_emulator, graph_options, policy()))
    assert target.mapped is True and target.dns == ()
    [why] = target.open
    assert why.startswith("an expression wbplan cannot parse (unclosed string")


def test_a_refused_schema_leaves_the_target_container_unknown_naming_the_permission(
    graph_emulator: GraphEmulator, graph_options: GraphOptions
) -> None:
    graph_emulator.tenant = gcs.healthy(DOMAIN)
    sp = graph_emulator.tenant.service_principals[0]["id"]
    job_id = graph_emulator.tenant.sync_jobs[sp][0]["id"]
    graph_emulator.forbid(f"/servicePrincipals/{sp}/synchronization/jobs/{job_id}/schema")
    state = read(graph_emulator, graph_options, policy())
    reason = unread(state, "tenant.cloud_sync.schema")
    assert reason.startswith("the group target container of the Cloud Sync configurations")
    assert f"{job_id}/schema needs Synchronization.Read.All" in reason
    assert _target(state) is None  # unknown, never "not mapped"
    assert state.cloud_sync is not None and state.cloud_sync.agents  # the rest was read
    assert state.cloud_sync.configurations[0].assigned_groups == 3


def test_app_only_credentials_read_the_schema_as_microsoft_documents(
    graph_emulator: GraphEmulator, graph_options: GraphOptions
) -> None:
    # "Get synchronizationSchema" lists application permissions (unlike the agents endpoint).
    graph_emulator.tenant = gcs.healthy(DOMAIN)
    token = graph_emulator.add_app_only_token()
    state = read(graph_emulator, graph_options, policy(), token=token)
    assert _target(state).dns == ("OU=CloudGroups,DC=contoso,DC=com",)
    whats = [u.what for u in state.unread]
    assert "tenant.cloud_sync.agents" in whats and "tenant.cloud_sync.schema" not in whats


def test_only_group_provisioning_jobs_have_their_schema_read(
    graph_emulator: GraphEmulator, graph_options: GraphOptions
) -> None:
    graph_emulator.tenant = gcs.healthy(DOMAIN, (gcs.AD_TO_ENTRA,))
    read(
        graph_emulator,
        graph_options,
        policy({"domain": DOMAIN, "password_writeback": True}),
    )
    assert not any(r.path.endswith("/schema") for r in graph_emulator.requests)
