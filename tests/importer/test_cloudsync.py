"""``wbplan import`` writes a ``cloud_sync`` section when the snapshot shows Microsoft Entra Cloud
Sync (issue 18 with issue 17 §3): the gMSA (default discovery, or the custom account by name),
and per domain the features the planner finds in place — group provisioning's target OUs (the
job schema's parentDistinguishedName mapping, else where the gMSA holds the grants; more in
test_cloudsync_targets) and scope (the configuration's assignment setting), password
writeback, Exchange hybrid — each kept only when planning it against the same snapshot changes
nothing. A half-prepared domain is written commented out; uncommented, it validates and the
plan lists what is missing."""

from __future__ import annotations

import json
from pathlib import Path

from planner.adopt import Options, adopt
from planner.model.policy import Policy
from planner.model.state import ObservedState
from planner.observe.snapshot import load_state
from planner.policy.yamlmarks import parse_yaml
from tests.plan.harness import SCENARIOS_DIR, wbplan

PREPARED = SCENARIOS_DIR / "cloud-sync-prepared"
HALF = SCENARIOS_DIR / "cloud-sync-gmsa-without-rights"


def _import(folder: Path) -> tuple[str, Policy]:
    run = wbplan(folder, "import", "--state", "state.json", "--quiet")
    assert run.exit_code == 0, run.stderr
    parsed = parse_yaml(run.stdout, "imported.yaml")
    assert not parsed.diagnostics
    return run.stdout, Policy.model_validate(parsed.data)


def _flat(text: str) -> str:
    """The comments' words without line breaks (wrapping is layout)."""
    return " ".join(line.strip().lstrip("#").strip() for line in text.splitlines())


def _plan(folder: Path, policy: Path) -> dict[str, object]:
    run = wbplan(
        folder, "plan", "--policy", str(policy), "--state", "state.json", "--format", "json"
    )
    assert run.exit_code == 0, run.stderr
    doc: dict[str, object] = json.loads(run.stdout)
    return doc


def test_a_prepared_domain_imports_back_the_scenario_s_cloud_sync(tmp_path: Path) -> None:
    text, policy = _import(PREPARED)
    cloud = policy.cloud_sync
    assert cloud is not None
    assert cloud.gmsa.account is None  # the default gMSA: default discovery
    [entry] = cloud.domains
    assert entry.domain == "contoso.test"
    assert entry.group_provisioning is not None
    assert entry.group_provisioning.target_ous == ("OU=SecurityGroups,DC=contoso,DC=test",)
    assert entry.group_provisioning.scope == "selected_groups"
    assert entry.password_writeback is True and entry.exchange_hybrid is False
    assert "the DNs the configuration's parentDistinguishedName mapping yields" in _flat(text)
    assert "the gMSA holds create-delete-groups, manage-groups on" in _flat(text)
    assert "requires assignment, 3 group(s) assigned" in _flat(text)
    assert "tenant.sspr[cloud-sync-writeback]" in _flat(text)  # the check box no API shows
    # the round trip: the imported policy plans nothing for Cloud Sync (or anything else)
    target = tmp_path / "imported.yaml"
    target.write_text(text, encoding="utf-8")
    doc = _plan(PREPARED, target)
    cloud_changes = [
        (c["address"], c["change"]["actions"][0])  # type: ignore[index]
        for c in doc["resource_changes"]  # type: ignore[attr-defined]
        if any(f.startswith("cloud_sync") for f in c["features"])
    ]
    assert cloud_changes and all(a in ("no-op", "read") for _, a in cloud_changes)
    assert [a for a, act in cloud_changes if act == "read"] == ["tenant.sspr[cloud-sync-writeback]"]


def test_a_half_prepared_domain_is_written_commented_out_and_plans_what_is_missing(
    tmp_path: Path,
) -> None:
    text, policy = _import(HALF)
    assert policy.cloud_sync is None
    assert "# cloud_sync:" in text and "    # - domain: contoso.test" in text
    assert "password_writeback — partly prepared, not imported:" in _flat(text)
    # the configuration maps groups to an OU where the gMSA holds nothing: half-prepared
    assert "group_provisioning — partly prepared, not imported:" in _flat(text)
    assert (
        "the configuration creates groups in OU=SecurityGroups,DC=contoso,DC=test, but the gMSA "
        "holds no group provisioning grant there" in _flat(text)
    )
    uncommented = "\n".join(
        line.replace("# ", "", 1)
        if line.lstrip().startswith(
            ("# cloud_sync:", "# domains:", "# - domain:", "# password_writeback: true")
        )
        else line
        for line in text.splitlines()
    )
    target = tmp_path / "uncommented.yaml"
    target.write_text(uncommented + "\n", encoding="utf-8")
    valid = wbplan(HALF, "validate", str(target))
    assert valid.exit_code == 0, valid.stdout + valid.stderr
    doc = _plan(HALF, target)
    missing = {
        c["address"]  # type: ignore[index]
        for c in doc["resource_changes"]  # type: ignore[attr-defined]
        if "cloud_sync_password" in c["features"] and c["change"]["actions"] == ["create"]
    }
    assert {
        "ad.ace[DC=contoso,DC=test/cloud-sync-password-writeback/reset-password]",
    } <= missing


