"""Licence decisions: each issue #4 scenario read from the emulator, then the edge cases of the
rule (domain.md §2.1) on hand-built SKUs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from planner.graphapi.client import GraphClient
from planner.model.state import PrepaidUnits, ServicePlan, SubscribedSku
from planner.observe.graph import observe_tenant
from planner.observe.licences import AAD_PREMIUM, AAD_PREMIUM_P2, licence_status
from tests.graph.conftest import make_policy
from tests.support import graph_tenants as gt
from tests.support.graph_emulator import GraphEmulator


def _observed_skus(
    emu: GraphEmulator, client: GraphClient, scenario: Callable[[], gt.EmulatedTenant]
) -> tuple[SubscribedSku, ...]:
    emu.tenant = scenario()
    skus = observe_tenant(client, make_policy()).subscribed_skus
    assert skus is not None
    return skus


def test_no_premium_licence(graph_emulator: GraphEmulator, graph_client: GraphClient) -> None:
    verdict = licence_status(
        _observed_skus(graph_emulator, graph_client, gt.no_premium), "AAD_PREMIUM"
    )
    assert not verdict.satisfied
    assert verdict.counted == verdict.rejected == ()
    assert verdict.summary == "no subscribed SKU contains the AAD_PREMIUM service plan"


def test_p1_in_a_suspended_sku_does_not_count(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    skus = _observed_skus(graph_emulator, graph_client, gt.p1_suspended)
    verdict = licence_status(skus, "AAD_PREMIUM")
    assert not verdict.satisfied
    [rejected] = verdict.rejected
    assert rejected.sku_part_number == "AAD_PREMIUM"
    assert "capabilityStatus is Suspended (needs Enabled or Warning)" in rejected.reasons
    assert "no enabled or warning prepaid units (25 suspended)" in rejected.reasons
    assert "AAD_PREMIUM is listed but not usable" in verdict.summary


def test_p1(graph_emulator: GraphEmulator, graph_client: GraphClient) -> None:
    skus = _observed_skus(graph_emulator, graph_client, gt.p1)
    verdict = licence_status(skus, "AAD_PREMIUM")
    assert verdict.satisfied
    assert [a.sku_part_number for a in verdict.counted] == ["AAD_PREMIUM"]
    assert (verdict.consumed_units, verdict.available_units) == (10, 25)
    assert verdict.summary == "AAD_PREMIUM held via AAD_PREMIUM: 10 of 25 units consumed"
    # P1 never satisfies a P2 requirement.
    assert not licence_status(skus, "AAD_PREMIUM_P2").satisfied


def test_p2_only_satisfies_p1_through_the_p2_service_plan(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    skus = _observed_skus(graph_emulator, graph_client, gt.p2_only)
    for required in ("AAD_PREMIUM", "AAD_PREMIUM_P2"):
        verdict = licence_status(skus, required)  # type: ignore[arg-type]
        assert verdict.satisfied, required
        [counted] = verdict.counted
        # The SKU's AAD_PREMIUM plan is Disabled; the P2 plan is what counts.
        assert counted.service_plan == "AAD_PREMIUM_P2"
        assert (verdict.consumed_units, verdict.available_units) == (4, 10)


def _sku(
    plans: list[tuple[str, str]],
    *,
    capability: str = "Enabled",
    enabled: int = 5,
    warning: int = 0,
    consumed: int = 1,
    part: str = "SPE_E5",
) -> SubscribedSku:
    return SubscribedSku(
        sku_id="06ebc4ee-1bb5-47dd-8120-11324bc54e06",
        sku_part_number=part,
        capability_status=capability,
        consumed_units=consumed,
        prepaid_units=PrepaidUnits(enabled=enabled, warning=warning),
        service_plans=tuple(
            ServicePlan(service_plan_id=pid, service_plan_name=name, provisioning_status=status)
            for pid, name, status in ((p[0], "X", p[1]) for p in plans)
        ),
    )


def test_a_bundle_counts_by_its_service_plan_not_its_sku_id() -> None:
    verdict = licence_status((_sku([(AAD_PREMIUM, "Success")]),), "AAD_PREMIUM")
    assert verdict.satisfied
    assert verdict.counted[0].sku_part_number == "SPE_E5"


def test_a_sku_named_like_p1_without_the_plan_does_not_count() -> None:
    fake = _sku([("00000000-0000-0000-0000-000000000001", "Success")], part="AAD_PREMIUM")
    assert not licence_status((fake,), "AAD_PREMIUM").satisfied


@pytest.mark.parametrize("status", ["PendingActivation", "Disabled", "Error", "PendingInput"])
def test_a_plan_not_provisioned_does_not_count(status: str) -> None:
    verdict = licence_status((_sku([(AAD_PREMIUM, status)]),), "AAD_PREMIUM")
    assert not verdict.satisfied
    assert verdict.rejected[0].reasons == (
        f"service plan AAD_PREMIUM provisioningStatus is {status} (needs Success)",
    )


@pytest.mark.parametrize("capability", ["Suspended", "Deleted", "LockedOut"])
def test_an_unusable_sku_does_not_count(capability: str) -> None:
    verdict = licence_status(
        (_sku([(AAD_PREMIUM, "Success")], capability=capability),), "AAD_PREMIUM"
    )
    assert not verdict.satisfied
    assert (
        f"capabilityStatus is {capability} (needs Enabled or Warning)"
        in verdict.rejected[0].reasons
    )


def test_an_enabled_sku_without_units_does_not_count() -> None:
    verdict = licence_status((_sku([(AAD_PREMIUM, "Success")], enabled=0),), "AAD_PREMIUM")
    assert not verdict.satisfied
    assert verdict.rejected[0].reasons == ("no enabled or warning prepaid units",)


def test_grace_period_counts_with_a_note_and_overuse_is_reported() -> None:
    sku = _sku(
        [(AAD_PREMIUM_P2, "Success")], capability="Warning", enabled=0, warning=3, consumed=5
    )
    verdict = licence_status((sku,), "AAD_PREMIUM")
    assert verdict.satisfied
    assert verdict.available_units == 3
    assert verdict.consumed_units == 5
    notes = verdict.counted[0].reasons
    assert "subscription expired and in its grace period (capabilityStatus Warning)" in notes
    assert "5 units consumed but only 3 available" in notes
    assert "grace period" in verdict.summary


def test_units_are_summed_over_every_counting_sku_and_rejects_are_listed() -> None:
    skus = (
        _sku([(AAD_PREMIUM, "Success")], enabled=10, consumed=8, part="AAD_PREMIUM"),
        _sku([(AAD_PREMIUM, "Success"), (AAD_PREMIUM_P2, "Success")], enabled=5, consumed=5),
        _sku([(AAD_PREMIUM, "Success")], capability="Suspended", part="EMS"),
    )
    verdict = licence_status(skus, "AAD_PREMIUM")
    assert (verdict.available_units, verdict.consumed_units) == (15, 13)
    assert [a.sku_part_number for a in verdict.rejected] == ["EMS"]
