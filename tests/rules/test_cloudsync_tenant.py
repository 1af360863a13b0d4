"""Cloud Sync rules that depend on the tenant only (WB-CS-050 … WB-CS-057), judged on what the
Graph emulator serves in Microsoft's documented shapes (tests/support/graph_cloudsync.py): a
healthy job, a quarantined one, a missing configuration, two configurations for one domain,
selected groups with N assignments, the licence for the number of configurations, the
provisioning agents — read by a delegated token, or unknown with the reason for an app-only one —
and the group target container from the job schema (a constant, a Switch() over two OUs, no
mapping, a computed one, a refused schema).

Every report goes through ``tests.rules.support.report``, which also asserts that each failing
SHALL finding has its manual step in the plan made from the same observations."""

from __future__ import annotations

from typing import Any

import pytest

from planner.model.plan import ResourceChange
from planner.model.policy import Policy
from planner.model.state import ObservedState
from planner.planning import make_plan
from tests.rules.support import TODAY, fresh_sync, observe, one, report
from tests.support import graph_cloudsync as gcs
from tests.support import graph_tenants as gt
from tests.support.graph_emulator import APP_ONLY_TOKEN, GraphEmulator

DOMAIN = "contoso.test"
CHILD = "emea.contoso.test"
CONFIG = f"tenant.cloudsync[{DOMAIN}]"
JOB = f"tenant.cloudsync.job[{DOMAIN}/AAD2ADGroupProvisioning]"
SCOPE = f"tenant.cloudsync.scope[{DOMAIN}]"
AGENT = f"tenant.cloudsync.agent[{DOMAIN}]"
TARGET = f"tenant.cloudsync.target[{DOMAIN}]"
LICENCE = "tenant.cloudsync.licence[]"
RULES = (
    "WB-CS-050",
    "WB-CS-051",
    "WB-CS-052",
    "WB-CS-053",
    "WB-CS-054",
    "WB-CS-055",
    "WB-CS-056",
    "WB-CS-057",
)


def groups(
    scope: str = "selected_groups", domain: str = DOMAIN, ous: tuple[str, ...] = ("OU=CloudGroups",)
) -> dict[str, Any]:
    """A ``cloud_sync.domains`` entry with group provisioning into ``ous`` (RDNs above the
    domain's DN)."""
    dn = gcs.domain_dn(domain)
    return {
        "domain": domain,
        "group_provisioning": {"target_ous": [f"{ou},{dn}" for ou in ous], "scope": scope},
    }


def policy(*domains: dict[str, Any]) -> Policy:
    """Forest contoso.test, the emulator's tenant, Cloud Sync for ``domains`` (group
    provisioning in contoso.test by default), nothing served by Connect."""
    return Policy.model_validate(
        {
            "apiVersion": "wbplan.dev/v1",
            "kind": "WritebackPolicy",
            "metadata": {"name": "cloud-sync-rules"},
            "forest": DOMAIN,
            "tenant": {"id": gt.TENANT_ID, "domain": "contoso.onmicrosoft.com"},
            "connector": {"account": "CONTOSO\\MSOL_1a2b3c4d5e6f"},
            "writeback": {},
            "cloud_sync": {"domains": list(domains) or [groups()]},
        }
    )


def planned(p: Policy, state: ObservedState, address: str) -> ResourceChange:
    """The plan's change at ``address`` (waiting or not: without an AD observation the AD
    prerequisites of a configuration are unknown, so what follows it waits)."""
    plan = make_plan(p, state, policy_file="p", policy_digest="", state_source="s", timestamp="t")
    return next(c for c in (*plan.resource_changes, *plan.deferred_changes) if c.address == address)


def observed(emu: GraphEmulator, p: Policy) -> ObservedState:
    fresh_sync(emu)
    return observe(p, None, emu)


