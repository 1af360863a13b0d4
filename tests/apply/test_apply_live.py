"""``wbplan apply`` and ``wbplan rollback`` end to end on a fresh Samba DC + the Graph emulator
(issue #6 "Done when"): plan → apply → the next plan exits 0 with ``--detailed-exitcode`` for
device, password and group v1 writeback; every touched DACL keeps every ACE it had (compared ACE
by ACE, including ACEs the test added beforehand); rollback restores every descriptor
byte-for-byte, deletes what apply created and puts the tenant back.

Everything runs through the real CLI in a subprocess with the secrets in its environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from planner.model.state import Ace
from tests.ad.adops import add_aces, add_device_container, add_ou, allow, deny, object_sid
from tests.apply.harness import (
    CLOUD_GROUPS,
    DEVICES,
    DOMAIN,
    DRS_CONFIG,
    DRS_SERVICE,
    DRS_SERVICES,
    SALES,
    STAFF,
    assert_kept_every_ace,
    assert_no_secrets,
    journals,
    load_json,
    plan_out,
    policy_text,
    replan_exit,
    snapshot,
    wbplan,
    write_policy,
)
from tests.support import graph_tenants
from tests.support.graph_emulator import GraphEmulator
from tests.support.samba import SambaDC, SambaFactory

pytestmark = pytest.mark.samba

AUTHENTICATED_USERS = "S-1-5-11"


def planned_aces(doc: dict[str, Any], dn: str) -> list[Ace]:
    return [
        Ace.model_validate(c["change"]["after"])
        for c in doc["resource_changes"]
        if c["type"] == "ad.ace" and c["dn"] == dn and c["change"]["actions"] == ["create"]
    ]


def apply_and_check(
    tmp_path: Path, dc: SambaDC, emu: GraphEmulator, touched: list[str]
) -> tuple[dict[str, Any], dict[str, bytes | None], dict[str, bytes | None], Path]:
    """plan -out → apply → re-plan exits 0; returns the plan, DACLs before/after, journal."""
    conn = dc.admin_connection()
    before = snapshot(conn, touched)
    doc = plan_out(tmp_path, dc, emu)
    assert doc["applyable"] is True
    proc = wbplan(tmp_path, dc, emu, "apply", "plan.wbplan")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    s = doc["summary"]
    assert (
        f"Apply complete! Resources: {s['add']} added, {s['change']} changed, {s['destroy']} destroyed."
        in proc.stdout
    )
    assert ": Creating..." in proc.stdout
    assert ": Creation complete after" in proc.stdout
    code, again, stderr = replan_exit(tmp_path, dc, emu)
    assert code == 0, (
        stderr,
        [
            c["address"]
            for c in again.get("resource_changes", [])
            if c["change"]["actions"] != ["no-op"]
        ],
    )
    after = snapshot(conn, touched)
    for dn in touched:
        if before[dn] is not None:
            assert after[dn] is not None
            assert_kept_every_ace(before[dn], after[dn], planned_aces(doc, dn))  # type: ignore[arg-type]
    [journal] = journals(tmp_path)
    text = journal.read_text()
    assert_no_secrets(dc, emu, text)
    data = load_json(journal)
    assert data["outcome"] == "complete"
    assert data["lineage"] == doc["lineage"]
    executed = [e for e in data["entries"] if e["action"] in ("create", "update", "delete")]
    assert executed and all(e["status"] == "done" for e in executed)
    assert [e["address"] for e in executed] == [
        c["address"]
        for c in doc["resource_changes"]
        if c["change"]["actions"][0] in ("create", "update", "delete")
    ]
    for e in executed:
        if e["type"] == "ad.ace":
            assert e["before_image"]["kind"] == e["after_image"]["kind"] == "security_descriptor"
    return doc, before, after, journal


def rollback_and_check(
    tmp_path: Path, dc: SambaDC, emu: GraphEmulator, journal: Path, before: dict[str, bytes | None]
) -> None:
    proc = wbplan(tmp_path, dc, emu, "rollback", str(journal), "--auto-approve")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Rollback complete!" in proc.stdout
    restored = snapshot(dc.admin_connection(), list(before))
    for dn, data in before.items():
        assert restored[dn] == data, f"{dn} not restored byte-for-byte"
    [rb] = [j for j in journals(tmp_path) if j.name.endswith("-rollback.json")]
    assert load_json(rb)["outcome"] == "complete"
    assert load_json(rb)["rolls_back"] == str(journal)


def test_device_writeback_apply_converges_keeps_aces_and_rolls_back(
    fresh_samba_2012r2: SambaDC, graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    dc = fresh_samba_2012r2
    dc.create_connector()
    graph_emulator.tenant = graph_tenants.p1()
    conn = dc.admin_connection()
    # RegisteredDevices exists already, with ACEs of its own: apply must merge, not replace.
    add_device_container(conn, DEVICES)
    add_aces(
        conn,
        DEVICES,
        deny(AUTHENTICATED_USERS, 0x40000),
        allow(AUTHENTICATED_USERS, 0x10, flags=0x02),
    )
    write_policy(tmp_path, policy_text(device=True))
    touched = [DEVICES, DRS_CONFIG, DRS_SERVICES, DRS_SERVICE]
    doc, before, after, journal = apply_and_check(tmp_path, dc, graph_emulator, touched)
    assert before[DRS_CONFIG] is None and after[DRS_CONFIG] is not None
    assert len(planned_aces(doc, DEVICES)) == 1  # the wizard's GR GW CC DC SD DT
    assert graph_emulator.tenant.sync is not None
    assert graph_emulator.tenant.sync["features"]["deviceWritebackEnabled"] is True
    rollback_and_check(tmp_path, dc, graph_emulator, journal, before)
    assert graph_emulator.tenant.sync["features"]["deviceWritebackEnabled"] is False


def test_password_writeback_apply_converges_keeps_aces_and_rolls_back(
    fresh_samba_2012r2: SambaDC, graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    dc = fresh_samba_2012r2
    connector = dc.create_connector()
    graph_emulator.tenant = graph_tenants.p1()
    conn = dc.admin_connection()
    sid = object_sid(conn, connector)
    for ou in (STAFF, SALES):
        add_ou(conn, ou)
    # ACEs the test adds beforehand, among them one of the connector's own (not the planned one)
    add_aces(conn, STAFF, allow(sid, 0x10, flags=0x02), deny(AUTHENTICATED_USERS, 0x80000))
    add_ou(conn, f"OU=Child,{STAFF}")
    write_policy(tmp_path, policy_text(password=(STAFF, SALES), unexpire=True))
    touched = [STAFF, SALES, DOMAIN, f"OU=Child,{STAFF}"]
    doc, before, after, journal = apply_and_check(tmp_path, dc, graph_emulator, touched)
    assert len(planned_aces(doc, STAFF)) == 3
    # Samba grants Authenticated Users Unexpire Password on the domain root: already satisfied
    assert planned_aces(doc, DOMAIN) == []
    # the child OU inherits the new grants (the DC recomputes inherited ACEs) ...
    assert after[f"OU=Child,{STAFF}"] != before[f"OU=Child,{STAFF}"]
    rollback_and_check(tmp_path, dc, graph_emulator, journal, before)


def test_group_writeback_v1_apply_converges_and_rolls_back_the_tenant_setting(
    samba_factory: SambaFactory, graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    graph_emulator.tenant = graph_tenants.p1()
    with samba_factory.running("exchange") as dc:
        dc.create_connector()
        write_policy(tmp_path, policy_text(group=True))
        doc, before, _after, journal = apply_and_check(tmp_path, dc, graph_emulator, [CLOUD_GROUPS])
        assert before[CLOUD_GROUPS] is None
        assert len(planned_aces(doc, CLOUD_GROUPS)) == 2
        [setting] = graph_emulator.tenant.group_settings
        values = {v["name"]: v["value"] for v in setting["values"]}
        assert values["NewUnifiedGroupWritebackDefault"] == "false"
        assert graph_emulator.tenant.sync is not None
        assert graph_emulator.tenant.sync["features"]["unifiedGroupWritebackEnabled"] is True
        # the setting is created before the feature is switched on (domain.md §2.3)
        order = [e["address"] for e in load_json(journal)["entries"]]
        assert order.index(
            "tenant.setting[Group.Unified/NewUnifiedGroupWritebackDefault]"
        ) < order.index("tenant.feature[unifiedGroupWritebackEnabled]")
        rollback_and_check(tmp_path, dc, graph_emulator, journal, before)
        assert graph_emulator.tenant.group_settings == []
        assert graph_emulator.tenant.sync["features"]["unifiedGroupWritebackEnabled"] is False
