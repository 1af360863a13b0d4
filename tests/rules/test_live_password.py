"""Password writeback and tenant-wide rules on a real Samba DC + the Graph emulator, observed
through the real reading path: WB-PWD-001…005, WB-LIC-001, WB-TEN-001, WB-USR-001, WB-GRP-003,
WB-CON-001, WB-CON-002, and waivers applied to live findings."""

from __future__ import annotations

import pytest

from planner.observe.sd import merge_into_descriptor
from planner.rights import CONTROL_ACCESS, READ_CONTROL
from tests.ad.adops import (
    CI,
    add_aces,
    add_ou,
    allow,
    deny,
    object_sid,
    password_writeback_aces,
    protect_without_inherited,
    read_sd,
    write_sd,
)
from tests.rules.support import (
    BASE,
    CONNECTOR,
    fresh_sync,
    make_policy,
    observe,
    one,
    report,
    statuses,
)
from tests.support import graph_tenants
from tests.support.graph_emulator import GraphEmulator
from tests.support.samba import CONNECTOR_PASSWORD, SambaDC

pytestmark = pytest.mark.samba

UNEXPIRE = "ccc2dc7d-a6ad-4a7a-8846-c04e3cc53501"


@pytest.fixture(scope="module")
def sid(samba_2012r2: SambaDC) -> str:
    """The connector account on the module's DC (created once), by SID."""
    return object_sid(samba_2012r2.admin_connection(), samba_2012r2.create_connector())


TENANT_RULES = ("WB-LIC-001", "WB-TEN-001", "WB-USR-001", "WB-GRP-003", "WB-CON-001", "WB-CON-002")


def test_password_and_tenant_rules_pass(
    samba_2012r2: SambaDC, sid: str, emu: GraphEmulator
) -> None:
    conn = samba_2012r2.admin_connection()
    scope = add_ou(conn, f"OU=PwdOk,{BASE}")
    add_aces(conn, scope, *password_writeback_aces(sid))
    # Protecting a DACL on Samba keeps the inherited grants as explicit copies: inheritance is
    # disabled but the rights still reach its users, which WB-PWD-002 must accept.
    kept = add_ou(conn, f"OU=KeptGrants,{scope}")
    write_sd(conn, kept, merge_into_descriptor(read_sd(conn, kept), [], protect=True))
    samba_2012r2.create_user("alice", CONNECTOR_PASSWORD, parent=kept)
    # Samba's domain root already grants Unexpire Password to Authenticated Users; an explicit
    # grant makes the pass independent of that default.
    add_aces(conn, BASE, allow(sid, CONTROL_ACCESS, UNEXPIRE, flags=CI))
    emu.tenant = graph_tenants.p1()
    fresh_sync(emu)
    policy = make_policy(password={"enabled": True, "scope": [scope], "unexpire_password": True})

    rep = report(policy, observe(policy, samba_2012r2, emu))

    # WB-CON-002: a declared Connect version is "declared, not verified" without evidence from
    # the Connect server (issue 16): unknown, never a pass
    assert statuses(rep, *TENANT_RULES) == {
        **dict.fromkeys(TENANT_RULES, "pass"),
        "WB-CON-002": "unknown",
    }
    assert "declared, not verified" in one(rep, "WB-CON-002").message
    assert statuses(rep, "WB-PWD-001", "WB-PWD-002", "WB-PWD-003", "WB-PWD-004") == {
        "WB-PWD-001": "pass",
        "WB-PWD-002": "pass",
        "WB-PWD-003": "pass",
        "WB-PWD-004": "pass",
    }
    assert one(rep, "WB-PWD-001").address.lower() == scope.lower()
    assert one(rep, "WB-PWD-001").evidence["connector_sid"] == sid
    assert one(rep, "WB-PWD-002").evidence["protected_total"] == 1
    assert one(rep, "WB-PWD-004").address.lower() == BASE.lower()
    sspr = one(rep, "WB-PWD-005")
    assert sspr.status == "unknown" and "Password reset" in (sspr.verify_at or "")
    assert "AAD_PREMIUM held" in one(rep, "WB-LIC-001").message
    assert rep.compliant is True
    assert "WB-DEV-001" in rep.not_applicable and "WB-PWD-001" not in rep.not_applicable


