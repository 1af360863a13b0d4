"""Bulk reads: paging proven by counting requests (Samba does not enforce AD's 1,000-entry
limit, so a reader that forgot to page would pass every other Samba test), the groups under the
group-writeback OU, Key Admins groups, and the snapshot round trip of a full observation."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from planner import __version__
from planner.model.state import ObservedState, Source
from planner.observe.ad import observe_ad
from planner.observe.ldapconn import LdapSession, connect
from planner.observe.snapshot import dump_state, parse_state
from tests.ad.adops import (
    add_aces,
    add_group,
    add_member,
    add_ou,
    object_sid,
    password_writeback_aces,
    policy,
)
from tests.ad.conftest import options_for
from tests.support.samba import SambaDC

pytestmark = pytest.mark.samba


def add_users(dc: SambaDC, parent: str, prefix: str, count: int) -> None:
    conn = dc.admin_connection()
    for i in range(count):
        # No password: a disabled account is enough to be counted, and much faster to create.
        conn.add(
            f"CN={prefix}{i:03},{parent}",
            ["top", "person", "organizationalPerson", "user"],
            {"sAMAccountName": f"{prefix}{i:03}"},
        )


def requests_for(dc: SambaDC, scope: str, page_size: int) -> int:
    with connect(options_for(dc), page_size=page_size) as session:
        observe_ad(session, policy(password={"enabled": True, "scope": [scope]}))
        return session.requests


def test_requests_grow_with_pages_not_objects(samba_2012r2: SambaDC) -> None:
    scope = add_ou(samba_2012r2.admin_connection(), f"OU=Paged,{samba_2012r2.base_dn}")
    add_users(samba_2012r2, scope, "p", 30)
    small_pages, big_pages = (
        requests_for(samba_2012r2, scope, 10),
        requests_for(samba_2012r2, scope, 1000),
    )
    add_users(samba_2012r2, scope, "q", 20)
    # 30 → 50 users: two more pages of 10; with 1,000-entry pages, not one request more.
    assert requests_for(samba_2012r2, scope, 10) == small_pages + 2
    assert requests_for(samba_2012r2, scope, 1000) == big_pages


def test_search_streams_page_by_page(
    samba_2012r2: SambaDC, open_session: Callable[..., LdapSession]
) -> None:
    scope = add_ou(samba_2012r2.admin_connection(), f"OU=Stream,{samba_2012r2.base_dn}")
    add_users(samba_2012r2, scope, "s", 25)
    session = open_session(samba_2012r2)
    before = session.requests
    entries = session.search(scope, "(objectClass=user)", ["1.1"], page_size=10)
    next(entries)
    assert session.requests == before + 1  # the first entry arrives before page 2 is asked for
    assert len(list(entries)) == 24
    assert session.requests == before + 3


def test_groups_under_writeback_ou(
    samba_2012r2: SambaDC, open_session: Callable[..., LdapSession]
) -> None:
    conn = samba_2012r2.admin_connection()
    ou = add_ou(conn, f"OU=CloudGroups,{samba_2012r2.base_dn}")
    nested = add_ou(conn, f"OU=Nested,{ou}")
    names = [f"CN=Group_{i:02},{ou}" for i in range(22)] + [f"CN=Group_zz,{nested}"]
    for dn in names:
        add_group(conn, dn)
    add_users(samba_2012r2, ou, "g", 2)  # users are not counted

    ad = observe_ad(open_session(samba_2012r2), policy(group={"enabled": True, "container": ou}))
    assert len(ad.groups) == 1
    groups = ad.groups[0]
    assert groups.container == ou
    assert groups.count == 23
    assert len(groups.first) == 20
    assert list(groups.first) == sorted(groups.first, key=str.lower)


def test_missing_group_ou_is_reported_not_scanned(
    samba_2012r2: SambaDC, open_session: Callable[..., LdapSession]
) -> None:
    ou = f"OU=NoSuchGroups,{samba_2012r2.base_dn}"
    ad = observe_ad(open_session(samba_2012r2), policy(group={"enabled": True, "container": ou}))
    assert [o.exists for o in ad.objects if o.dn == ou] == [False]
    assert ad.groups == ()
    assert ad.unread == ()


def test_key_admin_groups(samba_2012r2: SambaDC, open_session: Callable[..., LdapSession]) -> None:
    ngc = policy(ngc_keys={"enabled": True})
    ad = observe_ad(open_session(samba_2012r2), ngc)
    # Samba 4.17 at the 2008 R2 functional level creates neither group
    assert ad.well_known_groups == {"Key Admins": None, "Enterprise Key Admins": None}
    domain_sid = ad.domains[0].sid
    samba_2012r2.ldb_add(
        f"dn: CN=Key Admins,CN=Users,{samba_2012r2.base_dn}\nobjectClass: group\n"
        f"sAMAccountName: Key Admins\nobjectSid: {domain_sid}-526\ngroupType: -2147483646\n"
    )
    connector = samba_2012r2.create_connector()
    add_member(
        samba_2012r2.admin_connection(), f"CN=Key Admins,CN=Users,{samba_2012r2.base_dn}", connector
    )

    ad = observe_ad(open_session(samba_2012r2), ngc)
    assert ad.well_known_groups == {
        "Key Admins": f"{domain_sid}-526",
        "Enterprise Key Admins": None,
    }
    assert ad.connector is not None and f"{domain_sid}-526" in ad.connector.token_groups


def test_snapshot_round_trip(
    samba_exchange: SambaDC, open_session: Callable[..., LdapSession]
) -> None:
    dc = samba_exchange
    conn = dc.admin_connection()
    connector = dc.create_connector()
    staff = add_ou(conn, f"OU=Staff,{dc.base_dn}")
    add_ou(conn, f"OU=CloudGroups,{dc.base_dn}")
    add_group(conn, f"CN=Group_1,OU=CloudGroups,{dc.base_dn}")
    add_aces(conn, staff, *password_writeback_aces(object_sid(conn, connector)))
    add_member(conn, f"CN=Domain Admins,CN=Users,{dc.base_dn}", connector)
    every_feature = policy(
        password={"enabled": True, "scope": [staff], "unexpire_password": True},
        device={"enabled": True, "domain": "contoso.test"},
        group={"enabled": True, "container": f"OU=CloudGroups,{dc.base_dn}"},
        exchange_hybrid={"enabled": True},
        ngc_keys={"enabled": True},
        hybrid_join={"enabled": True},
    )
    session = open_session(dc)
    state = ObservedState(
        wbplan_version=__version__,
        observed_at="2026-01-01T00:00:00Z",
        source=Source(ldap_url=session.url),
        ad=observe_ad(session, every_feature),
    )
    text = dump_state(state)
    assert parse_state(json.loads(text), "round-trip") == state
    assert dc.admin_password not in text
    assert state.ad is not None and state.ad.schema_info.exchange_range_upper == 15312
    # deterministic: a second observation of the unchanged DC serialises identically
    again = ObservedState(
        wbplan_version=__version__,
        observed_at="2026-01-01T00:00:00Z",
        source=Source(ldap_url=session.url),
        ad=observe_ad(open_session(dc), every_feature),
    )
    assert dump_state(again) == text
