"""Turning Graph failures into wbplan errors whose message names the cause and whose hint names
the next step: HTTP status replies (401, 403 with the permission the endpoint needs, 429/503
after the retry bound, 404, 5xx) and transport failures (TLS, connection).

Kept apart from :mod:`planner.graphapi.client` so the permission table and the wording of every
message sit in one place.
"""

from __future__ import annotations

import json
import re
import ssl
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from planner.errors import GraphAuthError, GraphError, GraphThrottledError

if TYPE_CHECKING:
    from planner.graphapi.client import GraphOptions


class GraphForbiddenError(GraphAuthError):
    """403: the credential is valid but lacks ``permission`` for ``endpoint``.

    A separate class so a reader can record "not readable" for one section and go on, while a
    401 (nothing will work) stops the whole read.
    """

    def __init__(self, message: str, hint: str, endpoint: str, permission: str) -> None:
        super().__init__(message, hint)
        self.endpoint = endpoint
        self.permission = permission


# (method, path pattern relative to the version segment) → least-privileged permission(s).
# From the Graph permission tables (domain.md §2); where the tables disagree both are named.
_PERMISSIONS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("GET", re.compile(r"^/organization(/|$)"), "Organization.Read.All"),
    ("GET", re.compile(r"^/subscribedSkus(/|$)"), "Organization.Read.All"),
    (
        "GET",
        re.compile(r"^/directory/onPremisesSynchronization(/|$)"),
        "OnPremDirectorySynchronization.Read.All",
    ),
    (
        "PATCH",
        re.compile(r"^/directory/onPremisesSynchronization(/|$)"),
        "OnPremDirectorySynchronization.ReadWrite.All",
    ),
    # UNCONFIRMED (domain.md §2.3): current docs name GroupSettings.Read.All as least privileged,
    # older ones Directory.Read.All; either works, so both are named.
    (
        "GET",
        re.compile(r"^/groupSetting(s|Templates)(/|$)"),
        "GroupSettings.Read.All or Directory.Read.All",
    ),
    (
        "*",
        re.compile(r"^/groupSettings(/|$)"),
        "GroupSettings.ReadWrite.All or Directory.ReadWrite.All",
    ),
    ("GET", re.compile(r"^/devices(/|$)"), "Device.Read.All"),
    ("GET", re.compile(r"^/domains(/|$)"), "Domain.Read.All"),
)


def required_permission(method: str, path: str) -> str | None:
    """The Graph permission ``method path`` needs (path relative to ``/v1.0``), if known."""
    for want, pattern, permission in _PERMISSIONS:
        if want in (method, "*") and pattern.search(path):
            return permission
    return None


def response_error(
    response: httpx.Response,
    method: str,
    endpoint: str,
    attempts: int,
    token_source: str,
    origin: str,
) -> GraphError:
    """The exception for a final non-2xx reply to ``method endpoint``. ``token_source`` is the
    provider's description (for a 401 hint), ``origin`` the Graph origin tokens must be for."""
    status = response.status_code
    code, message, request_id = _graph_error(response)
    said = f"{status} {code}: {message}" if code else f"{status}"
    ref = f" (request-id {request_id})" if request_id else ""
    target = f"{method} {endpoint}"
    if status == 401:
        return GraphAuthError(
            f"Graph rejected the credential for {target} ({said}){ref}",
            hint=f"the token from the {token_source} is expired, revoked or issued for "
            f"another audience (it must be for {origin}); obtain a new one and retry",
        )
    if status == 403:
        permission = required_permission(method, endpoint) or "a permission for this endpoint"
        return GraphForbiddenError(
            f"Graph refused {target} ({said}): the credential lacks {permission}{ref}",
            hint=f"grant {permission} to the app registration and give admin consent "
            "(delegated sign-in: the user also needs a role that allows it), then retry",
            endpoint=endpoint,
            permission=permission,
        )
    if status in (429, 503):
        after = response.headers.get("Retry-After")
        return GraphThrottledError(
            f"Graph still answered {status} to {target} after {attempts} attempts"
            + (f" (last Retry-After: {after})" if after else "")
            + ref,
            hint="Graph is throttling this app or is unavailable; wait a few minutes and "
            "run again, or stop other jobs that use the same app registration",
        )
    if status == 404:
        return GraphError(
            f"Graph has no {target} ({said}){ref}",
            hint="check --graph-url (it must end in the version segment, e.g. /v1.0)",
        )
    return GraphError(
        f"Graph answered {target} with {said}{ref}",
        hint="retry later; if it persists, report the request-id to Microsoft support"
        if status >= 500
        else "this is likely a wbplan bug; report it with the message above",
    )


def _graph_error(response: httpx.Response) -> tuple[str, str, str]:
    """``(code, message, request-id)`` from Graph's ``{"error": {...}}`` body, best effort."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", response.reason_phrase or "no detail", response.headers.get("request-id", "")
    inner = error.get("innerError") or error.get("innererror") or {}
    request_id = inner.get("request-id", "") if isinstance(inner, dict) else ""
    return (
        str(error.get("code", "")),
        str(error.get("message", "")).strip() or "no detail",
        str(request_id or response.headers.get("request-id", "")),
    )


def transport_error(
    exc: httpx.TransportError, method: str, endpoint: str, options: GraphOptions
) -> GraphError:
    """The exception for a request that got no HTTP reply: TLS failure or no connection."""
    host = urlsplit(options.graph_url).netloc
    if _is_tls_failure(exc):
        return GraphError(
            f"TLS to {host} failed for {method} {endpoint}: {_reason(exc)}",
            hint="if a proxy inspects TLS or the endpoint uses a private CA, pass its CA "
            "certificate with --graph-ca-file; check the system clock",
        )
    return GraphError(
        f"cannot connect to {host} for {method} {endpoint}: {_reason(exc)}",
        hint="check --graph-url, DNS, firewall and HTTPS_PROXY settings",
    )


def _is_tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
