"""Device writeback, hybrid join and key writeback rules on real Samba DCs + the Graph
emulator: WB-DEV-001…006, WB-HJ-001, WB-KEY-001/002 pass, fail and unknown, observed live."""

from __future__ import annotations

from typing import Any

import pytest

from planner.model.dn import scp_dn
from planner.rights import (
    CREATE_CHILD,
    DELETE_CHILD,
    DS_GENERIC_READ,
    DS_GENERIC_WRITE,
    READ_PROPERTY,
    WRITE_PROPERTY,
)
from tests.ad.adops import (
    CI,
    CI_IO,
    add_aces,
    add_device,
    add_device_container,
    add_drs_containers,
    add_drs_service,
    add_member,
    add_ou,
    allow,
    drs_dns,
    object_sid,
)
from tests.rules.support import BASE, fresh_sync, make_policy, observe, one, report, statuses
from tests.support import graph_tenants
from tests.support.graph_emulator import GraphEmulator
from tests.support.samba import SambaDC
from tests.support.samba_tools import extend_key_credential_schema

pytestmark = pytest.mark.samba

DEVICE_CLASS = "5df2b673-6d41-4774-b3e8-d52e8ee9ff99"
DEVICES = f"CN=RegisteredDevices,{BASE}"
DEVICE_RULES = ("WB-DEV-001", "WB-DEV-002", "WB-DEV-003", "WB-DEV-005", "WB-DEV-006", "WB-HJ-001")
POLICY = {
    "device": {"enabled": True, "domain": "contoso.test"},
    "hybrid_join": {"enabled": True},
}


def entra_device(device_id: str, trust_type: str) -> dict[str, Any]:
    return {
        "id": device_id[::-1],
        "deviceId": device_id,
        "displayName": f"PC-{device_id[:4]}",
        "trustType": trust_type,
        "accountEnabled": True,
    }


def prepare(dc: SambaDC) -> tuple[str, list[str]]:
    """Device writeback and hybrid join prepared as the wizard would (plus two devices);
    returns the connector SID and the devices' ids."""
    conn = dc.admin_connection()
    sid = object_sid(conn, dc.create_connector())
    configuration, _, service = drs_dns(dc.config_dn)
    add_drs_containers(conn, dc.config_dn)
    add_device_container(conn, DEVICES)
    add_drs_service(conn, service, DEVICES)
    add_aces(
        conn,
        DEVICES,
        allow(sid, CREATE_CHILD | DELETE_CHILD, DEVICE_CLASS, None, CI),
        allow(sid, READ_PROPERTY | WRITE_PROPERTY, None, DEVICE_CLASS, CI_IO),
    )
    add_aces(conn, configuration, allow(sid, DS_GENERIC_READ | DS_GENERIC_WRITE, flags=CI))
    conn.add(
        scp_dn(dc.config_dn),
        ["top", "serviceConnectionPoint"],
        {
            "keywords": [
                "azureADName:contoso.onmicrosoft.com",
                f"azureADId:{graph_tenants.TENANT_ID}",
            ]
        },
    )
    ids = [add_device(conn, DEVICES, "laptop1"), add_device(conn, DEVICES, "laptop2")]
    return sid, ids


def test_device_rules_pass_then_fail_as_the_forest_drifts(
    fresh_samba_2012r2: SambaDC, emu: GraphEmulator
) -> None:
    dc = fresh_samba_2012r2
    _, ids = prepare(dc)
    devices = [entra_device(ids[0], "Workplace"), entra_device(ids[1], "AzureAd")]
    devices.append(graph_tenants.device(1, "ServerAd"))  # hybrid joined: not expected in AD
    emu.tenant = graph_tenants.tenant(devices=devices, features={"deviceWritebackEnabled": True})
    fresh_sync(emu)
    policy = make_policy(**POLICY)

    rep = report(policy, observe(policy, dc, emu))

    assert statuses(rep, *DEVICE_RULES) == dict.fromkeys(DEVICE_RULES, "pass")
    rights = {f.address.lower(): f.status for f in rep.findings if f.rule_id == "WB-DEV-004"}
    configuration = drs_dns(dc.config_dn)[0]
    assert rights == {DEVICES.lower(): "pass", configuration.lower(): "pass"}
    coverage = one(rep, "WB-DEV-006").evidence
    assert (coverage["expected"], coverage["in_ad"], coverage["missing_count"]) == (2, 2, 0)
    assert coverage["entra_by_trust_type"] == {"AzureAd": 1, "ServerAd": 1, "Workplace": 1}
    assert rep.compliant is True

    # drift: a second DRS object pointing at an OU, an Entra device missing in AD, the tenant
    # flag off, the SCP naming another tenant
    conn = dc.admin_connection()
    wrong = add_ou(conn, f"OU=NotDevices,{BASE}")
    second = f"CN=Second DRS,{drs_dns(dc.config_dn)[1]}"
    add_drs_service(conn, second, wrong)
    late = "11111111-2222-4333-8444-555555555555"
    emu.tenant.devices.append(entra_device(late, "Workplace"))
    emu.tenant.sync["features"]["deviceWritebackEnabled"] = False  # type: ignore[index]
    conn.modify(
        scp_dn(dc.config_dn),
        {"keywords": [("MODIFY_REPLACE", ["azureADName:fabrikam.com", "azureADId:x"])]},
    )

    rep = report(policy, observe(policy, dc, emu))

    dup = one(rep, "WB-DEV-002")
    assert dup.status == "fail" and dup.evidence["count"] == 2
    assert one(rep, "WB-DEV-003", drs_dns(dc.config_dn)[2]).status == "pass"
    bad = one(rep, "WB-DEV-003", second)
    assert bad.status == "fail" and "not an msDS-DeviceContainer" in bad.message
    assert one(rep, "WB-DEV-005").status == "fail"
    gap = one(rep, "WB-DEV-006")
    assert gap.status == "fail" and gap.criticality == "SHOULD"
    assert gap.evidence["missing"] == [late] and "3 hours" in gap.message
    hj = one(rep, "WB-HJ-001")
    assert hj.status == "fail" and "azureADName:fabrikam.com" in hj.message


