"""pytest plugin: a local Microsoft Graph emulator over HTTPS on 127.0.0.1.

It answers the endpoints wbplan uses with Graph v1.0's documented JSON shapes
(``@odata.context``, ``value`` arrays, ``@odata.nextLink`` paging honouring ``$top`` up to a
configurable page size, ``$select``), checks the bearer token (401 with Graph's error body
otherwise), keeps state (a PATCH or POST shows in the next GET) and records every request.
Faults are configured per endpoint: 403, 429/503 with ``Retry-After`` N times (a long one
too), other 5xx; and the faults that test the client's bounds (:class:`GraphClient` docstring):
an ``@odata.nextLink`` that loops back to a page already served (``loop_next_link``: to itself,
or round a cycle) or leaves for another origin (``foreign_next_link``); a reply trickled a byte
at a time, body or headers (``trickle``); a body larger than any page, announced by
Content-Length or only found by reading (``oversize``); a connection reset or closed before the
reply, or reset mid-body (``drop_connection``). ``fault_bytes_sent`` counts the body bytes those
wire faults actually wrote, so a test can tell that the client stopped reading.

Graph's permission model for ``/directory/onPremisesSynchronization`` is enforced: Microsoft
documents GET and PATCH as delegated only (application permissions "Not supported"; Global
Administrator is the only supported role) — Get/Update onPremisesDirectorySynchronization,
https://learn.microsoft.com/graph/api/onpremisesdirectorysynchronization-get and
…-update. So an app-only token (issued for client credentials, or one a test marks with
``app_only_tokens``) gets 403 Authorization_RequestDenied there, while delegated tokens — the
default ``token`` (a signed-in Global Administrator) and device-code sign-ins — succeed. The
same holds for Cloud Sync's provisioning agents, ``/beta/onPremisesPublishingProfiles/…``
(List onPremisesAgents, beta: delegated OnPremisesPublishingProfiles.ReadWrite.All only,
application "Not supported"). Beta paths are served from ``/beta`` beside ``/v1.0`` and
recorded with their ``/beta`` prefix.

For the azure-identity tests it also plays the sign-in authority (OpenID configuration, the
v2.0 token endpoint for client credentials with a secret or a federated assertion, and the
device-code flow for ``public_clients``, which "sign in" at once), issuing tokens the Graph side
accepts. Token-endpoint requests are recorded with the secret or assertion redacted.

TLS uses a CA generated per session (:mod:`tests.support.graph_tls`); tests pass its file as
``GraphOptions.ca_file`` so the production certificate validation runs unchanged.

Fixtures: ``graph_tls`` (session), ``graph_emulator`` (function; a fresh server and tenant per
test), ``graph_options``, ``graph_client`` (token auth from ``WBPLAN_GRAPH_TOKEN`` via
``make_token_provider``) and ``sleeps`` (the fake ``sleep`` seam; records requested waits).
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import ssl
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from planner.graphapi.auth import make_token_provider
from planner.graphapi.client import GraphClient, GraphOptions
from tests.support import graph_tenants
from tests.support.graph_routes import error_body, route
from tests.support.graph_tls import TlsFiles, make_tls_files

TEST_TOKEN = "eyJ0eXAiOiJKV1QifQ.wbplan-TEST-BEARER-TOKEN-5e1f0c.sig"  # asserted absent from output
TEST_CLIENT_ID = "11111111-2222-4333-8444-555555555555"
TEST_CLIENT_SECRET = "wbplan~TEST-CLIENT-SECRET~9d4b27"  # asserted absent from output
TEST_FEDERATED_TOKEN = "eyJhbGciOiJub25lIn0.wbplan-TEST-OIDC-ASSERTION-3a8c.x"  # likewise
ISSUED_TOKEN = "eyJ0eXAiOiJKV1QifQ.wbplan-TEST-ISSUED-TOKEN-c72d91.sig"  # likewise (app-only)
DELEGATED_ISSUED_TOKEN = "eyJ0eXAiOiJKV1QifQ.wbplan-TEST-SIGNED-IN-TOKEN-4e83a0.sig"  # likewise
APP_ONLY_TOKEN = "eyJ0eXAiOiJKV1QifQ.wbplan-TEST-APP-ONLY-TOKEN-91b6f2.sig"  # likewise
DEVICE_CODE = "wbplan-TEST-DEVICE-CODE-0b7e"
SECRETS = (
    TEST_TOKEN,
    TEST_CLIENT_SECRET,
    TEST_FEDERATED_TOKEN,
    ISSUED_TOKEN,
    DELEGATED_ISSUED_TOKEN,
    APP_ONLY_TOKEN,
    DEVICE_CODE,
)
DELEGATED_ONLY = (
    "/directory/onPremisesSynchronization",
    "/beta/onPremisesPublishingProfiles",
)
"""Paths Graph serves to delegated tokens only (see the module docstring)."""
VERSION = "/v1.0"


@dataclass
class RecordedRequest:
    method: str
    path: str
    """Path relative to the version root (``/devices``), or the full path outside it."""
    query: dict[str, str]
    body: Any
    authorized: bool


@dataclass
class Fault:
    method: str | None
    path: str
    status: int
    remaining: int | None
    """How many more requests get the fault; None = every request."""
    retry_after: str | None = None


@dataclass
class PagingFault:
    """Rewrites the ``@odata.nextLink`` of every page served under ``path``."""

    path: str
    link: str | None
    """A fixed (foreign) link; None = a loop of ``cycle`` pages back to the first."""
    cycle: int = 1


WireKind = Literal[
    "trickle-body", "trickle-headers", "oversize", "reset", "close", "reset-mid-body"
]


@dataclass
class WireFault:
    """How the reply to a request under ``path`` goes over the wire (see the module docstring)."""

    path: str
    kind: WireKind
    remaining: int | None
    """How many more requests get the fault; None = every request."""
    interval: float = 0.0
    """Trickles: seconds between two bytes."""
    size: int = 0
    """``oversize``: the body's length in bytes."""
    declare_length: bool = True
    """``oversize``: announce ``size`` in Content-Length (else the body ends when the
    connection closes)."""


