"""The migration from Entra Connect group writeback v2 to Cloud Sync on Samba (issue 18 §6),
for a policy declaring ``group_provisioning.migrate_from_connect_v2``.

The test writes, as v2 would have, groups under OU=WritebackContainer with adminDescription
``Group_<cloud object id>``: two universal security groups still to be copied (one named the
"cloud display name" way, one in a sub-OU: Microsoft's script searches the whole subtree), one
already copied, a global security group (the migration supports universal groups only) and a
group an administrator made there without adminDescription (not v2's). The 2016 attribute
msDS-ExternalDirectoryObjectId is added from Samba's WS2016 schema file; the tenant (the Graph
emulator) still has group writeback v2 on.

- check fails WB-CS-121 naming the two groups to copy (and not the copied one), and WB-CS-122
  naming the global group;
- plan shows one attribute update per group to copy (msDS-ExternalDirectoryObjectId = its
  adminDescription), and turning v2 off as a manual step that depends on every copy, with the
  four groups v2 wrote as its blast radius (every one listed in JSON, counted in text);
- apply (the CLI) writes exactly those values; the next plan has nothing left to do in AD and
  WB-CS-121 passes; rollback removes the values again, leaving each group's attributes and DACL
  as they were, byte for byte;
- an incremental refresh after a copy and a new v2 group reads the OU again and equals a full
  read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ldap3
import pytest

from planner.model.policy import Policy
from tests.ad.adops import add_group, add_ou, read_sd
from tests.ad.cloudsync_ops import (
    add_external_directory_object_id,
    add_gmsa,
    add_kds_root_key,
    cloud_sync_policy,
    policy_yaml,
)
from tests.ad.test_cloudsync import findings, plan_of
from tests.ad.test_incremental import how, observations, read
from tests.apply.harness import journals, wbplan, write_policy
from tests.rules.support import observe
from tests.support import graph_tenants
from tests.support.graph_emulator import GraphEmulator
from tests.support.samba import SambaDC

pytestmark = pytest.mark.samba

BASE = "DC=contoso,DC=test"
TARGET = f"OU=SecurityGroups,{BASE}"
V2_OU = f"OU=WritebackContainer,{BASE}"
NESTED = f"OU=Sales,{V2_OU}"
UNIVERSAL_SECURITY = -2147483640
GLOBAL_SECURITY = -2147483646
ANCHOR = "msDS-ExternalDirectoryObjectId"
IDS = [f"{n:08x}-5d6e-4f70-8192-a3b4c5d6e7f8" for n in range(1, 6)]
TO_COPY = f"CN=Group_{IDS[0]},{V2_OU}"
DISPLAY_NAMED = f"CN=Marketing_a3b4c5d6e7f8,{NESTED}"
COPIED = f"CN=Group_{IDS[2]},{V2_OU}"
GLOBAL = f"CN=Group_{IDS[3]},{V2_OU}"
NOT_V2 = f"CN=Helpdesk,{V2_OU}"
V2_FLAG = "tenant.feature[groupWriteBackEnabled]"
VOLATILE = ("uSNChanged", "whenChanged")
"""What every write changes (the DC's bookkeeping, not the object's content)."""


@pytest.fixture
def emu(graph_emulator: GraphEmulator, monkeypatch: pytest.MonkeyPatch) -> GraphEmulator:
    """The emulator's tenant with group writeback v2 still on (token in the environment)."""
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WBPLAN_GRAPH_TOKEN", graph_emulator.token)
    graph_emulator.tenant = graph_tenants.v2_group_writeback_still_enabled()
    return graph_emulator


def _set(conn: ldap3.Connection, dn: str, **values: str) -> None:
    names = {"admin_description": "adminDescription", "anchor": ANCHOR}
    changes = {names[k]: [(ldap3.MODIFY_REPLACE, [v])] for k, v in values.items()}
    assert conn.modify(dn, changes), conn.result


def _prepare(dc: SambaDC) -> None:
    conn = dc.admin_connection()
    add_external_directory_object_id(conn, dc.schema_dn)
    conn = dc.admin_connection()  # a fresh connection knows the new attribute
    add_kds_root_key(conn, dc.config_dn, dc.base_dn)
    add_gmsa(conn, dc.base_dn)
    add_ou(conn, TARGET)
    add_ou(conn, V2_OU)
    add_ou(conn, NESTED)
    for dn, n in ((TO_COPY, 0), (DISPLAY_NAMED, 1), (COPIED, 2)):
        add_group(conn, dn, group_type=UNIVERSAL_SECURITY)
        _set(conn, dn, admin_description=f"Group_{IDS[n]}")
    _set(conn, COPIED, anchor=f"Group_{IDS[2]}")
    add_group(conn, GLOBAL, group_type=GLOBAL_SECURITY)
    _set(conn, GLOBAL, admin_description=f"Group_{IDS[3]}")
    add_group(conn, NOT_V2, group_type=UNIVERSAL_SECURITY)


