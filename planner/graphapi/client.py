"""The Microsoft Graph HTTP client: one code path for the real Graph and the test emulator.

:class:`GraphClient` sends ``GET``/``PATCH``/``POST`` with a bearer token, follows
``@odata.nextLink`` paging, retries 429/503 honouring ``Retry-After`` (bounded) and, for the
idempotent verbs (GET, PATCH, DELETE), 500/502/504 with the same bounded backoff; it turns every
failure into a :class:`planner.errors.GraphError` whose message names the cause and whose hint
names the next step:

    GraphError                 connection, TLS, timeout, 4xx/5xx, a reply that is not JSON
    ├── GraphAuthError         401 (credential rejected), or no credential configured
    │   └── GraphForbiddenError   403: names the permission the endpoint needs
    └── GraphThrottledError    429/503 still returned after ``max_retries`` retries

The wording of those messages and the permission table live in :mod:`planner.graphapi.failures`.

Only the base URL and the CA bundle distinguish the emulator from ``graph.microsoft.com``;
``transport`` is a seam for unit tests, which the emulator tests do not use.
"""

from __future__ import annotations

import email.utils
import json
import logging
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from planner.errors import GraphError, UsageError
from planner.graphapi.auth import AUTH_MODES, AuthMode, TokenProvider
from planner.graphapi.failures import (
    GraphForbiddenError,
    required_permission,
    response_error,
    transport_error,
)

logger = logging.getLogger(__name__)

DEFAULT_GRAPH_URL = "https://graph.microsoft.com/v1.0"
MAX_RETRIES_LIMIT = 10
# A single Retry-After longer than this is clamped: the bound on retries must also bound time.
MAX_RETRY_WAIT_S = 120.0
THROTTLED = (429, 503)
# Transient gateway/server failures. Retried only for verbs that are safe to repeat: a POST that
# failed with 500 may still have created the object, and a second POST would create another.
TRANSIENT = (500, 502, 504)
IDEMPOTENT = ("GET", "PATCH", "DELETE")

JsonObject = dict[str, Any]

__all__ = [
    "DEFAULT_GRAPH_URL",
    "GraphClient",
    "GraphForbiddenError",
    "GraphOptions",
    "parse_retry_after",
    "required_permission",
]


@dataclass(frozen=True)
class GraphOptions:
    """How to reach Graph. Built by ``cli.py`` from ``--graph-url``/``--graph-ca-file``/
    ``--graph-auth``; validated on construction (a bad value is a :class:`UsageError`)."""

    graph_url: str = DEFAULT_GRAPH_URL
    """Base URL including the version segment; v1.0 unless an endpoint exists only in beta."""
    ca_file: Path | None = None
    """PEM bundle that is the *only* trust anchor for Graph's TLS certificate (like curl's
    ``--cacert``): for TLS-inspecting proxies and the emulator. None = the public CAs."""
    timeout: float = 30.0
    """Seconds for connect and for each read."""
    max_retries: int = 4
    """Retries after a 429/503 (or a 500/502/504 on an idempotent verb) before giving up (0–10)."""
    auth: AuthMode = "auto"
    """Credential source; see :mod:`planner.graphapi.auth`."""
    insecure_skip_tls_verify: bool = False
    """Turn certificate validation off. Logged as a warning on every client: the bearer token
    would go to whoever answers. There is no other way to disable validation."""

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
        if self.auth not in AUTH_MODES:
            raise UsageError(
                f"unknown --graph-auth {self.auth!r}", hint=f"choose one of {', '.join(AUTH_MODES)}"
            )
        if self.ca_file is not None and self.insecure_skip_tls_verify:
            raise UsageError("--graph-ca-file and the insecure TLS flag contradict each other")