def test_a_healthy_configuration_passes_every_rule(emu: GraphEmulator) -> None:
    emu.tenant = gcs.healthy(DOMAIN)
    p = policy()
    rep = report(p, observed(emu, p))
    for rule_id in RULES:
        assert one(rep, rule_id).status == "pass", (rule_id, one(rep, rule_id).message)
    assert "one Microsoft Entra ID to AD configuration (AAD2ADGroupProvisioning)" in (
        one(rep, "WB-CS-050").message
    )
    assert one(rep, "WB-CS-052").evidence["status"] == "Active"
    assert one(rep, "WB-CS-053").evidence["assigned_groups"] == 3
    assert (
        one(rep, "WB-CS-055", AGENT).message == f"1 of 1 provisioning agent(s) of {DOMAIN} active"
    )


def test_a_quarantined_job_fails_naming_the_reason_and_the_plan_asks_a_person(
    emu: GraphEmulator,
) -> None:
    emu.tenant = gcs.quarantined(DOMAIN)
    p = policy()
    state = observed(emu, p)
    rep = report(p, state)
    job = one(rep, "WB-CS-052", JOB)
    assert job.status == "fail"
    assert "is quarantined (reason TooManyDeletes; error TooManyDeletes: The number" in job.message
    assert job.evidence["quarantine_reason"] == "TooManyDeletes"
    assert one(rep, "WB-CS-050").status == one(rep, "WB-CS-051").status == "pass"
    change = planned(p, state, JOB)
    assert change.change.actions == ("manual",)
    assert change.action_reason == "sync_stale"
    assert "TooManyDeletes" in (change.instructions or "")
    assert "Entra ID → Entra Connect → Cloud sync → Configurations" in (change.instructions or "")


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"last_success_minutes": 60 * 5}, "more than 3 hours before the observation"),
        ({"last_success_minutes": None, "code": "NotRun"}, "has never run (status NotRun)"),
        ({"code": "Paused", "schedule": "Paused"}, "is not running on schedule (status Paused"),
        ({"code": "NotConfigured"}, "is not configured (status NotConfigured)"),
        ({"last_success_minutes": None}, "has no successful run yet (status Active)"),
    ],
)
def test_a_job_that_does_not_run_fails(
    emu: GraphEmulator, options: dict[str, Any], words: str
) -> None:
    emu.tenant = gt.tenant()
    gcs.configure(emu.tenant, DOMAIN, **options)
    emu.tenant.provisioning_agents.append(gcs.agent("cs1.contoso.test", (DOMAIN,)))
    p = policy()
    job = one(report(p, observed(emu, p)), "WB-CS-052", JOB)
    assert job.status == "fail"
    assert words in job.message


def test_a_missing_configuration_fails_and_the_plan_says_where_to_create_it(
    emu: GraphEmulator,
) -> None:
    emu.tenant = gcs.missing(DOMAIN)
    p = policy()
    state = observed(emu, p)
    rep = report(p, state)
    exists = one(rep, "WB-CS-050", CONFIG)
    assert exists.status == "fail"
    assert exists.message == f"{DOMAIN} has no Microsoft Entra ID to AD configuration"
    assert one(rep, "WB-CS-051").status == "pass"
    assert one(rep, "WB-CS-052", JOB).status == "fail"  # no configuration, no job
    assert one(rep, "WB-CS-055").status == "pass"  # the agent is there
    change = planned(p, state, CONFIG)
    assert change.change.actions == ("manual",)
    assert change.action_reason == "missing_object"
    assert (
        "Entra admin center → Entra ID → Entra Connect → Cloud sync → New configuration → "
        f"Microsoft Entra ID to AD sync → {DOMAIN}" in (change.instructions or "")
    )
    # the job and the scope wait for the configuration
    assert CONFIG in planned(p, state, JOB).blocked_by
    assert CONFIG in planned(p, state, SCOPE).blocked_by


def test_two_configurations_for_one_domain_fail_one_per_domain(emu: GraphEmulator) -> None:
    emu.tenant = gcs.duplicated(DOMAIN)
    p = policy()
    rep = report(p, observed(emu, p))
    dup = one(rep, "WB-CS-051", CONFIG)
    assert dup.status == "fail"
    assert f"{DOMAIN} has 2 Microsoft Entra ID to AD configurations" in dup.message
    assert "Microsoft allows one per AD domain" in dup.message
    assert len(dup.evidence["service_principals"]["entra-to-ad"]) == 2
    assert one(rep, "WB-CS-050", CONFIG).status == "pass"
    assert one(rep, "WB-CS-052", JOB).status == "pass"  # both jobs are healthy