def _policy() -> Policy:
    base = json.loads(policy_yaml(cloud_sync_policy(target_ous=(TARGET,))))
    base["tenant"]["id"] = graph_tenants.TENANT_ID  # the emulator's tenant
    base["cloud_sync"]["domains"][0]["group_provisioning"]["migrate_from_connect_v2"] = {
        "ou": V2_OU
    }
    return Policy.model_validate(base)


def _groups(conn: ldap3.Connection) -> dict[str, Any]:
    """Every group under the v2 OU: its raw attributes (what rollback must restore) and DACL."""
    conn.search(V2_OU, "(objectClass=group)", attributes=["*"])
    out = {}
    for e in conn.response:
        raw = {k: sorted(v) for k, v in e["raw_attributes"].items() if k not in VOLATILE}
        out[e["dn"].lower()] = (raw, read_sd(conn, e["dn"]))
    return out


def _anchor(conn: ldap3.Connection, dn: str) -> list[str]:
    conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=[ANCHOR])
    return [v.decode() for v in conn.response[0]["raw_attributes"].get(ANCHOR, [])]


def test_migration_from_v2_plans_the_copies_then_v2_off_and_rolls_back(
    fresh_samba_2012r2: SambaDC, emu: GraphEmulator, tmp_path: Path
) -> None:
    dc = fresh_samba_2012r2
    _prepare(dc)
    policy = _policy()
    state = observe(policy, dc, emu)
    assert state.ad is not None and state.ad.cloud_sync is not None
    [read] = state.ad.cloud_sync.connect_v2
    assert {g.lower() for g in read.groups} == {
        d.lower() for d in (TO_COPY, DISPLAY_NAMED, COPIED, GLOBAL, NOT_V2)
    }

    # check: the copies missing, the group that will not migrate
    [copied] = findings(policy, state, "WB-CS-121")
    assert copied.status == "fail" and copied.criticality == "SHALL"
    assert "2 group(s) lack the value" in copied.message
    for dn in (TO_COPY, DISPLAY_NAMED):
        assert dn in copied.message
    assert COPIED not in copied.message and NOT_V2 not in copied.message
    [supported] = findings(policy, state, "WB-CS-122")
    assert supported.status == "fail" and GLOBAL in supported.message
    assert "global security group" in supported.message

    # plan: one copy per group, v2 off after them, its blast radius the groups v2 wrote
    plan, changes = plan_of(policy, state)
    for dn, n in ((TO_COPY, 0), (DISPLAY_NAMED, 1)):
        c = changes[f"ad.object[{dn}]"]
        assert c.change.actions == ("update",)
        assert c.change.before == {ANCHOR: []}
        assert c.change.after == {ANCHOR: [f"Group_{IDS[n]}"]}
    assert changes[f"ad.object[{COPIED}]"].change.actions == ("no-op",)
    for dn in (GLOBAL, NOT_V2):
        assert f"ad.object[{dn}]" not in changes
    flag = changes[V2_FLAG]
    assert flag.change.actions == ("manual",)
    assert {f"ad.object[{TO_COPY}]", f"ad.object[{DISPLAY_NAMED}]"} <= set(flag.depends_on)
    assert "Set-ADSyncAADCompanyFeature -GroupWritebackV2 $false" in (flag.instructions or "")
    assert flag.blast_radius is not None and flag.blast_radius.count == 4
    written = {d.lower() for d in flag.change.before["written_back"]}
    assert written == {d.lower() for d in (TO_COPY, DISPLAY_NAMED, COPIED, GLOBAL)}
    assert [d.lower() for d in flag.change.before["not_migrated"]] == [GLOBAL.lower()]
    assert plan.destructive

    # apply through the CLI (LDAP and Graph); the text plan counts the blast radius
    write_policy(tmp_path, policy_yaml(policy))
    conn = dc.admin_connection()
    before = _groups(conn)
    proc = wbplan(tmp_path, dc, emu, "plan", "--policy", "policy.yaml", "-out", "plan.wbplan")
    assert proc.returncode == 0, proc.stderr
    assert "BLAST RADIUS" in proc.stdout and ": 4 group(s)" in proc.stdout
    proc = wbplan(tmp_path, dc, emu, "apply", "plan.wbplan")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _anchor(conn, TO_COPY) == [f"Group_{IDS[0]}"]
    assert _anchor(conn, DISPLAY_NAMED) == [f"Group_{IDS[1]}"]
    assert _anchor(conn, GLOBAL) == [] and _anchor(conn, NOT_V2) == []

    # the next plan has nothing left to do in AD; the copies pass; v2 off is still a step
    again = observe(policy, dc, emu)
    _plan, changes = plan_of(policy, again)
    left = [a for a, c in changes.items() if c.provider == "ad" and c.change.actions[0] != "no-op"]
    assert left == []
    [copied] = findings(policy, again, "WB-CS-121")
    assert copied.status == "pass"
    assert changes[V2_FLAG].change.actions == ("manual",)

    # rollback: every group's attributes and DACL as before, byte for byte
    [journal] = journals(tmp_path)
    proc = wbplan(tmp_path, dc, emu, "rollback", str(journal), "--auto-approve")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _groups(conn) == before