def test_nothing_prepared_fails_and_unreadable_sections_are_unknown(
    fresh_samba_2012r2: SambaDC, emu: GraphEmulator
) -> None:
    dc = fresh_samba_2012r2
    dc.create_connector()
    emu.tenant = graph_tenants.p1()
    emu.forbid("/devices")
    fresh_sync(emu)
    policy = make_policy(**POLICY)

    rep = report(policy, observe(policy, dc, emu))

    assert statuses(rep, "WB-DEV-001", "WB-DEV-002", "WB-DEV-003", "WB-DEV-005", "WB-HJ-001") == {
        "WB-DEV-001": "pass",
        "WB-DEV-002": "fail",
        "WB-DEV-003": "fail",
        "WB-DEV-005": "fail",
        "WB-HJ-001": "fail",
    }
    assert {f.status for f in rep.findings if f.rule_id == "WB-DEV-004"} == {"fail"}
    assert "does not exist" in one(rep, "WB-DEV-004", DEVICES).message
    coverage = one(rep, "WB-DEV-006")
    assert coverage.status == "unknown" and "Devices" in (coverage.verify_at or "")

    # Active Directory not observed at all: every forest rule is unknown, never pass or fail
    rep = report(policy, observe(policy, None, emu))
    forest_rules = (
        "WB-DEV-001",
        "WB-DEV-002",
        "WB-DEV-003",
        "WB-DEV-004",
        "WB-HJ-001",
        "WB-CON-001",
    )
    seen: dict[str, set[str]] = {
        f.rule_id: set() for f in rep.findings if f.rule_id in forest_rules
    }
    for f in rep.findings:
        if f.rule_id in forest_rules:
            seen[f.rule_id].add(f.status)
    assert seen == {r: {"unknown"} for r in forest_rules}


def test_2008r2_schema_fails_device_and_key_rules(
    samba_2008r2: SambaDC, emu: GraphEmulator
) -> None:
    samba_2008r2.create_connector()
    emu.tenant = graph_tenants.p1()
    policy = make_policy(device={"enabled": True}, ngc_keys={"enabled": True})

    rep = report(policy, observe(policy, samba_2008r2, emu))

    dev = one(rep, "WB-DEV-001")
    assert dev.status == "fail" and dev.evidence["object_version"] == 47
    assert "msDS-Device" in dev.evidence["missing"]
    assert one(rep, "WB-DEV-002").status == "fail"
    key = one(rep, "WB-KEY-001")
    assert key.status == "fail" and key.evidence["missing"] == ["msDS-KeyCredentialLink"]
    assert one(rep, "WB-KEY-002").status == "fail"  # Key Admins does not exist at 2008 R2


def test_key_admins_membership(samba_2012r2: SambaDC, emu: GraphEmulator) -> None:
    conn = samba_2012r2.admin_connection()
    connector = samba_2012r2.create_connector()
    domain_sid = object_sid(conn, BASE)
    emu.tenant = graph_tenants.p1()
    policy = make_policy(ngc_keys={"enabled": True})
    samba_2012r2.ldb_add(
        f"dn: CN=Key Admins,CN=Users,{BASE}\nobjectClass: group\n"
        f"sAMAccountName: Key Admins\nobjectSid: {domain_sid}-526\ngroupType: -2147483646\n"
    )

    rep = report(policy, observe(policy, samba_2012r2, emu))
    member = one(rep, "WB-KEY-002")
    assert member.status == "fail" and "not a member of Key Admins" in member.message
    assert one(rep, "WB-KEY-001").status == "fail"  # objectVersion 69 < 87

    add_member(conn, f"CN=Key Admins,CN=Users,{BASE}", connector)
    rep = report(policy, observe(policy, samba_2012r2, emu))
    assert one(rep, "WB-KEY-002").status == "pass"


def test_key_rules_pass_on_a_forest_with_the_2016_key_schema(
    fresh_samba_2012r2: SambaDC, emu: GraphEmulator
) -> None:
    """WB-KEY-001 and WB-KEY-002 pass once the forest has msDS-KeyCredentialLink at
    objectVersion 87 (Microsoft's definition, from the 2016 LDF Samba ships) and the connector is
    in Key Admins (RID 526)."""
    dc = fresh_samba_2012r2
    conn = dc.admin_connection()
    connector = dc.create_connector()
    domain_sid = object_sid(conn, BASE)
    emu.tenant = graph_tenants.p1()
    policy = make_policy(ngc_keys={"enabled": True})
    extend_key_credential_schema(conn, dc.schema_dn)
    dc.ldb_add(
        f"dn: CN=Key Admins,CN=Users,{BASE}\nobjectClass: group\n"
        f"sAMAccountName: Key Admins\nobjectSid: {domain_sid}-526\ngroupType: -2147483646\n"
    )
    add_member(conn, f"CN=Key Admins,CN=Users,{BASE}", connector)

    state = observe(policy, dc, emu)
    assert state.ad is not None and state.ad.schema_info.object_version == 87
    rep = report(policy, state)

    key = one(rep, "WB-KEY-001")
    assert key.status == "pass", key.message
    assert one(rep, "WB-KEY-002").status == "pass"