_ERRORS = {
    403: ("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    429: ("TooManyRequests", "Too many requests, please retry after some time."),
    500: ("generalException", "An internal server error occurred."),
    502: ("badGateway", "Bad gateway."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable."),
}


@dataclass
class GraphEmulator:
    """State, configuration and request log of one emulated tenant (see the module docstring)."""

    tls: TlsFiles
    tenant: graph_tenants.EmulatedTenant = field(default_factory=graph_tenants.tenant)
    token: str = TEST_TOKEN
    """The bearer token tests hand to wbplan: a delegated token (a signed-in Global
    Administrator) unless it is also in ``app_only_tokens``."""
    page_size: int = 100
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    client_secrets: dict[str, str] = field(default_factory=dict)
    federated_assertions: dict[str, str] = field(default_factory=dict)
    public_clients: set[str] = field(default_factory=set)
    """Client ids for which the device-code flow completes at once (the person "signed in")."""
    issued_tokens: set[str] = field(default_factory=set)
    app_only_tokens: set[str] = field(default_factory=set)
    """Tokens of an application rather than a person: refused on ``DELEGATED_ONLY`` paths."""
    paging_faults: list[PagingFault] = field(default_factory=list)
    wire_faults: list[WireFault] = field(default_factory=list)
    fault_bytes_sent: int = 0
    """Body bytes the wire faults wrote before the client stopped reading (or they ended)."""
    port: int = 0
    _stopping: threading.Event = field(default_factory=threading.Event)
    _loop_starts: dict[str, str] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}{VERSION}"

    # -- configuration -------------------------------------------------------------------------
    def forbid(self, path: str, method: str | None = None) -> None:
        """Answer 403 to every request under ``path`` (optionally only for ``method``)."""
        self.faults.append(Fault(method, path, 403, None))

    def throttle(
        self, path: str, times: int | None, retry_after: str | None = "1", status: int = 429
    ) -> None:
        """Answer ``status`` (429 or 503) with ``Retry-After`` to the next ``times`` requests."""
        self.faults.append(Fault(None, path, status, times, retry_after))

    def add_app_only_token(self, token: str = APP_ONLY_TOKEN) -> str:
        """Accept ``token`` as an application's (client credentials) token; returns it."""
        self.issued_tokens.add(token)
        self.app_only_tokens.add(token)
        return token

    def fail(self, path: str, status: int = 500, times: int | None = None) -> None:
        self.faults.append(Fault(None, path, status, times))

    def loop_next_link(self, path: str, cycle: int = 1) -> None:
        """Every page of the collection ``path`` links to the next of ``cycle`` pages and the
        last back to the first: with ``cycle=1`` each page's ``@odata.nextLink`` is the very
        URL it was requested with."""
        self.paging_faults.append(PagingFault(path, None, cycle))

    def foreign_next_link(self, path: str, link: str) -> None:
        """Every page of the collection ``path`` links to ``link`` (another host, scheme, …)."""
        self.paging_faults.append(PagingFault(path, link))

    def trickle(
        self, path: str, interval: float, headers: bool = False, times: int | None = None
    ) -> None:
        """Send the reply one byte every ``interval`` seconds: the body after prompt headers,
        or (``headers``) the status line and headers too."""
        kind: WireKind = "trickle-headers" if headers else "trickle-body"
        self.wire_faults.append(WireFault(path, kind, times, interval=interval))

    def oversize(
        self, path: str, size: int, declare_length: bool = True, times: int | None = None
    ) -> None:
        """Answer with a valid JSON body of ``size`` bytes (a ``value`` array of one long
        string), streamed in 64 KiB chunks."""
        fault = WireFault(path, "oversize", times, size=size, declare_length=declare_length)
        self.wire_faults.append(fault)

    def drop_connection(
        self,
        path: str,
        times: int | None = 1,
        how: Literal["reset", "close", "reset-mid-body"] = "reset",
    ) -> None:
        """Drop the connection of the next ``times`` requests after reading them: a TCP reset
        before any reply (the client sees ECONNRESET), an orderly close before any reply
        (``close``: "server disconnected"), or a reset after half of the body."""
        self.wire_faults.append(WireFault(path, how, times))

    def writes(self) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if r.method in ("PATCH", "POST", "DELETE") and r.path[:1] == "/"
        ]

    def graph_requests(self, path: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.requests if path is None or r.path == path]

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.tls.cert_file, self.tls.key_file)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.emulator = self  # type: ignore[attr-defined]
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="graph-emulator"
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()  # ends any trickle still writing
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    # -- request handling (called on server threads) ------------------------------------------
    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        path = parts.path
        with self._lock:
            if "/oauth2/v2.0/" in path or path.endswith("/openid-configuration"):
                return self._authority(method, path, body)
            rel = path[len(VERSION) :] if path.startswith(VERSION + "/") else path
            parsed = json.loads(body) if body else None
            auth = headers.get("authorization", "")
            ok = auth in {f"Bearer {t}" for t in (self.token, *self.issued_tokens)}
            self.requests.append(RecordedRequest(method, rel, query, parsed, ok))
            if not ok:
                message = (
                    "Access token is empty." if not auth else "Access token validation failure."
                )
                return 401, {}, error_body("InvalidAuthenticationToken", message)
            app_only = auth.removeprefix("Bearer ") in self.app_only_tokens
            if app_only and any(rel.startswith(p) for p in DELEGATED_ONLY):
                code, message = _ERRORS[403]
                return 403, {}, error_body(code, message)
            fault = self._fault(method, rel)
            if fault is not None:
                extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                code, message = _ERRORS.get(fault.status, ("UnknownError", "Emulated failure."))
                return fault.status, extra, error_body(code, message)
            served = query
            if any(f.path == rel and f.link is None for f in self.paging_faults):
                # A loop's own skiptokens (loop1, loop2, …) all serve the first page again.
                served = {k: v for k, v in query.items() if k != "$skiptoken"}
            status, extra, payload = route(self, method, rel, served, parsed)
            if status == 200 and isinstance(payload, dict) and "value" in payload:
                self._rewrite_next_link(rel, raw_path, query, payload)
            return status, extra, payload

    def _rewrite_next_link(
        self, rel: str, raw_path: str, query: dict[str, str], page: dict[str, Any]
    ) -> None:
        for fault in self.paging_faults:
            if rel != fault.path:
                continue
            if fault.link is not None:
                page["@odata.nextLink"] = fault.link
                return
            token = query.get("$skiptoken", "")
            step = int(token[4:]) if token.startswith("loop") else 0
            if step == 0:
                self._loop_starts[rel] = f"{self.origin}{raw_path}"  # as the client sent it
            following = (step + 1) % fault.cycle
            if following == 0:
                page["@odata.nextLink"] = self._loop_starts[rel]
            else:
                rest = {k: v for k, v in query.items() if k != "$skiptoken"}
                rest["$skiptoken"] = f"loop{following}"
                page["@odata.nextLink"] = f"{self.base_url}{rel}?{urlencode(rest)}"
            return

    def take_wire_fault(self, method: str, raw_path: str) -> WireFault | None:
        """The wire fault the reply to this request gets, if any (counting it down)."""
        path = urlsplit(raw_path).path
        rel = path[len(VERSION) :] if path.startswith(VERSION + "/") else path
        with self._lock:
            for fault in self.wire_faults:
                if not rel.startswith(fault.path):
                    continue
                if fault.remaining is None:
                    return fault
                if fault.remaining > 0:
                    fault.remaining -= 1
                    return fault
        return None

    def count_sent(self, n: int) -> None:
        with self._lock:
            self.fault_bytes_sent += n

    def _fault(self, method: str, rel: str) -> Fault | None:
        for fault in self.faults:
            if fault.method not in (None, method) or not rel.startswith(fault.path):
                continue
            if fault.remaining is None:
                return fault
            if fault.remaining > 0:
                fault.remaining -= 1
                return fault
        return None

    def _authority(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], Any]:
        tenant = path.strip("/").split("/")[0]
        if method == "GET":
            base = f"{self.origin}/{tenant}"
            return (
                200,
                {},
                {
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                    "issuer": f"{base}/v2.0",
                    "tenant_region_scope": "EU",
                },
            )
        form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        # The form carries the client secret, assertion or device code: record those redacted.
        shown = {
            k: "<redacted>" if k in ("client_secret", "client_assertion", "device_code") else v
            for k, v in form.items()
        }
        self.requests.append(RecordedRequest("POST", path, shown, None, True))
        client = form.get("client_id", "")
        if path.endswith("/devicecode"):
            return (
                200,
                {},
                {
                    "device_code": DEVICE_CODE,
                    "user_code": "WBPLANTEST",
                    "verification_uri": "https://microsoft.com/devicelogin",
                    "expires_in": 900,
                    "interval": 0,
                    "message": "To sign in, use a web browser to open https://microsoft.com/devicelogin "
                    "and enter the code WBPLANTEST to authenticate.",
                },
            )
        device_ok = (
            form.get("grant_type") == "urn:ietf:params:oauth:grant-type:device_code"
            and form.get("device_code") == DEVICE_CODE
            and client in self.public_clients
        )
        good = (
            device_ok
            or (
                form.get("client_secret") is not None
                and self.client_secrets.get(client) == form.get("client_secret")
            )
            or (
                form.get("client_assertion") is not None
                and self.federated_assertions.get(client) == form.get("client_assertion")
            )
        )
        if not good or (form.get("grant_type") == "client_credentials") == device_ok:
            return (
                401,
                {},
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                    "error_codes": [7000215],
                },
            )
        # A device-code sign-in is a person (delegated); client credentials are an app.
        issued = DELEGATED_ISSUED_TOKEN if device_ok else ISSUED_TOKEN
        self.issued_tokens.add(issued)
        if not device_ok:
            self.app_only_tokens.add(issued)
        extra = {"id_token": self._id_token(tenant, client)} if device_ok else {}
        return (
            200,
            {},
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": issued,
                **extra,
            },
        )

    def _id_token(self, tenant: str, client: str) -> str:
        """An unsigned OpenID id_token: MSAL reads the person's claims from it after sign-in."""
        now = int(time.time())
        claims = {
            "iss": f"{self.origin}/{tenant}/v2.0",
            "aud": client,
            "sub": "person-subject",
            "oid": "22222222-3333-4444-8555-666666666666",
            "tid": tenant,
            "preferred_username": "admin@contoso.com",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
        }
        parts = ({"alg": "none", "typ": "JWT"}, claims)
        encoded = [base64.urlsafe_b64encode(json.dumps(p).encode()).rstrip(b"=") for p in parts]
        return b".".join(encoded).decode() + "."


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5  # an idle keep-alive connection must not hold the server open at teardown

    def _serve(self) -> None:
        emu: GraphEmulator = self.server.emulator  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, payload = emu.handle(self.command, self.path, headers, body)
        data = b"" if payload is None else json.dumps(payload).encode()
        wire = emu.take_wire_fault(self.command, self.path)
        if wire is not None:
            self.close_connection = True  # a faulted connection is never reused
            # OSError: the client gave up (closed or reset the connection), as expected.
            with contextlib.suppress(OSError):
                self._deliver(emu, wire, status, extra, data)
            return
        self.send_response(status)
        self.send_header("request-id", str(uuid.uuid4()))
        for name, value in extra.items():
            self.send_header(name, value)
        if payload is not None:
            self.send_header("Content-Type", "application/json;odata.metadata=minimal")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PATCH = do_POST = do_DELETE = _serve  # noqa: N815 -- names http.server dispatches to

    # -- wire faults ---------------------------------------------------------------------------
    def _deliver(
        self, emu: GraphEmulator, wire: WireFault, status: int, extra: dict[str, str], data: bytes
    ) -> None:
        out = self.wfile
        if wire.kind == "reset":
            self._reset()
        elif wire.kind == "close":
            pass  # nothing written; the server closes the connection (FIN)
        elif wire.kind == "reset-mid-body":
            out.write(self._head(status, extra, len(data)))
            out.write(data[: len(data) // 2])
            emu.count_sent(len(data) // 2)
            self._reset()
        elif wire.kind == "trickle-headers":
            for byte in self._head(status, extra, len(data)):
                if emu._stopping.wait(wire.interval):
                    return
                out.write(bytes([byte]))
            out.write(data)
            emu.count_sent(len(data))
        elif wire.kind == "trickle-body":
            out.write(self._head(status, extra, len(data)))
            for byte in data:
                if emu._stopping.wait(wire.interval):
                    return
                out.write(bytes([byte]))
                emu.count_sent(1)
        else:  # oversize
            out.write(self._head(200, {}, wire.size if wire.declare_length else None))
            for chunk in _oversized_body(wire.size):
                if emu._stopping.is_set():
                    return
                out.write(chunk)
                emu.count_sent(len(chunk))

    def _head(self, status: int, extra: dict[str, str], length: int | None) -> bytes:
        """Status line and headers as :meth:`_serve` sends them; no Content-Length (the body
        ends with the connection) when ``length`` is None."""
        lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", f"request-id: {uuid.uuid4()}"]
        lines += [f"{name}: {value}" for name, value in extra.items()]
        lines.append("Content-Type: application/json;odata.metadata=minimal")
        lines.append(f"Content-Length: {length}" if length is not None else "Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def _reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0), as a crashed peer or a middlebox
        does (the socket really closes once the handler's file objects are closed). Unread data
        is lost; over TLS, Python's ssl module reports the reset to the client as an EOF, so
        httpx sees "Server disconnected" or an incomplete body rather than ECONNRESET."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""


def _oversized_body(size: int) -> Iterator[bytes]:
    """``{"value":["AAAA…"]}``, ``size`` bytes in all, in 64 KiB chunks (never all in memory)."""
    head, tail = b'{"value":["', b'"]}'
    yield head
    left = size - len(head) - len(tail)
    chunk = b"A" * 65536
    while left > 0:
        yield chunk[: min(left, len(chunk))]
        left -= len(chunk)
    yield tail


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def graph_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("graph-tls"))


@pytest.fixture
def graph_emulator(graph_tls: TlsFiles) -> Iterator[GraphEmulator]:
    emu = GraphEmulator(tls=graph_tls)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def graph_options(graph_emulator: GraphEmulator) -> GraphOptions:
    return GraphOptions(graph_url=graph_emulator.base_url, ca_file=Path(graph_emulator.tls.ca_file))


@pytest.fixture
def sleeps() -> list[float]:
    """Pass ``sleeps.append`` as the client's ``sleep``: waits are recorded, not slept."""
    return []


@pytest.fixture
def graph_client(
    graph_emulator: GraphEmulator, graph_options: GraphOptions, sleeps: list[float]
) -> Iterator[GraphClient]:
    provider = make_token_provider(graph_options, env={"WBPLAN_GRAPH_TOKEN": graph_emulator.token})
    with GraphClient(graph_options, provider, sleep=sleeps.append) as client:
        yield client
