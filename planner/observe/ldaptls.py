"""TLS settings and failure messages for the LDAP connection (no ldap3 here: ssl and socket only).

Certificate validation uses Python's own hostname check inside the handshake
(``SSLContext.check_hostname``) rather than ldap3's, which calls the deprecated
``ssl.match_hostname``. The expected name is ``--tls-server-name`` when given (the DC's
certificate is issued to its FQDN, e.g. ``DC1.contoso.test``, while the URL may use an address),
else the URL's host.

A CA file (``--ca-file``) that is missing, unreadable, larger than ``MAX_CA_FILE_BYTES``, not
PEM, or refused by OpenSSL is an ``LdapConnectError`` naming the file and the problem.

When a handshake fails, the functions here turn the ssl/socket exception into one
``LdapConnectError`` naming the cause — for a name mismatch, the names the certificate *is*
issued to, so the user can pass one of them.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from planner.errors import LdapConnectError
from planner.fileio import BadFileError, read_bytes_bounded

# OpenSSL X509_V_ERR_* codes for a certificate that is valid but for another name.
_HOSTNAME_MISMATCH = 62
_IP_ADDRESS_MISMATCH = 64


def tls_context(
    ca_file: Path | None, *, insecure: bool, check_hostname: bool = True
) -> ssl.SSLContext:
    """A client context: TLS 1.2+, CA from ``ca_file`` (else the system store), hostname
    checked in the handshake; ``insecure`` disables every check."""
    # insecure ignores --ca-file entirely (a missing file must not matter when nothing is checked)
    if ca_file and not insecure:
        check_ca_file(ca_file)
    cafile = str(ca_file) if ca_file and not insecure else None
    try:
        context = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise _ca_file_error(ca_file, exc) from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context.check_hostname = check_hostname
        context.verify_mode = ssl.CERT_REQUIRED
    return context


MAX_CA_FILE_BYTES = 16 * 1024 * 1024
"""Largest CA file read (a system's whole CA bundle is about 200 KB)."""

_CA_HINT = "--ca-file names the PEM file (-----BEGIN CERTIFICATE-----) of the CA that issued the DC's certificate"


def check_ca_file(ca_file: Path) -> None:
    """Refuse a CA file that is missing, unreadable, too large, or holds no PEM certificate,
    naming the file and the problem (an ``LdapConnectError``)."""
    try:
        data = read_bytes_bounded(Path(ca_file), MAX_CA_FILE_BYTES)
    except FileNotFoundError:
        raise LdapConnectError(f"the CA file {ca_file} does not exist", hint=_CA_HINT) from None
    except OSError as exc:
        raise LdapConnectError(
            f"cannot read the CA file {ca_file}: {exc.strerror or exc}", hint=_CA_HINT
        ) from None
    except BadFileError as exc:
        raise LdapConnectError(f"the CA file {ca_file} is {exc.problem}", hint=_CA_HINT) from None
    if not data.strip():
        raise LdapConnectError(f"the CA file {ca_file} is empty", hint=_CA_HINT)
    if b"-----BEGIN" not in data:
        try:
            data.decode("utf-8")
            what = "text without a PEM certificate (no -----BEGIN CERTIFICATE----- line)"
            hint = _CA_HINT
        except UnicodeDecodeError:
            what = "binary, not a PEM certificate file"
            hint = (
                "if it is a DER certificate, convert it: openssl x509 -inform der -in FILE "
                "-out ca.pem, and pass ca.pem"
            )
        raise LdapConnectError(f"the CA file {ca_file} is {what}", hint=hint)


def _ca_file_error(ca_file: Path | None, exc: BaseException) -> LdapConnectError:
    """OpenSSL refused the CA file (a damaged PEM block, no certificate in it)."""
    reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
    return LdapConnectError(
        f"the CA file {ca_file} holds no usable CA certificate (OpenSSL: "
        f"{' '.join(str(reason).split())})",
        hint=_CA_HINT,
    )


def is_name_mismatch(exc: BaseException | None) -> bool:
    """True for a certificate that verified but names another host."""
    return isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_code in (
        _HOSTNAME_MISMATCH,
        _IP_ADDRESS_MISMATCH,
    )


def certificate_names(peer: dict[str, Any] | None) -> list[str]:
    """Subject alternative names (DNS, IP) and the subject CN of a ``getpeercert()`` dict."""
    if not peer:
        return []
    names = [
        value for kind, value in peer.get("subjectAltName", ()) if kind in ("DNS", "IP Address")
    ]
    for rdn in peer.get("subject", ()):
        names.extend(value for key, value in rdn if key == "commonName" and value not in names)
    return names


def name_mismatch_error(where: str, expected: str, names: Sequence[str]) -> LdapConnectError:
    """The certificate is trusted but issued to other names."""
    issued = ", ".join(names) if names else "other names"
    hint = (
        f"pass --tls-server-name {names[0]} (or connect by that name)"
        if names
        else "pass --tls-server-name with the name the DC's certificate is issued to"
    )
    return LdapConnectError(
        f"TLS failure with {where}: the DC's certificate is issued to {issued}, not to {expected}",
        hint=hint,
    )


def tls_failure_error(where: str, exc: BaseException, ca_file: Path | None) -> LdapConnectError:
    """Any other TLS failure: untrusted issuer, expiry, protocol error."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        source = f"the CA file {ca_file}" if ca_file else "the system CA store"
        return LdapConnectError(
            f"TLS failure with {where}: the DC's certificate is not trusted ({exc.verify_message}; "
            f"checked against {source})",
            hint="pass --ca-file with the CA that issued the DC's certificate",
        )
    reason = getattr(exc, "reason", None) or " ".join(str(exc).split())
    return LdapConnectError(
        f"TLS handshake with {where} failed: {reason}",
        hint="check that the port speaks TLS (ldaps:// is usually 636, ldap:// + StartTLS 389)",
    )


def network_error(where: str, exc: BaseException, timeout: float) -> LdapConnectError:
    """The TCP connection itself failed (ldap3 re-raises socket errors as subclasses of both
    its own exception and the original OSError, so ``isinstance`` sees the cause)."""
    hint = "check the host name and port in --ldap-url, that the DC is running, and firewalls"
    if isinstance(exc, socket.gaierror):
        reason = "the host name does not resolve"
    elif isinstance(exc, ConnectionRefusedError):
        reason = "connection refused (nothing listens on that port)"
    elif isinstance(exc, TimeoutError | socket.timeout):
        reason = f"no answer within {timeout:g} s"
    elif isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        reason = "host unreachable"
    elif "invalid server address" in str(exc):
        reason = "the host name does not resolve"
    else:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
    return LdapConnectError(f"cannot reach the DC at {where}: {reason}", hint=hint)