def _custom(state: ObservedState) -> ObservedState:
    assert state.ad is not None and state.ad.cloud_sync is not None
    gmsa = state.ad.cloud_sync.gmsa
    assert gmsa is not None
    cloud = state.ad.cloud_sync.model_copy(
        update={"gmsa": gmsa.model_copy(update={"found_by": "custom"})}
    )
    return state.model_copy(update={"ad": state.ad.model_copy(update={"cloud_sync": cloud})})


def test_a_custom_gmsa_is_named_and_several_default_ones_are_not_guessed() -> None:
    state = _custom(load_state(PREPARED / "state.json"))
    section = adopt(state, Options("state.json")).cloud_section()
    assert section is not None
    assert section["gmsa"] == {"account": "CONTOSO\\pGMSA_e6620264$"}
    several = adopt(
        load_state(SCENARIOS_DIR / "cloud-sync-several-gmsas" / "state.json"), Options("s")
    )
    assert several.cloud_sync is not None and several.cloud_section() is None
    assert any("2 gMSAs look like the agent's default" in n for n in several.cloud_sync.gmsa_notes)


def test_a_snapshot_without_cloud_sync_writes_no_cloud_sync_section() -> None:
    adoption = adopt(load_state(SCENARIOS_DIR / "fully-prepared" / "state.json"), Options("s"))
    assert adoption.cloud_sync is None
    assert "cloud_sync" not in adoption.document()


def test_cloud_sync_reads_a_live_probe_asks_for_stay_out_of_the_tenant_notes() -> None:
    """A live import asks Graph for Cloud Sync whether or not the forest uses it; an app-only
    credential cannot list the agents. That is the cloud_sync section's to say, not noise in
    every imported policy's tenant comment."""
    from planner.model.state import Unread

    state = load_state(SCENARIOS_DIR / "fully-prepared" / "state.json")
    assert state.tenant is not None
    refused = Unread(what="tenant.cloud_sync.agents", reason="delegated only")
    tenant = state.tenant.model_copy(update={"unread": (*state.tenant.unread, refused)})
    adoption = adopt(state.model_copy(update={"tenant": tenant}), Options("s"))
    assert adoption.cloud_sync is None
    assert not any("tenant.cloud_sync" in n for n in adoption.tenant_notes)


def test_a_domain_whose_connect_feature_was_imported_is_not_tried_for_cloud_sync() -> None:
    """One engine per domain and feature (the policy refuses both): Connect password writeback
    with no scope serves every domain; with a scope, the domains of its roots."""
    from planner.adopt.cloudsync import _connect_serves

    everywhere = {"password": {"enabled": True, "scope": []}}
    assert _connect_serves(everywhere, "password", "contoso.test")
    scoped = {"password": {"enabled": True, "scope": ["OU=Staff,DC=emea,DC=contoso,DC=test"]}}
    assert _connect_serves(scoped, "password", "emea.contoso.test")
    assert not _connect_serves(scoped, "password", "contoso.test")
    assert not _connect_serves({"password": {"enabled": False}}, "password", "contoso.test")
    assert not _connect_serves({}, "exchange_hybrid", "contoso.test")


def test_a_configuration_of_another_forest_is_named_not_imported() -> None:
    state = load_state(PREPARED / "state.json")
    assert state.tenant is not None and state.tenant.cloud_sync is not None
    cloud = state.tenant.cloud_sync
    foreign = cloud.configurations[1].model_copy(
        update={"domain": "fabrikam.test", "display_name": "fabrikam.test"}
    )
    tenant = state.tenant.model_copy(
        update={
            "cloud_sync": cloud.model_copy(
                update={"configurations": (*cloud.configurations, foreign)}
            )
        }
    )
    adoption = adopt(state.model_copy(update={"tenant": tenant}), Options("s"))
    assert adoption.cloud_sync is not None
    assert [d.domain for d in adoption.cloud_sync.domains] == ["contoso.test"]
    assert any(
        "fabrikam.test" in n and "outside contoso.test" in n for n in adoption.cloud_sync.notes
    )
