"""The LDAP connection wbplan reads AD through: options, TLS, bind, paged and SD-flags searches.

One :class:`LdapSession` serves a whole run (refresh, plan, apply's stale check). It wraps an
ldap3 ``Connection`` and adds what wbplan relies on:

* TLS always: ``ldaps://`` or ``ldap://`` + StartTLS. The certificate is validated by default
  (system store or ``ca_file``; ``tls_server_name`` when the certificate names the DC but the
  URL uses an address). ``insecure=True`` turns validation off and logs a loud warning.
* Every failure becomes an ``LdapError`` subclass whose message names the cause and whose hint
  names the next step (unreachable host, TLS failure with the certificate's names, invalid
  credentials, missing rights, object not found). No message, log line or repr carries the
  password.
* Paged searches (1,000 entries a page, streamed page by page) — Samba answers unpaged searches
  of any size, a real AD stops at 1,000 — and a request counter so tests can prove paging.
* Security descriptors read with the SD-flags control asking for the DACL only, which needs
  only READ_CONTROL (no SeSecurityPrivilege for the SACL).

Values are returned raw (bytes): ldap3 runs without the server schema (``get_info=NONE``), which
keeps binds fast and leaves decoding (SIDs, GUIDs, integers) to ``observe/ad.py``.

TLS failures are diagnosed by :mod:`planner.observe.ldaptls`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import ssl
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from planner.errors import LdapAccessError, LdapConnectError, LdapError
from planner.observe.ldapopts import (
    Entry,
    LdapOptions,
    LdapTarget,
    bind_failure,
    ldap_options_from_env,
    parse_ldap_url,
    preflight,
    short,
)
from planner.observe.ldaptls import (
    certificate_names,
    is_name_mismatch,
    name_mismatch_error,
    network_error,
    tls_context,
    tls_failure_error,
)

with warnings.catch_warnings():
    # ldap3 2.9.1 imports pyasn1 names that pyasn1 0.6 deprecates (tagMap, typeMap); harmless.
    warnings.filterwarnings("ignore", "(tagMap|typeMap) is deprecated", DeprecationWarning)
    import ldap3
    from ldap3.core import exceptions as ldap3_exc
    from ldap3.protocol.microsoft import security_descriptor_control
    from ldap3.utils.log import set_library_log_hide_sensitive_data

# ldap3 only logs when asked to, but if anyone turns its logging on, passwords stay hidden.
set_library_log_hide_sensitive_data(True)

log = logging.getLogger("wbplan.ldap")

__all__ = ["PAGE_SIZE", "Entry", "LdapOptions", "LdapSession", "connect", "ldap_options_from_env"]

PAGE_SIZE = 1000
"""AD's default MaxPageSize: a bigger page is silently cut to 1,000 by a real DC."""
DACL_SECURITY_INFORMATION = 0x04
"""Value of the SD-flags control (OID 1.2.840.113556.1.4.801): the DACL only."""
SHOW_DELETED_OID = "1.2.840.113556.1.4.417"
"""LDAP_SERVER_SHOW_DELETED_OID: searches also return deleted objects (tombstones), for
incremental refresh; the DC still applies the Deleted Objects container's DACL."""

# ldap3 result codes (RFC 4511) wbplan distinguishes
_REFERRAL = 10
_NO_SUCH_OBJECT = 32
_INSUFFICIENT_ACCESS = 50


