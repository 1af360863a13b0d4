"""Per-object verdicts beyond password writeback, on a real Samba DC with the Exchange-like
schema (issue 12): a group with inheritance disabled in the group writeback OU, a contact whose
proxyAddresses write is denied and a protected group under an Exchange hybrid scope, and a
device with inheritance disabled in RegisteredDevices. Each is judged on the object's own DACL,
failed at the object with its plan step, and the DC is asked (binding as the connector) before
and after wbplan's plan is applied."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest

from planner.apply.lock import held
from planner.apply.run import execute_plan
from planner.model.policy import Policy
from planner.observe.live import LiveSources, observe_live
from planner.planning import make_plan
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
from tests.ad.adops import (
    CI,
    CI_IO,
    GROUP,
    USER,
    add_aces,
    add_device,
    add_device_container,
    add_group,
    add_ou,
    allow,
    deny,
    object_sid,
    principal_may_replace,
    protect_without_inherited,
)
from tests.ad.conftest import options_for
from tests.rules.support import BASE, findings, make_policy, report
from tests.support.samba import CONNECTOR_PASSWORD, SambaDC, SambaFactory

pytestmark = pytest.mark.samba

INET_ORG_PERSON = "4828cc14-1437-45bc-9b07-ad6f015e5f28"
CONTACT = "5cb41ed0-0e4c-11d0-a286-00aa003049e2"
DEVICE = "5df2b673-6d41-4774-b3e8-d52e8ee9ff99"
PROXY_ADDRESSES = "bf967a06-0de6-11d0-a285-00aa003049e2"


@pytest.fixture(scope="module")
def dc(samba_factory: SambaFactory) -> Iterator[tuple[SambaDC, str, str]]:
    """A DC with the Exchange-like schema and the connector: (dc, DN, SID)."""
    with samba_factory.running("exchange") as running:
        dn = running.create_connector()
        yield running, dn, object_sid(running.admin_connection(), dn)


def _writes(dc: SambaDC, connector: str, dn: str, attribute: str, value: str) -> bool:
    return principal_may_replace(dc, connector, CONNECTOR_PASSWORD, dn, attribute, value)


def _protect_keeping_nothing(conn: ldap3.Connection, dn: str) -> None:
    protect_without_inherited(conn, dn)


def _apply(dc: SambaDC, policy: Policy) -> dict[str, str]:
    """Plan live, apply it (AD only), return the planned actions by address."""
    sources = LiveSources(ldap=options_for(dc), graph=None)
    state = observe_live(policy, sources)
    plan = make_plan(
        policy, state, policy_file="p.yaml", policy_digest="", state_source="live", timestamp="t"
    )
    actions = {
        c.address: c.change.actions[0] for c in (*plan.resource_changes, *plan.deferred_changes)
    }
    with (
        tempfile.TemporaryDirectory() as tmp,
        held(Path(tmp) / "locks", "contoso.test", policy.tenant.id, "apply") as lock,
    ):
        run = execute_plan(
            plan, policy, sources, state, lock, journal_dir=Path(tmp), progress=lambda *_: None
        )
    assert run.result.ok, run.journal.read_text()
    return actions


def test_a_protected_group_in_the_group_writeback_ou(dc: tuple[SambaDC, str, str]) -> None:
    samba, connector, sid = dc
    conn = samba.admin_connection()
    ou = add_ou(conn, f"OU=CloudGroupsP,{BASE}")
    add_aces(
        conn,
        ou,
        allow(sid, CREATE_CHILD | DELETE_CHILD, GROUP, None, CI),
        allow(sid, DS_GENERIC_READ | DS_GENERIC_WRITE | DELETE | DELETE_TREE, None, GROUP, CI_IO),
    )
    fine = add_group(conn, f"CN=Group_ok,{ou}")
    locked = add_group(conn, f"CN=Group_locked,{ou}")
    _protect_keeping_nothing(conn, locked)
    policy = make_policy(group={"enabled": True, "container": ou, "new_group_default": False})
    state = observe_live(policy, LiveSources(ldap=options_for(samba), graph=None))

    rep = report(policy, state)
    failing = {f.address.lower(): f for f in findings(rep, "WB-GRP-002") if f.status == "fail"}
    assert set(failing) == {locked.lower()}
    assert _writes(samba, connector, fine, "description", "x")
    assert not _writes(samba, connector, locked, "description", "x")

    actions = _apply(samba, policy)
    assert actions[f"ad.ace[{locked}/group-writeback/manage-groups]"] == "create"
    assert _writes(samba, connector, locked, "description", "after")
    again = report(policy, observe_live(policy, LiveSources(ldap=options_for(samba), graph=None)))
    assert [f.status for f in findings(again, "WB-GRP-002")] == ["pass"]


def test_exchange_hybrid_judges_each_attribute_on_each_object(
    dc: tuple[SambaDC, str, str],
) -> None:
    samba, connector, sid = dc
    conn = samba.admin_connection()
    scope = add_ou(conn, f"OU=MailP,{BASE}")
    add_aces(
        conn,
        scope,
        *(
            allow(sid, READ_PROPERTY | WRITE_PROPERTY, None, cls, CI_IO)
            for cls in (USER, INET_ORG_PERSON, GROUP, CONTACT)
        ),
    )
    contact = f"CN=Partner,{scope}"
    conn.add(contact, ["top", "person", "organizationalPerson", "contact"])
    add_aces(conn, contact, deny(sid, WRITE_PROPERTY, PROXY_ADDRESSES))
    locked = add_group(conn, f"CN=Distribution,{scope}")
    _protect_keeping_nothing(conn, locked)
    policy = make_policy(exchange_hybrid={"enabled": True, "scope": [scope]})
    state = observe_live(policy, LiveSources(ldap=options_for(samba), graph=None))

    rep = report(policy, state)
    failing = {f.address.lower(): f for f in findings(rep, "WB-EXH-001") if f.status == "fail"}
    assert set(failing) == {contact.lower(), locked.lower()}
    assert failing[contact.lower()].evidence["operation"] == "write-proxyAddresses"
    assert not _writes(samba, connector, contact, "proxyAddresses", "smtp:p@contoso.test")
    assert not _writes(samba, connector, locked, "proxyAddresses", "smtp:d@contoso.test")

    actions = _apply(samba, policy)
    assert actions[f"ad.ace[{locked}/exchange-hybrid/read-write-group]"] == "create"
    assert actions[f"ad.deny[{contact}/exchange-hybrid/write-proxyAddresses]"] == "manual"
    assert _writes(samba, connector, locked, "proxyAddresses", "smtp:d@contoso.test")
    assert not _writes(samba, connector, contact, "proxyAddresses", "smtp:p@contoso.test")


def test_a_protected_device_in_the_device_container(dc: tuple[SambaDC, str, str]) -> None:
    samba, connector, sid = dc
    conn = samba.admin_connection()
    container = f"CN=RegisteredDevices,{BASE}"
    add_device_container(conn, container)
    add_aces(conn, container, allow(sid, READ_PROPERTY | WRITE_PROPERTY, None, DEVICE, CI_IO))
    add_device(conn, container, "dev-ok")
    add_device(conn, container, "dev-locked")
    locked = f"CN=dev-locked,{container}"
    protect_without_inherited(conn, locked)
    policy = make_policy(device={"enabled": True, "domain": "contoso.test"})
    state = observe_live(policy, LiveSources(ldap=options_for(samba), graph=None))

    rep = report(policy, state)
    failing = {f.address.lower() for f in findings(rep, "WB-DEV-004") if f.status == "fail"}
    assert locked.lower() in failing
    assert f"cn=dev-ok,{container}".lower() not in failing
    assert _writes(samba, connector, f"CN=dev-ok,{container}", "displayName", "ok")
    assert not _writes(samba, connector, locked, "displayName", "locked")
    plan = make_plan(
        policy, state, policy_file="p", policy_digest="", state_source="live", timestamp="t"
    )
    actions = {
        c.address: c.change.actions[0] for c in (*plan.resource_changes, *plan.deferred_changes)
    }
    assert actions[f"ad.ace[{locked}/device-writeback/read-write-devices]"] == "create"
