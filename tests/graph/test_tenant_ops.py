"""Tenant changes against the emulator: the exact request bodies, state visible in the next read,
and the before/after the journal records."""

from __future__ import annotations

import pytest

from planner.errors import UsageError
from planner.graphapi.client import GraphClient, GraphForbiddenError
from planner.graphapi.tenant_ops import set_new_group_writeback_default, set_sync_feature
from planner.observe.graph import observe_tenant
from tests.graph.conftest import ALL_FEATURES, make_policy
from tests.support import graph_tenants as gt
from tests.support.graph_emulator import GraphEmulator

SYNC_PATH = f"/directory/onPremisesSynchronization/{gt.SYNC_ID}"


def test_set_sync_feature_patches_one_flag_and_the_next_read_sees_it(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    change = set_sync_feature(graph_client, gt.SYNC_ID, "deviceWritebackEnabled", True)

    assert change.address == "tenant.feature[deviceWritebackEnabled]"
    assert (change.before, change.after, change.verified) == (False, True, True)
    assert change.before_image is not None
    assert change.before_image["features"]["deviceWritebackEnabled"] is False
    [write] = graph_emulator.writes()
    assert (write.method, write.path) == ("PATCH", SYNC_PATH)
    assert write.body == {"features": {"deviceWritebackEnabled": True}}
    state = observe_tenant(graph_client, make_policy())
    assert state.sync is not None
    assert state.sync.features["deviceWritebackEnabled"] is True
    assert state.sync.features["unifiedGroupWritebackEnabled"] is False  # others untouched


def test_set_sync_feature_can_turn_v2_group_writeback_off(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    graph_emulator.tenant = gt.v2_group_writeback_still_enabled()
    change = set_sync_feature(graph_client, gt.SYNC_ID, "groupWriteBackEnabled", False)
    assert (change.before, change.after, change.verified) == (True, False, True)
    assert graph_emulator.tenant.sync is not None
    assert graph_emulator.tenant.sync["features"]["unifiedGroupWritebackEnabled"] is True


def test_password_writeback_flag_is_refused_before_any_request(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    with pytest.raises(UsageError) as info:
        set_sync_feature(graph_client, gt.SYNC_ID, "passwordWritebackEnabled", True)
    assert "documents it as unused" in info.value.message
    assert "Password reset → On-premises integration" in (info.value.hint or "")
    assert graph_emulator.requests == []


def test_patch_without_write_permission_names_readwrite(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    graph_emulator.forbid("/directory/onPremisesSynchronization", method="PATCH")
    with pytest.raises(GraphForbiddenError) as info:
        set_sync_feature(graph_client, gt.SYNC_ID, "deviceWritebackEnabled", True)
    assert info.value.permission == "OnPremDirectorySynchronization.ReadWrite.All"
    assert f"PATCH {SYNC_PATH}" in info.value.message


def test_new_group_default_patches_the_whole_values_collection(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    graph_emulator.tenant = gt.group_unified_present("true")
    before_values = list(graph_emulator.tenant.group_settings[0]["values"])

    change = set_new_group_writeback_default(graph_client, False)

    address = "tenant.setting[Group.Unified/NewUnifiedGroupWritebackDefault]"
    assert change.address == address
    assert (change.before, change.after, change.verified) == ("true", "false", True)
    assert change.created_id is None
    assert change.before_image is not None
    assert change.before_image["values"] == before_values
    [write] = graph_emulator.writes()
    assert (write.method, write.path) == (
        "PATCH",
        "/groupSettings/f0b2d6f5-097d-4177-91af-a24e530b53cc",
    )
    sent = {v["name"]: v["value"] for v in write.body["values"]}
    assert sent == {
        **{v["name"]: v["value"] for v in before_values},
        "NewUnifiedGroupWritebackDefault": "false",
    }
    state = observe_tenant(graph_client, make_policy(group=ALL_FEATURES["group"]))
    assert state.group_unified is not None
    assert state.group_unified.values["NewUnifiedGroupWritebackDefault"] == "false"
    assert state.group_unified.values["AllowToAddGuests"] == "true"  # not reset by the PATCH


def test_new_group_default_adds_the_value_when_the_setting_lacks_it(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    graph_emulator.tenant = gt.group_unified_present(None)
    change = set_new_group_writeback_default(graph_client, False)
    assert (change.before, change.after) == (None, "false")
    [write] = graph_emulator.writes()
    assert len(write.body["values"]) == 15


def test_new_group_default_creates_the_setting_from_its_template(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    assert graph_emulator.tenant.group_settings == []
    change = set_new_group_writeback_default(graph_client, False)

    assert (change.before, change.after, change.verified) == (None, "false", True)
    assert change.before_image is None
    assert change.created_id == graph_emulator.tenant.group_settings[0]["id"]
    paths = [(r.method, r.path) for r in graph_emulator.requests]
    assert ("GET", f"/groupSettingTemplates/{gt.GROUP_UNIFIED_TEMPLATE_ID}") in paths
    [write] = graph_emulator.writes()
    assert (write.method, write.path) == ("POST", "/groupSettings")
    assert write.body["templateId"] == gt.GROUP_UNIFIED_TEMPLATE_ID
    sent = {v["name"]: v["value"] for v in write.body["values"]}
    template = {v["name"]: v["defaultValue"] for v in gt.group_unified_template()["values"]}
    assert sent == {**template, "NewUnifiedGroupWritebackDefault": "false"}
    state = observe_tenant(graph_client, make_policy(group=ALL_FEATURES["group"]))
    assert state.group_unified is not None
    assert state.group_unified.present
    assert state.group_unified.values["NewUnifiedGroupWritebackDefault"] == "false"


def test_new_group_default_is_idempotent(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    set_new_group_writeback_default(graph_client, False)
    second = set_new_group_writeback_default(graph_client, False)
    assert (second.before, second.after) == ("false", "false")
    assert len(graph_emulator.tenant.group_settings) == 1
    assert [w.method for w in graph_emulator.writes()] == ["POST", "PATCH"]


def test_creating_the_setting_without_write_permission_names_it(
    graph_emulator: GraphEmulator, graph_client: GraphClient
) -> None:
    graph_emulator.forbid("/groupSettings", method="POST")
    with pytest.raises(GraphForbiddenError) as info:
        set_new_group_writeback_default(graph_client, False)
    assert info.value.permission == "GroupSettings.ReadWrite.All or Directory.ReadWrite.All"