def test_a_domain_needing_both_directions_reports_each_missing_one(emu: GraphEmulator) -> None:
    emu.tenant = gcs.healthy(DOMAIN)  # the Entra-to-AD configuration only
    p = policy({**groups(), "password_writeback": True, "exchange_hybrid": True})
    state = observed(emu, p)
    rep = report(p, state)
    exists = one(rep, "WB-CS-050", CONFIG)
    assert exists.status == "fail"
    assert exists.message == f"{DOMAIN} has no AD to Microsoft Entra ID configuration"
    assert one(rep, "WB-CS-052", JOB).status == "pass"
    ad_to_entra = one(rep, "WB-CS-052", f"tenant.cloudsync.job[{DOMAIN}/AD2AADProvisioning]")
    assert ad_to_entra.status == "fail"
    gcs.configure(emu.tenant, DOMAIN, (gcs.AD_TO_ENTRA,))  # without Exchange hybrid writeback
    rep = report(p, observed(emu, p))
    assert one(rep, "WB-CS-050", CONFIG).status == "pass"
    exchange = one(rep, "WB-CS-052", f"tenant.cloudsync.job[{DOMAIN}/{gcs.EXCHANGE_HYBRID}]")
    assert exchange.status == "fail"
    assert "has no AAD2ADExchangeHybridWriteback job" in exchange.message


@pytest.mark.parametrize(
    ("assigned", "required", "status", "words"),
    [
        (5, True, "pass", "provisions the 5 group(s) assigned to it"),
        (0, True, "fail", "has no group assigned (nothing is provisioned)"),
        (2, False, "fail", "does not require assignment"),
    ],
)
def test_selected_groups_need_assignment_and_at_least_one_group(
    emu: GraphEmulator, assigned: int, required: bool, status: str, words: str
) -> None:
    emu.tenant = gcs.selected_groups(DOMAIN, assigned, required=required)
    p = policy()
    scope = one(report(p, observed(emu, p)), "WB-CS-053", SCOPE)
    assert scope.status == status
    assert words in scope.message
    assert scope.evidence["assigned_groups"] == assigned  # the assigned user is not counted
    assert scope.evidence["appRoleAssignmentRequired"] is required


@pytest.mark.parametrize(("required", "status"), [(False, "pass"), (True, "unknown")])
def test_all_security_groups_is_judged_on_assignment_not_required(
    emu: GraphEmulator, required: bool, status: str
) -> None:
    """How Microsoft stores 'All security groups' is UNCONFIRMED (cloud-sync.md §8 item 8): a
    configuration that requires assignment contradicts the policy only probably, so unknown."""
    emu.tenant = gcs.selected_groups(DOMAIN, 0, required=required)
    p = policy(groups("all_security_groups"))
    scope = one(report(p, observed(emu, p)), "WB-CS-053", SCOPE)
    assert scope.status == status
    if status == "unknown":
        assert "Microsoft does not document how 'All security groups' is stored" in scope.message
        assert scope.verify_at is not None and "Scoping filters" in scope.verify_at


def test_the_group_scope_is_unknown_when_graph_refuses_the_assignments(
    emu: GraphEmulator,
) -> None:
    emu.tenant = gcs.healthy(DOMAIN)
    sp = emu.tenant.service_principals[0]["id"]
    emu.forbid(f"/servicePrincipals/{sp}/appRoleAssignedTo")
    p = policy()
    scope = one(report(p, observed(emu, p)), "WB-CS-053", SCOPE)
    assert scope.status == "unknown"
    assert "needs Application.Read.All" in scope.message


def _three_domains() -> Policy:
    return policy(groups(), groups(domain=CHILD), groups(domain="apac.contoso.test"))


