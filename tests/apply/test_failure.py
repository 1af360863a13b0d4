"""A failure in the middle of an apply (issue #6 "Done when"): the bind account may not create
containers under ``CN=Services`` (an explicit deny the test adds), so the device registration
configuration cannot be created. Its dependents are skipped, the independent branches (the
RegisteredDevices container and its ACEs, the password ACEs) are done, the journal says exactly
that, apply exits 1 naming the missing right, and rollback returns the DC to its prior state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.ad.adops import (
    add_aces,
    add_device_container,
    add_drs_containers,
    add_drs_service,
    add_ou,
    deny,
    object_sid,
)
from tests.apply.harness import (
    DEVICES,
    DRS_CONFIG,
    DRS_SERVICE,
    DRS_SERVICES,
    SERVICES,
    STAFF,
    exists,
    journals,
    load_json,
    plan_out,
    policy_text,
    replan_exit,
    snapshot,
    usn,
    wbplan,
    write_policy,
)
from tests.support import graph_tenants
from tests.support.graph_emulator import GraphEmulator
from tests.support.samba import SambaDC

pytestmark = pytest.mark.samba

CONTAINER_CLASS = "bf967a8b-0de6-11d0-a285-00aa003049e2"
CREATE_CHILD = 0x1


def test_a_failed_change_skips_its_dependents_and_rollback_restores_the_dc(
    fresh_samba_2012r2: SambaDC, graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    dc = fresh_samba_2012r2
    dc.create_connector()
    graph_emulator.tenant = graph_tenants.p1()
    conn = dc.admin_connection()
    add_ou(conn, STAFF)
    admin = object_sid(conn, f"CN=Administrator,CN=Users,{dc.base_dn}")
    add_aces(conn, SERVICES, deny(admin, CREATE_CHILD, CONTAINER_CLASS))
    touched = [SERVICES, STAFF, DEVICES, DRS_CONFIG]
    before = snapshot(conn, touched)
    write_policy(tmp_path, policy_text(device=True, password=(STAFF,)))
    doc = plan_out(tmp_path, dc, graph_emulator)

    proc = wbplan(tmp_path, dc, graph_emulator, "apply", "plan.wbplan")

    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Apply failed!" in proc.stdout
    assert (
        f"the bind account lacks Create container objects (Create Child of container) on {SERVICES}"
        in proc.stdout
    )
    [journal] = journals(tmp_path)
    data = load_json(journal)
    assert data["outcome"] == "failed"
    status = {e["address"]: e for e in data["entries"]}
    failed = status[f"ad.object[{DRS_CONFIG}]"]
    assert failed["status"] == "failed"
    assert "Create Child of container" in failed["error"]
    assert failed["before_image"] == {"kind": "absent"}
    # every dependent of the failed container is skipped, naming it; nothing was attempted there
    for address in (
        f"ad.object[{DRS_SERVICES}]",
        f"ad.object[{DRS_SERVICE}]",
        f"ad.ace[{DRS_CONFIG}/device-registration/read-write]",
        "tenant.feature[deviceWritebackEnabled]",
    ):
        assert status[address]["status"] == "skipped", address
        assert status[address]["note"] == f"not attempted: ad.object[{DRS_CONFIG}] failed"
        assert status[address]["before_image"] is None
        assert f"{address}: Skipped" in proc.stdout
    # the independent branches ran
    independent = [
        a
        for a in status
        if a.startswith((f"ad.object[{DEVICES}]", f"ad.ace[{DEVICES}/", f"ad.ace[{STAFF}/"))
    ]
    assert len(independent) == 1 + 1 + 3  # RegisteredDevices, its one ACE, the 3 password grants
    assert all(status[a]["status"] == "done" for a in independent)
    assert exists(conn, DEVICES)
    assert not exists(conn, DRS_CONFIG)
    assert graph_emulator.tenant.sync is not None
    assert graph_emulator.tenant.sync["features"]["deviceWritebackEnabled"] is False
    assert len(status) == sum(
        c["change"]["actions"][0] in ("create", "update", "delete", "manual")
        for c in doc["resource_changes"]
    )

    back = wbplan(tmp_path, dc, graph_emulator, "rollback", str(journal), "--auto-approve")

    assert back.returncode == 0, back.stdout + back.stderr
    assert snapshot(conn, touched) == before
    assert not exists(conn, DEVICES)
    # planning again gives the same changes as before apply: the DC is where it was
    code, again, _ = replan_exit(tmp_path, dc, graph_emulator)
    assert code == 2
    assert actions(again) == actions(doc)


def actions(doc: dict[str, Any]) -> dict[str, list[str]]:
    return {c["address"]: c["change"]["actions"] for c in doc["resource_changes"]}


def test_manual_steps_are_shown_not_executed_and_block_their_dependents(
    samba_2008r2: SambaDC, graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    """On the 2008 R2 schema device writeback needs a schema upgrade (manual): apply prints its
    instructions, leaves the device objects blocked, and still grants the password ACEs."""
    dc = samba_2008r2
    dc.create_connector()
    graph_emulator.tenant = graph_tenants.p1()
    conn = dc.admin_connection()
    add_ou(conn, STAFF)
    write_policy(tmp_path, policy_text(device=True, password=(STAFF,)))
    doc = plan_out(tmp_path, dc, graph_emulator)
    deferred = [c["address"] for c in doc["deferred_changes"]]

    proc = wbplan(tmp_path, dc, graph_emulator, "apply", "plan.wbplan")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ad.schema[contoso.test]: Manual step: " in proc.stdout
    assert "adprep /forestprep" in proc.stdout
    for address in deferred:
        assert f"{address}: Blocked: waits for ad.schema[contoso.test]" in proc.stdout
    assert "Apply complete! Resources: 3 added, 0 changed, 0 destroyed." in proc.stdout
    assert f"1 manual step(s) to do by hand; {len(deferred)} change(s) blocked" in proc.stdout
    assert not exists(conn, DRS_CONFIG)
    entries = {e["address"]: e for e in load_json(journals(tmp_path)[0])["entries"]}
    assert entries["ad.schema[contoso.test]"]["status"] == "manual"
    assert {a for a, e in entries.items() if e["status"] == "blocked"} == set(deferred)
    code, again, _ = replan_exit(tmp_path, dc, graph_emulator)
    assert code == 2  # the manual step is still to do
    assert all(
        c["change"]["actions"] == ["no-op"]
        for c in again["resource_changes"]
        if c["address"].startswith(f"ad.ace[{STAFF}/")
    )


def test_a_drs_object_pointing_elsewhere_is_a_manual_step_apply_never_writes(
    fresh_samba_2012r2: SambaDC, graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    """msDS-DeviceLocation is system-only (Sch59, domain.md §1.2): the DC refuses to modify it
    ("can only be modified as system"), which the property test found when it was planned as an
    update. It is now a manual step: apply prints what to do, writes nothing to that object,
    and leaves the feature flag that depends on it blocked."""
    dc = fresh_samba_2012r2
    dc.create_connector()
    graph_emulator.tenant = graph_tenants.p1()
    conn = dc.admin_connection()
    add_drs_containers(conn, dc.config_dn)
    add_device_container(conn, DEVICES)
    add_drs_service(conn, DRS_SERVICE, f"CN=Computers,{dc.base_dn}")
    write_policy(tmp_path, policy_text(device=True))
    doc = plan_out(tmp_path, dc, graph_emulator)
    (drs,) = [c for c in doc["resource_changes"] if c["address"] == f"ad.object[{DRS_SERVICE}]"]
    assert drs["change"]["actions"] == ["manual"]
    assert "system-only" in drs["instructions"]
    before = usn(conn, DRS_SERVICE)

    proc = wbplan(tmp_path, dc, graph_emulator, "apply", "plan.wbplan")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"ad.object[{DRS_SERVICE}]: Manual step: " in proc.stdout
    assert "system-only" in proc.stdout
    assert "tenant.feature[deviceWritebackEnabled]: Blocked" in proc.stdout
    assert usn(conn, DRS_SERVICE) == before
    assert not [w for w in graph_emulator.writes() if "onPremisesSynchronization" in w.path]
