"""Routes of the Graph emulator: the v1.0 (and the few beta) resources wbplan reads and changes,
in Graph's shapes.

Split from :mod:`tests.support.graph_emulator` (server, faults, fixtures) to keep both small.
``route`` runs under the emulator's lock, so it may mutate the tenant freely.
"""

from __future__ import annotations

import base64
import re
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    from tests.support.graph_emulator import GraphEmulator


def error_body(code: str, message: str) -> dict[str, Any]:
    """Graph's error body shape (odata error with innerError)."""
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": "2025-01-15T08:30:00",
                "request-id": str(uuid.uuid4()),
                "client-request-id": str(uuid.uuid4()),
            },
        }
    }


_SYNC_ITEM = re.compile(r"^/directory/onPremisesSynchronization/([^/]+)$")
_SETTING_ITEM = re.compile(r"^/groupSettings/([^/]+)$")
_TEMPLATE_ITEM = re.compile(r"^/groupSettingTemplates/([^/]+)$")
_SP_JOBS = re.compile(r"^/servicePrincipals/([^/]+)/synchronization/jobs$")
_SP_SCHEMA = re.compile(r"^/servicePrincipals/([^/]+)/synchronization/jobs/([^/]+)/schema$")
_SP_ASSIGNED = re.compile(r"^/servicePrincipals/([^/]+)/appRoleAssignedTo$")
_DISPLAY_NAME_EQ = re.compile(r"^displayName eq '((?:[^']|'')*)'$")
AGENTS = "/beta/onPremisesPublishingProfiles/provisioning/agents"
"""Cloud Sync's provisioning agents (beta, delegated only: see ``DELEGATED_ONLY``)."""


def route(
    emu: GraphEmulator, method: str, rel: str, query: dict[str, str], body: Any
) -> tuple[int, dict[str, str], Any]:
    t = emu.tenant
    if method == "GET":
        collections: dict[str, list[dict[str, Any]]] = {
            "/organization": [t.organization],
            "/subscribedSkus": t.skus,
            "/directory/onPremisesSynchronization": [t.sync] if t.sync else [],
            "/groupSettings": t.group_settings,
            "/devices": t.devices,
            "/domains": t.domains,
        }
        if rel in collections:
            return 200, {}, _page(emu, rel, collections[rel], query)
        if rel in ("/servicePrincipals", AGENTS) or _SP_JOBS.match(rel) or _SP_ASSIGNED.match(rel):
            return _cloud_sync(emu, rel, query)
        if m := _SP_SCHEMA.match(rel):
            return _job_schema(emu, rel, m.group(1), m.group(2))
    if (m := _SYNC_ITEM.match(rel)) and t.sync and m.group(1) == t.sync["id"]:
        if method == "GET":
            return 200, {}, {"@odata.context": _context(emu, rel, "$entity"), **t.sync}
        if method == "PATCH":
            if not isinstance(body, dict) or set(body) - {"features", "configuration"}:
                return 400, {}, error_body("BadRequest", "Invalid property in request body.")
            t.sync["features"].update(body.get("features") or {})
            return 204, {}, None
    if (m := _SETTING_ITEM.match(rel)) and (s := _by_id(t.group_settings, m.group(1))):
        if method == "GET":
            return 200, {}, {"@odata.context": _context(emu, rel, "$entity"), **s}
        if method == "PATCH":
            # Graph replaces the whole values collection ("include the entire collection set").
            s["values"] = list(body.get("values") or [])
            return 204, {}, None
        if method == "DELETE":  # "Delete a group setting": 204 No Content
            t.group_settings.remove(s)
            return 204, {}, None
    if (
        (m := _TEMPLATE_ITEM.match(rel))
        and (tpl := t.templates.get(m.group(1)))
        and method == "GET"
    ):
        return 200, {}, {"@odata.context": _context(emu, rel, "$entity"), **tpl}
    if rel == "/groupSettings" and method == "POST":
        return _create_setting(emu, body)
    return 404, {}, error_body("Request_ResourceNotFound", f"Resource '{rel}' does not exist.")


