"""WB-CS-121 and WB-CS-122 (the migration from Connect group writeback v2) on the offline
scenario ``cloud-sync-migration-declared`` and variations of its state: the verdicts, the plan
changes that fix them, and the cases wbplan cannot judge. The live proof is
tests/ad/test_cloudsync_migration.py (Samba)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from planner.checking import evaluate
from planner.model.dn import dn_key
from planner.model.policy import Policy
from planner.model.report import Finding
from planner.model.state import ObservedState
from planner.observe.snapshot import load_state
from planner.planning import make_plan
from planner.policy.loader import load_file
from planner.story import unplanned_failures
from tests.plan.harness import SCENARIOS_DIR

TODAY = dt.date(2026, 11, 22)
FOLDER = SCENARIOS_DIR / "cloud-sync-migration-declared"
V2_OU = "OU=WritebackContainer,DC=contoso,DC=test"
ANCHOR = "msDS-ExternalDirectoryObjectId"


def _inputs() -> tuple[Policy, ObservedState]:
    loaded, diags = load_file(FOLDER / "policy.yaml", TODAY)
    assert loaded is not None, diags
    return loaded.policy, load_state(FOLDER / "state.json")


def _finding(policy: Policy, state: ObservedState, rule_id: str) -> Finding:
    findings, _ = evaluate(policy, state, TODAY)
    [found] = [f for f in findings if f.rule_id == rule_id]
    assert unplanned_failures(_plan(policy, state), findings) == []
    return found


def _plan(policy: Policy, state: ObservedState) -> Any:
    return make_plan(
        policy, state, policy_file="p", policy_digest="", state_source="s", timestamp="t"
    )


def _edit(state: ObservedState, **changes: Any) -> ObservedState:
    assert state.ad is not None
    return state.model_copy(update={"ad": state.ad.model_copy(update=changes)})


def _copied(state: ObservedState) -> ObservedState:
    """Every group without the anchor gets its adminDescription, as apply writes it."""
    assert state.ad is not None
    objects = []
    for o in state.ad.objects:
        described = o.attributes.get("adminDescription")
        if o.dn.endswith(V2_OU) and described and ANCHOR not in o.attributes:
            o = o.model_copy(update={"attributes": {**o.attributes, ANCHOR: described}})  # noqa: PLW2901
        objects.append(o)
    return _edit(state, objects=tuple(objects))


def test_copies_missing_and_a_foreign_value_fail_wb_cs_121_with_their_changes() -> None:
    policy, state = _inputs()
    found = _finding(policy, state, "WB-CS-121")
    assert found.status == "fail" and found.criticality == "SHALL"
    assert "3 group(s) lack the value" in found.message
    assert "1 group(s) hold another value" in found.message
    assert len(found.fixed_by) == 4
    plan = _plan(policy, state)
    changes = {c.address: c for c in (*plan.resource_changes, *plan.deferred_changes)}
    actions = sorted(changes[a].change.actions[0] for a in found.fixed_by)
    assert actions == ["manual", "update", "update", "update"]
    # the group an administrator put there is neither copied nor counted
    assert not any("Helpdesk" in a for a in changes)


def test_groups_the_migration_does_not_support_fail_wb_cs_122() -> None:
    policy, state = _inputs()
    found = _finding(policy, state, "WB-CS-122")
    assert found.status == "fail" and found.criticality == "SHOULD"
    assert "(global security group)" in found.message
    assert "(universal distribution group)" in found.message
    kinds = {row["kind"] for row in found.evidence["not_migrated"]}
    assert kinds == {"global security group", "universal distribution group"}


def test_after_the_copies_only_the_foreign_value_is_left() -> None:
    policy, state = _inputs()
    found = _finding(policy, _copied(state), "WB-CS-121")
    assert found.status == "fail"
    assert "lack the value" not in found.message
    [address] = found.fixed_by
    assert "Group_00000005" in address


def test_a_missing_or_unread_v2_ou_is_unknown_never_a_pass() -> None:
    policy, state = _inputs()
    assert state.ad is not None and state.ad.cloud_sync is not None
    cloud = state.ad.cloud_sync
    gone = cloud.model_copy(
        update={
            "connect_v2": (cloud.connect_v2[0].model_copy(update={"exists": False, "groups": ()}),)
        }
    )
    for variant in (
        _edit(state, cloud_sync=gone),
        _edit(state, cloud_sync=cloud.model_copy(update={"connect_v2": ()})),
    ):
        for rule_id in ("WB-CS-121", "WB-CS-122"):
            assert _finding(policy, variant, rule_id).status == "unknown"


def test_without_the_schema_attribute_the_copies_wait_for_it() -> None:
    policy, state = _inputs()
    assert state.ad is not None and state.ad.cloud_sync is not None
    info = state.ad.schema_info
    no_attribute = _edit(
        state,
        cloud_sync=state.ad.cloud_sync.model_copy(update={"external_directory_object_id": False}),
        schema_info=info.model_copy(update={"attributes": {**info.attributes, ANCHOR: None}}),
    )
    found = _finding(policy, no_attribute, "WB-CS-121")
    assert found.status == "fail" and "WB-CS-104" in found.message
    plan = _plan(policy, no_attribute)
    deferred = {c.address: c.blocked_by for c in plan.deferred_changes}
    gate = "ad.schema_attribute[contoso.test/msDS-ExternalDirectoryObjectId]"
    assert all(gate in deferred[a] for a in found.fixed_by if a in deferred)
    assert any(a in deferred for a in found.fixed_by)


def test_a_group_that_left_the_ou_is_not_planned() -> None:
    """Only groups read under the OU get a copy: the requirement comes from the observation."""
    policy, state = _inputs()
    assert state.ad is not None and state.ad.cloud_sync is not None
    cloud = state.ad.cloud_sync
    read = cloud.connect_v2[0]
    kept = tuple(g for g in read.groups if "Group_00000001" not in g)
    fewer = _edit(
        state,
        cloud_sync=cloud.model_copy(
            update={"connect_v2": (read.model_copy(update={"groups": kept}),)}
        ),
        objects=tuple(o for o in state.ad.objects if "Group_00000001" not in o.dn),
    )
    plan = _plan(policy, fewer)
    assert not any("Group_00000001" in c.address for c in plan.resource_changes)
    flag = next(
        c
        for c in (*plan.resource_changes, *plan.deferred_changes)
        if c.address == "tenant.feature[groupWriteBackEnabled]"
    )
    assert flag.blast_radius is not None and flag.blast_radius.count == 6
    assert all(
        dn_key(d) != dn_key(f"CN=Group_00000001,{V2_OU}")
        for d in flag.change.before["written_back"]
    )


def test_wbplan_permissions_lists_the_migration_read_and_write() -> None:
    from planner.permissions import APPLY, READ, permissions

    policy, _state = _inputs()
    rows = [r for r in permissions(policy).ad if r.target == V2_OU]
    assert {r.command for r in rows} == {READ, APPLY}
    assert any(ANCHOR in r.right and r.command == APPLY for r in rows)