def test_three_configurations_need_entra_id_governance(emu: GraphEmulator) -> None:
    emu.tenant = gcs.healthy(DOMAIN)
    for domain in (CHILD, "apac.contoso.test"):
        gcs.configure(emu.tenant, domain)
        emu.tenant.provisioning_agents.append(gcs.agent(f"cs.{domain}", (domain,)))
    p = _three_domains()
    licence = one(report(p, observed(emu, p)), "WB-CS-054", LICENCE)
    assert licence.status == "fail"
    assert licence.message.startswith(
        "3 provisioning-to-AD configuration(s) need Entra_Identity_Governance: AAD_PREMIUM held"
    )
    assert "no subscribed SKU contains the Entra_Identity_Governance service plan" in (
        licence.message
    )
    governance = gt.sku(
        ("cf6b0d46-4093-4546-a0ab-0b1546dcc10e", "Microsoft_Entra_ID_Governance"),
        [gt.service_plan(("e866a266-3cff-43a3-acca-0c90a7e00c8b", "Entra_Identity_Governance"))],
    )
    emu.tenant.skus.append(governance)
    licence = one(report(p, observed(emu, p)), "WB-CS-054", LICENCE)
    assert licence.status == "pass"
    assert licence.evidence["entra_to_ad_configurations"] == 3


def test_declared_domains_without_a_configuration_count_too(emu: GraphEmulator) -> None:
    """Two configurations observed plus one declared and not created yet: three."""
    emu.tenant = gcs.duplicated(DOMAIN)
    p = policy(groups(), groups(domain=CHILD))
    licence = one(report(p, observed(emu, p)), "WB-CS-054", LICENCE)
    assert licence.evidence["entra_to_ad_configurations"] == 3
    assert licence.status == "fail"


def test_up_to_two_configurations_need_p1_only(emu: GraphEmulator) -> None:
    emu.tenant = gcs.healthy(DOMAIN)
    p = policy()
    assert one(report(p, observed(emu, p)), "WB-CS-054").status == "pass"
    emu.tenant.skus = [gt.sku_e1()]
    licence = one(report(p, observed(emu, p)), "WB-CS-054")
    assert licence.status == "fail"
    assert "no subscribed SKU contains the AAD_PREMIUM service plan" in licence.message


