"""``wbplan plan`` live, on a real Samba AD DC and the Graph emulator (issue #5, "Done when"):

- a 2012 R2 DC with nothing prepared + a tenant with P1 → the plan creates the device
  registration objects and the connector ACEs in dependency order, then turns the flag on;
- a 2008 R2 DC (objectVersion 47, no msDS-Device* classes) → the same policy yields a ``manual``
  schema change, and the device objects are deferred, ``blocked_by`` it.

Both run the real CLI in a subprocess with secrets in the environment, as a pipeline would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import graph_tenants
from tests.support.graph_emulator import GraphEmulator
from tests.support.samba import CONNECTOR_PASSWORD, SambaDC

pytestmark = pytest.mark.samba

POLICY = f"""\
apiVersion: wbplan.dev/v1
kind: WritebackPolicy
metadata: {{name: live-device}}
forest: contoso.test
tenant: {{id: {graph_tenants.TENANT_ID}, domain: contoso.onmicrosoft.com}}
connector: {{account: "CONTOSO\\\\MSOL_1a2b3c4d5e6f"}}
licences: {{require: [AAD_PREMIUM]}}
writeback:
  device: {{enabled: true, domain: contoso.test}}
"""

CONFIG = "CN=Configuration,DC=contoso,DC=test"
DRS_CONFIG = f"CN=Device Registration Configuration,CN=Services,{CONFIG}"
DRS_SERVICES = f"CN=Device Registration Services,{DRS_CONFIG}"
DRS_SERVICE = f"CN=DeviceRegistrationService,{DRS_SERVICES}"
DEVICES = "CN=RegisteredDevices,DC=contoso,DC=test"


def live_plan(
    dc: SambaDC, emu: GraphEmulator, tmp_path: Path, *extra: str
) -> tuple[int, dict[str, Any], str]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WBPLAN_", "AZURE_"))}
    env |= {
        "WBPLAN_LDAP_USER": dc.admin_user,
        "WBPLAN_LDAP_PASSWORD": dc.admin_password,
        "WBPLAN_GRAPH_TOKEN": emu.token,
    }
    args = [
        "plan",
        "--policy", str(policy),
        "--ldap-url", dc.url,
        "--ca-file", str(dc.ca_file),
        "--tls-server-name", dc.tls_server_name,
        "--graph-url", emu.base_url,
        "--graph-ca-file", emu.tls.ca_file,
        "--format", "json",
        *extra,
    ]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "planner", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    for secret in (dc.admin_password, emu.token, CONNECTOR_PASSWORD):
        assert secret not in proc.stdout + proc.stderr
    doc = json.loads(proc.stdout) if proc.stdout.strip() else {}
    return proc.returncode, doc, proc.stderr


def actions(doc: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """address → (action, position in the plan's order)."""
    return {
        c["address"]: (c["change"]["actions"][0], i) for i, c in enumerate(doc["resource_changes"])
    }


def test_fresh_2012r2_dc_plans_device_objects_and_aces_in_dependency_order(
    samba_2012r2: SambaDC, graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    samba_2012r2.create_connector()
    graph_emulator.tenant = graph_tenants.p1()
    code, doc, stderr = live_plan(samba_2012r2, graph_emulator, tmp_path, "--detailed-exitcode")
    assert code == 2, stderr
    assert doc["state_source"] == "live"
    assert doc["lineage"]["forest_guid"]
    assert doc["lineage"]["tenant_id"] == graph_tenants.TENANT_ID
    got = actions(doc)
    for dn in (DRS_CONFIG, DRS_SERVICES, DEVICES, DRS_SERVICE):
        assert got[f"ad.object[{dn}]"][0] == "create", dn
    assert got["ad.schema[contoso.test]"][0] == "no-op"
    assert got["tenant.licence[AAD_PREMIUM]"][0] == "no-op"
    assert got["ad.connector[CONTOSO\\MSOL_1a2b3c4d5e6f]"][0] == "no-op"
    ace_addresses = [a for a in got if a.startswith("ad.ace[")]
    assert (
        len(ace_addresses) == 2
    )  # the wizard's ACE on RegisteredDevices, GR GW on the DRS configuration
    assert all(got[a][0] == "create" for a in ace_addresses)

    def pos(address: str) -> int:
        return got[address][1]

    # containers before what lives in them; the location before the DRS object that names it
    assert (
        pos(f"ad.object[{DRS_CONFIG}]")
        < pos(f"ad.object[{DRS_SERVICES}]")
        < pos(f"ad.object[{DRS_SERVICE}]")
    )
    assert pos(f"ad.object[{DEVICES}]") < pos(f"ad.object[{DRS_SERVICE}]")
    # ACEs after their objects; the tenant flag after every AD step and the licence
    for a in ace_addresses:
        target = a.removeprefix("ad.ace[").rsplit("/", 2)[0]
        assert pos(f"ad.object[{target}]") < pos(a)
    flag = "tenant.feature[deviceWritebackEnabled]"
    assert got[flag][0] == "update"
    assert all(pos(a) < pos(flag) for a in got if a.startswith(("ad.", "tenant.licence")))
    assert doc["deferred_changes"] == []
    # the ACEs are granted to the connector's real SID, read from the DC
    sids = {
        c["change"]["after"]["trustee"] for c in doc["resource_changes"] if c["type"] == "ad.ace"
    }
    assert len(sids) == 1
    assert next(iter(sids)).startswith("S-1-5-21-")


def test_2008r2_dc_yields_a_manual_schema_change_that_blocks_the_device_objects(
    samba_2008r2: SambaDC, graph_emulator: GraphEmulator, tmp_path: Path
) -> None:
    samba_2008r2.create_connector()
    graph_emulator.tenant = graph_tenants.p1()
    code, doc, stderr = live_plan(samba_2008r2, graph_emulator, tmp_path, "--detailed-exitcode")
    assert code == 2, stderr
    schema = next(c for c in doc["resource_changes"] if c["address"] == "ad.schema[contoso.test]")
    assert schema["change"]["actions"] == ["manual"]
    assert schema["action_reason"] == "schema_too_old"
    assert schema["change"]["before"]["object_version"] == 47
    assert "adprep /forestprep" in schema["instructions"]
    deferred = {c["address"]: c for c in doc["deferred_changes"]}
    for dn in (DRS_CONFIG, DRS_SERVICES, DEVICES, DRS_SERVICE):
        change = deferred[f"ad.object[{dn}]"]
        assert change["change"]["actions"] == ["create"]
        assert "ad.schema[contoso.test]" in change["blocked_by"]
    assert (
        "ad.schema[contoso.test]"
        in deferred["tenant.feature[deviceWritebackEnabled]"]["blocked_by"]
    )
    assert doc["complete"] is False
    assert doc["summary"]["manual"] == 1