class LdapSession:
    """A bound connection plus the reads wbplan needs. Use as a context manager or ``close()``."""

    def __init__(self, connection: Any, options: LdapOptions, page_size: int = PAGE_SIZE) -> None:
        self._conn = connection
        self.url = options.url
        self.page_size = page_size
        self.requests = 0
        """LDAP requests sent so far (bind, StartTLS, one per search page)."""
        self.entries = 0
        """Entries received so far (all searches and reads)."""

    def __repr__(self) -> str:
        return f"LdapSession(url={self.url!r}, requests={self.requests})"

    @property
    def connection(self) -> Any:
        """The underlying ldap3 Connection (for apply's writes)."""
        return self._conn

    # ------------------------------------------------------------------ reads

    def search(
        self,
        base: str,
        search_filter: str,
        attributes: Sequence[str],
        *,
        scope: Literal["base", "one", "subtree"] = "subtree",
        security: bool = False,
        page_size: int | None = None,
        show_deleted: bool = False,
    ) -> Iterator[Entry]:
        """Paged search, streamed: entries of one page are yielded before the next page is
        asked for. ``security`` adds the SD-flags control (DACL only) for nTSecurityDescriptor,
        ``show_deleted`` the Show Deleted control. A missing ``base`` raises ``LdapError``
        naming it."""
        ldap_scope = {"base": ldap3.BASE, "one": ldap3.LEVEL, "subtree": ldap3.SUBTREE}[scope]
        size = page_size or self.page_size
        cookie: bytes | None = None
        while True:
            controls = _controls(security=security, show_deleted=show_deleted)
            self._call(
                self._conn.search,
                base,
                search_filter,
                ldap_scope,
                attributes=list(attributes),
                controls=controls,
                paged_size=size,
                paged_cookie=cookie,
            )
            if not self._succeeded():
                self._raise_for_result(f"search under {base}")
            # Page and cookie are taken before yielding: a caller that reads something else on
            # this session while iterating must not clobber the paging state.
            page = self._conn.response or []
            cookie = _paged_cookie(self._conn.result)
            for item in page:
                if item.get("type") == "searchResEntry":
                    self.entries += 1
                    yield _entry(item)
            if not cookie:
                return

    def read(
        self,
        dn: str,
        attributes: Sequence[str],
        *,
        security: bool = False,
        show_deleted: bool = False,
    ) -> Entry | None:
        """Base-scope read of one object; None when it does not exist. With ``security`` the
        DACL is asked for (SD-flags control); an account without READ_CONTROL gets the entry
        without ``nTSecurityDescriptor`` — the caller decides (see :meth:`read_security`).
        ``show_deleted``: a deleted object is returned too."""
        controls = _controls(security=security, show_deleted=show_deleted)
        self._call(
            self._conn.search,
            dn,
            "(objectClass=*)",
            ldap3.BASE,
            attributes=list(attributes),
            controls=controls,
        )
        if not self._succeeded():
            if self._conn.result.get("result") == _NO_SUCH_OBJECT:
                return None
            self._raise_for_result(f"read of {dn}")
        entries = [
            _entry(i) for i in self._conn.response or () if i.get("type") == "searchResEntry"
        ]
        self.entries += len(entries)
        return entries[0] if entries else None

    def read_security(self, dn: str) -> bytes:
        """The DACL-only ``nTSecurityDescriptor`` of ``dn``: ``LdapError`` when the object does
        not exist, ``LdapAccessError`` when the bind account may not read it."""
        entry = self.require(dn, ["nTSecurityDescriptor"], security=True)
        found = entry.raw("nTSecurityDescriptor")
        if not found:
            raise LdapAccessError(
                f"the bind account may not read the security descriptor of {dn}",
                hint="grant it Read Permissions (READ_CONTROL) there, or bind as an account that has it",
            )
        return found[0]

    def require(self, dn: str, attributes: Sequence[str], *, security: bool = False) -> Entry:
        """Like :meth:`read`, but a missing object raises ``LdapError`` naming the DN."""
        entry = self.read(dn, attributes, security=security)
        if entry is None:
            raise LdapError(
                f"object not found: {dn}",
                hint="check the DN (and that the bind account may see it)",
            )
        return entry

    def close(self) -> None:
        """Unbind and close the socket (idempotent). The debug log (``wbplan --debug``) gets
        one line with the request and entry counts, which the scale benchmark reads."""
        if not self._conn.closed:
            log.debug(
                "LDAP session to %s: %d requests, %d entries", self.url, self.requests, self.entries
            )
            with contextlib.suppress(ldap3_exc.LDAPException, OSError):
                self._conn.unbind()
        # A connection that failed half-way (TLS, StartTLS) may still hold its socket.
        sock = getattr(self._conn, "socket", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()
        self._conn.password = None

    def __enter__(self) -> LdapSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        self.requests += 1
        try:
            return method(*args, **kwargs)
        except (
            ldap3_exc.LDAPCommunicationError,
            ldap3_exc.LDAPResponseTimeoutError,
            OSError,
        ) as exc:
            raise LdapConnectError(
                f"lost the connection to {self.url}: {short(exc)}",
                hint="check that the DC is up and reachable, or raise --ldap-timeout",
            ) from None

    def _succeeded(self) -> bool:
        # ldap3 returns False from search() for a successful search with no entries: the
        # result code is what tells success from failure.
        return (self._conn.result or {}).get("result") == 0

    def _raise_for_result(self, what: str) -> None:
        result = self._conn.result or {}
        code = result.get("result")
        description = result.get("description") or f"result {code}"
        if code == _NO_SUCH_OBJECT:
            raise LdapError(f"{what} failed: object not found", hint="check the DN in the policy")
        if code == _REFERRAL:
            referrals = ", ".join(result.get("referrals") or []) or "another server"
            raise LdapError(
                f"{what} failed: this DC does not hold that naming context (referral to {referrals})",
                hint="read it from a domain controller of that domain",
            )
        if code == _INSUFFICIENT_ACCESS:
            raise LdapAccessError(
                f"{what} failed: insufficient access rights",
                hint="grant the bind account read access there, or bind as an account that has it",
            )
        raise LdapError(f"{what} failed: {description} ({short(result.get('message') or '')})")


def _controls(*, security: bool, show_deleted: bool) -> list[Any] | None:
    controls: list[Any] = []
    if security:
        controls.extend(security_descriptor_control(sdflags=DACL_SECURITY_INFORMATION))
    if show_deleted:
        controls.append((SHOW_DELETED_OID, True, None))
    return controls or None


def _text(value: bytes) -> str:
    # UTF-8 as LDAP requires; latin-1 as ldap3's first fallback (some AD DNs are not UTF-8).
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _decode_entries_raw(conn: Any) -> None:
    """Decode search entries of this connection to raw values only.

    ldap3 also builds a text rendering of every value of every entry (``attributes``), calling
    its configuration lookup four times per value: at 110,000 entries with their security
    descriptors that was a quarter of wbplan's time above the paged-search floor. wbplan reads
    ``raw_attributes`` only (:func:`_entry`), so entries skip the rendering; every other response
    is decoded by ldap3 as before. ldap3's synchronous strategy calls the instance attribute
    ``decode_response_fast``; the BER payload layout is ldap3's fast decoder's (``[3]`` = value).
    """
    strategy = conn.strategy
    original = strategy.decode_response_fast

    def decode(ldap_message: dict[str, Any]) -> dict[str, Any]:
        if ldap_message["protocolOp"] != 4:  # not a searchResEntry
            return dict(original(ldap_message))
        payload = ldap_message["payload"]
        raw: dict[str, list[bytes]] = {}
        for attribute in payload[1][3]:
            name = _text(bytes(attribute[3][0][3]))
            raw[name] = [bytes(v[3]) for v in attribute[3][1][3]]
        dn = bytes(payload[0][3])
        result: dict[str, Any] = {
            "raw_dn": dn,
            "dn": _text(dn),
            "raw_attributes": raw,
            "attributes": {},
            "type": "searchResEntry",
        }
        if ldap_message["controls"]:
            result["controls"] = {}
            for control in ldap_message["controls"]:
                oid, value = strategy.decode_control_fast(control[3])
                result["controls"][oid] = value
        return result

    strategy.decode_response_fast = decode


def parse_generalized_time(text: str) -> dt.datetime | None:
    """An LDAP GeneralizedTime (``20261201123456.0Z``: rootDSE ``currentTime``, ``whenCreated``)
    to whole seconds, UTC; None when it is not one."""
    try:
        return dt.datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def _entry(item: Mapping[str, Any]) -> Entry:
    raw = item.get("raw_attributes") or {}
    values = {str(k).lower(): tuple(bytes(v) for v in vs) for k, vs in raw.items()}
    return Entry(dn=str(item.get("dn", "")), values=values)


def _paged_cookie(result: Mapping[str, Any] | None) -> bytes | None:
    control = ((result or {}).get("controls") or {}).get("1.2.840.113556.1.4.319")
    cookie = (control or {}).get("value", {}).get("cookie")
    return bytes(cookie) if cookie else None


# ---------------------------------------------------------------------------- connect


def connect(options: LdapOptions, *, page_size: int = PAGE_SIZE) -> LdapSession:
    """Open, secure (TLS) and bind a session, or raise an ``LdapError`` subclass."""
    target = parse_ldap_url(options.url)
    if options.insecure:
        log.warning(
            "INSECURE: TLS certificate validation is OFF for %s; anyone on the network path "
            "can impersonate the DC and read the bind password. Use --ca-file instead.",
            target.where,
        )
    preflight(options)
    tls = _VerifyingTls(
        options.ca_file, options.tls_server_name or target.host, insecure=options.insecure
    )
    server = ldap3.Server(
        target.host,
        port=target.port,
        use_ssl=target.scheme == "ldaps",
        tls=tls,
        get_info=ldap3.NONE,
        connect_timeout=options.timeout,
    )
    conn = ldap3.Connection(
        server, **_auth_arguments(options, target), **_common_arguments(options)
    )
    _decode_entries_raw(conn)
    session = LdapSession(conn, options, page_size)
    try:
        conn.open()  # TCP (+ TLS for ldaps): no LDAP request yet
        if target.scheme == "ldap":
            session.requests += 1
            conn.start_tls()
        session.requests += 1
        bound = conn.bind()
    except (ldap3_exc.LDAPException, OSError) as exc:
        session.close()
        raise _open_failure(exc, tls, target, options) from None
    if not bound:
        result = dict(conn.result or {})
        session.close()
        raise bind_failure(result, options)
    conn.password = None  # bound: the password is not needed any more, keep it out of memory dumps
    log.debug("bound to %s as %s", target.where, options.user or "(Kerberos)")
    return session


class _VerifyingTls(ldap3.Tls):  # type: ignore[misc]
    """ldap3's TLS hook with Python's in-handshake hostname check (see ldaptls) and a record of
    the failure, so that the error message can name its real cause."""

    def __init__(
        self, ca_file: Path | None, server_name: str, *, insecure: bool, check_hostname: bool = True
    ) -> None:
        super().__init__(validate=ssl.CERT_NONE if insecure else ssl.CERT_REQUIRED)
        self.context = tls_context(ca_file, insecure=insecure, check_hostname=check_hostname)
        self.server_name = server_name
        self.failure: BaseException | None = None

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        try:
            connection.socket = self.context.wrap_socket(
                connection.socket, server_hostname=self.server_name, do_handshake_on_connect=True
            )
        except (ssl.SSLError, OSError) as exc:
            self.failure = exc
            raise


def _open_failure(
    exc: BaseException, tls: _VerifyingTls, target: LdapTarget, options: LdapOptions
) -> LdapError:
    failure = tls.failure
    if is_name_mismatch(failure):
        names = _certificate_names(target, options)
        return name_mismatch_error(target.where, tls.server_name, names)
    if failure is not None:
        return tls_failure_error(target.where, failure, options.ca_file)
    if isinstance(exc, ldap3_exc.LDAPStartTLSError):
        return LdapConnectError(
            f"StartTLS with {target.where} failed: {short(exc)}",
            hint="use ldaps:// (port 636) if the DC does not offer StartTLS on 389",
        )
    return network_error(target.where, exc, options.timeout)


def _certificate_names(target: LdapTarget, options: LdapOptions) -> list[str]:
    """The names the DC's certificate is issued to, read over a second connection whose
    handshake checks the chain but not the name (best effort: [] when that fails too)."""
    probe_tls = _VerifyingTls(options.ca_file, target.host, insecure=False, check_hostname=False)
    server = ldap3.Server(
        target.host,
        port=target.port,
        use_ssl=target.scheme == "ldaps",
        tls=probe_tls,
        get_info=ldap3.NONE,
        connect_timeout=options.timeout,
    )
    probe = ldap3.Connection(server, **_common_arguments(options))
    try:
        probe.open()
        if target.scheme == "ldap":
            probe.start_tls()
        return certificate_names(probe.socket.getpeercert())
    except (ldap3_exc.LDAPException, OSError):
        return []
    finally:
        probe.unbind()


def _common_arguments(options: LdapOptions) -> dict[str, Any]:
    return {
        "raise_exceptions": False,
        # ldap3 packs this into SO_RCVTIMEO as a C long: whole seconds only.
        "receive_timeout": max(1, math.ceil(options.timeout)),
        # AD answers searches outside its naming contexts with referrals; following them would
        # open unvalidated connections to other hosts.
        "auto_referrals": False,
        "return_empty_attributes": False,
        "check_names": False,
        "read_only": False,
    }


def _auth_arguments(options: LdapOptions, target: LdapTarget) -> dict[str, Any]:
    if options.auth == "kerberos":
        # Not exercised by the test suite (no gssapi package here): ldap3 imports gssapi itself
        # when binding and uses the ticket cache; preflight() checked the package is installed.
        # GSSAPI wants the DC's host name (its SPN ldap/<fqdn>), not an address.
        host = options.tls_server_name or target.host
        return {
            "authentication": ldap3.SASL,
            "sasl_mechanism": ldap3.KERBEROS,
            "sasl_credentials": (host, None, None),
        }
    return {"user": options.user, "password": options.password, "authentication": ldap3.SIMPLE}