def test_app_only_credentials_leave_the_agents_unknown_saying_why(
    emu: GraphEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu.tenant = gcs.healthy(DOMAIN)
    monkeypatch.setenv("WBPLAN_GRAPH_TOKEN", emu.add_app_only_token())
    p = policy()
    state = observed(emu, p)
    assert state.tenant is not None and state.tenant.cloud_sync is not None
    assert state.tenant.cloud_sync.agents is None
    assert len(state.tenant.cloud_sync.configurations) == 1  # read with the same credential
    rep = report(p, state)
    agent = one(rep, "WB-CS-055", AGENT)
    assert agent.status == "unknown"
    assert "OnPremisesPublishingProfiles.ReadWrite.All" in agent.message
    assert "application permissions are not supported" in agent.message
    assert agent.verify_at is not None and "Cloud sync → Agents" in agent.verify_at
    assert APP_ONLY_TOKEN not in agent.message
    assert one(rep, "WB-CS-052").status == "pass"


@pytest.mark.parametrize(
    ("agents", "status", "words"),
    [
        ([gcs.agent("cs1.contoso.test", (DOMAIN,), "inactive")], "fail", "is active"),
        ([], "fail", "no provisioning agent is registered in the tenant"),
        ([gcs.agent("cs1.fabrikam.test", ("fabrikam.test",))], "unknown", "none in an agent"),
        ([gcs.agent("cs.f", ("fabrikam.test",), "inactive")], "fail", "every registered"),
    ],
)
def test_agents_that_do_not_serve_the_domain(
    emu: GraphEmulator, agents: list[dict[str, Any]], status: str, words: str
) -> None:
    emu.tenant = gcs.healthy(DOMAIN)
    emu.tenant.provisioning_agents = agents
    p = policy()
    agent = one(report(p, observed(emu, p)), "WB-CS-055", AGENT)
    assert agent.status == status
    assert words in agent.message


def test_graph_refusing_the_configurations_leaves_every_rule_unknown(emu: GraphEmulator) -> None:
    emu.tenant = gcs.healthy(DOMAIN)
    emu.forbid("/servicePrincipals")
    p = policy()
    rep = report(p, observed(emu, p))
    for rule_id in ("WB-CS-050", "WB-CS-051", "WB-CS-052", "WB-CS-053", "WB-CS-055"):
        found = one(rep, rule_id)
        assert found.status == "unknown", rule_id
        assert "needs Application.Read.All" in found.message
    assert one(rep, "WB-CS-054").status == "pass"  # P1 is decided on the SKUs alone


def test_without_a_tenant_observation_every_rule_is_unknown() -> None:
    p = policy()
    state = ObservedState.model_validate(
        {"wbplan_version": "0", "observed_at": "2026-11-22T00:00:00Z", "source": {}}
    )
    rep = report(p, state, today=TODAY)
    for rule_id in RULES:
        assert one(rep, rule_id).status == "unknown", rule_id


def test_policies_without_cloud_sync_make_the_rules_not_applicable(emu: GraphEmulator) -> None:
    p = policy().model_copy(update={"cloud_sync": None})
    rep = report(p, observed(emu, p))
    assert set(RULES) <= set(rep.not_applicable)
    assert not any(r.path.startswith(("/servicePrincipals", "/beta/")) for r in emu.requests)


# -- the group target container ------------------------------------------------------------------
DN = gcs.domain_dn(DOMAIN)
TWO_OUS = ("OU=CloudGroups", "OU=Finance,OU=CloudGroups", "OU=Sales")
"""What the policy declares for :func:`gcs.two_ous` (its default and its two values)."""


def test_a_constant_target_container_as_declared_passes(emu: GraphEmulator) -> None:
    emu.tenant = gcs.target(DOMAIN, gcs.constant(f"ou=cloudgroups, {DN.lower()}"))
    p = policy()
    state = observed(emu, p)
    rep = report(p, state)
    target = one(rep, "WB-CS-056", TARGET)
    assert target.status == "pass", target.message
    assert target.message == f"{DOMAIN}'s group target container is ou=cloudgroups, " + (
        f"{DN.lower()}, as declared"
    )  # compared as DNs: case and spaces do not matter
    mapped = one(rep, "WB-CS-057", TARGET)
    assert mapped.status == "pass"
    assert planned(p, state, TARGET).change.actions == ("no-op",)


def test_a_switch_over_two_ous_passes_when_the_policy_declares_each(emu: GraphEmulator) -> None:
    emu.tenant = gcs.target(DOMAIN, gcs.two_ous(DOMAIN))
    p = policy(groups(ous=TWO_OUS))
    target = one(report(p, observed(emu, p)), "WB-CS-056", TARGET)
    assert target.status == "pass", target.message
    assert target.evidence["target_ous"] == [f"{ou},{DN}" for ou in TWO_OUS]


def test_a_tenant_ou_the_policy_does_not_declare_fails_naming_it(emu: GraphEmulator) -> None:
    emu.tenant = gcs.target(DOMAIN, gcs.two_ous(DOMAIN))
    p = policy(groups(ous=("OU=CloudGroups", "OU=Finance,OU=CloudGroups")))
    state = observed(emu, p)
    rep = report(p, state)
    target = one(rep, "WB-CS-056", TARGET)
    assert target.status == "fail"
    assert target.message == (
        f"{DOMAIN}'s group target container writes groups to OU=Sales,{DN}, which the policy "
        "does not declare in group_provisioning.target_ous (the gMSA's rights are not checked "
        "there)"
    )
    assert one(rep, "WB-CS-057", TARGET).status == "pass"  # it is mapped, just elsewhere
    change = planned(p, state, TARGET)
    assert change.change.actions == ("manual",)
    assert change.action_reason == "attribute_drift"
    assert change.change.after["target_ous"] == [
        f"OU=CloudGroups,{DN}",
        f"OU=Finance,OU=CloudGroups,{DN}",
    ]
    assert (
        "Entra admin center → Entra ID → Entra Connect → Cloud sync → Configurations → the "
        f"Entra-to-AD configuration of {DOMAIN} → Attribute mapping → parentDistinguishedName"
        in (change.instructions or "")
    )


def test_a_declared_ou_the_tenant_never_writes_to_fails(emu: GraphEmulator) -> None:
    emu.tenant = gcs.healthy(DOMAIN)  # the constant OU=CloudGroups
    p = policy(groups(ous=("OU=CloudGroups", "OU=Sales")))
    target = one(report(p, observed(emu, p)), "WB-CS-056", TARGET)
    assert target.status == "fail"
    assert target.message == (
        f"{DOMAIN}'s group target container never writes to the declared OU=Sales,{DN}"
    )


def test_a_missing_mapping_fails_both_rules_and_the_plan_says_where_to_set_it(
    emu: GraphEmulator,
) -> None:
    emu.tenant = gcs.target(DOMAIN, None)
    p = policy()
    state = observed(emu, p)
    rep = report(p, state)
    words = "maps no target container (parentDistinguishedName): the job cannot create groups"
    for rule_id in ("WB-CS-056", "WB-CS-057"):
        result = one(rep, rule_id, TARGET)
        assert result.status == "fail", rule_id
        assert words in result.message
    change = planned(p, state, TARGET)
    assert change.change.actions == ("manual",)
    assert change.action_reason == "missing_object"
    assert "Attribute mapping → parentDistinguishedName" in (change.instructions or "")


def test_a_computed_target_container_is_unknown_not_a_pass(emu: GraphEmulator) -> None:
    expression = f'IIF(IsPresent([extension_GroupDN]), [extension_GroupDN], "OU=CloudGroups,{DN}")'
    emu.tenant = gcs.target(DOMAIN, gcs.function(expression, "IIF"))
    p = policy()
    rep = report(p, observed(emu, p))
    target = one(rep, "WB-CS-056", TARGET)
    assert target.status == "unknown"
    assert "values computed from the attribute [extension_GroupDN]" in target.message
    assert target.verify_at is not None and "parentDistinguishedName" in target.verify_at
    assert one(rep, "WB-CS-057", TARGET).status == "pass"


def test_a_computed_target_container_still_fails_for_a_literal_outside_the_policy(
    emu: GraphEmulator,
) -> None:
    expression = f'IIF(IsPresent([extension_GroupDN]), [extension_GroupDN], "CN=Users,{DN}")'
    emu.tenant = gcs.target(DOMAIN, gcs.function(expression, "IIF"))
    p = policy()
    target = one(report(p, observed(emu, p)), "WB-CS-056", TARGET)
    assert target.status == "fail"
    assert f"writes groups to CN=Users,{DN}" in target.message


def test_an_unparsable_expression_is_unknown(emu: GraphEmulator) -> None:
    emu.tenant = gcs.target(
        DOMAIN, gcs.function(f'Switch([displayName], "OU=CloudGroups,{DN}"', "Switch")
    )
    p = policy()
    target = one(report(p, observed(emu, p)), "WB-CS-056", TARGET)
    assert target.status == "unknown"
    assert "an expression wbplan cannot parse" in target.message


def test_the_target_container_is_unknown_when_graph_refuses_the_schema(emu: GraphEmulator) -> None:
    emu.tenant = gcs.healthy(DOMAIN)
    sp = emu.tenant.service_principals[0]["id"]
    job_id = emu.tenant.sync_jobs[sp][0]["id"]
    emu.forbid(f"/servicePrincipals/{sp}/synchronization/jobs/{job_id}/schema")
    p = policy()
    state = observed(emu, p)
    rep = report(p, state)
    for rule_id in ("WB-CS-056", "WB-CS-057"):
        result = one(rep, rule_id, TARGET)
        assert result.status == "unknown", rule_id
        assert "needs Synchronization.Read.All" in result.message
        assert result.verify_at is not None and "parentDistinguishedName" in result.verify_at
    assert planned(p, state, TARGET).change.actions == ("read",)
    assert one(rep, "WB-CS-053", SCOPE).status == "pass"  # the rest was read


def test_the_target_container_waits_for_a_missing_configuration(emu: GraphEmulator) -> None:
    emu.tenant = gcs.missing(DOMAIN)
    p = policy()
    state = observed(emu, p)
    assert one(report(p, state), "WB-CS-056", TARGET).status == "fail"
    assert CONFIG in planned(p, state, TARGET).blocked_by
