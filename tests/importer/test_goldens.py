"""``wbplan import`` over every shipped snapshot (the example and each plan scenario):

- the pinned outputs equal their golden files (``python -m tests.importer.regen``);
- the imported policy validates (``wbplan validate``) and reads back as the policy model;
- ``wbplan plan`` with it against the same snapshot has nothing to do (``--detailed-exitcode``
  exits 0): no change for an imported feature, nor any other — import never writes an entry the
  plan would act on;
- each imported entry is what the snapshot shows (a table of what must be imported where).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.model.policy import Policy
from planner.policy.yamlmarks import parse_yaml
from tests.importer.harness import (
    GOLDEN,
    REFUSED,
    expected,
    folder_of,
    golden_file,
    names,
    run_import,
    state_arg,
)
from tests.plan.harness import wbplan

IMPORTED = {
    "example": set(),
    "fully-prepared": {"password", "device", "group", "exchange_hybrid", "ngc_keys", "hybrid_join"},
    "half-prepared": set(),
    "tenant-not-observed": {"device", "group"},
    "ace-via-token-group": {"password"},
    "ace-inherited-from-parent": {"password"},
    "group-disable-blast-radius": {"group"},
    "device-narrow-grants": {"device"},
    "licence-missing": set(),
    "deny-ace-defeats-grant": set(),
    "password-per-object": set(),
    "connect-evidence-mismatch": set(),
    "connect-evidence-v2": {
        "password",
        "device",
        "group",
        "exchange_hybrid",
        "ngc_keys",
        "hybrid_join",
    },
}
"""What each snapshot must import (the features of ``writeback`` but ``user``)."""


@pytest.mark.parametrize("name", GOLDEN)
def test_golden(name: str) -> None:
    path = golden_file(name)
    assert path.read_text(encoding="utf-8") == expected(name), (
        f"{path} is stale: run `python -m tests.importer.regen` and review the diff"
    )


def imported(name: str) -> tuple[str, Policy]:
    run = run_import(name)
    assert run.exit_code == 0, run.stderr
    parsed = parse_yaml(run.stdout, "imported.yaml")
    assert not parsed.diagnostics
    return run.stdout, Policy.model_validate(parsed.data)


@pytest.mark.parametrize("name", [n for n in names() if n not in REFUSED])
def test_imported_policy_validates_and_plans_no_change(name: str, tmp_path: Path) -> None:
    text, policy = imported(name)
    target = tmp_path / "imported.yaml"
    target.write_text(text, encoding="utf-8")
    folder = folder_of(name)
    valid = wbplan(folder, "validate", str(target))
    assert valid.exit_code == 0, valid.stdout + valid.stderr
    assert "Valid" in valid.stdout
    plan = wbplan(
        folder, "plan", "--policy", str(target), "--state", state_arg(name), "--format", "json",
        "--detailed-exitcode",
    )  # fmt: skip
    doc = json.loads(plan.stdout)
    acting = [
        (c["address"], c["change"]["actions"][0])
        for c in (*doc["resource_changes"], *doc["deferred_changes"])
        if c["change"]["actions"][0] not in ("no-op", "read")
    ]
    # A retired feature still on in the tenant (group writeback v2) is a manual step whatever
    # the policy says: no imported entry causes it, none can remove it.
    retired = [a for a in acting if a[0] == "tenant.feature[groupWriteBackEnabled]"]
    assert acting == retired and plan.exit_code == (2 if retired else 0), acting
    features = {f for f, v in policy.writeback if v is not None and f != "user"}
    if name in IMPORTED:
        assert features == IMPORTED[name]
    # every imported feature's own resources were observed: nothing of it is "not observed" in AD
    for c in doc["resource_changes"]:
        if set(c["features"]) & features and c["provider"] == "ad":
            assert c["change"]["actions"] != ["read"], c["address"]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_snapshot_without_its_connector_is_refused(name: str) -> None:
    run = run_import(name)
    assert run.exit_code == 1
    assert run.stdout == ""
    assert "was not found in AD" in run.stderr


def test_fully_prepared_imports_the_scenario_policy() -> None:
    """The fully prepared forest imports back the policy it was built for."""
    _text, policy = imported("fully-prepared")
    wb = policy.writeback
    assert wb.password is not None and wb.password.scope == ("OU=Staff,DC=contoso,DC=test",)
    assert wb.password.unexpire_password is True
    assert wb.group is not None and wb.group.container == "OU=CloudGroups,DC=contoso,DC=test"
    assert wb.group.new_group_default is False
    assert wb.device is not None and wb.device.domain == "contoso.test"
    assert wb.ngc_keys is not None and wb.ngc_keys.group == "key_admins"
    assert policy.connector.account == "CONTOSO\\MSOL_1a2b3c4d5e6f"
    assert policy.tenant.id == "7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b"
    assert policy.tenant.domain == "contoso.onmicrosoft.com"


def uncomment(text: str, feature: str) -> str:
    """``text`` with the commented-out entry of ``feature`` uncommented (and ``writeback: {}``
    opened), as the comment in the file tells a person to do."""
    out: list[str] = []
    inside = False
    for raw in text.splitlines():
        line = "writeback:" if raw == "writeback: {}" else raw
        if line == f"  # {feature}:":
            inside = True
        elif (inside and not line.startswith("  #   ")) or line.startswith("  #   - "):
            inside = False
        out.append(line.replace("  # ", "  ", 1) if inside else line)
    return "\n".join(out) + "\n"


def test_half_prepared_writes_each_partial_feature_commented_out(tmp_path: Path) -> None:
    """Nothing is imported, but each partly prepared feature is written commented out; once
    uncommented, the plan lists exactly what is missing."""
    text, policy = imported("half-prepared")
    assert policy.writeback.password is None
    assert policy.writeback.user is not None and policy.writeback.user.enabled is False
    lines = text.splitlines()
    for feature in ("password", "device", "group"):
        assert f"  # {feature} — partly prepared, not imported:" in lines
        assert f"  # {feature}:" in lines
    words = " ".join(line.strip("# ") for line in lines)
    assert "missing: write-pwdLastSet on OU=Staff,DC=contoso,DC=test" in words
    target = tmp_path / "uncommented.yaml"
    target.write_text(uncomment(text, "password"), encoding="utf-8")
    plan = wbplan(
        folder_of("half-prepared"), "plan", "--policy", str(target), "--state", "state.json",
        "--format", "json",
    )  # fmt: skip
    assert plan.exit_code == 0, plan.stderr
    doc = json.loads(plan.stdout)
    acting = [
        c["address"]
        for c in doc["resource_changes"]
        if c["change"]["actions"][0] not in ("no-op", "read")
    ]
    assert acting == ["ad.ace[OU=Staff,DC=contoso,DC=test/password-writeback/write-pwdLastSet]"]
