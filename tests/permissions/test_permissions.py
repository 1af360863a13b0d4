"""``wbplan permissions``: the golden output per example policy, the default policy lookup, and
that the Graph reads it lists are exactly the requests the tenant observer makes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.cli import cli
from planner.graphapi.auth import make_token_provider
from planner.graphapi.client import GraphClient, GraphOptions
from planner.observe.graph import observe_tenant
from planner.permissions import READ, permissions
from planner.policy.loader import load_policies
from tests.permissions.harness import GOLDEN, POLICIES, REPO, output
from tests.support import graph_cloudsync as gcs
from tests.support.graph_emulator import GraphEmulator


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_output_matches_its_golden(name: str) -> None:
    golden = GOLDEN / f"{name}.txt"
    assert output(POLICIES[name]) == golden.read_text(encoding="utf-8"), (
        f"{golden} is stale; run python -m tests.permissions.regen and review the diff"
    )


def test_without_policy_it_uses_the_plan_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(cli, ["permissions"])
    assert result.exit_code == 0, result.output
    assert result.stdout == output("policies/example.yaml")


def test_json_carries_both_tables() -> None:
    result = CliRunner().invoke(
        cli, ["permissions", "--policy", str(REPO / POLICIES["example"]), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["policy_name"] == "contoso-test"
    sync = [g for g in doc["graph"] if "onPremisesSynchronization" in g["request"]]
    assert {g["command"] for g in sync} == {"refresh, plan, check", "apply"}
    assert all(g["kind"] == "delegated only" and g["role"] == "Global Administrator" for g in sync)
    rights = {a["right"].split(" (")[0] for a in doc["ad"] if a["command"] == "apply"}
    assert {"Create Child", "Modify permissions", "Write property"} <= rights


def test_text_names_cloud_sync_features_by_policy_key_and_json_keeps_plan_keys() -> None:
    """A person reads where in the policy a row comes from (`cloud_sync.group_provisioning`,
    as `password` for Connect); tools reading JSON match on the plan's feature keys."""
    text = output(POLICIES["full-featured"])
    assert "cloud_sync_" not in text
    assert "cloud_sync.group_provisioning" in text
    assert "cloud_sync.password_writeback" in text
    result = CliRunner().invoke(
        cli, ["permissions", "--policy", str(REPO / POLICIES["full-featured"]), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    features = {a["feature"] for a in json.loads(result.stdout)["ad"]}
    assert any("cloud_sync_group" in f for f in features)
    assert not any("cloud_sync.group_provisioning" in f for f in features)


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_graph_reads_are_what_the_observer_requests(
    graph_emulator: GraphEmulator, graph_options: GraphOptions, name: str
) -> None:
    policy = load_policies([REPO / POLICIES[name]]).policies[0].policy
    for entry in policy.cloud_sync.domains if policy.cloud_sync else ():
        # a configuration per Cloud Sync domain, so that its jobs and assignments are read too
        gcs.configure(graph_emulator.tenant, entry.domain)
    provider = make_token_provider(graph_options, env={"WBPLAN_GRAPH_TOKEN": graph_emulator.token})
    with GraphClient(graph_options, provider) as client:
        observe_tenant(client, policy)
    ids = {sp["id"] for sp in graph_emulator.tenant.service_principals}
    jobs = {j["id"] for js in graph_emulator.tenant.sync_jobs.values() for j in js}

    def placeholder(part: str) -> str:
        return "{id}" if part in ids else "{jobId}" if part in jobs else part

    requested = {
        f"{r.method} {'/'.join(placeholder(part) for part in r.path.split('/'))}"
        for r in graph_emulator.graph_requests()
    }
    listed = {g.request for g in permissions(policy).graph if g.command == READ}
    assert requested == listed


def test_every_graph_row_names_a_documented_permission(tmp_path: Path) -> None:
    for name in POLICIES:
        policy = load_policies([REPO / POLICIES[name]]).policies[0].policy
        for row in permissions(policy).graph:
            assert row.permission and row.kind and row.role, row