def parse_retry_after(value: str | None, attempt: int, now: float | None = None) -> float:
    """Seconds to wait: ``Retry-After`` as delta-seconds or HTTP date; without one, exponential
    backoff (1, 2, 4 … s). Clamped to ``[0, MAX_RETRY_WAIT_S]``."""
    fallback = float(min(2**attempt, MAX_RETRY_WAIT_S))
    if value is None or not value.strip():
        return fallback
    text = value.strip()
    if text.isdigit():
        return min(float(text), MAX_RETRY_WAIT_S)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return fallback
    current = time.time() if now is None else now
    return max(0.0, min(when.timestamp() - current, MAX_RETRY_WAIT_S))


class GraphClient:
    """A Graph session. Owns the token provider and transport it is given: ``close()`` (or a
    ``with`` block) releases both. ``requests`` counts HTTP requests sent, retries included."""

    def __init__(
        self,
        options: GraphOptions,
        token_provider: TokenProvider,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.options = options
        self.requests = 0
        self._tokens = token_provider
        self._sleep = sleep
        base = urlsplit(options.graph_url.rstrip("/"))
        self._origin = f"{base.scheme}://{base.netloc}"
        self._base_path = base.path
        try:
            verify = _tls_verify(options)
        except GraphError:
            token_provider.close()  # the client owns it from here on, even when it fails
            raise
        self._http = httpx.Client(
            transport=transport,
            verify=verify,
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
    def get(self, path: str, params: Mapping[str, str] | None = None) -> JsonObject:
        """GET one resource (or one page of a collection) as a JSON object."""
        return self._json(self._send("GET", self._url(path), params=params))

    def get_all(self, path: str, params: Mapping[str, str] | None = None) -> Iterator[JsonObject]:
        """Every item of a collection, following ``@odata.nextLink`` page by page (lazily)."""
        url: str | None = self._url(path)
        query = params
        while url is not None:
            page = self._json(self._send("GET", url, params=query))
            items = page.get("value")
            if not isinstance(items, list):
                raise GraphError(
                    f"Graph returned no 'value' array for GET {self._endpoint(url)}",
                    hint="check --graph-url points at a Microsoft Graph version root",
                )
            yield from (item for item in items if isinstance(item, dict))
            next_link = page.get("@odata.nextLink")
            url = self._checked_next_link(next_link) if isinstance(next_link, str) else None
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
    def _url(self, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError(f"Graph paths start with '/': {path!r}")
        return f"{self._origin}{self._base_path}{path}"

    def _endpoint(self, url: str) -> str:
        """``/subscribedSkus``: the URL's path relative to the version root, without query."""
        path = urlsplit(url).path
        return path[len(self._base_path) :] if path.startswith(self._base_path) else path

    def _checked_next_link(self, link: str) -> str:
        parts = urlsplit(link)
        if f"{parts.scheme}://{parts.netloc}".lower() != self._origin.lower():
            # Following it would hand our bearer token to another host.
            raise GraphError(
                f"Graph paging link points to another host ({parts.netloc}); not followed",
                hint="check --graph-url and any proxy rewriting Graph responses",
            )
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
                response = self._http.request(
                    method, url, params=params, json=json_body, headers=headers
                )
            except httpx.TimeoutException:
                raise GraphError(
                    f"Graph did not answer {method} {endpoint} within {self.options.timeout:g} s",
                    hint="check network access to the Graph host; retry later",
                ) from None
            except httpx.TransportError as exc:
                raise transport_error(exc, method, endpoint, self.options) from None
            logger.debug("%s %s -> %s", method, endpoint, response.status_code)
            retryable = response.status_code in THROTTLED or (
                response.status_code in TRANSIENT and method in IDEMPOTENT
            )
            if retryable and attempt < self.options.max_retries:
                wait = parse_retry_after(response.headers.get("Retry-After"), attempt)
                logger.info(
                    "Graph answered %s to %s %s; retry %d of %d in %.1f s",
                    response.status_code,
                    method,
                    endpoint,
                    attempt + 1,
                    self.options.max_retries,
                    wait,
                )
                self._sleep(wait)
                attempt += 1
                continue
            if response.is_success:
                return response
            raise self._failure(response, method, endpoint, attempt + 1)

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
