"""No test secret (bearer token, client secret, federated assertion, issued token) appears in any
output the Graph code produces: snapshots of every scenario, exception messages and hints of
every failure kind, ``wbplan refresh`` output and its snapshot file. Logs of every Graph test are
checked by the autouse fixture in ``conftest.py``; this module adds everything else."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.cli import cli
from planner.errors import WbplanError
from planner.graphapi.auth import make_token_provider
from planner.graphapi.client import GraphClient, GraphOptions
from planner.graphapi.tenant_ops import set_new_group_writeback_default, set_sync_feature
from planner.model.state import ObservedState, Source
from planner.observe.graph import observe_tenant
from planner.observe.snapshot import dump_state, load_state, parse_state
from tests.graph.conftest import ALL_FEATURES, assert_no_secrets, make_policy
from tests.support import graph_tenants as gt
from tests.support.graph_emulator import (
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    TEST_TOKEN,
    GraphEmulator,
)
from tests.support.graph_tls import make_tls_files

# observe_live (behind `wbplan refresh`) imports the AD observer, which another issue delivers.
needs_refresh = pytest.mark.skipif(
    importlib.util.find_spec("planner.observe.ad") is None,
    reason="wbplan refresh needs planner.observe.ad, not in this tree yet",
)

SCENARIOS: dict[str, Callable[[], gt.EmulatedTenant]] = {
    "no-premium": gt.no_premium,
    "p1-suspended": gt.p1_suspended,
    "p1": gt.p1,
    "p2-only": gt.p2_only,
    "features-on": gt.features_on,
    "v2-still-enabled": gt.v2_group_writeback_still_enabled,
    "group-unified-present": gt.group_unified_present,
    "devices": gt.with_devices,
}


def _snapshot(client: GraphClient, url: str) -> str:
    tenant = observe_tenant(client, make_policy(**ALL_FEATURES))
    state = ObservedState(
        wbplan_version="test",
        observed_at=dt.datetime.now(dt.UTC).isoformat(),
        source=Source(graph_url=url),
        tenant=tenant,
    )
    return dump_state(state)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_snapshots_of_every_scenario_hold_no_secret(
    graph_emulator: GraphEmulator, graph_client: GraphClient, name: str
) -> None:
    graph_emulator.tenant = SCENARIOS[name]()
    graph_emulator.page_size = 10
    text = _snapshot(graph_client, graph_emulator.base_url)
    # A real snapshot: it validates against schemas/state.schema.json and reads back.
    assert parse_state(json.loads(text), name).tenant is not None
    assert_no_secrets(text, f"the {name} snapshot")


def test_snapshot_read_with_a_client_secret_holds_no_secret(graph_emulator: GraphEmulator) -> None:
    graph_emulator.client_secrets[TEST_CLIENT_ID] = TEST_CLIENT_SECRET
    options = GraphOptions(graph_url=graph_emulator.base_url, ca_file=graph_emulator.tls.ca_file)
    env = {
        "AZURE_TENANT_ID": gt.TENANT_ID,
        "AZURE_CLIENT_ID": TEST_CLIENT_ID,
        "AZURE_CLIENT_SECRET": TEST_CLIENT_SECRET,
        "AZURE_AUTHORITY_HOST": graph_emulator.origin,
    }
    with GraphClient(options, make_token_provider(options, env=env)) as client:
        text = _snapshot(client, graph_emulator.base_url)
        changes = [set_new_group_writeback_default(client, False)]
        # A client secret is an application credential: Graph refuses it on the delegated-only
        # onPremisesSynchronization endpoint, and the refusal holds no secret either.
        with pytest.raises(WbplanError) as refused:
            set_sync_feature(client, gt.SYNC_ID, "deviceWritebackEnabled", True)
    assert "Global Administrator" in refused.value.message
    assert_no_secrets(text, "the snapshot")
    assert_no_secrets(repr(changes), "the change results")
    assert_no_secrets(str(refused.value), "the refusal")


def _failure(emu: GraphEmulator, kind: str, tmp_path: Path) -> WbplanError:
    options = GraphOptions(graph_url=emu.base_url, ca_file=emu.tls.ca_file, max_retries=1)
    env = {"WBPLAN_GRAPH_TOKEN": TEST_TOKEN}
    if kind == "401":
        emu.token = "something-else"
    elif kind == "403":
        emu.forbid("/organization")
    elif kind == "429":
        emu.throttle("/organization", times=None)
    elif kind == "500":
        emu.fail("/organization")
    elif kind == "tls":
        options = GraphOptions(graph_url=emu.base_url, ca_file=make_tls_files(tmp_path).ca_file)
    elif kind == "secret-rejected":  # the emulator knows no secret for this client
        env = {
            "AZURE_TENANT_ID": gt.TENANT_ID,
            "AZURE_CLIENT_ID": TEST_CLIENT_ID,
            "AZURE_CLIENT_SECRET": TEST_CLIENT_SECRET,
            "AZURE_AUTHORITY_HOST": emu.origin,
        }
    client = GraphClient(options, make_token_provider(options, env=env), sleep=lambda _: None)
    with client, pytest.raises(WbplanError) as info:
        client.get("/organization")
    return info.value


@pytest.mark.parametrize("kind", ["401", "403", "429", "500", "tls", "secret-rejected"])
def test_error_messages_and_hints_hold_no_secret(
    graph_emulator: GraphEmulator, kind: str, tmp_path: Path
) -> None:
    error = _failure(graph_emulator, kind, tmp_path)
    assert error.message
    assert_no_secrets(str(error), f"the {kind} error")
    assert_no_secrets(repr(error), f"the {kind} error repr")


@needs_refresh
def test_wbplan_refresh_output_and_snapshot_hold_no_secret(
    graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    graph_emulator.tenant = gt.with_devices(per_type=2)
    out = tmp_path / "tenant.json"
    result = CliRunner().invoke(
        cli,
        [
            "refresh",
            "--policy",
            "policies/example.yaml",
            "--graph-url",
            graph_emulator.base_url,
            "--graph-ca-file",
            str(graph_emulator.tls.ca_file),
            "--out",
            str(out),
        ],
        env={"WBPLAN_GRAPH_TOKEN": TEST_TOKEN},
    )
    assert result.exit_code == 0, result.output
    assert out.is_file()
    state = load_state(out)  # also validates the snapshot against schemas/state.schema.json
    assert state.tenant is not None
    assert state.tenant.devices is not None
    assert state.tenant.devices.counts_by_trust_type == {
        "AzureAd": 2,
        "ServerAd": 2,
        "Workplace": 2,
    }
    assert_no_secrets(result.output, "wbplan refresh output")
    assert_no_secrets(out.read_text(), "the refresh snapshot file")


@needs_refresh
def test_wbplan_refresh_failure_output_holds_no_secret(
    graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    graph_emulator.token = "only-this-one-is-valid"
    result = CliRunner().invoke(
        cli,
        [
            "refresh",
            "--policy",
            "policies/example.yaml",
            "--graph-url",
            graph_emulator.base_url,
            "--graph-ca-file",
            str(graph_emulator.tls.ca_file),
            "--out",
            str(tmp_path / "x.json"),
        ],
        env={"WBPLAN_GRAPH_TOKEN": TEST_TOKEN},
    )
    assert result.exit_code == 1
    assert "rejected the credential" in result.output
    assert_no_secrets(result.output, "wbplan refresh error output")
