"""The tenant changes ``apply`` makes over Graph, each returning a before/after for the journal.

- :func:`set_sync_feature` — one ``features`` flag of ``onPremisesDirectorySynchronization``
  (``PATCH /directory/onPremisesSynchronization/{id}``, 204).
- :func:`set_new_group_writeback_default` — ``NewUnifiedGroupWritebackDefault`` in the
  tenant-wide ``Group.Unified`` setting. Graph replaces the whole ``values`` collection on PATCH
  ("you must include the entire collection set"), so every existing value is sent back; when the
  tenant has no such setting it is created from the template's defaults with ours overridden.

Each function re-reads after writing and reports what Graph then says (``verified``), because
apply must not journal a change Graph silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from planner.errors import GraphError, UsageError
from planner.graphapi.client import GraphClient
from planner.model.state import NEW_GROUP_WRITEBACK_DEFAULT
from planner.observe.graph import GROUP_UNIFIED_TEMPLATE_ID, find_group_unified

# Documented as "isn't in use and updating it isn't supported" (domain.md §2.2).
UNSUPPORTED_FEATURES = frozenset({"passwordWritebackEnabled"})


@dataclass(frozen=True)
class TenantChange:
    """What one tenant change did, for the journal and for rollback."""

    address: str
    """``tenant.feature[NAME]`` or
    ``tenant.setting[Group.Unified/NewUnifiedGroupWritebackDefault]``."""
    before: bool | str | None
    """The value before (None: flag absent / setting absent, which Graph treats as its default)."""
    after: bool | str | None
    """The value Graph reports after the change."""
    verified: bool
    """True when the re-read shows the requested value."""
    before_image: dict[str, Any] | None = None
    """The whole object before the change (None: it did not exist), to restore exactly."""
    created_id: str | None = None
    """Id of an object this change created (rollback deletes it)."""


def set_sync_feature(client: GraphClient, sync_id: str, name: str, value: bool) -> TenantChange:
    """Set ``features.<name>`` on the tenant's onPremisesDirectorySynchronization object."""
    if name in UNSUPPORTED_FEATURES:
        raise UsageError(
            f"{name} cannot be changed: Graph documents it as unused and not updatable",
            hint="password writeback is switched in the Entra admin center (Protection → "
            "Password reset → On-premises integration) and the Connect wizard",
        )
    if not name.isidentifier():
        raise UsageError(f"not a Graph feature flag name: {name!r}")
    path = f"/directory/onPremisesSynchronization/{quote(sync_id, safe='')}"
    before_entity = client.get(path)
    before = _features(before_entity).get(name)
    client.patch(path, {"features": {name: value}})
    after = _features(client.get(path)).get(name)
    return TenantChange(
        address=f"tenant.feature[{name}]",
        before=before,
        after=after,
        verified=after is value,
        before_image={"features": _features(before_entity)},
    )


def set_new_group_writeback_default(client: GraphClient, value: bool) -> TenantChange:
    """Set ``NewUnifiedGroupWritebackDefault`` (``"true"``/``"false"``) tenant-wide."""
    address = f"tenant.setting[Group.Unified/{NEW_GROUP_WRITEBACK_DEFAULT}]"
    wanted = "true" if value else "false"
    setting = find_group_unified(client)
    created_id: str | None = None
    if setting is not None:
        values = _values(setting)
        before = values.get(NEW_GROUP_WRITEBACK_DEFAULT)
        values[NEW_GROUP_WRITEBACK_DEFAULT] = wanted
        client.patch(
            f"/groupSettings/{quote(str(setting['id']), safe='')}",
            {"values": [{"name": k, "value": v} for k, v in values.items()]},
        )
        before_image: dict[str, Any] | None = {
            "id": setting["id"],
            "templateId": setting.get("templateId"),
            "values": setting.get("values") or [],
        }
    else:
        before = None
        before_image = None
        template = client.get(f"/groupSettingTemplates/{GROUP_UNIFIED_TEMPLATE_ID}")
        defaults = {
            str(d["name"]): "" if d.get("defaultValue") is None else str(d["defaultValue"])
            for d in template.get("values") or ()
            if isinstance(d, dict) and d.get("name")
        }
        if NEW_GROUP_WRITEBACK_DEFAULT not in defaults:
            raise GraphError(
                f"the Group.Unified template has no {NEW_GROUP_WRITEBACK_DEFAULT} value",
                hint="Graph's template changed; report this to the wbplan maintainers",
            )
        defaults[NEW_GROUP_WRITEBACK_DEFAULT] = wanted
        created = client.post(
            "/groupSettings",
            {
                "templateId": GROUP_UNIFIED_TEMPLATE_ID,
                "values": [{"name": k, "value": v} for k, v in defaults.items()],
            },
        )
        created_id = str(created.get("id")) if created.get("id") else None
    reread = find_group_unified(client)
    after = _values(reread).get(NEW_GROUP_WRITEBACK_DEFAULT) if reread is not None else None
    return TenantChange(
        address=address,
        before=before,
        after=after,
        verified=(after or "").lower() == wanted,
        before_image=before_image,
        created_id=created_id,
    )


def _features(entity: dict[str, Any]) -> dict[str, Any]:
    features = entity.get("features")
    return dict(features) if isinstance(features, dict) else {}


def _values(setting: dict[str, Any]) -> dict[str, str]:
    """name → value, in Graph's order (dicts keep insertion order)."""
    return {
        str(v["name"]): "" if v.get("value") is None else str(v["value"])
        for v in setting.get("values") or ()
        if isinstance(v, dict) and v.get("name")
    }
