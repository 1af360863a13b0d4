"""LDAP connection options and plain values: no ldap3 here, so the CLI and tests can build
options, and the bind-failure wording is testable without a server.

``planner.observe.ldapconn`` re-exports :class:`LdapOptions` and :func:`ldap_options_from_env`.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from planner.errors import LdapAuthError, LdapConnectError, LdapError

USER_ENV = "WBPLAN_LDAP_USER"
PASSWORD_ENV = "WBPLAN_LDAP_PASSWORD"  # noqa: S105 - the variable's name, not a password

# RFC 4511 result codes a bind failure is told apart by
INVALID_CREDENTIALS = 49
_STRONG_AUTH_REQUIRED = 8
_CONFIDENTIALITY_REQUIRED = 13

# The "data NNN" sub-codes AD puts in an invalidCredentials bind error (Samba sends 52e too).
_AD_BIND_DATA = {
    "525": "the user does not exist",
    "52e": "the user name or password is wrong",
    "530": "logon is not permitted at this time",
    "531": "logon is not permitted from this workstation",
    "532": "the password has expired",
    "533": "the account is disabled",
    "701": "the account has expired",
    "773": "the password must be changed before first logon",
    "775": "the account is locked out",
}


@dataclass(frozen=True)
class LdapOptions:
    """How to reach and bind to a DC. ``password`` never appears in ``repr``."""

    url: str
    ca_file: Path | None = None
    tls_server_name: str | None = None
    insecure: bool = False
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 10.0
    auth: Literal["simple", "kerberos"] = "simple"


def ldap_options_from_env(
    url: str,
    *,
    ca_file: Path | str | None = None,
    tls_server_name: str | None = None,
    insecure: bool = False,
    password_file: Path | str | None = None,
    timeout: float = 10.0,
    auth: Literal["simple", "kerberos"] = "simple",
) -> LdapOptions:
    """Options with the bind user from ``WBPLAN_LDAP_USER`` and the password from
    ``password_file`` (first line) or ``WBPLAN_LDAP_PASSWORD`` — never from the command line."""
    password: str | None
    if password_file is not None:
        path = Path(password_file)
        try:
            password = (
                path.read_text(encoding="utf-8").splitlines()[0] if path.stat().st_size else ""
            )
        except OSError as exc:
            raise LdapAuthError(
                f"cannot read the LDAP password file {path}: {exc.strerror or exc}",
                hint="check the path given to --ldap-password-file",
            ) from None
        if not password:
            raise LdapAuthError(
                f"the LDAP password file {path} is empty",
                hint="write the bind password on its first line",
            )
    else:
        password = os.environ.get(PASSWORD_ENV) or None
    return LdapOptions(
        url=url,
        ca_file=Path(ca_file) if ca_file is not None else None,
        tls_server_name=tls_server_name or None,
        insecure=insecure,
        user=os.environ.get(USER_ENV) or None,
        password=password,
        timeout=timeout,
        auth=auth,
    )


@dataclass(frozen=True)
class Entry:
    """One search result: DN and raw values by lower-case attribute name."""

    dn: str
    values: Mapping[str, tuple[bytes, ...]]

    def raw(self, name: str) -> tuple[bytes, ...]:
        return self.values.get(name.lower(), ())

    def texts(self, name: str) -> tuple[str, ...]:
        return tuple(v.decode("utf-8", "replace") for v in self.raw(name))

    def text(self, name: str) -> str | None:
        found = self.raw(name)
        return found[0].decode("utf-8", "replace") if found else None

    def integer(self, name: str) -> int | None:
        found = self.text(name)
        return int(found) if found is not None and found.lstrip("-").isdigit() else None


@dataclass(frozen=True)
class LdapTarget:
    """Scheme, host and port of an LDAP URL."""

    scheme: str
    host: str
    port: int

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def parse_ldap_url(url: str) -> LdapTarget:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    if scheme not in ("ldaps", "ldap") or not parts.hostname or port == -1:
        raise LdapConnectError(
            f"not an LDAP URL: {url!r}",
            hint="use ldaps://dc.example.com (or ldap://dc.example.com for StartTLS), "
            "optionally with :port",
        )
    return LdapTarget(scheme, parts.hostname, port or (636 if scheme == "ldaps" else 389))


def short(exc: object) -> str:
    """An exception or message on one line, at most 300 characters."""
    return " ".join(str(exc).split())[:300]


def bind_failure(result: Mapping[str, Any], options: LdapOptions) -> LdapError:
    """A rejected bind (ldap3 result dict) → ``LdapAuthError`` naming why, never the password."""
    code = result.get("result")
    message = str(result.get("message") or "")
    who = options.user or "the Kerberos principal"
    if code == INVALID_CREDENTIALS:
        reason = next(
            (text for data, text in _AD_BIND_DATA.items() if f"data {data}" in message), None
        )
        return LdapAuthError(
            f"the DC rejected the credentials of {who}: {reason or 'invalid credentials'}",
            hint=f"check {USER_ENV} (DOMAIN\\name, UPN or DN) and the password "
            f"({PASSWORD_ENV} or --ldap-password-file)",
        )
    if code in (_STRONG_AUTH_REQUIRED, _CONFIDENTIALITY_REQUIRED):
        return LdapAuthError(
            f"the DC refused the bind of {who}: it requires stronger authentication ({result.get('description')})",
            hint="use ldaps:// or ldap:// with StartTLS (wbplan always does), or Kerberos",
        )
    return LdapAuthError(
        f"the bind of {who} failed: {result.get('description') or code} {short(message)}".strip(),
        hint="check the bind account and the DC's LDAP policy",
    )


def preflight(options: LdapOptions) -> None:
    """The checks that need no network: the CA file exists, simple-bind credentials are set,
    Kerberos support is installed. Raises the ``LdapError`` subclass a user can act on."""
    if not options.insecure and options.ca_file is not None and not Path(options.ca_file).is_file():
        raise LdapConnectError(
            f"the CA file {options.ca_file} does not exist",
            hint="pass --ca-file with the PEM file of the CA that issued the DC's certificate",
        )
    if options.auth == "simple" and (not options.user or not options.password):
        raise LdapAuthError(
            "no LDAP bind credentials: the user or the password is not set",
            hint=f"set {USER_ENV} and {PASSWORD_ENV} (or --ldap-password-file)",
        )
    if options.auth == "kerberos" and importlib.util.find_spec("gssapi") is None:
        raise LdapAuthError(
            "Kerberos bind needs the Python gssapi package, which is not installed",
            hint="pip install gssapi (needs libkrb5-dev), or use a simple bind over TLS",
        )
