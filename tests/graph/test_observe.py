"""observe_tenant against the emulator: every read, what is read when, and partial reads."""

from __future__ import annotations

import logging

import pytest

from planner.errors import GraphAuthError, GraphError
from planner.graphapi.client import GraphClient
from planner.observe.graph import DEVICE_SELECT, observe_tenant, unverifiable_observations
from tests.graph.conftest import ALL_FEATURES, make_policy
from tests.support import graph_tenants as gt
from tests.support.graph_emulator import GraphEmulator


def test_reads_organization_skus_sync_and_domains(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    graph_emulator.tenant = gt.p1()
    state = observe_tenant(graph_client, make_policy())

    assert state.tenant_id == gt.TENANT_ID
    assert state.organization is not None
    assert state.organization.display_name == "Contoso"
    assert state.organization.on_premises_sync_enabled is True
    assert (
        state.organization.on_premises_last_sync
        == graph_emulator.tenant.organization["onPremisesLastSyncDateTime"]
    )
    assert state.subscribed_skus is not None
    assert [s.sku_part_number for s in state.subscribed_skus] == ["STANDARDPACK", "AAD_PREMIUM"]
    p1 = state.subscribed_skus[1]
    assert p1.capability_status == "Enabled"
    assert (p1.prepaid_units.enabled, p1.consumed_units) == (25, 10)
    assert p1.service_plans[0].service_plan_id == gt.AAD_PREMIUM[0]
    assert p1.service_plans[0].provisioning_status == "Success"
    assert state.domains is not None
    verified = {d.id for d in state.domains if d.is_verified}
    assert verified == {"contoso.onmicrosoft.com", "contoso.com"}
    assert [d.id for d in state.domains if d.is_initial] == ["contoso.onmicrosoft.com"]


def test_keeps_every_sync_feature_flag(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    graph_emulator.tenant = gt.features_on()
    state = observe_tenant(graph_client, make_policy())

    assert state.sync is not None
    assert state.sync.id == gt.SYNC_ID
    assert state.sync.features == {
        **gt.FEATURES_OFF,
        "deviceWritebackEnabled": True,
        "unifiedGroupWritebackEnabled": True,
    }


def test_v2_group_writeback_still_enabled_is_observed(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    graph_emulator.tenant = gt.v2_group_writeback_still_enabled()
    state = observe_tenant(graph_client, make_policy(**ALL_FEATURES))
    assert state.sync is not None
    assert state.sync.features["groupWriteBackEnabled"] is True
    assert state.sync.features["userWritebackEnabled"] is False


def test_cloud_only_tenant_has_no_sync_object_and_says_so(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    graph_emulator.tenant = gt.tenant(synced=False)
    state = observe_tenant(graph_client, make_policy())
    assert state.sync is None
    assert state.organization is not None
    assert state.organization.on_premises_sync_enabled is None  # never synced: Graph says null
    [entry] = [u for u in state.unread if u.what == "tenant.sync"]
    assert "never configured" in entry.reason


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        (gt.tenant, {"present": False, "values": {}}),
        (
            lambda: gt.group_unified_present("false"),
            {"present": True, "NewUnifiedGroupWritebackDefault": "false"},
        ),
        (
            lambda: gt.group_unified_present(None),
            {"present": True, "NewUnifiedGroupWritebackDefault": None},
        ),
    ],
    ids=["absent", "present-false", "present-without-value"],
)
def test_group_unified_setting(
    graph_emulator: GraphEmulator, graph_client: GraphClient, scenario, expected
) -> None:
    graph_emulator.tenant = scenario()
    state = observe_tenant(graph_client, make_policy(group=ALL_FEATURES["group"]))
    setting = state.group_unified
    assert setting is not None
    assert setting.present is expected["present"]
    if setting.present:
        assert setting.id == "f0b2d6f5-097d-4177-91af-a24e530b53cc"
        assert (
            setting.values.get("NewUnifiedGroupWritebackDefault")
            == expected["NewUnifiedGroupWritebackDefault"]
        )
        assert setting.values["AllowToAddGuests"] == "true"  # other values kept as read
    else:
        assert setting.values == expected["values"]


def test_devices_paged_with_minimal_select_and_counted_by_trust_type(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    graph_emulator.tenant = gt.with_devices(per_type=9)  # 27 devices
    graph_emulator.page_size = 10
    state = observe_tenant(graph_client, make_policy(device={"enabled": True}))

    assert state.devices is not None
    assert state.devices.counts_by_trust_type == {"AzureAd": 9, "ServerAd": 9, "Workplace": 9}
    assert len(state.devices.items) == 27
    assert len({d.device_id for d in state.devices.items}) == 27
    assert sum(1 for d in state.devices.items if d.account_enabled is False) == 4
    device_calls = graph_emulator.graph_requests("/devices")
    assert len(device_calls) == 3  # 10 + 10 + 7
    assert all(r.query["$select"] == DEVICE_SELECT for r in device_calls)


def test_sections_read_only_when_the_policy_declares_the_feature(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    graph_emulator.tenant = gt.with_devices(per_type=1)
    state = observe_tenant(graph_client, make_policy(password={"enabled": True}))

    assert state.group_unified is None
    assert state.devices is None
    paths = {r.path for r in graph_emulator.requests}
    assert paths == {
        "/organization",
        "/subscribedSkus",
        "/directory/onPremisesSynchronization",
        "/domains",
    }
    assert graph_client.requests == 4
    # Not read because not asked for: these are not "unread" (nothing to report).
    assert not [
        u for u in state.unread if u.what in ("tenant.devices", "tenant.setting[Group.Unified]")
    ]


def test_403_on_one_section_records_unread_and_reads_the_rest(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    graph_emulator.tenant = gt.with_devices(per_type=1)
    graph_emulator.forbid("/subscribedSkus")
    graph_emulator.forbid("/directory/onPremisesSynchronization")
    graph_emulator.forbid("/devices")
    state = observe_tenant(graph_client, make_policy(**ALL_FEATURES))

    assert state.subscribed_skus is None
    assert state.sync is None
    assert state.devices is None
    assert state.organization is not None
    assert state.domains is not None
    assert state.group_unified is not None
    reasons = {u.what: u for u in state.unread}
    assert "Organization.Read.All" in reasons["tenant.licences"].reason
    assert "OnPremDirectorySynchronization.Read.All" in reasons["tenant.sync"].reason
    assert "Device.Read.All" in reasons["tenant.devices"].reason
    assert "Licenses" in (reasons["tenant.licences"].verify_at or "")
    assert "Devices" in (reasons["tenant.devices"].verify_at or "")


def test_403_on_organization_falls_back_to_the_sync_object_for_the_tenant_id(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    graph_emulator.forbid("/organization")
    graph_emulator.forbid("/groupSettings")
    graph_emulator.forbid("/domains")
    state = observe_tenant(graph_client, make_policy(group=ALL_FEATURES["group"]))
    assert state.organization is None
    assert state.tenant_id == gt.SYNC_ID
    whats = {u.what: u.reason for u in state.unread}
    assert "Organization.Read.All" in whats["tenant.organization"]
    assert "GroupSettings.Read.All or Directory.Read.All" in whats["tenant.setting[Group.Unified]"]
    assert "Domain.Read.All" in whats["tenant.domains"]


def test_401_stops_the_whole_read(graph_emulator: GraphEmulator, graph_client: GraphClient) -> None:
    graph_emulator.token = "a-different-token"
    with pytest.raises(GraphAuthError) as info:
        observe_tenant(graph_client, make_policy())
    assert "rejected the credential for GET /organization" in info.value.message
    assert graph_client.requests == 1


def test_server_error_stops_the_whole_read(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    graph_emulator.fail("/subscribedSkus", status=500)
    with pytest.raises(GraphError) as info:
        observe_tenant(graph_client, make_policy())
    assert "GET /subscribedSkus with 500 generalException" in info.value.message


def test_tenant_mismatch_is_logged(
    graph_emulator: GraphEmulator, graph_client: GraphClient, caplog: pytest.LogCaptureFixture
) -> None:
    other = "99999999-9999-4999-8999-999999999999"
    state = observe_tenant(graph_client, make_policy(tenant_id=other))
    assert state.tenant_id == gt.TENANT_ID  # what Graph says, not what the policy hoped
    assert any(r.levelno == logging.WARNING and other in r.getMessage() for r in caplog.records)


def test_unknown_observations_say_where_to_verify(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    graph_emulator.tenant = gt.tenant(features={"passwordWritebackEnabled": True})
    state = observe_tenant(graph_client, make_policy(**ALL_FEATURES))
    unknown = {u.what: u for u in state.unread}

    sspr = unknown["tenant.sspr[on-premises-writeback]"]
    assert "Protection → Password reset → On-premises integration" in (sspr.verify_at or "")
    assert "passwordWritebackEnabled is documented as unused" in sspr.reason
    for option in ("password-writeback", "device-writeback", "group-writeback", "exchange-hybrid"):
        entry = unknown[f"connect.option[{option}]"]
        assert "Graph does not expose" in entry.reason
        assert entry.verify_at
    assert "Get-ADSyncAADCompanyFeature" in (
        unknown["connect.option[group-writeback]"].verify_at or ""
    )
    # The unused flag is kept as read, but nothing turns it into a known SSPR state.
    assert state.sync is not None
    assert state.sync.features["passwordWritebackEnabled"] is True


def test_unknown_observations_follow_the_declared_features() -> None:
    assert unverifiable_observations(make_policy()) == ()
    only_device = unverifiable_observations(make_policy(device={"enabled": False}))
    assert [u.what for u in only_device] == ["connect.option[device-writeback]"]


def test_null_sync_status_is_unknown_and_false_is_a_failure(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    """WB-TEN-001 on Graph's three answers: null (never synced, or a token that may not see the
    property) is unknown, false (synced once, no longer) fails, true with a recent sync passes."""
    import datetime as dt

    from planner.checking import evaluate
    from planner.model.state import ObservedState

    policy = make_policy()
    verdicts = {}
    for name, tenant in (
        ("null", gt.tenant(synced=False)),
        ("false", gt.tenant(sync_stopped=True)),
        ("true", gt.tenant()),
    ):
        graph_emulator.tenant = tenant
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        state = ObservedState(
            wbplan_version="t", observed_at=now, tenant=observe_tenant(graph_client, policy)
        )
        findings, _ = evaluate(policy, state, dt.date.today())
        [f] = [f for f in findings if f.rule_id == "WB-TEN-001"]
        verdicts[name] = f.status
    assert verdicts == {"null": "unknown", "false": "fail", "true": "pass"}