def test_incremental_refresh_reads_the_v2_groups_as_a_full_read_does(
    fresh_samba_2012r2: SambaDC,
) -> None:
    """The v2 OU is read again on every incremental run (not merged from the marks): after a
    copy and a new group v2 wrote, the merged snapshot equals a full read."""
    dc = fresh_samba_2012r2
    _prepare(dc)
    policy = _policy()
    first, _ = read(dc, policy)
    conn = dc.admin_connection()
    _set(conn, TO_COPY, anchor=f"Group_{IDS[0]}")
    late = f"CN=Group_{IDS[4]},{NESTED}"
    add_group(conn, late, group_type=UNIVERSAL_SECURITY)
    _set(conn, late, admin_description=f"Group_{IDS[4]}")

    merged, _ = read(dc, policy, previous=first)
    full, _ = read(dc, policy)
    assert how(merged).mode == "incremental"
    assert observations(merged) == observations(full)
    assert merged.ad is not None and merged.ad.cloud_sync is not None
    [v2] = merged.ad.cloud_sync.connect_v2
    assert late.lower() in {g.lower() for g in v2.groups}


CLOUD_SYNC_ONLY = f"""\
apiVersion: wbplan.dev/v1
kind: WritebackPolicy
metadata:
  name: cloud-sync-only
forest: contoso.test
tenant:
  id: {graph_tenants.TENANT_ID}
  domain: contoso.onmicrosoft.com
cloud_sync:
  domains:
    - domain: contoso.test
      group_provisioning:
        target_ous: ["{TARGET}"]
        migrate_from_connect_v2:
          ou: "{V2_OU}"
      password_writeback: true
"""


def test_a_cloud_sync_only_policy_needs_no_connector(
    fresh_samba_2012r2: SambaDC, tmp_path: Path
) -> None:
    """refresh (full and incremental), plan, check and import from a policy that names no
    connector: nothing of Connect's is read, planned or judged."""
    dc = fresh_samba_2012r2
    _prepare(dc)
    write_policy(tmp_path, CLOUD_SYNC_ONLY)
    proc = wbplan(tmp_path, dc, None, "refresh", "--policy", "policy.yaml", "--out", "state.json")
    assert proc.returncode == 0, proc.stderr
    snapshot = json.loads((tmp_path / "state.json").read_text())
    assert snapshot["ad"]["connector"] is None
    assert len(snapshot["ad"]["cloud_sync"]["connect_v2"][0]["groups"]) == 5
    proc = wbplan(
        tmp_path,
        dc,
        None,
        "refresh",
        "--policy",
        "policy.yaml",
        "--incremental",
        "--state",
        "state.json",
        "--out",
        "again.json",
    )
    assert proc.returncode == 0, proc.stderr
    offline = ("--policy", "policy.yaml", "--state", "state.json", "--format", "json")
    proc = wbplan(tmp_path, dc, None, "plan", *offline, connect=False)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    addresses = {c["address"] for c in (*doc["resource_changes"], *doc["deferred_changes"])}
    assert not any(a.startswith(("ad.connector[", "connect.")) for a in addresses)
    assert f"ad.object[{TO_COPY}]" in addresses
    proc = wbplan(tmp_path, dc, None, "check", *offline, connect=False)
    assert proc.returncode == 2, proc.stderr  # WB-CS-121 fails until the copies are made
    report = json.loads(proc.stdout)
    rules = {f["rule_id"]: f["status"] for f in report["findings"]}
    assert rules["WB-CS-121"] == "fail"
    assert not any(r.startswith("WB-CON-") for r in rules)
    proc = wbplan(
        tmp_path, dc, None, "import", "--state", "state.json", "-o", "imported.yaml", connect=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    imported = (tmp_path / "imported.yaml").read_text()
    assert "\nconnector:" not in imported and "no Entra Connect feature is imported" in imported
    proc = wbplan(tmp_path, dc, None, "validate", "imported.yaml", connect=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
