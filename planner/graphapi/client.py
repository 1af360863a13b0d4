"""The Microsoft Graph HTTP client: one code path for the real Graph and the test emulator.

:class:`GraphClient` sends ``GET``/``PATCH``/``POST`` with a bearer token, follows
``@odata.nextLink`` paging, retries 429/503 honouring ``Retry-After`` and, for the idempotent verbs
(GET, PATCH, DELETE), 500/502/504 with exponential backoff; a GET whose connection was reset or
closed before the reply was complete is repeated too (never a write: it may have been applied).
It turns every failure into a :class:`planner.errors.GraphError` whose message names the cause
and whose hint names the next step:

    GraphError                 connection, TLS, timeout, 4xx/5xx, a reply that is not JSON,
    │                          a bound below that was reached
    ├── GraphAuthError         401 (credential rejected), or no credential configured
    │   └── GraphForbiddenError   403: names the permission the endpoint needs
    └── GraphThrottledError    429/503 still returned after ``max_retries`` retries, or a wait
                               Graph asked for that does not fit the wait budget

Every read is bounded (:class:`GraphOptions`; the environment variables raise the defaults):

- **deadline** per request — connecting, TLS, headers and the whole body together, not only
  each socket read (a reply trickled a byte at a time ends at the deadline): 120 s,
  ``WBPLAN_GRAPH_DEADLINE``. Enforced below httpx, in the network backend every socket operation
  goes through, so it holds for a direct connection and through an HTTP(S) proxy alike;
- **body size** per reply, read in chunks and abandoned at the cap (a Content-Length over it is
  refused before reading): 32 MiB, ``WBPLAN_GRAPH_MAX_BODY_MB``;
- **paging**: a next-page link that repeats a page already read (a loop) or leaves the scheme,
  host and port of ``--graph-url`` (it would carry the bearer token elsewhere) stops the read,
  and so does a collection longer than 2,000 pages (``WBPLAN_GRAPH_MAX_PAGES``);
- **waiting**: Retry-After and backoff waits of one client (one run) add up to at most 300 s
  (``WBPLAN_GRAPH_WAIT_BUDGET``); each wait is announced on stderr (the ``progress`` seam) and a
  wait that does not fit what is left fails at once, naming how long Graph asked for.

The wording of those messages and the permission table live in :mod:`planner.graphapi.failures`.

Only the base URL and the CA bundle distinguish the emulator from ``graph.microsoft.com``;
``transport`` is a seam for unit tests, which the emulator tests do not use.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import math
import os
import ssl
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpcore
import httpx

from planner.errors import GraphError, UsageError
from planner.graphapi.auth import AUTH_MODES, AuthMode, TokenProvider
from planner.graphapi.failures import (
    DEADLINE_ENV,
    MAX_BODY_ENV,
    MAX_PAGES_ENV,
    WAIT_BUDGET_ENV,
    GraphForbiddenError,
    body_too_large_error,
    deadline_error,
    dropped_connection_error,
    foreign_link_error,
    page_cap_error,
    paging_loop_error,
    required_permission,
    response_error,
    seconds,
    transport_error,
    wait_budget_error,
)

logger = logging.getLogger(__name__)

DEFAULT_GRAPH_URL = "https://graph.microsoft.com/v1.0"
BETA = "beta"
"""The version segment of Graph's beta endpoint (``GraphClient.get(..., beta=True)``)."""
MAX_RETRIES_LIMIT = 10
# parse_retry_after clamps one wait to this. GraphClient honours a longer Retry-After as long as
# it fits the wait budget (retrying earlier than Graph asked only earns another 429).
MAX_RETRY_WAIT_S = 120.0
THROTTLED = (429, 503)
# Transient gateway/server failures. Retried only for verbs that are safe to repeat: a POST that
# failed with 500 may still have created the object, and a second POST would create another.
TRANSIENT = (500, 502, 504)
IDEMPOTENT = ("GET", "PATCH", "DELETE")

