"""Connection options without a DC: where the user and password come from (never argv), that
the password stays out of reprs and messages, URL checking, and the wording of bind and network
failures. The same failures against a real DC are in test_connect.py."""

from __future__ import annotations

import errno
import importlib.util
import socket
from pathlib import Path

import pytest

from planner.errors import LdapAuthError, LdapConnectError, LdapError
from planner.observe.ldapconn import LdapOptions, LdapSession, connect, ldap_options_from_env
from planner.observe.ldapopts import bind_failure, parse_ldap_url
from planner.observe.ldaptls import certificate_names, network_error

SECRET = "S3cret!value"


def test_options_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WBPLAN_LDAP_USER", "CONTOSO\\reader")
    monkeypatch.setenv("WBPLAN_LDAP_PASSWORD", SECRET)
    opts = ldap_options_from_env("ldaps://dc1.contoso.test", ca_file="ca.pem", timeout=5)
    assert (opts.user, opts.password, opts.ca_file, opts.timeout) == (
        "CONTOSO\\reader",
        SECRET,
        Path("ca.pem"),
        5,
    )
    assert SECRET not in repr(opts)
    assert SECRET not in str(opts)


def test_password_file_wins_and_only_its_first_line_counts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WBPLAN_LDAP_PASSWORD", "from-env")
    secret_file = tmp_path / "pw"
    secret_file.write_text(SECRET + "\r\nsecond line\n")
    assert ldap_options_from_env("ldaps://dc", password_file=secret_file).password == SECRET


def test_password_file_problems(tmp_path: Path) -> None:
    with pytest.raises(LdapAuthError, match="cannot read the LDAP password file") as info:
        ldap_options_from_env("ldaps://dc", password_file=tmp_path / "missing")
    assert info.value.hint == "check the path given to --ldap-password-file"
    empty = tmp_path / "empty"
    empty.write_text("")
    with pytest.raises(LdapAuthError, match="is empty"):
        ldap_options_from_env("ldaps://dc", password_file=empty)


def test_missing_environment_means_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WBPLAN_LDAP_USER", raising=False)
    monkeypatch.delenv("WBPLAN_LDAP_PASSWORD", raising=False)
    opts = ldap_options_from_env("ldaps://dc")
    assert opts.user is None and opts.password is None
    with pytest.raises(LdapAuthError, match="no LDAP bind credentials") as info:
        connect(opts)
    assert "WBPLAN_LDAP_USER" in (info.value.hint or "")


def test_url_parsing() -> None:
    assert parse_ldap_url("ldaps://DC1.contoso.test").where == "dc1.contoso.test:636"
    assert parse_ldap_url("ldap://10.0.0.1").port == 389
    assert parse_ldap_url("ldaps://[::1]:3269").where == "::1:3269"
    for bad in ("https://dc", "dc1.contoso.test", "ldaps://", "ldaps://dc:notaport"):
        with pytest.raises(LdapConnectError, match="not an LDAP URL"):
            parse_ldap_url(bad)


def test_bind_failure_wording_never_includes_the_password() -> None:
    opts = LdapOptions(url="ldaps://dc", user="CONTOSO\\reader", password=SECRET)
    cases = {
        "data 775": "the account is locked out",
        "data 533": "the account is disabled",
        "data 532": "the password has expired",
        "data 52e": "the user name or password is wrong",
    }
    for data, reason in cases.items():
        result = {
            "result": 49,
            "description": "invalidCredentials",
            "message": f"80090308: LdapErr: ... {data}, v4563",
        }
        error = bind_failure(result, opts)
        assert isinstance(error, LdapAuthError)
        assert error.message == f"the DC rejected the credentials of CONTOSO\\reader: {reason}"
        assert SECRET not in str(error)
    strong = bind_failure({"result": 8, "description": "strongerAuthRequired", "message": ""}, opts)
    assert "requires stronger authentication" in strong.message


def test_network_error_causes() -> None:
    where = "dc1.contoso.test:636"
    assert network_error(
        where, socket.gaierror(-2, "Name or service not known"), 10
    ).message.endswith("the host name does not resolve")
    assert network_error(where, ConnectionRefusedError(), 10).message.endswith(
        "connection refused (nothing listens on that port)"
    )
    assert network_error(where, TimeoutError(), 7.5).message.endswith("no answer within 7.5 s")
    unreachable = OSError(errno.EHOSTUNREACH, "No route to host")
    assert network_error(where, unreachable, 10).message.endswith("host unreachable")


def test_certificate_names_from_peer_certificate() -> None:
    peer = {
        "subject": (
            (("organizationName", "Samba Administration"),),
            (("commonName", "DC1.contoso.test"),),
        ),
        "subjectAltName": (
            ("DNS", "dc1.contoso.test"),
            ("IP Address", "10.0.0.1"),
            ("email", "x@y"),
        ),
    }
    assert certificate_names(peer) == ["dc1.contoso.test", "10.0.0.1", "DC1.contoso.test"]
    assert certificate_names({}) == []


@pytest.mark.skipif(
    importlib.util.find_spec("gssapi") is not None,
    reason="gssapi is installed here; this test covers the missing-package message",
)
def test_kerberos_without_gssapi_is_a_clear_error() -> None:
    # Kerberos is optional: without the gssapi package the choice fails before any network I/O.
    with pytest.raises(
        LdapAuthError, match="Kerberos bind needs the Python gssapi package"
    ) as info:
        connect(LdapOptions(url="ldaps://127.0.0.1", auth="kerberos"))
    assert "pip install gssapi" in (info.value.hint or "")


class _ReferringConnection:
    """Stands in for ldap3: answers every search with AD's referral for a foreign naming
    context (Samba answers noSuchObject instead, so no Samba test can produce this)."""

    def __init__(self) -> None:
        self.closed = True
        self.password = None
        self.response: list[object] = []
        self.result = {
            "result": 10,
            "description": "referral",
            "referrals": ["ldap://fabrikam.test/DC=fabrikam,DC=test"],
        }

    def search(self, *args: object, **kwargs: object) -> bool:
        return False


def test_referral_is_a_clear_error() -> None:
    session = LdapSession(_ReferringConnection(), LdapOptions(url="ldaps://dc1.contoso.test"))
    with pytest.raises(LdapError) as info:
        session.read("DC=fabrikam,DC=test", ["objectClass"])
    assert info.value.message == (
        "read of DC=fabrikam,DC=test failed: this DC does not hold that naming context "
        "(referral to ldap://fabrikam.test/DC=fabrikam,DC=test)"
    )
    assert session.requests == 1
