"""Turning Graph failures into wbplan errors whose message names the cause and whose hint names
the next step: HTTP status replies (401, 403 with the permission the endpoint needs, 429/503
after the retry bound, 404, 5xx), transport failures (TLS, connection, a connection reset under
a request) and the client's bounds (request deadline, body cap, paging loop, foreign paging
link, page cap, wait budget), whose hints name the ``WBPLAN_GRAPH_*`` variable that raises them.

Kept apart from :mod:`planner.graphapi.client` so the permission table and the wording of every
message sit in one place.
"""

from __future__ import annotations

import json
import re
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from planner.errors import GraphAuthError, GraphError, GraphThrottledError

if TYPE_CHECKING:
    from planner.graphapi.client import GraphOptions


class GraphForbiddenError(GraphAuthError):
    """403: the credential is valid but lacks ``permission`` for ``endpoint``.

    A separate class so a reader can record "not readable" for one section and go on, while a
    401 (nothing will work) stops the whole read. ``requirement`` is the whole requirement in
    words (for a delegated-only endpoint: the permission, "delegated", the admin role and that
    application permissions are not supported); for other endpoints it equals ``permission``.
    """

    def __init__(
        self,
        message: str,
        hint: str,
        endpoint: str,
        permission: str,
        requirement: str | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.endpoint = endpoint
        self.permission = permission
        self.requirement = requirement or permission


@dataclass(frozen=True)
class EndpointPermission:
    """What Microsoft documents one Graph operation needs (least privileged first)."""

    method: str
    """HTTP verb, or ``*`` for every verb."""
    pattern: re.Pattern[str]
    """Path relative to the version segment (``/beta/…`` for a beta-only endpoint)."""
    endpoint: str
    """The path as a person reads it (``GET /subscribedSkus``)."""
    permission: str
    """Least-privileged permission; ``A or B`` where the docs disagree or B is widely held."""
    application: bool
    """Whether an application permission (app-only: client secret, certificate, workload
    identity) is supported at all."""
    role: str
    """The Microsoft Entra role a signed-in person needs in delegated sign-in."""
    source: str
    """The Microsoft Learn page the row comes from (title and URL)."""

    @property
    def kind(self) -> str:
        """``delegated or application`` / ``delegated only``."""
        return "delegated or application" if self.application else "delegated only"

    @property
    def requirement(self) -> str:
        """The whole requirement in one phrase, for messages."""
        if self.application:
            return self.permission
        return (
            f"the delegated permission {self.permission} for a signed-in {self.role} "
            "(application permissions are not supported)"
        )


_READER = "Directory Readers (or Global Reader)"

# (method, path pattern relative to the version segment) → least-privileged permission.
# Looked up on Microsoft Learn (Graph v1.0 API reference, "Permissions" tables); each row names
# its page. domain.md §2 has older notes; where a row differs from them, the page below wins.
PERMISSIONS: tuple[EndpointPermission, ...] = (
    EndpointPermission(
        "GET",
        re.compile(r"^/organization(/|$)"),
        "GET /organization",
        # Delegated User.Read is documented as least privileged too, but reads only id,
        # displayName and verifiedDomains (onPremisesSyncEnabled comes back null), so wbplan
        # needs Organization.Read.All for the sync status.
        "Organization.Read.All",
        application=True,
        role=_READER,
        source="List organizations — https://learn.microsoft.com/graph/api/organization-list",
    ),
    EndpointPermission(
        "GET",
        re.compile(r"^/subscribedSkus(/|$)"),
        "GET /subscribedSkus",
        # LicenseAssignment.Read.All is now the least privileged (delegated and application);
        # Organization.Read.All is listed as higher privileged and still works.
        "LicenseAssignment.Read.All or Organization.Read.All",
        application=True,
        role=_READER,
        source="List subscribedSkus — https://learn.microsoft.com/graph/api/subscribedsku-list",
    ),
    EndpointPermission(
        "GET",
        re.compile(r"^/directory/onPremisesSynchronization(/|$)"),
        "GET /directory/onPremisesSynchronization",
        # Delegated (work or school) only; application: "Not supported."; "Global Administrator
        # is the only role supported for this operation."
        "OnPremDirectorySynchronization.Read.All",
        application=False,
        role="Global Administrator",
        source="Get onPremisesDirectorySynchronization — "
        "https://learn.microsoft.com/graph/api/onpremisesdirectorysynchronization-get",
    ),
    EndpointPermission(
        "PATCH",
        re.compile(r"^/directory/onPremisesSynchronization(/|$)"),
        "PATCH /directory/onPremisesSynchronization/{id}",
        # Delegated only; application "Not supported."; "the user needs to be assigned the
        # Global Administrator role".
        "OnPremDirectorySynchronization.ReadWrite.All",
        application=False,
        role="Global Administrator",
        source="Update onPremisesDirectorySynchronization — "
        "https://learn.microsoft.com/graph/api/onpremisesdirectorysynchronization-update",
    ),
    EndpointPermission(
        "GET",
        re.compile(r"^/groupSetting(s|Templates)(/|$)"),
        "GET /groupSettings",
        # GroupSettings.Read.All is least privileged on the current page; older pages named
        # only Directory.Read.All, which many app registrations already hold.
        "GroupSettings.Read.All or Directory.Read.All",
        application=True,
        role=_READER,
        source="List settings — https://learn.microsoft.com/graph/api/group-list-settings",
    ),
    EndpointPermission(
        "*",
        re.compile(r"^/groupSettings(/|$)"),
        "PATCH|POST|DELETE /groupSettings",
        "GroupSettings.ReadWrite.All or Directory.ReadWrite.All",
        application=True,
        role="Groups Administrator (or Directory Writers)",
        source="Update groupSetting — https://learn.microsoft.com/graph/api/groupsetting-update",
    ),
    EndpointPermission(
        "GET",
        re.compile(r"^/devices(/|$)"),
        "GET /devices",
        "Device.Read.All",
        application=True,
        role=_READER,
        source="List devices — https://learn.microsoft.com/graph/api/device-list",
    ),
    EndpointPermission(
        "GET",
        re.compile(r"^/domains(/|$)"),
        "GET /domains",
        "Domain.Read.All",
        application=True,
        role=_READER,
        source="List domains — https://learn.microsoft.com/graph/api/domain-list",
    ),
    # Cloud Sync (cloud-sync.md §4.2). The configurations' service principals and their
    # synchronization jobs: the jobs page lists Synchronization.Read.All as least privileged
    # for delegated use and Application.ReadWrite.OwnedBy for applications (which reaches only
    # service principals the calling app owns; OBS: not those the Cloud Sync portal creates),
    # with Synchronization.Read.All higher: that is the one an app registration needs. Whether a
    # read-only directory role (Global Reader) may read jobs is UNCONFIRMED; the RBAC include
    # names Hybrid Identity Administrator for configuring Cloud Sync.
    # The job schema (the group target container): delegated Synchronization.Read.All least
    # privileged; application CustomSecAttributeProvisioning.Read.All least and
    # Synchronization.Read.All higher — the one an app registration that already lists jobs
    # holds, so it is the one named.
    EndpointPermission(
        "GET",
        re.compile(r"^/servicePrincipals/[^/]+/synchronization/jobs/[^/]+/schema$"),
        "GET /servicePrincipals/{id}/synchronization/jobs/{jobId}/schema",
        "Synchronization.Read.All",
        application=True,
        role="Hybrid Identity Administrator",
        source="Get synchronizationSchema — "
        "https://learn.microsoft.com/graph/api/synchronization-synchronizationschema-get",
    ),
    EndpointPermission(
        "GET",
        re.compile(r"^/servicePrincipals/[^/]+/synchronization(/|$)"),
        "GET /servicePrincipals/{id}/synchronization/jobs",
        "Synchronization.Read.All",
        application=True,
        role="Hybrid Identity Administrator",
        source="List synchronization jobs — "
        "https://learn.microsoft.com/graph/api/synchronization-synchronization-list-jobs",
    ),
    EndpointPermission(
        "GET",
        re.compile(r"^/servicePrincipals/[^/]+/appRoleAssignedTo(/|$)"),
        "GET /servicePrincipals/{id}/appRoleAssignedTo",
        "Application.Read.All",
        application=True,
        role=_READER,
        source="List appRoleAssignments granted for a service principal — "
        "https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignedto",
    ),
    EndpointPermission(
        "GET",
        re.compile(r"^/servicePrincipals(/|$)"),
        "GET /servicePrincipals",
        # OBS: the Cloud Sync Graph how-to names Directory.Read.All, which also works.
        "Application.Read.All",
        application=True,
        role=_READER,
        source="List servicePrincipals — https://learn.microsoft.com/graph/api/serviceprincipal-list",
    ),
    EndpointPermission(
        "GET",
        re.compile(r"^/beta/onPremisesPublishingProfiles/provisioning(/|$)"),
        "GET /beta/onPremisesPublishingProfiles/provisioning/agents",
        # Beta only; application "Not supported" in every revision of the page. The delegated
        # permission drifted: OnPremisesPublishingProfiles.ReadWrite.All (2019 page), then
        # Directory.ReadWrite.All; no read-only scope. The newest Get onPremisesAgent page names
        # Policy.Read.HybridAuthentication as least privileged — for List, UNCONFIRMED. The
        # permissions reference lists an application permission named
        # OnPremisesPublishingProfiles.ReadWrite.All: app-only use is UNCONFIRMED, so wbplan
        # treats the endpoint as delegated only, as the API page does.
        "OnPremisesPublishingProfiles.ReadWrite.All or Directory.ReadWrite.All",
        application=False,
        role="Hybrid Identity Administrator",
        source="List onPremisesAgents (beta) — "
        "https://learn.microsoft.com/graph/api/onpremisesagent-list?view=graph-rest-beta",
    ),
)


def endpoint_permission(method: str, path: str) -> EndpointPermission | None:
    """The documented requirement of ``method path`` (path relative to ``/v1.0``, or
    ``/beta/…`` for the beta root), if known."""
    for row in PERMISSIONS:
        if row.method in (method, "*") and row.pattern.search(path):
            return row
    return None


def required_permission(method: str, path: str) -> str | None:
    """The Graph permission ``method path`` needs (path as for :func:`endpoint_permission`),
    if known."""
    row = endpoint_permission(method, path)
    return row.permission if row is not None else None


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
        return _forbidden(method, endpoint, said, ref)
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


def _forbidden(method: str, endpoint: str, said: str, ref: str) -> GraphForbiddenError:
    target = f"{method} {endpoint}"
    row = endpoint_permission(method, endpoint)
    if row is not None and not row.application:
        verb = "apply" if method != "GET" else "read it"
        return GraphForbiddenError(
            f"Graph refused {target} ({said}): it needs {row.requirement}{ref}",
            hint=f"sign in as a {row.role} to {verb} (`az login` then "
            "--graph-auth azure-cli, or --graph-auth device-code with an app registration "
            f"holding the delegated {row.permission}); a service principal or workload "
            "identity cannot — e.g. `wbplan refresh --tenant-only --graph-auth azure-cli "
            "--out state/tenant.json` as the administrator, then plan with --state-tenant",
            endpoint=endpoint,
            permission=row.permission,
            requirement=row.requirement,
        )
    permission = row.permission if row is not None else "a permission for this endpoint"
    return GraphForbiddenError(
        f"Graph refused {target} ({said}): the credential lacks {permission}{ref}",
        hint=f"grant {permission} to the app registration and give admin consent "
        "(delegated sign-in: the user also needs a role that allows it), then retry",
        endpoint=endpoint,
        permission=permission,
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


# -- bounds: what stops a Graph read that would otherwise run without end ----------------------
# The environment variables that raise each bound (read by GraphOptions; named in the hints).
DEADLINE_ENV = "WBPLAN_GRAPH_DEADLINE"
WAIT_BUDGET_ENV = "WBPLAN_GRAPH_WAIT_BUDGET"
MAX_PAGES_ENV = "WBPLAN_GRAPH_MAX_PAGES"
MAX_BODY_ENV = "WBPLAN_GRAPH_MAX_BODY_MB"


def seconds(value: float) -> str:
    """``7``, ``0.5``, ``29.7``: seconds as a person reads them (one decimal at most)."""
    return f"{round(value, 1):g}"


def size(value: int) -> str:
    """``32 MiB`` for whole mebibytes, else ``65,536 bytes``."""
    mib = 1024 * 1024
    return f"{value // mib} MiB" if value >= mib and value % mib == 0 else f"{value:,} bytes"


def deadline_error(method: str, endpoint: str, deadline: float) -> GraphError:
    """The request as a whole (connect, TLS, headers, body) outlived ``deadline`` seconds."""
    return GraphError(
        f"Graph did not complete {method} {endpoint} within the {seconds(deadline)} s request "
        "deadline (connecting, headers and the whole body together)",
        hint="the network path or a proxy is very slow, or the server stalls mid-reply; check "
        f"access to the Graph host and run again, or raise {DEADLINE_ENV} (seconds)",
    )


def body_too_large_error(
    method: str, endpoint: str, limit: int, declared: int | None
) -> GraphError:
    """A reply body over ``limit`` bytes: announced by Content-Length (``declared``) or found
    while reading it in chunks (then nothing past the limit was kept)."""
    found = (
        f"it announces {size(declared)}"
        if declared is not None
        else f"reading stopped after {size(limit)}"
    )
    return GraphError(
        f"Graph's reply to {method} {endpoint} is larger than the {size(limit)} limit "
        f"({found}); not read further",
        hint="a Graph page of what wbplan reads is normally well under 1 MiB; check --graph-url "
        f"and any proxy between here and Graph, or raise {MAX_BODY_ENV} (MiB) if the reply "
        "is genuine",
    )


def paging_loop_error(endpoint: str, pages: int, request_id: str) -> GraphError:
    """``@odata.nextLink`` points back at a page already read."""
    ref = f" (request-id {request_id})" if request_id else ""
    return GraphError(
        f"Graph's paging for GET {endpoint} loops: the next-page link repeats a page already "
        f"read; stopped after {pages} page{'s' if pages != 1 else ''}{ref}",
        hint="this is a fault of Graph or of a proxy rewriting its replies, not of the tenant; "
        "run again later, and if it persists report the request-id to Microsoft support",
    )


def foreign_link_error(endpoint: str, shown: str, origin: str) -> GraphError:
    """``@odata.nextLink`` leaves the origin of --graph-url (``shown`` carries no userinfo)."""
    return GraphError(
        f"Graph's paging link for GET {endpoint} points to another host or scheme ({shown}, "
        f"not {origin} as --graph-url says); not followed, so the bearer token is not sent there",
        hint="check --graph-url and any proxy or gateway rewriting Graph replies; Microsoft "
        "Graph's own paging links stay on the host that served the first page",
    )


def page_cap_error(endpoint: str, limit: int) -> GraphError:
    """The collection goes on past ``limit`` pages."""
    return GraphError(
        f"Graph's paging for GET {endpoint} goes on past {limit} pages; stopped at the page cap",
        hint="Graph keeps sending new next-page links (a Graph or proxy fault), or the "
        f"collection is really that large: then raise {MAX_PAGES_ENV} (now {limit})",
    )


def wait_budget_error(
    what: str,
    method: str,
    endpoint: str,
    wait: float,
    left: float,
    budget: float,
    throttled: bool,
) -> GraphError:
    """Waiting ``wait`` more seconds (``what`` says why) would exceed this run's budget."""
    if left <= 0:
        beyond = f"but this run's {seconds(budget)} s wait budget is used up"
    else:
        beyond = (
            f"more than the {seconds(left)} s left of this run's {seconds(budget)} s wait budget"
        )
    message = f"{what} for {method} {endpoint}, {beyond}; not retried"
    if throttled:
        return GraphThrottledError(
            message,
            hint=f"Graph is throttling this app or is unavailable; run again in {seconds(wait)} s "
            "or later, stop other jobs that use the same app registration, or raise "
            f"{WAIT_BUDGET_ENV} (seconds)",
        )
    return GraphError(
        message,
        hint=f"Graph or the network path is failing; run again later, or raise {WAIT_BUDGET_ENV} "
        "(seconds) to wait longer",
    )


def dropped_connection_error(
    exc: BaseException,
    method: str,
    endpoint: str,
    options: GraphOptions,
    attempts: int,
) -> GraphError:
    """The connection was reset or closed before Graph's reply was complete: after ``attempts``
    tries of a GET, or at once for a write (which is never repeated)."""
    host = urlsplit(options.graph_url).netloc
    if method != "GET":
        return GraphError(
            f"the connection to {host} was reset or closed during {method} {endpoint} before "
            f"Graph's reply was complete ({_reason(exc)}); not repeated, because Graph may "
            "already have made the change",
            hint="run `wbplan plan` to see whether the change is in place, then apply again if "
            "it is not; check the network path and any proxy to the Graph host",
        )
    return GraphError(
        f"the connection to {host} was reset or closed on "
        f"{'all ' + str(attempts) + ' attempts' if attempts > 1 else 'the only attempt'} "
        f"of {method} {endpoint} ({_reason(exc)})",
        hint="check the network path, firewall and any proxy (HTTPS_PROXY) to the Graph host; "
        "run again later",
    )