DEFAULT_DEADLINE_S = 120.0
DEFAULT_WAIT_BUDGET_S = 300.0
DEFAULT_MAX_PAGES = 2000
DEFAULT_MAX_BODY_MB = 32
MIB = 1024 * 1024
PROGRESS_EVERY_S = 60.0
"""A long wait is announced again every this many seconds."""

JsonObject = dict[str, Any]

__all__ = [
    "DEFAULT_GRAPH_URL",
    "GraphClient",
    "GraphForbiddenError",
    "GraphOptions",
    "parse_retry_after",
    "required_permission",
]


def _env_number(name: str, default: float, *, whole: bool = False) -> float:
    """A positive number from the environment variable ``name``, else ``default``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0 or (whole and not value.is_integer()):
        kind = "a positive whole number" if whole else "a positive number"
        raise UsageError(f"{name} must be {kind}, got {raw!r}", hint=f"unset it for {default:g}")
    return value


def _env_deadline() -> float:
    return _env_number(DEADLINE_ENV, DEFAULT_DEADLINE_S)


def _env_wait_budget() -> float:
    return _env_number(WAIT_BUDGET_ENV, DEFAULT_WAIT_BUDGET_S)


def _env_max_pages() -> int:
    return int(_env_number(MAX_PAGES_ENV, DEFAULT_MAX_PAGES, whole=True))


def _env_max_body() -> int:
    return int(_env_number(MAX_BODY_ENV, DEFAULT_MAX_BODY_MB) * MIB)


@dataclass(frozen=True)
class GraphOptions:
    """How to reach Graph. Built by ``cli.py`` from ``--graph-url``/``--graph-ca-file``/
    ``--graph-auth``; validated on construction (a bad value is a :class:`UsageError`). The
    bounds default to the ``WBPLAN_GRAPH_*`` environment variables named below, else to the
    module's ``DEFAULT_*``."""

    graph_url: str = DEFAULT_GRAPH_URL
    """Base URL including the version segment; v1.0 unless an endpoint exists only in beta."""
    ca_file: Path | None = None
    """PEM bundle that is the *only* trust anchor for Graph's TLS certificate (like curl's
    ``--cacert``): for TLS-inspecting proxies and the emulator. None = the public CAs."""
    timeout: float = 30.0
    """Seconds for connect and for each read or write (never more than the deadline leaves)."""
    max_retries: int = 4
    """Retries after a 429/503 (or a 500/502/504 on an idempotent verb, or a reset connection
    on a GET) before giving up (0–10)."""
    auth: AuthMode = "auto"
    """Credential source; see :mod:`planner.graphapi.auth`."""
    insecure_skip_tls_verify: bool = False
    """Turn certificate validation off. Logged as a warning on every client: the bearer token
    would go to whoever answers. There is no other way to disable validation."""
    deadline: float = field(default_factory=_env_deadline)
    """Seconds one request may take as a whole: connect, TLS, headers and the entire body
    (``WBPLAN_GRAPH_DEADLINE``; default 120)."""
    wait_budget: float = field(default_factory=_env_wait_budget)
    """Seconds of Retry-After and backoff waiting one client (one run) may spend in total
    (``WBPLAN_GRAPH_WAIT_BUDGET``; default 300; 0 = never wait)."""
    max_pages: int = field(default_factory=_env_max_pages)
    """Pages one collection may span (``WBPLAN_GRAPH_MAX_PAGES``; default 2000)."""
    max_body_bytes: int = field(default_factory=_env_max_body)
    """Bytes one reply body may hold (``WBPLAN_GRAPH_MAX_BODY_MB`` in MiB; default 32 MiB)."""

    def __post_init__(self) -> None:
        parts = urlsplit(self.graph_url)
        if parts.scheme != "https" or not parts.hostname:
            raise UsageError(
                f"--graph-url must be an https:// URL, got {self.graph_url!r}",
                hint=f"use {DEFAULT_GRAPH_URL} (a bearer token is never sent in clear text)",
            )
        if parts.query or parts.fragment:
            raise UsageError(
                f"--graph-url must not carry a query or fragment: {self.graph_url!r}",
                hint=f"use a base URL such as {DEFAULT_GRAPH_URL}",
            )
        if not 0 <= self.max_retries <= MAX_RETRIES_LIMIT:
            raise UsageError(f"max_retries must be between 0 and {MAX_RETRIES_LIMIT}")
        if self.timeout <= 0:
            raise UsageError("the Graph timeout must be a positive number of seconds")
        if not self.deadline > 0:
            raise UsageError("the Graph request deadline must be a positive number of seconds")
        if not self.wait_budget >= 0:
            raise UsageError("the Graph wait budget must be zero or more seconds")
        if self.max_pages < 1 or self.max_body_bytes < 1:
            raise UsageError("the Graph page and body caps must be at least 1")
        if self.auth not in AUTH_MODES:
            raise UsageError(
                f"unknown --graph-auth {self.auth!r}", hint=f"choose one of {', '.join(AUTH_MODES)}"
            )
        if self.ca_file is not None and self.insecure_skip_tls_verify:
            raise UsageError("--graph-ca-file and the insecure TLS flag contradict each other")


