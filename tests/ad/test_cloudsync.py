"""Cloud Sync, AD side, on Samba (issue 18 §2, §4, §5): what wbplan reads of the agent's gMSA,
the KDS root key and the 2016 schema attribute, how it judges the gMSA's rights with the same
per-object engine as the connector's, and plan → apply → re-plan → rollback with the gMSA as
the trustee.

- A fresh 2012 R2 DC (no msDS-ExternalDirectoryObjectId, no gMSA, no KDS root key, read as
  Domain Admin): the schema attribute, the gMSA and the KDS root key are manual steps, the target
  OU and every gMSA ACE wait for them. Read as an ordinary user, the KDS root key is unknown,
  never missing.
- The 2016 attribute added (from Samba's own WS2016 schema file: Samba 4.17 has no 2016 schema),
  a gMSA created by the test with no rights and a KDS root key: check fails the rights rules
  naming the rights and the objects; apply grants exactly the planned ACEs to the gMSA's SID;
  the next plan has nothing left to do in AD; rollback restores every DACL byte for byte.
- Two default-looking gMSAs: neither is picked; a custom gMSA named in the policy is found by
  its sAMAccountName.

Samba 4.17 stores gMSA objects but hands out no gMSA password; tests/rules/test_dc_judge_gmsa.py
plants one in the DC's database, binds as the gMSA and has the DC judge its rights.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from planner.checking import make_report
from planner.model.plan import Plan, ResourceChange
from planner.model.policy import Policy
from planner.model.state import ObservedState
from planner.observe.sd import parse_descriptor
from planner.planning import make_plan
from tests.ad.adops import (
    add_group,
    add_member,
    add_ou,
    object_sid,
    protect_without_inherited,
    read_sd,
)
from tests.ad.cloudsync_ops import (
    add_external_directory_object_id,
    add_gmsa,
    add_kds_root_key,
    cloud_sync_policy,
    policy_yaml,
)
from tests.apply.harness import journals, snapshot, wbplan, write_policy
from tests.rules.support import TODAY, observe
from tests.support.samba import SambaDC

pytestmark = pytest.mark.samba

BASE = "DC=contoso,DC=test"
GROUPS_OU = f"OU=SecurityGroups,{BASE}"
APPS_OU = f"OU=Apps,{GROUPS_OU}"
STAFF = f"OU=Staff,{BASE}"


def plan_of(policy: Policy, state: ObservedState) -> tuple[Plan, dict[str, ResourceChange]]:
    plan = make_plan(
        policy, state, policy_file="p", policy_digest="", state_source="live", timestamp="t"
    )
    return plan, {c.address: c for c in (*plan.resource_changes, *plan.deferred_changes)}


def action(changes: dict[str, ResourceChange], address: str) -> str:
    return str(changes[address].change.actions[0])


def findings(policy: Policy, state: ObservedState, rule_id: str) -> list[Any]:
    report = make_report(
        policy,
        state,
        policy_file="p",
        policy_digest="x",
        state_source="live",
        timestamp="2026-11-22T18:00:00Z",
        today=TODAY,
    )
    return [f for f in report.findings if f.rule_id == rule_id]


def test_fresh_2012r2_forest_shows_the_gmsa_steps_and_the_schema_gate(
    fresh_samba_2012r2: SambaDC,
) -> None:
    dc = fresh_samba_2012r2
    policy = cloud_sync_policy(target_ous=(GROUPS_OU,), password=True)
    state = observe(policy, dc, None)
    assert state.ad is not None and state.ad.cloud_sync is not None
    cloud = state.ad.cloud_sync
    assert cloud.gmsa is None and cloud.gmsa_candidates == ()
    assert cloud.external_directory_object_id is False  # searched by name in the schema NC
    assert cloud.kds_root_key is False  # read as a Domain Admin: none there, so missing

    plan, changes = plan_of(policy, state)
    assert (
        action(changes, "ad.schema_attribute[contoso.test/msDS-ExternalDirectoryObjectId]")
        == "manual"
    )
    assert action(changes, "ad.gmsa[provAgentgMSA]") == "manual"
    assert action(changes, "ad.kds_root_key[contoso.test]") == "manual"
    assert "Add-KdsRootKey" in (changes["ad.kds_root_key[contoso.test]"].instructions or "")
    deferred = {c.address: c.blocked_by for c in plan.deferred_changes}
    ou = f"ad.object[{GROUPS_OU}]"
    assert deferred[ou] == ("ad.schema_attribute[contoso.test/msDS-ExternalDirectoryObjectId]",)
    group_ace = f"ad.ace[{GROUPS_OU}/cloud-sync-group-provisioning/create-delete-groups]"
    assert set(deferred[group_ace]) >= {"ad.gmsa[provAgentgMSA]", "ad.kds_root_key[contoso.test]"}
    password_ace = f"ad.ace[{BASE}/cloud-sync-password-writeback/reset-password]"
    assert "ad.gmsa[provAgentgMSA]" in deferred[password_ace]
    # the ACEs name the gMSA's placeholder until it exists (apply refuses such a change)
    assert changes[password_ace].change.after["trustee"] == "<gMSA SID>"


def test_kds_root_key_is_unknown_to_a_reader_who_cannot_see_it(fresh_samba_2012r2: SambaDC) -> None:
    dc = fresh_samba_2012r2
    add_kds_root_key(dc.admin_connection(), dc.config_dn, dc.base_dn)
    policy = cloud_sync_policy(password=True)
    admin = observe(policy, dc, None)
    assert admin.ad is not None and admin.ad.cloud_sync is not None
    assert admin.ad.cloud_sync.kds_root_key is True

    reader = dc.create_user("svc-reader", "Read3r!Secret#42")
    state = observe(policy, dc, None, user=reader, password="Read3r!Secret#42")
    assert state.ad is not None and state.ad.cloud_sync is not None
    assert state.ad.cloud_sync.kds_root_key is None  # not visible: unknown, not missing
    assert any(u.what == "ad.cloud_sync.kds_root_key" for u in state.ad.unread)
    _plan, changes = plan_of(policy, state)
    assert action(changes, "ad.kds_root_key[contoso.test]") == "read"
    [finding] = findings(policy, state, "WB-CS-103")
    assert finding.status == "unknown"


def _prepare(dc: SambaDC) -> dict[str, str]:
    """The 2016 attribute, a KDS root key, a gMSA without rights (in a group), the target OU
    with two groups and a sub-OU with inheritance disabled, and users under OU=Staff."""
    conn = dc.admin_connection()
    add_external_directory_object_id(conn, dc.schema_dn)
    add_kds_root_key(conn, dc.config_dn, dc.base_dn)
    gmsa = add_gmsa(conn, dc.base_dn)
    holders = add_group(conn, f"CN=CloudSyncAgents,CN=Users,{BASE}")
    add_member(conn, holders, gmsa)
    add_ou(conn, GROUPS_OU)
    add_group(conn, f"CN=Group_a1b2c3,{GROUPS_OU}")
    add_group(conn, f"CN=Group_d4e5f6,{GROUPS_OU}")
    add_ou(conn, APPS_OU)
    add_group(conn, f"CN=Group_0f9e8d,{APPS_OU}")
    protect_without_inherited(conn, APPS_OU)
    add_ou(conn, STAFF)
    dc.create_user("ajones", "Ajon3s!Secret#42", parent=STAFF)
    dc.create_user("mlee", "Ml33!Secret#42xy", parent=STAFF)
    return {"gmsa": gmsa, "holders": holders}


def test_gmsa_without_rights_fails_the_rights_rules_then_apply_and_rollback(
    fresh_samba_2012r2: SambaDC, tmp_path: Path
) -> None:
    dc = fresh_samba_2012r2
    made = _prepare(dc)
    conn = dc.admin_connection()
    gmsa_sid = object_sid(conn, made["gmsa"])
    policy = cloud_sync_policy(target_ous=(GROUPS_OU,), password=True)

    state = observe(policy, dc, None)
    assert state.ad is not None and state.ad.cloud_sync is not None
    cloud = state.ad.cloud_sync
    assert cloud.gmsa is not None
    assert cloud.gmsa.sid == gmsa_sid and cloud.gmsa.found_by == "default"
    assert cloud.gmsa.sam_account_name == "pGMSA_e6620264$"
    assert object_sid(conn, made["holders"]) in cloud.gmsa.token_groups
    assert cloud.gmsa.supported_encryption_types == 0x1C
    assert cloud.kds_root_key is True and cloud.external_directory_object_id is True

    group = {f.address: f for f in findings(policy, state, "WB-CS-110")}
    assert group[GROUPS_OU].status == "fail"
    for words in ("CC group", "WP member", "WP msDS-ExternalDirectoryObjectId", "SD (delete)"):
        assert words in group[GROUPS_OU].message
    assert "2 object(s) lack it now" in group[GROUPS_OU].message
    assert group[APPS_OU].status == "fail"  # inheritance disabled: its own grant
    password = {f.address: f for f in findings(policy, state, "WB-CS-111")}
    assert password[BASE].status == "fail"
    assert "CA Reset Password" in password[BASE].message
    assert f"2 below {STAFF}" in password[BASE].message
    # OU=Apps has inheritance disabled under the domain root too: users created there later
    assert password[APPS_OU].status == "fail"
    blocked = {f.address: f for f in findings(policy, state, "WB-CS-106")}
    assert blocked[GROUPS_OU].status == "fail" and APPS_OU in blocked[GROUPS_OU].message

    # apply through the CLI, LDAP only
    write_policy(tmp_path, policy_yaml(policy))
    touched = [BASE, GROUPS_OU, APPS_OU]
    before = snapshot(conn, touched)
    proc = wbplan(
        tmp_path,
        dc,
        None,
        "plan",
        "--policy",
        "policy.yaml",
        "-out",
        "plan.wbplan",
        "--format",
        "json",
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    planned = [
        c
        for c in doc["resource_changes"]
        if c["type"] == "ad.ace" and c["change"]["actions"] == ["create"]
    ]
    assert planned and {c["change"]["after"]["trustee"] for c in planned} == {gmsa_sid}
    proc = wbplan(tmp_path, dc, None, "apply", "plan.wbplan")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = snapshot(conn, touched)
    for dn in touched:
        added = [a for a in parse_descriptor(after[dn] or b"").aces if not a.inherited]
        kept = [a for a in parse_descriptor(before[dn] or b"").aces if not a.inherited]
        assert all(a in added for a in kept), f"an ACE of {dn} was dropped"

    # the next plan has nothing left to do in AD, and the rights rules pass
    again = observe(policy, dc, None)
    _plan, changes = plan_of(policy, again)
    left = [a for a, c in changes.items() if c.provider == "ad" and c.change.actions[0] != "no-op"]
    assert left == []
    assert {f.status for f in findings(policy, again, "WB-CS-110")} == {"pass"}
    assert {f.status for f in findings(policy, again, "WB-CS-111")} == {"pass"}

    # rollback restores every DACL byte for byte
    [journal] = journals(tmp_path)
    proc = wbplan(tmp_path, dc, None, "rollback", str(journal), "--auto-approve")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for dn in touched:
        assert read_sd(conn, dn) == before[dn], f"{dn} differs after rollback"


def test_several_default_gmsas_pick_none_and_a_custom_one_is_found_by_name(
    fresh_samba_2012r2: SambaDC,
) -> None:
    dc = fresh_samba_2012r2
    conn = dc.admin_connection()
    first = add_gmsa(conn, dc.base_dn)
    second = add_gmsa(
        conn, dc.base_dn, cn="pGMSA_03ec3eec", sam="pGMSA_03ec3eec$", encryption_types=None
    )
    custom = add_gmsa(conn, dc.base_dn, cn="gmsa-cloudsync", sam="gmsa-cloudsync$")

    default = cloud_sync_policy(password=True)
    state = observe(default, dc, None)
    assert state.ad is not None and state.ad.cloud_sync is not None
    assert state.ad.cloud_sync.gmsa is None
    assert {d.lower() for d in state.ad.cloud_sync.gmsa_candidates} == {
        first.lower(),
        second.lower(),
    }
    assert action(plan_of(default, state)[1], "ad.gmsa[provAgentgMSA]") == "manual"
    [found] = findings(default, state, "WB-CS-101")
    assert found.status == "fail" and "cloud_sync.gmsa.account" in found.message

    named = cloud_sync_policy(password=True, account="CONTOSO\\gmsa-cloudsync$")
    state = observe(named, dc, None)
    assert state.ad is not None and state.ad.cloud_sync is not None
    gmsa = state.ad.cloud_sync.gmsa
    assert gmsa is not None and gmsa.dn.lower() == custom.lower() and gmsa.found_by == "custom"
    assert state.ad.cloud_sync.gmsa_candidates == ()
