"""LDAP connection options and plain values: no ldap3 here, so the CLI and tests can build
options, and the bind-failure wording is testable without a server.

``planner.observe.ldapconn`` re-exports :class:`LdapOptions` and :func:`ldap_options_from_env`.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from planner.errors import LdapAuthError, LdapConnectError, LdapError, UsageError
from planner.fileio import BadFileError, TooLargeError, decode_utf8, read_bytes_bounded

log = logging.getLogger(__name__)

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
    ``password_file`` (first line, :func:`read_password_file`) or ``WBPLAN_LDAP_PASSWORD`` —
    never from the command line, nor from the URL (``ldaps://user:pass@dc`` is refused)."""
    refuse_credentials_in_url(url, "--ldap-url")
    password: str | None
    if password_file is not None:
        password = read_password_file(Path(password_file))
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


MAX_PASSWORD_FILE_BYTES = 64 * 1024
"""Largest password file read (its first line is the password)."""


def read_password_file(path: Path) -> str:
    """The first line of ``path`` (``--ldap-password-file``), bounded and strictly UTF-8; a
    warning when every user of the machine may read it. Errors name the file and never show
    any of its content."""
    where = f"the LDAP password file {path}"
    try:
        raw = read_bytes_bounded(path, MAX_PASSWORD_FILE_BYTES)
        mode = path.stat().st_mode
    except OSError as exc:
        raise LdapAuthError(
            f"cannot read {where}: {exc.strerror or exc}",
            hint="check the path given to --ldap-password-file",
        ) from None
    except TooLargeError as exc:
        raise LdapAuthError(
            f"{where} is {exc.problem}",
            hint="--ldap-password-file names a file holding the bind password on its first line",
        ) from None
    try:
        text = decode_utf8(raw, show_byte=False)
    except BadFileError as exc:
        raise LdapAuthError(
            f"{where} is not UTF-8 text (line {exc.line})",
            hint="save it as UTF-8 (its content is never shown)",
        ) from None
    if mode & stat.S_IROTH:
        log.warning(
            "%s is readable by every user of this machine (mode %s): chmod 600 it",
            where,
            oct(stat.S_IMODE(mode))[2:].rjust(4, "0"),
        )
    text = text.removeprefix("\ufeff")  # a byte-order mark some editors write
    password = text.splitlines()[0] if text else ""
    if not password:
        raise LdapAuthError(
            f"{where} is empty" if not text else f"the first line of {where} is empty",
            hint="write the bind password on its first line",
        )
    return password


def redact_url(url: str) -> str:
    """``url`` with everything between ``//`` and its last ``@`` replaced by ``***`` (a
    ``user:password@`` part, even one whose password holds ``/`` or ``@``): safe to print."""
    scheme, sep, rest = url.partition("//")
    if not sep:
        scheme, rest = "", url
    at = rest.rfind("@")
    return url if at < 0 else f"{scheme}{sep}***{rest[at:]}"


def refuse_credentials_in_url(url: str, option: str, *, graph: bool = False) -> None:
    """A URL carrying ``user:password@`` would be printed, logged and saved in snapshots and
    plans: refuse it (naming it redacted) and say where credentials go (``graph``: for the
    Graph URL)."""
    if url != redact_url(url):
        where = (
            "a Graph credential comes from WBPLAN_GRAPH_TOKEN, AZURE_* or --graph-auth"
            if graph
            else f"set {USER_ENV} and the password in --ldap-password-file or {PASSWORD_ENV}"
        )
        raise UsageError(
            f"{option} must not carry credentials: {redact_url(url)}",
            hint=f"drop the user:password@ part; {where}",
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
            f"not an LDAP URL: {redact_url(url)!r}",
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
    """The checks that need no network: the CA file exists and holds a CA certificate OpenSSL
    loads, simple-bind credentials are set, Kerberos support is installed. Raises the
    ``LdapError`` subclass a user can act on."""
    if not options.insecure and options.ca_file is not None:
        from planner.observe.ldaptls import tls_context

        tls_context(Path(options.ca_file), insecure=False)
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