def _retry_after(value: str | None, attempt: int, limit: float, now: float | None) -> float:
    fallback = float(min(2**attempt, limit))
    if value is None or not value.strip():
        return fallback
    text = value.strip()
    if text.isdigit():
        return min(float(text), limit)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return fallback
    current = time.time() if now is None else now
    return max(0.0, min(when.timestamp() - current, limit))


def parse_retry_after(value: str | None, attempt: int, now: float | None = None) -> float:
    """Seconds to wait: ``Retry-After`` as delta-seconds or HTTP date; without one, exponential
    backoff (1, 2, 4 … s). Clamped to ``[0, MAX_RETRY_WAIT_S]``."""
    return _retry_after(value, attempt, MAX_RETRY_WAIT_S, now)


class GraphClient:
    """A Graph session. Owns the token provider and transport it is given: ``close()`` (or a
    ``with`` block) releases both. ``requests`` counts HTTP requests sent, retries included;
    ``waited`` the seconds spent waiting before retries (against ``options.wait_budget``).

    ``sleep`` and ``progress`` are seams: how to wait, and where the line announcing each wait
    goes (stderr by default, so ``--format json`` on stdout stays clean)."""

    def __init__(
        self,
        options: GraphOptions,
        token_provider: TokenProvider,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.options = options
        self.requests = 0
        self.waited = 0.0
        self._tokens = token_provider
        self._sleep = sleep
        self._progress = progress if progress is not None else _to_stderr
        base = urlsplit(options.graph_url.rstrip("/"))
        self._origin = f"{base.scheme}://{base.netloc}"
        self._origin_key = _origin_key(base)
        self._base_path = base.path
        # The beta root beside the version root (``…/v1.0`` → ``…/beta``): for the few reads
        # Microsoft offers only in beta (Cloud Sync's provisioning agents).
        self._beta_path = f"{base.path.rpartition('/')[0]}/{BETA}"
        self._deadline = _Deadline()
        try:
            verify = _tls_verify(options)
            if transport is None:
                transport = _BoundedTransport(verify, _env_proxy(base), self._deadline)
        except GraphError:
            token_provider.close()  # the client owns it from here on, even when it fails
            raise
        self._http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(options.timeout),
            headers={"Accept": "application/json"},
            follow_redirects=False,  # a redirect must never carry the bearer token elsewhere
        )

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()
        self._tokens.close()

    def __repr__(self) -> str:
        return f"GraphClient({self.options.graph_url!r}, {self._tokens.description!r})"

    # -- public verbs --------------------------------------------------------------------------
    def get(
        self, path: str, params: Mapping[str, str] | None = None, *, beta: bool = False
    ) -> JsonObject:
        """GET one resource (or one page of a collection) as a JSON object; ``beta``: from
        Graph's beta root instead of ``--graph-url``'s version."""
        return self._json(self._send("GET", self._url(path, beta), params=params))

    def get_all(
        self, path: str, params: Mapping[str, str] | None = None, *, beta: bool = False
    ) -> Iterator[JsonObject]:
        """Every item of a collection, following ``@odata.nextLink`` page by page (lazily);
        ``beta`` as for :meth:`get`.

        Stops with a :class:`GraphError` at a link back to a page already read, a link to
        another scheme, host or port, or past ``options.max_pages`` pages."""
        url: str | None = self._url(path, beta)
        query = params
        seen: set[tuple[object, ...]] = set()
        pages = 0
        while url is not None:
            if pages >= self.options.max_pages:
                raise page_cap_error(path, self.options.max_pages)
            response = self._send("GET", url, params=query)
            pages += 1
            seen.add(_page_key(str(response.request.url)))
            page = self._json(response)
            items = page.get("value")
            if not isinstance(items, list):
                raise GraphError(
                    f"Graph returned no 'value' array for GET {self._endpoint(url)}",
                    hint="check --graph-url points at a Microsoft Graph version root",
                )
            yield from (item for item in items if isinstance(item, dict))
            next_link = page.get("@odata.nextLink")
            if not isinstance(next_link, str):
                return
            url = self._checked_next_link(next_link, path)
            if _page_key(url) in seen:
                raise paging_loop_error(path, pages, response.headers.get("request-id", ""))
            query = None  # the next link already carries the query

    def patch(self, path: str, body: JsonObject) -> JsonObject | None:
        """PATCH; Graph answers 204 (None) or the updated object."""
        response = self._send("PATCH", self._url(path), json_body=body)
        return None if response.status_code == 204 or not response.content else self._json(response)

    def post(self, path: str, body: JsonObject) -> JsonObject:
        """POST; returns the created object."""
        return self._json(self._send("POST", self._url(path), json_body=body))

    def delete(self, path: str) -> None:
        """DELETE; Graph answers 204."""
        self._send("DELETE", self._url(path))

    # -- internals -----------------------------------------------------------------------------
    def _url(self, path: str, beta: bool = False) -> str:
        if not path.startswith("/"):
            raise ValueError(f"Graph paths start with '/': {path!r}")
        return f"{self._origin}{self._beta_path if beta else self._base_path}{path}"

    def _endpoint(self, url: str) -> str:
        """``/subscribedSkus``: the URL's path relative to the version root, without query;
        ``/beta/…`` for the beta root."""
        path = urlsplit(url).path
        if path.startswith(self._base_path + "/"):
            return path[len(self._base_path) :]
        if path.startswith(self._beta_path + "/"):
            return f"/{BETA}{path[len(self._beta_path) :]}"
        return path

    def _checked_next_link(self, link: str, endpoint: str) -> str:
        parts = urlsplit(link)
        if parts.username is not None or _origin_key(parts) != self._origin_key:
            # Following it would hand our bearer token to another host (or send it in clear).
            raise foreign_link_error(endpoint, _shown_origin(parts), self._origin)
        return link

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None = None,
        json_body: JsonObject | None = None,
    ) -> httpx.Response:
        endpoint = self._endpoint(url)
        attempt = 0
        while True:
            headers = {"Authorization": f"Bearer {self._tokens.token()}"}
            self.requests += 1
            try:
                response = self._exchange(method, url, endpoint, params, json_body, headers)
            except _DeadlineError:
                raise deadline_error(method, endpoint, self.options.deadline) from None
            except httpx.TimeoutException:
                raise GraphError(
                    f"Graph did not answer {method} {endpoint} within {self.options.timeout:g} s",
                    hint="check network access to the Graph host; retry later",
                ) from None
            except httpx.TransportError as exc:
                if not _dropped(exc):
                    raise transport_error(exc, method, endpoint, self.options) from None
                # Only a GET is repeated: a write may have reached Graph before the drop.
                if method != "GET" or attempt >= self.options.max_retries:
                    raise dropped_connection_error(
                        exc, method, endpoint, self.options, attempt + 1
                    ) from None
                wait = _retry_after(None, attempt, math.inf, None)
                what = f"the connection to Graph was reset or closed; backing off {seconds(wait)} s"
                self._wait(wait, what, method, endpoint, attempt, throttled=False)
                attempt += 1
                continue
            status = response.status_code
            logger.debug("%s %s -> %s", method, endpoint, status)
            retryable = status in THROTTLED or (status in TRANSIENT and method in IDEMPOTENT)
            if retryable and attempt < self.options.max_retries:
                after = response.headers.get("Retry-After")
                # Graph's Retry-After is honoured in full; the wait budget bounds the total.
                wait = _retry_after(after, attempt, math.inf, None)
                kind = {429: "throttled", 503: "unavailable"}.get(status, "server error")
                what = (
                    f"Graph asked to wait {seconds(wait)} s ({kind}, {status})"
                    if after and after.strip()
                    else f"Graph answered {status} ({kind}); backing off {seconds(wait)} s"
                )
                self._wait(wait, what, method, endpoint, attempt, throttled=status in THROTTLED)
                attempt += 1
                continue
            if response.is_success:
                return response
            raise self._failure(response, method, endpoint, attempt + 1)

    def _exchange(
        self,
        method: str,
        url: str,
        endpoint: str,
        params: Mapping[str, str] | None,
        json_body: JsonObject | None,
        headers: Mapping[str, str],
    ) -> httpx.Response:
        """One request and its whole body, within ``options.deadline`` and the body cap. The
        reply comes back fully read (``content`` holds the decoded body)."""
        request = self._http.build_request(
            method, url, params=params, json=json_body, headers=headers
        )
        limit = self.options.max_body_bytes
        chunks: list[bytes] = []
        with self._deadline.running(self.options.deadline):
            try:
                streamed = self._http.send(request, stream=True)
                try:
                    declared = _content_length(streamed)
                    if declared is not None and declared > limit:
                        raise body_too_large_error(method, endpoint, limit, declared)
                    total = 0
                    for chunk in streamed.iter_bytes():
                        total += len(chunk)
                        if total > limit:
                            raise body_too_large_error(method, endpoint, limit, None)
                        chunks.append(chunk)
                        if self._deadline.passed():
                            raise _DeadlineError
                finally:
                    streamed.close()  # an unfinished body closes the connection, not reuses it
            except httpx.TimeoutException as exc:
                if self._deadline.ended():
                    raise _DeadlineError from exc
                raise
        logger.debug("%s %s: %d bytes", method, endpoint, total)
        return httpx.Response(
            streamed.status_code,
            headers=[
                (name, value)
                for name, value in streamed.headers.multi_items()
                if name.lower() not in _DECODED_AWAY
            ],
            content=b"".join(chunks),
            request=request,
        )

    def _wait(
        self,
        wait: float,
        what: str,
        method: str,
        endpoint: str,
        attempt: int,
        *,
        throttled: bool,
    ) -> None:
        """Wait ``wait`` seconds before retry ``attempt + 1`` if the budget allows, announcing
        it (and every ``PROGRESS_EVERY_S`` of a long wait); else fail naming the wait."""
        budget = self.options.wait_budget
        left = budget - self.waited
        if wait > left:
            raise wait_budget_error(what, method, endpoint, wait, left, budget, throttled)
        logger.info("%s for %s %s; retry %d", what, method, endpoint, attempt + 1)
        if wait <= 0:
            return
        self._progress(
            f"{what} for {method} {endpoint} — waiting (retry {attempt + 1} of "
            f"{self.options.max_retries}); {seconds(left - wait)} s of the {seconds(budget)} s "
            "wait budget left"
        )
        remaining = wait
        while remaining > 0:
            step = min(remaining, PROGRESS_EVERY_S)
            self._sleep(step)
            remaining -= step
            if remaining > 0:
                self._progress(f"  still waiting for Graph: {seconds(remaining)} s to go")
        self.waited += wait

    def _failure(
        self, response: httpx.Response, method: str, endpoint: str, attempts: int
    ) -> GraphError:
        return response_error(
            response, method, endpoint, attempts, self._tokens.description, self._origin
        )

    def _json(self, response: httpx.Response) -> JsonObject:
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            endpoint = self._endpoint(str(response.request.url))
            raise GraphError(
                f"Graph's reply to {response.request.method} {endpoint} is not a JSON object",
                hint="check --graph-url points at Microsoft Graph, not a proxy's error page",
            )
        return data