def _cloud_sync(
    emu: GraphEmulator, rel: str, query: dict[str, str]
) -> tuple[int, dict[str, str], Any]:
    """GET of the Cloud Sync reads: service principals (``$filter=displayName eq '…'``, the
    only filter wbplan sends; compared case-insensitively, as Graph compares directory
    strings), a service principal's synchronization jobs and app-role assignments, and the
    provisioning agents (``agentGroups`` only with ``$expand=agentGroups``)."""
    t = emu.tenant
    if rel == "/servicePrincipals":
        items = t.service_principals
        if "$filter" in query:
            m = _DISPLAY_NAME_EQ.match(query["$filter"])
            if m is None:
                return 400, {}, error_body("BadRequest", "Invalid filter clause")
            name = m.group(1).replace("''", "'").lower()
            items = [sp for sp in items if str(sp.get("displayName", "")).lower() == name]
        return 200, {}, _page(emu, rel, items, query)
    if rel == AGENTS:
        expand = "agentGroups" in query.get("$expand", "").split(",")
        agents = [
            a if expand else {k: v for k, v in a.items() if k != "agentGroups"}
            for a in t.provisioning_agents
        ]
        return 200, {}, _page(emu, rel, agents, query)
    m = _SP_JOBS.match(rel) or _SP_ASSIGNED.match(rel)
    assert m is not None
    sp_id = m.group(1)
    if not any(sp["id"] == sp_id for sp in t.service_principals):
        return (
            404,
            {},
            error_body("Request_ResourceNotFound", f"Resource '{sp_id}' does not exist."),
        )
    found = t.sync_jobs if _SP_JOBS.match(rel) else t.app_role_assignments
    return 200, {}, _page(emu, rel, found.get(sp_id, []), query)


def _job_schema(
    emu: GraphEmulator, rel: str, sp_id: str, job_id: str
) -> tuple[int, dict[str, str], Any]:
    """``GET /servicePrincipals/{id}/synchronization/jobs/{jobId}/schema``: the job's
    ``synchronizationSchema`` (one object, not a collection), 404 for a job the service
    principal does not have."""
    t = emu.tenant
    jobs = t.sync_jobs.get(sp_id, [])
    if not any(j["id"] == job_id for j in jobs) or job_id not in t.sync_schemas:
        return (
            404,
            {},
            error_body("Request_ResourceNotFound", f"Resource '{job_id}' does not exist."),
        )
    return 200, {}, {"@odata.context": _context(emu, rel, "$entity"), **t.sync_schemas[job_id]}


def _create_setting(emu: GraphEmulator, body: Any) -> tuple[int, dict[str, str], Any]:
    t = emu.tenant
    template = t.templates.get(str((body or {}).get("templateId", "")).lower())
    if template is None:
        return (
            400,
            {},
            error_body("Request_BadRequest", "Invalid value specified for property 'templateId'."),
        )
    if any(s.get("templateId") == template["id"] for s in t.group_settings):
        return (
            409,
            {},
            error_body(
                "Request_BadRequest",
                "A conflicting object with one or more of the specified property values is present "
                "in the directory.",
            ),
        )
    known = {v["name"] for v in template["values"]}
    values = list(body.get("values") or [])
    if any(v.get("name") not in known for v in values):
        return 400, {}, error_body("Request_BadRequest", "Invalid setting name in values.")
    setting = {
        "id": str(uuid.uuid4()),
        "displayName": template["displayName"],
        "templateId": template["id"],
        "values": values,
    }
    t.group_settings.append(setting)
    return 201, {}, {"@odata.context": _context(emu, "/groupSettings", "$entity"), **setting}


def _by_id(items: list[dict[str, Any]], item_id: str) -> dict[str, Any] | None:
    return next((i for i in items if str(i.get("id")) == item_id), None)


def _root(emu: GraphEmulator, rel: str) -> tuple[str, str]:
    """``(version root URL, path below it)``: beta paths (``/beta/…``) live beside ``/v1.0``."""
    if rel.startswith("/beta/"):
        return f"{emu.origin}/beta", rel.removeprefix("/beta")
    return emu.base_url, rel


def _context(emu: GraphEmulator, rel: str, suffix: str = "") -> str:
    root, below = _root(emu, rel)
    name = below.strip("/")
    return f"{root}/$metadata#{name}{'/' + suffix if suffix else ''}"


def _page(
    emu: GraphEmulator, rel: str, items: list[dict[str, Any]], query: dict[str, str]
) -> dict[str, Any]:
    """One page of a collection: ``$top`` (capped at the page size), ``$skiptoken``, ``$select``."""
    size = min(int(query.get("$top") or emu.page_size), emu.page_size)
    token = query.get("$skiptoken")
    start = int(base64.urlsafe_b64decode(token).decode()) if token else 0
    chunk = items[start : start + size]
    select = [s for s in query.get("$select", "").split(",") if s]
    if select:
        chunk = [{k: v for k, v in i.items() if k in select} for i in chunk]
    context = _context(emu, rel) + (f"({','.join(select)})" if select else "")
    page: dict[str, Any] = {"@odata.context": context, "value": chunk}
    if start + size < len(items):
        rest = {k: v for k, v in query.items() if k != "$skiptoken"}
        rest["$skiptoken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        root, below = _root(emu, rel)
        page["@odata.nextLink"] = f"{root}{below}?{urlencode(rest)}"
    return page
