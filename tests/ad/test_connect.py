"""Connecting to a real DC: TLS validation on by default, and every bad input → one
``LdapError`` subclass with a one-line message naming the cause, and no secret anywhere."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from planner.errors import LdapAccessError, LdapAuthError, LdapConnectError, LdapError
from planner.observe.ldapconn import LdapOptions, connect
from tests.ad.adops import add_aces, add_ou, deny, object_sid
from tests.ad.conftest import options_for
from tests.support.samba import CONNECTOR_PASSWORD, SambaDC
from tests.support.samba_tools import lease_ip

pytestmark = pytest.mark.samba

SECRET = "Wr0ng!Secret#pw"  # a test value that must never be echoed


def options_for_unreachable(url: str) -> LdapOptions:
    return LdapOptions(url=url, user="CONTOSO\\reader", password=SECRET, timeout=3)


def assert_clear(exc: LdapError, *secrets: str) -> None:
    """One line of message, a hint, and no secret in anything printable."""
    assert "\n" not in exc.message
    assert exc.hint
    for text in (exc.message, exc.hint, str(exc), repr(exc)):
        for secret in secrets:
            assert secret not in text


def test_ldaps_with_ca_and_server_name_binds(samba_2012r2: SambaDC) -> None:
    with connect(options_for(samba_2012r2)) as session:
        entry = session.require("", ["defaultNamingContext"])
        assert entry.text("defaultNamingContext") == samba_2012r2.base_dn
        assert session.requests == 2  # bind, one search
        assert samba_2012r2.admin_password not in repr(session)


def test_starttls_on_389_binds(samba_2012r2: SambaDC) -> None:
    opts = options_for(samba_2012r2, url=samba_2012r2.starttls_url, user="CONTOSO\\Administrator")
    with connect(opts) as session:
        assert session.require("", ["dnsHostName"]).text("dnsHostName") == "dc1.contoso.test"
        assert session.requests == 3  # StartTLS, bind, one search


def test_bind_as_dn(samba_2012r2: SambaDC) -> None:
    opts = options_for(samba_2012r2, user=f"CN=Administrator,CN=Users,{samba_2012r2.base_dn}")
    with connect(opts) as session:
        assert session.read(samba_2012r2.base_dn, ["objectClass"]) is not None


def test_wrong_password(samba_2012r2: SambaDC) -> None:
    with pytest.raises(LdapAuthError) as info:
        connect(options_for(samba_2012r2, password=SECRET))
    assert "rejected the credentials of Administrator@contoso.test" in info.value.message
    assert "user name or password is wrong" in info.value.message
    assert_clear(info.value, SECRET)


def test_tls_name_mismatch_names_the_certificate(samba_2012r2: SambaDC) -> None:
    opts = options_for(samba_2012r2, tls_server_name=None, password=SECRET)
    with pytest.raises(LdapConnectError) as info:
        connect(opts)
    message = info.value.message
    assert f"issued to DC1.contoso.test, not to {samba_2012r2.ip}" in message
    assert "--tls-server-name DC1.contoso.test" in (info.value.hint or "")
    assert_clear(info.value, SECRET)


def test_tls_name_mismatch_over_starttls(samba_2012r2: SambaDC) -> None:
    opts = options_for(
        samba_2012r2, url=samba_2012r2.starttls_url, tls_server_name="dc9.contoso.test"
    )
    with pytest.raises(
        LdapConnectError, match=re.escape("issued to DC1.contoso.test, not to dc9.contoso.test")
    ):
        connect(opts)


def test_untrusted_certificate_without_ca_file(samba_2012r2: SambaDC) -> None:
    with pytest.raises(LdapConnectError) as info:
        connect(options_for(samba_2012r2, ca_file=None, password=SECRET))
    assert "certificate is not trusted" in info.value.message
    assert "--ca-file" in (info.value.hint or "")
    assert_clear(info.value, SECRET)


def test_missing_ca_file(samba_2012r2: SambaDC, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-ca.pem"
    with pytest.raises(LdapConnectError) as info:
        connect(options_for(samba_2012r2, ca_file=missing, password=SECRET))
    assert info.value.message == f"the CA file {missing} does not exist"
    assert_clear(info.value, SECRET)


def test_wrong_host_refused() -> None:
    lease = lease_ip()  # a loopback address on which nothing listens
    try:
        opts = options_for_unreachable(f"ldaps://{lease.ip}")
        with pytest.raises(LdapConnectError) as info:
            connect(opts)
    finally:
        lease.release()
    assert (
        info.value.message
        == f"cannot reach the DC at {lease.ip}:636: connection refused (nothing listens on that port)"
    )
    assert_clear(info.value, SECRET)


def test_wrong_host_name_does_not_resolve() -> None:
    with pytest.raises(LdapConnectError) as info:
        connect(options_for_unreachable("ldaps://dc1.invalid"))
    assert (
        info.value.message
        == "cannot reach the DC at dc1.invalid:636: the host name does not resolve"
    )
    assert_clear(info.value, SECRET)


def test_insecure_warns_loudly_and_still_binds(
    samba_2012r2: SambaDC, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="wbplan.ldap"),
        connect(
            options_for(samba_2012r2, ca_file=None, tls_server_name=None, insecure=True)
        ) as session,
    ):
        assert session.require("", ["dnsHostName"]) is not None
    assert any(
        "INSECURE" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records
    )
    assert all(samba_2012r2.admin_password not in r.getMessage() for r in caplog.records)


def test_no_credentials() -> None:
    with pytest.raises(LdapAuthError, match="no LDAP bind credentials"):
        connect(LdapOptions(url="ldaps://127.0.0.1", user="x"))


def test_connector_account_binds_and_reads_its_own_dacl(samba_2012r2: SambaDC) -> None:
    # An ordinary user (the realistic bind account) can read DACLs with the SD-flags control.
    dn = samba_2012r2.create_user("reader1", CONNECTOR_PASSWORD)
    with connect(
        options_for(samba_2012r2, user="reader1@contoso.test", password=CONNECTOR_PASSWORD)
    ) as session:
        assert session.read_security(dn)[:2] == b"\x01\x00"


def test_missing_object_and_unreadable_descriptor(samba_2012r2: SambaDC) -> None:
    conn = samba_2012r2.admin_connection()
    reader_dn = samba_2012r2.create_user("reader2", CONNECTOR_PASSWORD)
    ou = add_ou(conn, f"OU=NoRead,{samba_2012r2.base_dn}")
    add_aces(conn, ou, deny(object_sid(conn, reader_dn), 0x20000))  # deny READ_CONTROL
    with connect(
        options_for(samba_2012r2, user="reader2@contoso.test", password=CONNECTOR_PASSWORD)
    ) as session:
        with pytest.raises(LdapAccessError) as info:
            session.read_security(ou)
        assert (
            info.value.message == f"the bind account may not read the security descriptor of {ou}"
        )
        with pytest.raises(LdapError) as missing:
            session.read_security(f"OU=Nowhere,{samba_2012r2.base_dn}")
        assert missing.value.message == f"object not found: OU=Nowhere,{samba_2012r2.base_dn}"