# -- bounds: paging links ------------------------------------------------------------------------
_DEFAULT_PORTS = {"https": 443, "http": 80}
# The reply handed back is already decoded and complete: these headers would describe it wrongly.
_DECODED_AWAY = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def _origin_key(parts: Any) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of a split URL, the port made explicit; an unparsable port is
    ``-1`` (never equal to a real one)."""
    scheme = str(parts.scheme).lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    return scheme, str(parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


def _shown_origin(parts: Any) -> str:
    """``https://host[:port]`` of a split URL for messages: never its user name or password."""
    if not parts.scheme and not parts.hostname:
        return "a link without scheme and host"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ":<invalid port>"
    host = parts.hostname or ""
    return f"{parts.scheme}://{f'[{host}]' if ':' in host else host}{port}"


def _page_key(url: str) -> tuple[object, ...]:
    """What makes two page URLs the same page: origin, decoded path, the query as a set of
    decoded pairs (``$select=a`` and ``%24select=a`` are one page)."""
    parts = urlsplit(url)
    query = tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return (*_origin_key(parts), unquote(parts.path), query)


def _content_length(response: httpx.Response) -> int | None:
    try:
        return int(response.headers["Content-Length"])
    except (KeyError, ValueError):
        return None


def _dropped(exc: httpx.TransportError) -> bool:
    """Whether the connection was reset or closed under a request (worth repeating a GET for),
    as opposed to a refused connection, a TLS failure or a timeout."""
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.RemoteProtocolError):
        return True
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _to_stderr(message: str) -> None:
    try:
        terminal = sys.stderr.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        terminal = False
    # On a terminal, first clear a status line another display may have drawn in place.
    sys.stderr.write(("\r\x1b[K" if terminal else "") + message + "\n")
    sys.stderr.flush()


