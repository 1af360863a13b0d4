"""Group writeback v1 and Exchange hybrid rules on Samba (with and without the Exchange-like
schema) + the Graph emulator: WB-GRP-001, WB-GRP-002, WB-GRP-004, WB-EXH-001."""

from __future__ import annotations

import pytest

from planner.rights import (
    CREATE_CHILD,
    DELETE,
    DELETE_CHILD,
    DELETE_TREE,
    DS_GENERIC_READ,
    DS_GENERIC_WRITE,
    READ_PROPERTY,
    WRITE_PROPERTY,
)
from tests.ad.adops import CI, CI_IO, GROUP, USER, add_aces, add_group, add_ou, allow, object_sid
from tests.rules.support import BASE, make_policy, observe, one, report, statuses
from tests.support import graph_tenants
from tests.support.graph_emulator import GraphEmulator
from tests.support.samba import SambaDC

pytestmark = pytest.mark.samba

INET_ORG_PERSON = "4828cc14-1437-45bc-9b07-ad6f015e5f28"
CONTACT = "5cb41ed0-0e4c-11d0-a286-00aa003049e2"
RULES = ("WB-GRP-001", "WB-GRP-002", "WB-GRP-004", "WB-GRP-005", "WB-EXH-001")


def group_policy(container: str, scope: str, new_group_default: bool = False) -> object:
    return make_policy(
        group={"enabled": True, "container": container, "new_group_default": new_group_default},
        exchange_hybrid={"enabled": True, "scope": [scope]},
    )


@pytest.fixture(scope="module")
def sid(samba_exchange: SambaDC) -> str:
    return object_sid(samba_exchange.admin_connection(), samba_exchange.create_connector())


def test_group_and_exchange_rules_pass(
    samba_exchange: SambaDC, sid: str, emu: GraphEmulator
) -> None:
    conn = samba_exchange.admin_connection()
    ou = add_ou(conn, f"OU=CloudGroups,{BASE}")
    add_aces(
        conn,
        ou,
        allow(sid, CREATE_CHILD | DELETE_CHILD, GROUP, None, CI),
        allow(sid, DS_GENERIC_READ | DS_GENERIC_WRITE | DELETE | DELETE_TREE, None, GROUP, CI_IO),
    )
    scope = add_ou(conn, f"OU=Mail,{BASE}")
    add_aces(
        conn,
        scope,
        *(
            allow(sid, READ_PROPERTY | WRITE_PROPERTY, None, cls, CI_IO)
            for cls in (USER, INET_ORG_PERSON, GROUP, CONTACT)
        ),
    )
    emu.tenant = graph_tenants.group_unified_present("false")
    emu.tenant.sync["features"]["unifiedGroupWritebackEnabled"] = True  # type: ignore[index]
    policy = group_policy(ou, scope)

    rep = report(policy, observe(policy, samba_exchange, emu))

    assert statuses(rep, *RULES) == dict.fromkeys(RULES, "pass")
    assert one(rep, "WB-GRP-001").evidence["range_upper"] == 15312
    assert one(rep, "WB-GRP-002").address.lower() == ou.lower()
    assert one(rep, "WB-GRP-002").evidence["groups_in_ou"] == 0
    assert one(rep, "WB-GRP-004").evidence == {
        "declared": False,
        "observed": False,
        "setting_present": True,
    }


def test_group_and_exchange_rules_fail(
    samba_exchange: SambaDC, sid: str, emu: GraphEmulator
) -> None:
    conn = samba_exchange.admin_connection()
    ou = add_ou(conn, f"OU=NoRights,{BASE}")
    # only the descendant-group grant: no CreateChild of groups on the OU itself (domain.md §7)
    add_aces(
        conn,
        ou,
        allow(sid, DS_GENERIC_READ | DS_GENERIC_WRITE | DELETE | DELETE_TREE, None, GROUP, CI_IO),
    )
    scope = add_ou(conn, f"OU=UsersOnly,{BASE}")
    add_aces(conn, scope, allow(sid, READ_PROPERTY | WRITE_PROPERTY, None, USER, CI_IO))
    emu.tenant = graph_tenants.tenant()  # no Group.Unified setting: the default reads as true
    policy = group_policy(ou, scope)

    rep = report(policy, observe(policy, samba_exchange, emu))

    grp2 = one(rep, "WB-GRP-002")
    assert grp2.status == "fail" and grp2.evidence["missing"] == ["create-delete-groups"]
    grp4 = one(rep, "WB-GRP-004")
    assert grp4.status == "fail" and "absent (reads as true)" in grp4.message
    assert one(rep, "WB-GRP-005").status == "fail"  # declared on, observed off
    exh = one(rep, "WB-EXH-001")
    assert exh.status == "fail"
    # an ACE for user does not reach inetOrgPerson (domain.md §3, §10)
    assert exh.evidence["missing"] == [
        "read-write-inetOrgPerson",
        "read-write-group",
        "read-write-contact",
    ]

    # declared off while the tenant still writes back: failing, with the blast radius
    add_group(conn, f"CN=Group_1234,{ou}")
    emu.tenant.sync["features"]["unifiedGroupWritebackEnabled"] = True  # type: ignore[index]
    off = make_policy(group={"enabled": False, "container": ou})
    rep = report(off, observe(off, samba_exchange, emu))
    flag = one(rep, "WB-GRP-005")
    assert flag.status == "fail" and flag.evidence["blast_radius"]["count"] == 1
    assert "WB-GRP-002" in rep.not_applicable

    # a writeback OU that does not exist
    gone = group_policy(f"OU=Missing,{BASE}", scope)
    rep = report(gone, observe(gone, samba_exchange, emu))
    assert "does not exist" in one(rep, "WB-GRP-002").message


def test_group_setting_unreadable_is_unknown(
    samba_exchange: SambaDC, sid: str, emu: GraphEmulator
) -> None:
    del sid
    emu.tenant = graph_tenants.tenant()
    emu.forbid("/groupSettings")
    policy = group_policy(f"OU=CloudGroups,{BASE}", BASE)
    rep = report(policy, observe(policy, samba_exchange, emu))
    setting = one(rep, "WB-GRP-004")
    assert setting.status == "unknown" and "groupSettings" in (setting.verify_at or "")


def test_without_exchange_schema_group_writeback_fails(
    fresh_samba_2012r2: SambaDC, emu: GraphEmulator
) -> None:
    fresh_samba_2012r2.create_connector()
    emu.tenant = graph_tenants.tenant()
    policy = group_policy(f"OU=CloudGroups,{BASE}", BASE)
    rep = report(policy, observe(policy, fresh_samba_2012r2, emu))
    gate = one(rep, "WB-GRP-001")
    assert gate.status == "fail" and gate.evidence["range_upper"] is None
