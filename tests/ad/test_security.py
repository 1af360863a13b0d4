"""ACLs written to a real DC and read back: allow, deny, inherit-only to users, object-type
scoped; a protected OU under a scope; adminCount=1 users; rights through tokenGroups. The
effective-rights evaluator is checked against what Samba itself propagates to children."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from planner.model.state import INHERITED_ACE, AdObject, AdState, SecurityDescriptor
from planner.observe.ad import observe_ad
from planner.observe.ldapconn import LdapSession
from planner.observe.sd import descriptor_bytes, merge_into_descriptor, parse_descriptor
from planner.rights import (
    CONTROL_ACCESS,
    DS_GENERIC_ALL,
    GENERIC_ALL,
    READ_CONTROL,
    WRITE_PROPERTY,
    Right,
    inherited_by_child,
    rights_on_new_child,
    rights_on_object,
)
from tests.ad.adops import (
    CI_IO,
    GROUP_DOMAIN_LOCAL_SECURITY,
    LOCKOUT_TIME,
    PWD_LAST_SET,
    RESET_PASSWORD,
    USER,
    add_aces,
    add_group,
    add_member,
    add_ou,
    allow,
    deny,
    object_sid,
    password_writeback_aces,
    policy,
    protect_without_inherited,
    read_sd,
)
from tests.support.samba import CONNECTOR_PASSWORD, SambaDC

pytestmark = pytest.mark.samba

OU_CLASS = "bf967aa5-0de6-11d0-a285-00aa003049e2"
PASSWORD_RIGHTS = (
    Right("reset-password", CONTROL_ACCESS, RESET_PASSWORD),
    Right("write-lockoutTime", WRITE_PROPERTY, LOCKOUT_TIME),
    Right("write-pwdLastSet", WRITE_PROPERTY, PWD_LAST_SET),
)
ALL_PASSWORD = {"reset-password", "write-lockoutTime", "write-pwdLastSet"}


@pytest.fixture(scope="module")
def connector(samba_2012r2: SambaDC) -> tuple[str, str]:
    """(DN, SID) of the connector account MSOL_1a2b3c4d5e6f."""
    dn = samba_2012r2.create_connector()
    return dn, object_sid(samba_2012r2.admin_connection(), dn)


def observed(ad: AdState, dn: str) -> AdObject:
    return next(o for o in ad.objects if o.dn.lower() == dn.lower())


def user_sd(dc: SambaDC, dn: str) -> SecurityDescriptor:
    return parse_descriptor(read_sd(dc.admin_connection(), dn))


def password_policy(*scope: str) -> object:
    return policy(password={"enabled": True, "scope": list(scope)})


def test_descriptors_round_trip_byte_exactly(
    samba_2012r2: SambaDC, connector: tuple[str, str]
) -> None:
    conn = samba_2012r2.admin_connection()
    ou = add_ou(conn, f"OU=RoundTrip,{samba_2012r2.base_dn}")
    add_aces(conn, ou, *password_writeback_aces(connector[1]), deny(connector[1], 0x40))
    for dn in (samba_2012r2.base_dn, f"CN=Users,{samba_2012r2.base_dn}", ou, connector[0]):
        raw = read_sd(conn, dn)
        assert descriptor_bytes(parse_descriptor(raw)) == raw, dn  # bytes → model → bytes
        assert merge_into_descriptor(raw, []) == raw, dn


def test_allow_inherit_only_object_type_aces(
    samba_2012r2: SambaDC, connector: tuple[str, str], open_session: Callable[..., LdapSession]
) -> None:
    dn, sid = connector
    conn = samba_2012r2.admin_connection()
    ou = add_ou(conn, f"OU=Pwd,{samba_2012r2.base_dn}")
    sub = add_ou(conn, f"OU=Sub,{ou}")
    user = samba_2012r2.create_user("alice", CONNECTOR_PASSWORD, parent=sub)
    add_aces(conn, ou, *password_writeback_aces(sid))

    ad = observe_ad(open_session(samba_2012r2), password_policy(ou))
    assert (
        ad.connector is not None
        and ad.connector.sid == sid
        and ad.connector.dn.lower() == dn.lower()
    )
    sd = observed(ad, ou).security
    assert sd is not None
    mine = [a for a in sd.aces if a.trustee == sid]
    assert {
        (a.qualifier, a.mask, a.flags, a.object_type, a.inherited_object_type) for a in mine
    } == {
        ("allow", 0x100, CI_IO, RESET_PASSWORD, USER),
        ("allow", 0x20, CI_IO, LOCKOUT_TIME, USER),
        ("allow", 0x20, CI_IO, PWD_LAST_SET, USER),
    }
    sids = [sid, *ad.connector.token_groups]
    # inherit-only: nothing on the OU itself; everything on users below it
    assert rights_on_object(sd, sids, [OU_CLASS], PASSWORD_RIGHTS).missing == ALL_PASSWORD
    assert rights_on_new_child(sd, sids, USER, PASSWORD_RIGHTS).ok
    # ...and Samba's own propagation agrees: the real user two levels down is covered
    on_user = user_sd(samba_2012r2, user)
    check = rights_on_object(on_user, sids, [USER], PASSWORD_RIGHTS)
    assert check.ok
    assert all(a.flags & INHERITED_ACE for a in check.evidence)
    # the prediction of inherited ACEs matches what the DC computed for the child OU
    predicted = {a for a in inherited_by_child(sd, OU_CLASS) if a.trustee == sid}
    actual = {a for a in user_sd(samba_2012r2, sub).aces if a.trustee == sid}
    assert predicted == actual


def test_explicit_deny_below_beats_inherited_allow(
    samba_2012r2: SambaDC, connector: tuple[str, str], open_session: Callable[..., LdapSession]
) -> None:
    _, sid = connector
    conn = samba_2012r2.admin_connection()
    ou = add_ou(conn, f"OU=DenyTop,{samba_2012r2.base_dn}")
    sub = add_ou(conn, f"OU=DenySub,{ou}")
    user = samba_2012r2.create_user("bob", CONNECTOR_PASSWORD, parent=sub)
    add_aces(conn, ou, *password_writeback_aces(sid))
    add_aces(conn, sub, deny(sid, CONTROL_ACCESS, RESET_PASSWORD, USER, CI_IO))

    ad = observe_ad(open_session(samba_2012r2), password_policy(ou, sub))
    sub_sd = observed(ad, sub).security
    assert sub_sd is not None
    # explicit deny first, then the ACEs inherited from DenyTop (canonical order on the DC)
    first_deny = next(
        i for i, a in enumerate(sub_sd.aces) if a.trustee == sid and a.qualifier == "deny"
    )
    first_allow = next(
        i for i, a in enumerate(sub_sd.aces) if a.trustee == sid and a.qualifier == "allow"
    )
    assert first_deny < first_allow
    check = rights_on_new_child(sub_sd, [sid], USER, PASSWORD_RIGHTS)
    assert check.denied == {"reset-password"}
    assert check.granted == {"write-lockoutTime", "write-pwdLastSet"}
    on_user = rights_on_object(user_sd(samba_2012r2, user), [sid], [USER], PASSWORD_RIGHTS)
    assert on_user.denied == {"reset-password"}


def test_protected_ou_under_scope_cuts_inheritance(
    samba_2012r2: SambaDC, connector: tuple[str, str], open_session: Callable[..., LdapSession]
) -> None:
    _, sid = connector
    conn = samba_2012r2.admin_connection()
    scope = add_ou(conn, f"OU=Scope,{samba_2012r2.base_dn}")
    locked = add_ou(conn, f"OU=Locked,{scope}")
    open_ou = add_ou(conn, f"OU=Open,{scope}")
    inside = samba_2012r2.create_user("carol", CONNECTOR_PASSWORD, parent=locked)
    outside = samba_2012r2.create_user("dave", CONNECTOR_PASSWORD, parent=open_ou)
    protected = protect_without_inherited(conn, locked)
    assert protected.dacl_protected and not any(a.inherited for a in protected.aces)
    add_aces(conn, scope, *password_writeback_aces(sid))

    ad = observe_ad(open_session(samba_2012r2), password_policy(scope))
    scan = next(s for s in ad.scopes if s.root.lower() == scope.lower())
    protected = [c for c in scan.containers if c.dacl and ad.dacls[c.dacl].dacl_protected]
    assert [o.dn.lower() for o in protected] == [locked.lower()]
    assert protected[0].dacl is not None
    locked_sd = ad.dacls[protected[0].dacl]
    assert scan.ous_total == 2
    # every user is read with its own DACL, which decides as the DC does
    by_dn = {o.dn.lower(): o for o in scan.objects}
    assert set(by_dn) == {inside.lower(), outside.lower()}
    inside_dacl, outside_dacl = by_dn[inside.lower()].dacl, by_dn[outside.lower()].dacl
    assert inside_dacl is not None and outside_dacl is not None
    assert not rights_on_object(ad.dacls[inside_dacl], [sid], [USER], PASSWORD_RIGHTS).ok
    assert rights_on_object(ad.dacls[outside_dacl], [sid], [USER], PASSWORD_RIGHTS).ok
    assert rights_on_new_child(locked_sd, [sid], USER, PASSWORD_RIGHTS).missing == ALL_PASSWORD
    assert not rights_on_object(user_sd(samba_2012r2, inside), [sid], [USER], PASSWORD_RIGHTS).ok
    assert rights_on_object(user_sd(samba_2012r2, outside), [sid], [USER], PASSWORD_RIGHTS).ok


def test_admin_count_users_in_scope(
    samba_2012r2: SambaDC, open_session: Callable[..., LdapSession]
) -> None:
    conn = samba_2012r2.admin_connection()
    scope = add_ou(conn, f"OU=Admins,{samba_2012r2.base_dn}")
    flagged = samba_2012r2.create_user(
        "tier0", CONNECTOR_PASSWORD, parent=scope, attributes={"adminCount": "1"}
    )
    samba_2012r2.create_user("plain", CONNECTOR_PASSWORD, parent=scope)
    samba_2012r2.create_user(
        "former", CONNECTOR_PASSWORD, parent=scope, attributes={"adminCount": "0"}
    )
    conn.add(f"CN=Contact1,{scope}", ["top", "person", "organizationalPerson", "contact"])

    ad = observe_ad(open_session(samba_2012r2), password_policy(scope))
    scan = next(s for s in ad.scopes if s.root.lower() == scope.lower())
    assert [u.dn.lower() for u in scan.objects if u.admin_count] == [flagged.lower()]
    assert scan.users_total == 3  # the contact is not a user


def test_rights_through_nested_groups_in_token_groups(
    samba_2012r2: SambaDC, connector: tuple[str, str], open_session: Callable[..., LdapSession]
) -> None:
    dn, sid = connector
    conn = samba_2012r2.admin_connection()
    ou = add_ou(conn, f"OU=ViaGroup,{samba_2012r2.base_dn}")
    global_group = add_group(conn, f"CN=WB-Writers,{ou}")
    local_group = add_group(conn, f"CN=WB-Delegation,{ou}", group_type=GROUP_DOMAIN_LOCAL_SECURITY)
    add_member(conn, global_group, dn)
    add_member(conn, local_group, global_group)
    local_sid = object_sid(conn, local_group)
    add_aces(conn, ou, *password_writeback_aces(local_sid))

    ad = observe_ad(open_session(samba_2012r2), password_policy(ou))
    assert ad.connector is not None
    assert {object_sid(conn, global_group), local_sid} <= set(ad.connector.token_groups)
    sd = observed(ad, ou).security
    assert sd is not None
    assert rights_on_new_child(sd, [sid, *ad.connector.token_groups], USER, PASSWORD_RIGHTS).ok
    assert rights_on_new_child(sd, [sid], USER, PASSWORD_RIGHTS).missing == ALL_PASSWORD


def test_generic_all_as_stored_by_the_dc(samba_2012r2: SambaDC, connector: tuple[str, str]) -> None:
    _, sid = connector
    conn = samba_2012r2.admin_connection()
    ou = add_ou(conn, f"OU=Generic,{samba_2012r2.base_dn}")
    sd = add_aces(conn, ou, allow(sid, GENERIC_ALL))
    stored = next(a for a in sd.aces if a.trustee == sid)
    # domain.md §1.6 leaves the stored form UNCONFIRMED; Samba expands GA to the DS bits.
    assert stored.mask in (GENERIC_ALL, DS_GENERIC_ALL)
    assert rights_on_object(sd, [sid], [OU_CLASS], PASSWORD_RIGHTS).ok


def test_unreadable_descriptor_becomes_unread(
    samba_2012r2: SambaDC, connector: tuple[str, str], open_session: Callable[..., LdapSession]
) -> None:
    _, sid = connector
    conn = samba_2012r2.admin_connection()
    ou = add_ou(conn, f"OU=Hidden,{samba_2012r2.base_dn}")
    add_aces(conn, ou, deny(sid, READ_CONTROL))
    session = open_session(samba_2012r2, "CONTOSO\\MSOL_1a2b3c4d5e6f", CONNECTOR_PASSWORD)

    ad = observe_ad(session, password_policy(ou))
    hidden = observed(ad, ou)
    assert hidden.exists and hidden.security is None and hidden.usn_changed is not None
    assert [u.what for u in ad.unread] == [f"ad.object[{ou}]"]
    assert "READ_CONTROL" in ad.unread[0].reason


@pytest.mark.parametrize(
    "account",
    [
        "CONTOSO\\MSOL_1a2b3c4d5e6f",
        "contoso\\msol_1a2b3c4d5e6f",
        "MSOL_1a2b3c4d5e6f@contoso.test",
        "CN=MSOL_1a2b3c4d5e6f,CN=Users,DC=contoso,DC=test",
    ],
)
def test_connector_named_as_sam_upn_or_dn(
    samba_2012r2: SambaDC,
    connector: tuple[str, str],
    open_session: Callable[..., LdapSession],
    account: str,
) -> None:
    pol = policy().model_copy(
        update={"connector": policy().connector.model_copy(update={"account": account})}
    )
    ad = observe_ad(open_session(samba_2012r2), pol)
    assert ad.connector is not None
    assert (ad.connector.account, ad.connector.found, ad.connector.sid) == (
        account,
        True,
        connector[1],
    )
    assert ad.connector.dn is not None and ad.connector.dn.lower() == connector[0].lower()
    assert "S-1-5-21" in "".join(ad.connector.token_groups)  # Domain Users at least
    assert ad.connector.token_groups == tuple(sorted(ad.connector.token_groups))


def test_missing_connector_is_not_found(
    samba_2012r2: SambaDC, open_session: Callable[..., LdapSession]
) -> None:
    pol = policy().model_copy(
        update={
            "connector": policy().connector.model_copy(update={"account": "CONTOSO\\MSOL_nobody"})
        }
    )
    ad = observe_ad(open_session(samba_2012r2), pol)
    assert ad.connector is not None
    assert (ad.connector.found, ad.connector.dn, ad.connector.sid) == (False, None, None)
    assert ad.unread == ()