# -- bounds: the per-request deadline, enforced in the network backend ---------------------------
class _DeadlineError(Exception):
    """The request in flight outlived ``GraphOptions.deadline`` (internal; becomes GraphError)."""


class _Deadline:
    """The end (``time.monotonic``) of the request in flight; None between requests. Every
    socket operation of the client's connections gets at most the time left until then."""

    def __init__(self) -> None:
        self.end: float | None = None
        self._cut = False

    @contextlib.contextmanager
    def running(self, seconds: float) -> Iterator[None]:
        self.end, self._cut = time.monotonic() + seconds, False
        try:
            yield
        finally:
            self.end = None

    def clamp(self, timeout: float | None, late: type[Exception]) -> float | None:
        """``timeout`` for one socket operation, cut to what is left; ``late`` when nothing is."""
        if self.end is None:
            return timeout
        left = self.end - time.monotonic()
        if left <= 0:
            self._cut = True
            raise late("the Graph request deadline passed")
        self._cut = timeout is None or left < timeout
        return left if self._cut else timeout

    def passed(self) -> bool:
        """Whether the request in flight has outlived its deadline."""
        return self.end is not None and time.monotonic() >= self.end

    def ended(self) -> bool:
        """For a socket timeout just raised: whether the deadline caused it (it cut that
        operation's timeout, or is over), rather than the per-operation ``timeout``."""
        return self.end is not None and (self._cut or time.monotonic() >= self.end)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        clamped = self._deadline.clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, clamped), self._deadline
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's synchronous socket backend with every timeout cut to the request deadline."""

    def __init__(self, deadline: _Deadline) -> None:
        self._inner = httpcore.SyncBackend()
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        clamped = self._deadline.clamp(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, clamped, local_address, socket_options)
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        clamped = self._deadline.clamp(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_unix_socket(path, clamped, socket_options)
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


# httpcore's exceptions → httpx's, most specific first (what httpx's own transport does).
_HTTPCORE_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core, mapped in _HTTPCORE_ERRORS:
            if isinstance(exc, core):
                raise mapped(str(exc)) from exc
        raise


class _BodyStream(httpx.SyncByteStream):
    def __init__(self, inner: Iterable[bytes]) -> None:
        self._inner = inner

    def __iter__(self) -> Iterator[bytes]:
        with _httpx_errors():
            yield from self._inner

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


class _BoundedTransport(httpx.BaseTransport):
    """httpx's HTTP/1.1 transport, built on httpcore's public API so that its connections use
    :class:`_DeadlineBackend`: directly, or through the HTTP(S) proxy the environment names."""

    def __init__(self, verify: ssl.SSLContext | bool, proxy: str | None, deadline: _Deadline):
        context = httpx.create_ssl_context(verify=verify)
        backend = _DeadlineBackend(deadline)
        limits = httpx.Limits()  # httpx's defaults: 100 connections, 20 kept alive for 5 s
        pool: dict[str, Any] = {
            "max_connections": limits.max_connections,
            "max_keepalive_connections": limits.max_keepalive_connections,
            "keepalive_expiry": limits.keepalive_expiry,
        }
        if proxy is None:
            self._pool = httpcore.ConnectionPool(
                ssl_context=context, network_backend=backend, **pool
            )
            return
        parts = urlsplit(proxy)
        auth = (unquote(parts.username), unquote(parts.password or "")) if parts.username else None
        self._pool = httpcore.HTTPProxy(
            proxy_url=httpcore.URL(
                scheme=parts.scheme.encode(),
                host=(parts.hostname or "").encode(),
                port=parts.port,
                target=b"/",
            ),
            proxy_auth=auth,
            ssl_context=context,
            network_backend=backend,
            **pool,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = self._pool.handle_request(core)
        assert isinstance(response.stream, Iterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_BodyStream(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


def _env_proxy(base: Any) -> str | None:
    """The proxy the environment names for the Graph host (``HTTPS_PROXY``/``ALL_PROXY``, lower
    case too, unless ``NO_PROXY`` covers it), as httpx would use it."""
    proxies = urllib.request.getproxies()
    proxy = proxies.get("https") or proxies.get("all")
    if not proxy:
        return None
    host = f"{base.hostname}:{base.port}" if base.port else str(base.hostname)
    if urllib.request.proxy_bypass(host):
        return None
    proxy = proxy if "://" in proxy else f"http://{proxy}"
    scheme = urlsplit(proxy).scheme.lower()
    if scheme not in ("http", "https"):
        raise GraphError(
            f"the proxy the environment names for Graph is a {scheme}:// proxy, which wbplan "
            "does not support",
            hint="set HTTPS_PROXY to an http:// or https:// proxy, or list the Graph host in "
            "NO_PROXY",
        )
    return proxy


def _tls_verify(options: GraphOptions) -> ssl.SSLContext | bool:
    if options.insecure_skip_tls_verify:
        logger.warning(
            "TLS CERTIFICATE VALIDATION IS OFF for %s: the Graph token goes to whoever answers. "
            "Use --graph-ca-file instead.",
            options.graph_url,
        )
        return False
    if options.ca_file is None:
        return True
    try:
        return ssl.create_default_context(cafile=str(options.ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise GraphError(
            f"cannot load the CA file {options.ca_file}: {getattr(exc, 'strerror', None) or exc}",
            hint="--graph-ca-file must name a readable PEM file of CA certificates",
        ) from None
