"""The hybrid-join SCP's azureADName is chosen as Microsoft's Initialize-ADSyncDomainJoinedComputerSync
chooses it (issue 13 §1): the first verified federated domain of the tenant, else its initial
domain — read through the real Graph reading path from the emulator (``/domains`` with
``authenticationType``); the policy's ``azure_ad_name`` still overrides."""

from __future__ import annotations

from typing import Any

from planner.graphapi.client import GraphClient
from planner.model.state import ObservedState
from planner.observe.graph import observe_tenant
from planner.requirements import expand
from tests.graph.conftest import make_policy
from tests.support import graph_tenants as gt
from tests.support.graph_emulator import GraphEmulator

SCP = "ad.object[CN=62a0ff2e-97b9-4513-943f-0d221bd30080,CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=com]"


def _keywords(client: GraphClient, **hybrid_join: Any) -> list[str]:
    policy = make_policy(hybrid_join={"enabled": True, **hybrid_join})
    state = ObservedState(
        wbplan_version="test",
        observed_at="2026-12-01T00:00:00Z",
        tenant=observe_tenant(client, policy),
    )
    scp = next(r for r in expand(policy, state) if r.address == SCP)
    return list(scp.desired["keywords"])


def _domain(
    name: str, auth: str, *, verified: bool = True, initial: bool = False
) -> dict[str, Any]:
    return {
        "id": name,
        "authenticationType": auth,
        "isVerified": verified,
        "isInitial": initial,
        "isDefault": False,
        "isAdminManaged": True,
        "isRoot": True,
    }


def test_a_verified_federated_domain_is_the_azure_ad_name(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    graph_emulator.tenant = gt.p1()
    graph_emulator.tenant.domains = [
        _domain("contoso.onmicrosoft.com", "Managed", initial=True),
        _domain("unverified.example", "Federated", verified=False),
        _domain("fed.contoso.com", "Federated"),
        _domain("fed2.contoso.com", "Federated"),
    ]
    assert "azureADName:fed.contoso.com" in _keywords(graph_client)


def test_without_a_federated_domain_the_initial_domain(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    graph_emulator.tenant = gt.p1()
    graph_emulator.tenant.domains = [
        _domain("contoso.com", "Managed"),
        _domain("tenant0.onmicrosoft.com", "Managed", initial=True),
    ]
    assert "azureADName:tenant0.onmicrosoft.com" in _keywords(graph_client)


def test_the_policy_override_wins(graph_emulator: GraphEmulator, graph_client: GraphClient) -> None:
    graph_emulator.tenant = gt.p1()
    graph_emulator.tenant.domains = [_domain("fed.contoso.com", "Federated")]
    assert "azureADName:chosen.contoso.com" in _keywords(
        graph_client, azure_ad_name="chosen.contoso.com"
    )
