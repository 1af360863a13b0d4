"""Plan scenarios: policy + observed state in, plan JSON / text (/ Markdown) out.

Every folder under ``tests/plan/scenarios`` is run through the ``wbplan plan`` command and
compared with its golden files (see ``harness.py``); the JSON is validated against
``schemas/plan.schema.json``. Regenerate with ``python -m tests.plan.regen`` and review the diff.

The goldens pin the exact output; the tests after them state what each scenario is *about*, so a
regenerated golden that silently changed the meaning fails here too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from planner.schemas import generated_schemas, render_schema, validate_document
from tests.plan import build_scenarios
from tests.plan.harness import (
    GOLDEN_NAMES,
    REPO,
    SCENARIOS_DIR,
    outputs,
    plan_args,
    scenario_dirs,
    wbplan,
)

SCENARIOS = scenario_dirs()
PLANNED = [d for d in SCENARIOS if not (d / "error.txt").is_file()]
REGEN = "python -m tests.plan.regen"


def ids(folders: list[Path]) -> list[str]:
    return [f.name for f in folders]


def golden(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((SCENARIOS_DIR / name / "plan.json").read_text("utf-8"))
    return doc


def change(doc: dict[str, Any], address: str) -> dict[str, Any]:
    for c in (*doc["resource_changes"], *doc["deferred_changes"]):
        if c["address"] == address:
            return dict(c)
    raise AssertionError(f"{address} is not in the plan")


def action(c: dict[str, Any]) -> str:
    return str(c["change"]["actions"][0])


def test_every_scenario_is_registered() -> None:
    assert sorted(build_scenarios.SCENARIOS) == ids(SCENARIOS)


def test_inputs_are_what_the_builder_writes() -> None:
    stale = build_scenarios.write_all(check=True)
    assert not stale, f"stale scenario inputs {stale}; run {REGEN}"


@pytest.mark.parametrize("folder", SCENARIOS, ids=ids(SCENARIOS))
def test_state_is_a_valid_snapshot(folder: Path) -> None:
    data = json.loads((folder / "state.json").read_text("utf-8"))
    assert validate_document("state", data) == []


@pytest.mark.parametrize("folder", SCENARIOS, ids=ids(SCENARIOS))
def test_outputs_match_goldens(folder: Path) -> None:
    expected = outputs(folder)
    present = {n for n in GOLDEN_NAMES if (folder / n).is_file()}
    assert present == set(expected), f"golden files differ from what wbplan writes; run {REGEN}"
    for name, text in expected.items():
        assert (folder / name).read_text("utf-8") == text, f"{folder.name}/{name}; run {REGEN}"


@pytest.mark.parametrize("folder", PLANNED, ids=ids(PLANNED))
def test_plan_json_matches_the_plan_schema(folder: Path) -> None:
    fresh = json.loads(wbplan(folder, *plan_args("json")).stdout)
    assert validate_document("plan", fresh) == []
    assert validate_document("plan", golden(folder.name)) == []


def test_plan_schema_is_generated_from_the_model_and_current() -> None:
    text = render_schema(generated_schemas()["plan.schema.json"])
    assert (REPO / "schemas" / "plan.schema.json").read_text("utf-8") == text, (
        "schemas/plan.schema.json is stale; run python -m planner.schemas --write"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "planner.schemas"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_plan_schema_rejects_what_the_model_rejects() -> None:
    doc = golden("half-prepared")
    doc["resource_changes"][0]["change"]["actions"] = ["destroy"]
    doc["surprise"] = True
    problems = validate_document("plan", doc)
    assert any("resource_changes[0].change.actions[0]" in p for p in problems)
    assert any("surprise" in p for p in problems)


@pytest.mark.parametrize("folder", PLANNED, ids=ids(PLANNED))
def test_detailed_exitcode_follows_the_summary(folder: Path) -> None:
    s = golden(folder.name)["summary"]
    changes = s["add"] + s["change"] + s["destroy"] + s["manual"] + s["deferred"]
    run = wbplan(folder, *plan_args("json", "--detailed-exitcode"))
    assert run.exit_code == (2 if changes else 0)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("fully-prepared", 0),
        ("ace-via-token-group", 0),
        ("tenant-not-observed", 0),  # unknowns alone are not changes
        ("half-prepared", 2),
        ("schema-too-old", 2),
        ("licence-missing", 2),  # a manual step is a change
    ],
)
def test_detailed_exitcode(name: str, code: int) -> None:
    run = wbplan(SCENARIOS_DIR / name, *plan_args("text", "--detailed-exitcode"))
    assert run.exit_code == code


# --------------------------------------------------------------------------------------------
# What each scenario is about


@pytest.mark.parametrize(
    "name",
    [
        "password-from-nothing",
        "device-from-nothing",
        "group-from-nothing",
        "exchange-hybrid-from-nothing",
        "ngc-keys-from-nothing",
        "hybrid-join-from-nothing",
    ],
)
def test_feature_from_nothing_creates_and_defers_nothing(name: str) -> None:
    doc = golden(name)
    assert doc["summary"]["add"] > 0
    assert doc["summary"]["manual"] == 0
    assert doc["deferred_changes"] == []
    assert doc["applyable"] and doc["complete"] and not doc["destructive"]


def test_device_from_nothing_creates_in_dependency_order() -> None:
    order = [c["address"] for c in golden("device-from-nothing")["resource_changes"]]
    base = "CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=test"
    drs = f"ad.object[{base}]"
    services = f"ad.object[CN=Device Registration Services,{base}]"
    service = f"ad.object[CN=DeviceRegistrationService,CN=Device Registration Services,{base}]"
    devices = "ad.object[CN=RegisteredDevices,DC=contoso,DC=test]"
    flag = "tenant.feature[deviceWritebackEnabled]"
    pos = order.index
    assert pos("ad.schema[contoso.test]") < pos(drs) < pos(services) < pos(service)
    assert pos(devices) < pos(service) < pos(flag) < pos("connect.option[device-writeback]")
    for ace in [a for a in order if a.startswith("ad.ace[CN=RegisteredDevices")]:
        assert pos(devices) < pos(ace) < pos(flag)


def test_group_setting_is_set_before_the_feature() -> None:
    order = [c["address"] for c in golden("group-from-nothing")["resource_changes"]]
    setting = order.index("tenant.setting[Group.Unified/NewUnifiedGroupWritebackDefault]")
    assert setting < order.index("tenant.feature[unifiedGroupWritebackEnabled]")


def test_fully_prepared_has_no_changes() -> None:
    doc = golden("fully-prepared")
    assert {action(c) for c in doc["resource_changes"]} == {"no-op", "read"}
    assert {c["action_reason"] for c in doc["resource_changes"] if action(c) == "read"} == {
        "unverifiable"
    }
    text = (SCENARIOS_DIR / "fully-prepared" / "plan.txt").read_text("utf-8")
    assert text.endswith("\nNo changes. Writeback configuration matches the policy.\n")
    assert "will perform the following actions" not in text


def test_half_prepared_mixes_no_ops_and_changes() -> None:
    doc = golden("half-prepared")
    assert (
        action(change(doc, "ad.ace[OU=Staff,DC=contoso,DC=test/password-writeback/reset-password]"))
        == "no-op"
    )
    assert (
        action(
            change(doc, "ad.ace[OU=Staff,DC=contoso,DC=test/password-writeback/write-pwdLastSet]")
        )
        == "create"
    )
    setting = change(doc, "tenant.setting[Group.Unified/NewUnifiedGroupWritebackDefault]")
    assert (action(setting), setting["change"]["before"], setting["change"]["after"]) == (
        "update",
        {"value": True},
        {"value": False},
    )


def test_schema_too_old_defers_every_device_object_behind_a_manual_schema_change() -> None:
    doc = golden("schema-too-old")
    schema = change(doc, "ad.schema[contoso.test]")
    assert (action(schema), schema["action_reason"]) == ("manual", "schema_too_old")
    assert schema["change"]["before"]["object_version"] == 47
    deferred = {c["address"]: c for c in doc["deferred_changes"]}
    objects = [a for a in deferred if a.startswith("ad.object[")]
    assert len(objects) == 4  # DRS configuration, services container, DRS object, RegisteredDevices
    assert all(c["blocked_by"] == ["ad.schema[contoso.test]"] for c in deferred.values())
    assert "tenant.feature[deviceWritebackEnabled]" in deferred
    # the unrelated password grants go ahead
    assert doc["summary"]["add"] == 3 and doc["applyable"] and not doc["complete"]


@pytest.mark.parametrize("name", ["licence-missing", "licence-suspended"])
def test_licence_problems_block_tenant_features(name: str) -> None:
    doc = golden(name)
    licence = change(doc, "tenant.licence[AAD_PREMIUM]")
    assert (action(licence), licence["action_reason"]) == ("manual", "licence_missing")
    flags = [c for c in doc["deferred_changes"] if c["type"] == "tenant.feature"]
    assert flags and all(c["blocked_by"] == ["tenant.licence[AAD_PREMIUM]"] for c in flags)


def test_an_unobserved_licence_blocks_the_feature_but_an_unverifiable_option_blocks_nothing() -> (
    None
):
    doc = golden("licence-not-readable")
    licence = change(doc, "tenant.licence[AAD_PREMIUM]")
    assert (action(licence), licence["action_reason"]) == ("read", "not_observed")
    flag = change(doc, "tenant.feature[deviceWritebackEnabled]")
    assert flag in doc["deferred_changes"]
    assert flag["blocked_by"] == ["tenant.licence[AAD_PREMIUM]"]
    assert not doc["complete"] and not doc["applyable"]
    other = golden("fully-prepared")  # its Connect options are unverifiable: nothing waits
    assert all(not c["blocked_by"] for c in other["resource_changes"])


def test_suspended_sku_names_why_it_does_not_count() -> None:
    licence = change(golden("licence-suspended"), "tenant.licence[AAD_PREMIUM]")
    assert "capabilityStatus is Suspended" in licence["change"]["before"]["summary"]


def test_connector_not_found_defers_every_ace() -> None:
    doc = golden("connector-not-found")
    assert action(change(doc, "ad.connector[CONTOSO\\MSOL_1a2b3c4d5e6f]")) == "manual"
    aces = [
        c for c in (*doc["resource_changes"], *doc["deferred_changes"]) if c["type"] == "ad.ace"
    ]
    assert aces and all(c in doc["deferred_changes"] for c in aces)


def test_deny_ace_is_manual_not_a_duplicate_grant() -> None:
    doc = golden("deny-ace-defeats-grant")
    reset = change(doc, "ad.ace[OU=Staff,DC=contoso,DC=test/password-writeback/reset-password]")
    assert (action(reset), reset["action_reason"]) == ("manual", "denied_by_ace")
    assert reset["change"]["before"]["deny_aces"][0]["qualifier"] == "deny"
    assert doc["summary"]["add"] == 0


@pytest.mark.parametrize("name", ["ace-via-token-group", "ace-inherited-from-parent"])
def test_effective_rights_satisfy_the_requirement(name: str) -> None:
    doc = golden(name)
    aces = [c for c in doc["resource_changes"] if c["type"] == "ad.ace"]
    assert len(aces) == 4
    assert all((action(c), c["action_reason"]) == ("no-op", "satisfied") for c in aces)


def test_drs_location_drift_is_manual_because_the_attribute_is_system_only() -> None:
    doc = golden("drs-location-drift")
    drs = [
        c
        for c in doc["resource_changes"]
        if c["address"].startswith("ad.object[CN=DeviceRegistrationService,")
    ]
    (manual,) = drs
    assert action(manual) == "manual"
    assert manual["action_reason"] == "attribute_drift"
    assert manual["change"]["before"] == {"msDS-DeviceLocation": ["CN=Devices,DC=contoso,DC=test"]}
    assert "system-only" in manual["instructions"]
    assert not [c for c in doc["resource_changes"] if action(c) == "update"]


def test_scp_tenant_drift_is_an_update_of_the_keywords() -> None:
    doc = golden("scp-tenant-drift")
    (update,) = [c for c in doc["resource_changes"] if action(c) == "update"]
    assert update["action_reason"] == "attribute_drift"
    assert update["type"] == "ad.object"
    assert sorted(update["change"]["after"]["keywords"])[0].startswith("azureADId:")
    assert "fabrikam" in str(update["change"]["before"])


def test_wrong_object_class_is_manual() -> None:
    doc = golden("wrong-object-class")
    devices = change(doc, "ad.object[CN=RegisteredDevices,DC=contoso,DC=test]")
    assert (action(devices), devices["action_reason"]) == ("manual", "wrong_object_class")
    assert any(c["blocked_by"] == [devices["address"]] for c in doc["deferred_changes"])


def test_disabling_group_writeback_shows_its_blast_radius() -> None:
    doc = golden("group-disable-blast-radius")
    flag = change(doc, "tenant.feature[unifiedGroupWritebackEnabled]")
    assert flag["blast_radius"]["count"] == 37
    assert len(flag["blast_radius"]["first"]) == 20
    assert doc["destructive"]
    md = (SCENARIOS_DIR / "group-disable-blast-radius" / "plan.md").read_text("utf-8")
    assert "[!CAUTION]" in md and "**37** group(s)" in md


def test_remove_preparation_destroys_after_the_feature_is_off() -> None:
    doc = golden("remove-preparation")
    assert doc["summary"]["destroy"] == 5 and doc["destructive"]
    text = (SCENARIOS_DIR / "remove-preparation" / "plan.txt").read_text("utf-8")
    assert text.endswith("Plan: 0 to add, 1 to change, 5 to destroy, 0 manual.\n")
    order = [c["address"] for c in doc["resource_changes"]]
    flag = order.index("tenant.feature[unifiedGroupWritebackEnabled]")
    group_aces = [i for i, a in enumerate(order) if "/group-writeback/" in a]
    assert group_aces and all(flag < i for i in group_aces)
    # Authenticated Users' Unexpire Password was not granted by wbplan: it stays
    unexpire = change(doc, "ad.ace[DC=contoso,DC=test/password-writeback/unexpire-password]")
    assert action(unexpire) == "no-op"


def test_removing_from_a_gone_object_asks_for_nothing() -> None:
    doc = golden("remove-preparation")
    gone = [c for c in doc["resource_changes"] if "OU=Contractors" in c["address"]]
    # the three grants for users and the three for inetOrgPerson objects wbplan may have added
    assert len(gone) == 6 and all(action(c) == "no-op" for c in gone)
    assert doc["summary"]["manual"] == 0


def test_device_remove_preparation_keeps_what_hybrid_join_needs() -> None:
    doc = golden("device-remove-preparation")
    order = [c["address"] for c in doc["resource_changes"]]
    flag = order.index("tenant.feature[deviceWritebackEnabled]")
    deletes = [c for c in doc["resource_changes"] if action(c) == "delete"]
    assert {c["address"] for c in deletes} == {
        "ad.ace[CN=RegisteredDevices,DC=contoso,DC=test/device-writeback/manage-devices]",
    }
    assert all(flag < order.index(c["address"]) for c in deletes)
    drs = [c for c in doc["resource_changes"] if "/device-registration/read-write" in c["address"]]
    assert [action(c) for c in drs] == ["no-op"]
    assert not any(
        c["type"] == "ad.object" and action(c) != "no-op" for c in doc["resource_changes"]
    )


def test_keys_and_hybrid_join_remove_preparation_remove_only_what_wbplan_granted() -> None:
    doc = golden("keys-and-hybrid-join-remove-preparation")
    deletes = {c["address"]: c for c in doc["resource_changes"] if action(c) == "delete"}
    assert set(deletes) == {
        "ad.membership[Key Admins/CONTOSO\\MSOL_1a2b3c4d5e6f]",
        "ad.ace[CN=Device Registration Configuration,CN=Services,CN=Configuration,"
        "DC=contoso,DC=test/device-registration/read-write]",
    }
    assert doc["summary"]["destroy"] == 2
    assert not any(
        c["type"] == "ad.object" and action(c) != "no-op" for c in doc["resource_changes"]
    )


def test_tenant_not_observed_is_unknown_not_matching() -> None:
    doc = golden("tenant-not-observed")
    tenant = [c for c in doc["resource_changes"] if c["provider"] == "tenant"]
    assert tenant and all(
        (action(c), c["action_reason"]) == ("read", "not_observed") for c in tenant
    )
    assert not doc["complete"]
    text = (SCENARIOS_DIR / "tenant-not-observed" / "plan.txt").read_text("utf-8")
    assert "matches the policy" not in text


def test_group_v2_is_refused_by_validation_without_a_traceback() -> None:
    folder = SCENARIOS_DIR / "group-v2-refused"
    run = subprocess.run(
        [sys.executable, "-c", "from planner.cli import main; main()", *plan_args("text")],
        cwd=folder,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"},
        check=False,
    )
    assert run.returncode == 1
    assert "error[WBP031]" in run.stderr and "Cloud Sync" in run.stderr
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    assert run.stdout == ""


def test_narrower_device_grants_than_the_wizards_are_accepted() -> None:
    doc = golden("device-narrow-grants")
    wizard = next(
        c
        for c in doc["resource_changes"]
        if c["address"].endswith("/device-writeback/manage-devices]")
    )
    assert action(wizard) == "no-op"


def test_device_writeback_plans_the_wizards_ace_and_drs_values() -> None:
    doc = golden("device-from-nothing")
    by_address = {c["address"]: c for c in doc["resource_changes"]}
    wizard = by_address[
        "ad.ace[CN=RegisteredDevices,DC=contoso,DC=test/device-writeback/manage-devices]"
    ]
    assert wizard["change"]["after"]["mask"] == 0x300FF  # GR GW CC DC SD DT
    assert wizard["change"]["after"]["flags"] == 0x02  # this object and all descendants
    assert wizard["change"]["after"]["object_type"] is None
    drs = next(
        c
        for a, c in by_address.items()
        if "CN=DeviceRegistrationService," in a and c["type"] == "ad.object"
    )
    assert drs["change"]["after"]["msDS-MaximumRegistrationInactivityPeriod"] == "0"
    assert "msDS-RegistrationQuota" not in drs["change"]["after"]
