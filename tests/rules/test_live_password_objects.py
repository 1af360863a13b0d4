"""Per-object password-writeback verdicts on a real Samba DC, one named case each (issue 12):
a deny on an ordinary sub-OU, a deny on a user, a protected user, a property-set deny, a grant
with NO_PROPAGATE_INHERIT, an inetOrgPerson user, and adminCount=1 users whose AdminSDHolder
does and does not grant. Each asserts the verdict, the deciding ACE and the object it is
explicit on, the DC's own answer when the connector tries, and the plan's matching step."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from planner.model.policy import Policy
from planner.model.report import Finding, Report
from planner.model.state import ObservedState
from planner.planning import make_plan
from planner.rights import CONTROL_ACCESS, WRITE_PROPERTY
from tests.ad.adops import (
    CI,
    CI_IO,
    PWD_LAST_SET,
    RESET_PASSWORD,
    USER,
    add_aces,
    add_ou,
    allow,
    deny,
    object_sid,
    password_writeback_aces,
    principal_may_replace,
    protect_without_inherited,
)
from tests.rules.support import BASE, findings, make_policy, observe, report
from tests.support.samba import CONNECTOR_PASSWORD, SambaDC, SambaFactory

pytestmark = pytest.mark.samba

INETORGPERSON = "4828cc14-1437-45bc-9b07-ad6f015e5f28"
USER_ACCOUNT_RESTRICTIONS = "4c164200-20c0-11d0-a768-00aa006e0529"
NP = 0x04
HOLDER = f"CN=AdminSDHolder,CN=System,{BASE}"


@pytest.fixture(scope="module")
def dc(samba_factory: SambaFactory) -> Iterator[tuple[SambaDC, str, str]]:
    """A DC of its own (AdminSDHolder is changed here), with the connector: (dc, DN, SID)."""
    with samba_factory.running("2012_R2") as running:
        dn = running.create_connector()
        yield running, dn, object_sid(running.admin_connection(), dn)


def _user(
    dc: SambaDC, parent: str, name: str, *, inetorg: bool = False, admin: bool = False
) -> str:
    dn = f"CN={name},{parent}"
    classes = ["top", "person", "organizationalPerson", "user"] + (
        ["inetOrgPerson"] if inetorg else []
    )
    attrs: dict[str, object] = {"sAMAccountName": name}
    if admin:
        attrs["adminCount"] = "1"
    dc.admin_connection().add(dn, classes, attrs)
    return dn


def _dc_allows(dc: SambaDC, connector_dn: str, user: str, attribute: str) -> bool:
    value: object = '"Judge!Pw#x9Q1"'.encode("utf-16-le") if attribute == "unicodePwd" else "0"
    return principal_may_replace(dc, connector_dn, CONNECTOR_PASSWORD, user, attribute, value)


def _check(dc: SambaDC, root: str) -> tuple[Policy, ObservedState, Report]:
    policy = make_policy(password={"enabled": True, "scope": [root]})
    state = observe(policy, dc, None)
    return policy, state, report(policy, state)


def _at(rep: Report, rule_id: str, address: str) -> Finding:
    found = [f for f in findings(rep, rule_id) if f.address.lower() == address.lower()]
    assert len(found) == 1, [(f.address, f.status, f.message) for f in findings(rep, rule_id)]
    return found[0]


def _row(f: Finding, dn: str) -> dict[str, object]:
    return next(o for o in f.evidence["objects"] if str(o["dn"]).lower() == dn.lower())


def _plan_actions(policy: Policy, state: ObservedState) -> dict[str, str]:
    plan = make_plan(
        policy, state, policy_file="p.yaml", policy_digest="", state_source="live", timestamp="t"
    )
    return {
        c.address: c.change.actions[0] for c in (*plan.resource_changes, *plan.deferred_changes)
    }


def test_deny_on_an_unprotected_sub_ou_fails_every_user_below_it(
    dc: tuple[SambaDC, str, str],
) -> None:
    samba, connector, sid = dc
    conn = samba.admin_connection()
    root = add_ou(conn, f"OU=DenySub,{BASE}")
    add_aces(conn, root, *password_writeback_aces(sid))
    sales = add_ou(conn, f"OU=Sales,{root}")
    add_aces(conn, sales, deny(sid, CONTROL_ACCESS, RESET_PASSWORD, USER, CI_IO))
    users = [_user(samba, sales, f"ds{i}") for i in range(3)]
    fine = _user(samba, root, "ds-ok")

    policy, state, rep = _check(samba, root)

    f = _at(rep, "WB-PWD-001", sales)
    assert f.status == "fail" and f.evidence["objects_denied"] == 3
    assert "3 objects below OU=Sales" in f.message
    assert f.evidence["explicit_on"].lower() == sales.lower()
    assert f.evidence["deciding_ace"].startswith("deny CA Reset Password")
    assert "(inherited)" in str(_row(f, users[0])["reset-password"])
    assert not any(_dc_allows(samba, connector, u, "unicodePwd") for u in users)
    assert _dc_allows(samba, connector, fine, "unicodePwd")
    actions = _plan_actions(policy, state)
    assert actions[f"ad.deny[{sales}/password-writeback/reset-password]"] == "manual"


def test_deny_on_a_user_is_explicit_on_that_user(dc: tuple[SambaDC, str, str]) -> None:
    samba, connector, sid = dc
    conn = samba.admin_connection()
    root = add_ou(conn, f"OU=DenyUser,{BASE}")
    add_aces(conn, root, *password_writeback_aces(sid))
    kiosk = _user(samba, root, "kiosk")
    add_aces(conn, kiosk, deny("S-1-1-0", WRITE_PROPERTY, PWD_LAST_SET))

    policy, state, rep = _check(samba, root)

    f = _at(rep, "WB-PWD-001", kiosk)
    assert f.status == "fail"
    assert f.evidence["explicit_on"].lower() == kiosk.lower()
    assert f.evidence["deciding_ace"] == "deny WP pwdLastSet to Everyone"
    assert not _dc_allows(samba, connector, kiosk, "pwdLastSet")
    assert _dc_allows(samba, connector, kiosk, "lockoutTime")
    assert (
        _plan_actions(policy, state)[f"ad.deny[{kiosk}/password-writeback/write-pwdLastSet]"]
        == "manual"
    )


def test_protected_user_gets_the_grant_on_itself(dc: tuple[SambaDC, str, str]) -> None:
    samba, connector, sid = dc
    conn = samba.admin_connection()
    root = add_ou(conn, f"OU=LockedUser,{BASE}")
    add_aces(conn, root, *password_writeback_aces(sid))
    locked = _user(samba, root, "locked")
    protect_without_inherited(conn, locked)

    policy, state, rep = _check(samba, root)

    f = _at(rep, "WB-PWD-002", locked)
    assert f.status == "fail" and f.evidence["objects_lacking"] == 1
    assert _row(f, locked)["governed_by"] == locked
    assert _row(f, locked)["reset-password"] == {"verdict": "missing"}
    assert _at(rep, "WB-PWD-001", root).status == "pass"
    assert not _dc_allows(samba, connector, locked, "unicodePwd")
    actions = _plan_actions(policy, state)
    assert actions[f"ad.ace[{locked}/password-writeback/reset-password]"] == "create"


def test_a_deny_on_the_property_set_decides_pwdlastset(dc: tuple[SambaDC, str, str]) -> None:
    samba, connector, sid = dc
    conn = samba.admin_connection()
    root = add_ou(conn, f"OU=PropSet,{BASE}")
    add_aces(conn, root, *password_writeback_aces(sid))
    team = add_ou(conn, f"OU=Team,{root}")
    add_aces(conn, team, deny(sid, WRITE_PROPERTY, USER_ACCOUNT_RESTRICTIONS, USER, CI_IO))
    user = _user(samba, team, "ps1")

    _policy, state, rep = _check(samba, root)

    assert state.ad is not None
    assert state.ad.schema_info.property_sets["pwdLastSet"] == USER_ACCOUNT_RESTRICTIONS
    f = _at(rep, "WB-PWD-001", team)
    assert f.status == "fail"
    assert "User-Account-Restrictions" in f.evidence["deciding_ace"]
    row = _row(f, user)
    assert row["write-pwdLastSet"]["verdict"] == "denied"  # type: ignore[index]
    assert row["write-lockoutTime"]["verdict"] == "granted"  # type: ignore[index]
    assert not _dc_allows(samba, connector, user, "pwdLastSet")
    assert _dc_allows(samba, connector, user, "lockoutTime")


def test_a_no_propagate_grant_reaches_children_only(dc: tuple[SambaDC, str, str]) -> None:
    samba, connector, sid = dc
    conn = samba.admin_connection()
    root = add_ou(conn, f"OU=NoProp,{BASE}")
    add_aces(
        conn,
        root,
        *(a.model_copy(update={"flags": CI_IO | NP}) for a in password_writeback_aces(sid)),
    )
    child = _user(samba, root, "np-child")
    deeper = add_ou(conn, f"OU=Deeper,{root}")
    grandchild = _user(samba, deeper, "np-grandchild")

    policy, state, rep = _check(samba, root)

    f = _at(rep, "WB-PWD-001", root)
    assert f.status == "fail" and f.evidence["objects_lacking"] == 1
    assert [o["dn"].lower() for o in f.evidence["objects"]] == [grandchild.lower()]  # type: ignore[union-attr]
    assert _dc_allows(samba, connector, child, "unicodePwd")
    assert not _dc_allows(samba, connector, grandchild, "unicodePwd")
    actions = _plan_actions(policy, state)
    assert actions[f"ad.ace[{root}/password-writeback/reset-password]"] == "create"


def test_an_inetorgperson_is_not_reached_by_user_scoped_grants(
    dc: tuple[SambaDC, str, str],
) -> None:
    samba, connector, sid = dc
    conn = samba.admin_connection()
    root = add_ou(conn, f"OU=Iop,{BASE}")
    add_aces(conn, root, *password_writeback_aces(sid))
    person = _user(samba, root, "iop1", inetorg=True)
    plain = _user(samba, root, "plain1")

    policy, state, rep = _check(samba, root)

    f = _at(rep, "WB-PWD-001", root)
    assert f.status == "fail"
    row = _row(f, person)
    assert row["class"] == "inetOrgPerson" and row["reset-password"] == {"verdict": "missing"}
    assert not _dc_allows(samba, connector, person, "unicodePwd")
    assert _dc_allows(samba, connector, plain, "unicodePwd")
    actions = _plan_actions(policy, state)
    assert actions[f"ad.ace[{root}/password-writeback/reset-password-inetOrgPerson]"] == "create"
    assert actions[f"ad.ace[{root}/password-writeback/reset-password]"] == "no-op"


def test_admin_count_users_pass_only_when_adminsdholder_grants(
    dc: tuple[SambaDC, str, str],
) -> None:
    samba, _connector, sid = dc
    conn = samba.admin_connection()
    root = add_ou(conn, f"OU=Tier0,{BASE}")
    add_aces(conn, root, *password_writeback_aces(sid))
    admin = _user(samba, root, "t0admin", admin=True)

    _policy, _state, rep = _check(samba, root)
    f = _at(rep, "WB-PWD-003", admin)
    assert f.status == "fail"
    assert f.evidence["admin_sd_holder_lacks"] == [
        "CA Reset Password",
        "WP lockoutTime",
        "WP pwdLastSet",
    ]
    assert "its own DACL lacks" not in f.message  # the user inherits the grants today
    assert "SDProp copies it onto the user" in f.message

    # AdminSDHolder grants the rights on itself (SDProp copies its DACL onto the user).
    add_aces(
        conn,
        HOLDER,
        allow(sid, CONTROL_ACCESS, RESET_PASSWORD, flags=CI),
        allow(sid, WRITE_PROPERTY, "28630ebf-41d5-11d1-a9c1-0000f80367c1", flags=CI),
        allow(sid, WRITE_PROPERTY, PWD_LAST_SET, flags=CI),
    )
    _policy, _state, rep = _check(samba, root)
    assert [f.status for f in findings(rep, "WB-PWD-003")] == ["pass"]


def test_a_deny_to_this_organization_is_counted_though_samba_omits_it(
    dc: tuple[SambaDC, str, str],
) -> None:
    """The one designed difference from Samba's access check: Windows adds This Organization
    (S-1-5-15) to a network logon's token, Samba 4.17 does not. wbplan counts such SIDs for
    deny ACEs only, so it is stricter than Samba here and never passes what Windows refuses."""
    samba, connector, sid = dc
    conn = samba.admin_connection()
    root = add_ou(conn, f"OU=ThisOrg,{BASE}")
    add_aces(conn, root, *password_writeback_aces(sid))
    user = _user(samba, root, "thisorg1")
    add_aces(conn, user, deny("S-1-5-15", WRITE_PROPERTY, PWD_LAST_SET))

    _policy, _state, rep = _check(samba, root)

    f = _at(rep, "WB-PWD-001", user)
    assert f.evidence["deciding_ace"] == "deny WP pwdLastSet to This Organization"
    assert _dc_allows(samba, connector, user, "pwdLastSet")  # Samba's token lacks S-1-5-15