def test_password_and_tenant_rules_fail_and_waivers(
    fresh_samba_2012r2: SambaDC, emu: GraphEmulator
) -> None:
    dc = fresh_samba_2012r2
    conn = dc.admin_connection()
    sid = object_sid(conn, dc.create_connector())
    scope = add_ou(conn, f"OU=Staff,{BASE}")
    reset_only = password_writeback_aces(sid)[:1]
    add_aces(conn, scope, *reset_only)
    locked = add_ou(conn, f"OU=Locked,{scope}")
    protect_without_inherited(conn, locked)
    admins = add_ou(conn, f"OU=Admins,{scope}")
    tier0 = dc.create_user(
        "tier0", CONNECTOR_PASSWORD, parent=admins, attributes={"adminCount": "1"}
    )
    stray = dc.create_user(
        "stray", CONNECTOR_PASSWORD, parent=scope, attributes={"adminCount": "1"}
    )
    # Samba's domain root grants Unexpire Password to Authenticated Users (the default domain.md
    # §3 calls UNCONFIRMED); an explicit deny for the connector defeats it.
    add_aces(conn, BASE, deny(sid, CONTROL_ACCESS, UNEXPIRE, flags=CI))
    emu.tenant = graph_tenants.tenant(
        skus=[graph_tenants.sku_e1()],
        features={"userWritebackEnabled": True, "groupWriteBackEnabled": True},
        last_sync=graph_tenants.STALE_SYNC,
    )
    waivers = [
        {
            "rule": "WB-PWD-003",
            "scope": admins,
            "reason": "Tier-0 resets on-premises only",
            "approved_by": "ciso@contoso.test",
            "expires": "2027-03-31",
        },
        {
            "rule": "WB-PWD-002",
            "scope": locked,
            "reason": "Lapsed exception",
            "approved_by": "ciso@contoso.test",
            "expires": "2026-11-01",
        },
    ]
    policy = make_policy(
        connect_version="1.0.8641.0",
        waivers=waivers,
        password={"enabled": True, "scope": [scope], "unexpire_password": True},
    )

    rep = report(policy, observe(policy, dc, emu))

    pwd1 = one(rep, "WB-PWD-001")
    assert pwd1.status == "fail"
    # only the two missing grants are planned at the root (Reset Password is held)
    assert [a.rsplit("/", 1)[-1] for a in pwd1.evidence["grants_planned"]] == [
        "write-lockoutTime]",
        "write-pwdLastSet]",
    ]
    assert "WP lockoutTime, WP pwdLastSet" in pwd1.message
    # inheritance disabled without the rights: failing, and the expired waiver does not cover it
    pwd2 = one(rep, "WB-PWD-002", locked)
    assert pwd2.status == "fail" and pwd2.waiver is None
    assert pwd2.evidence["scope_root"].lower() == scope.lower()
    # adminCount=1: waived under OU=Admins (carrying the waiver), failing outside its scope
    waived = one(rep, "WB-PWD-003", tier0)
    assert waived.status == "waived"
    assert waived.waiver is not None and waived.waiver.reason == "Tier-0 resets on-premises only"
    assert one(rep, "WB-PWD-003", stray).status == "fail"
    pwd4 = one(rep, "WB-PWD-004", BASE)
    assert pwd4.status == "fail" and pwd4.evidence["denied"] == ["unexpire-password"]
    assert pwd4.evidence["deny_aces"][0]["qualifier"] == "deny"
    expired = one(rep, "WB-WVR-001")
    assert expired.status == "fail" and expired.address == "policy.waivers[1]"
    assert statuses(rep, "WB-LIC-001", "WB-TEN-001", "WB-USR-001", "WB-GRP-003", "WB-CON-002") == {
        "WB-LIC-001": "fail",
        "WB-TEN-001": "fail",
        "WB-USR-001": "fail",
        "WB-GRP-003": "fail",
        "WB-CON-002": "fail",
    }
    assert "no subscribed SKU contains the AAD_PREMIUM" in one(rep, "WB-LIC-001").message
    assert "hours before the observation" in one(rep, "WB-TEN-001").message
    assert rep.compliant is False
    assert rep.summary.waived == 1
    assert rep.summary.shall_failed >= 9


def test_unknown_when_unreadable_and_connector_missing(
    samba_2012r2: SambaDC, sid: str, emu: GraphEmulator
) -> None:
    conn = samba_2012r2.admin_connection()
    hidden = add_ou(conn, f"OU=Hidden,{BASE}")
    add_aces(conn, hidden, *password_writeback_aces(sid), deny(sid, READ_CONTROL))
    emu.tenant = graph_tenants.tenant(synced=False)
    emu.forbid("/subscribedSkus")
    emu.forbid("/organization")
    policy = make_policy(connect_version=None, password={"enabled": True, "scope": [hidden]})

    # read as the connector itself, which may not read the DACL of OU=Hidden
    rep = report(
        policy, observe(policy, samba_2012r2, emu, user=CONNECTOR, password=CONNECTOR_PASSWORD)
    )

    pwd1 = one(rep, "WB-PWD-001")
    assert pwd1.status == "unknown" and pwd1.verify_at
    for rule_id in ("WB-LIC-001", "WB-TEN-001", "WB-USR-001", "WB-GRP-003", "WB-CON-002"):
        f = one(rep, rule_id)
        assert f.status == "unknown", rule_id
        assert f.verify_at, rule_id
    assert "Organization.Read.All" in one(rep, "WB-LIC-001").message
    assert "never configured" in one(rep, "WB-USR-001").message
    assert "Programs and Features" in (one(rep, "WB-CON-002").verify_at or "")
    assert rep.compliant is True  # unknown is not a failure

    ghost = make_policy(
        connector="CONTOSO\\MSOL_nobody", password={"enabled": True, "scope": [hidden]}
    )
    rep = report(ghost, observe(ghost, samba_2012r2, None))
    assert one(rep, "WB-CON-001").status == "fail"
    pwd1 = one(rep, "WB-PWD-001")
    assert pwd1.status == "fail" and "was not found" in pwd1.message
    assert one(rep, "WB-TEN-001").status == "unknown"  # the tenant was not observed
