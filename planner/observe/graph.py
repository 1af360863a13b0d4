"""Read the Entra tenant over Microsoft Graph into a :class:`TenantState`.

Only what the policy needs is read: group settings only when group writeback is declared, the
device list only when device writeback is declared, Cloud Sync only when the policy has a
``cloud_sync`` section (:mod:`planner.observe.cloudsync_graph`). Each section is read
independently, so a missing permission (403) costs that section only: it becomes ``None`` plus
an ``Unread`` entry naming the permission and where a person can look instead. A rejected
credential (401), a network or TLS failure, or throttling past the retry bound stops the whole
read — nothing useful can follow.

What no API exposes (the SSPR on-premises writeback toggle, the options ticked on the Connect
server) is recorded by :func:`unverifiable_observations` as ``Unread`` with where to verify it,
never as a value: these are *unknown*, not pass or fail (domain.md §2.4).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from planner.errors import GraphError
from planner.graphapi.client import GraphClient, GraphForbiddenError
from planner.model.policy import Policy
from planner.model.state import (
    GroupUnifiedSetting,
    Organization,
    PrepaidUnits,
    ServicePlan,
    SubscribedSku,
    SyncFeatures,
    TenantDevice,
    TenantDevices,
    TenantDomain,
    TenantState,
    Unread,
)
from planner.observe.cloudsync_graph import observe_cloud_sync
from planner.progress import NO_PROGRESS, Progress, counted

logger = logging.getLogger(__name__)

GROUP_UNIFIED_TEMPLATE_ID = "62375ab9-6b52-47ed-826b-58e47e0e304b"
DEVICE_SELECT = "deviceId,displayName,trustType,accountEnabled"
# Graph's largest page for directory objects; fewer round trips on big tenants.
DEVICE_PAGE_SIZE = "999"

_ADMIN = "Entra admin center (https://entra.microsoft.com)"
VERIFY_AT = {
    "tenant.organization": f"{_ADMIN} → Overview → Properties (tenant ID, last sync)",
    "tenant.licences": f"{_ADMIN} → Billing → Licenses → All products",
    "tenant.sync": f"{_ADMIN} → Identity → Hybrid management → Microsoft Entra Connect → "
    "Connect Sync; or Get-ADSyncAADCompanyFeature on the Connect server",
    "tenant.setting[Group.Unified]": "Graph Explorer as an admin: GET /v1.0/groupSettings "
    "(the Group.Unified setting's NewUnifiedGroupWritebackDefault)",
    "tenant.devices": f"{_ADMIN} → Devices → All devices (Join type column)",
    "tenant.domains": f"{_ADMIN} → Settings → Domain names",
}

PHASES = {
    "tenant.organization": "organization",
    "tenant.licences": "licences (subscribedSkus)",
    "tenant.sync": "directory synchronisation features",
    "tenant.setting[Group.Unified]": "the Group.Unified setting",
    "tenant.domains": "domains",
}
"""What the progress display says while a section is read."""

T = TypeVar("T")


def observe_tenant(
    client: GraphClient, policy: Policy, progress: Progress = NO_PROGRESS
) -> TenantState:
    """Read every tenant section the policy needs (see the module docstring); each section is
    reported to ``progress`` (display only)."""
    unread: list[Unread] = []

    def section(what: str, read: Callable[[], T]) -> T | None:
        if what != "tenant.devices":  # read_devices reports its own, counted phase
            progress.phase(f"Reading tenant: {PHASES.get(what, what)}")
        try:
            return read()
        except GraphForbiddenError as exc:
            logger.info("not readable: %s (%s)", what, exc.requirement)
            unread.append(
                Unread(
                    what=what,
                    reason=f"no permission to read it: {exc.endpoint} needs {exc.requirement}",
                    verify_at=VERIFY_AT[what],
                )
            )
            return None

    organization = section("tenant.organization", lambda: read_organization(client))
    skus = section("tenant.licences", lambda: read_subscribed_skus(client))
    sync = section("tenant.sync", lambda: read_sync_features(client))
    if sync is None and not any(u.what == "tenant.sync" for u in unread):
        unread.append(
            Unread(
                what="tenant.sync",
                reason="Graph returned no onPremisesDirectorySynchronization object: directory "
                "synchronisation was never configured for this tenant",
                verify_at=VERIFY_AT["tenant.sync"],
            )
        )
    group_unified = None
    if policy.writeback.group is not None:
        group_unified = section("tenant.setting[Group.Unified]", lambda: read_group_unified(client))
    devices = None
    if policy.writeback.device is not None:
        devices = section("tenant.devices", lambda: read_devices(client, progress))
    domains = section("tenant.domains", lambda: read_domains(client))
    cloud_sync = None
    if policy.cloud_sync is not None:
        cloud_sync = observe_cloud_sync(client, policy.cloud_sync, unread, progress)

    tenant_id = (
        organization.id if organization else sync.id if sync is not None else policy.tenant.id
    )
    if tenant_id.lower() != policy.tenant.id.lower():
        logger.warning(
            "the Graph credential reads tenant %s but the policy names tenant %s",
            tenant_id,
            policy.tenant.id,
        )
    unread.extend(unverifiable_observations(policy))
    return TenantState(
        tenant_id=tenant_id,
        organization=organization,
        subscribed_skus=skus,
        sync=sync,
        group_unified=group_unified,
        devices=devices,
        domains=domains,
        cloud_sync=cloud_sync,
        unread=tuple(unread),
    )


def read_organization(client: GraphClient) -> Organization:
    """``GET /organization``: the tenant id (plan lineage) and whether/when it last synced."""
    params = {"$select": "id,displayName,onPremisesSyncEnabled,onPremisesLastSyncDateTime"}
    orgs = list(client.get_all("/organization", params))
    if not orgs:
        raise GraphError(
            "Graph returned no organization object",
            hint="check --graph-url points at Microsoft Graph and the token is for a tenant",
        )
    org = orgs[0]
    return Organization(
        id=str(org["id"]),
        display_name=_opt_str(org.get("displayName")),
        on_premises_sync_enabled=_opt_bool(org.get("onPremisesSyncEnabled")),
        on_premises_last_sync=_opt_str(org.get("onPremisesLastSyncDateTime")),
    )


def read_subscribed_skus(client: GraphClient) -> tuple[SubscribedSku, ...]:
    """``GET /subscribedSkus``: every SKU with its service plans and unit counts."""
    return tuple(_sku(item) for item in client.get_all("/subscribedSkus"))


def _sku(item: dict[str, Any]) -> SubscribedSku:
    units = item.get("prepaidUnits") or {}
    return SubscribedSku(
        sku_id=str(item.get("skuId", "")).lower(),
        sku_part_number=str(item.get("skuPartNumber", "")),
        capability_status=str(item.get("capabilityStatus", "")),
        consumed_units=int(item.get("consumedUnits") or 0),
        prepaid_units=PrepaidUnits(
            enabled=int(units.get("enabled") or 0),
            warning=int(units.get("warning") or 0),
            suspended=int(units.get("suspended") or 0),
            locked_out=int(units.get("lockedOut") or 0),
        ),
        service_plans=tuple(
            ServicePlan(
                service_plan_id=str(p.get("servicePlanId", "")).lower(),
                service_plan_name=str(p.get("servicePlanName", "")),
                provisioning_status=str(p.get("provisioningStatus", "")),
                applies_to=_opt_str(p.get("appliesTo")),
            )
            for p in item.get("servicePlans") or ()
            if isinstance(p, dict)
        ),
    )


def read_sync_features(client: GraphClient) -> SyncFeatures | None:
    """``GET /directory/onPremisesSynchronization``: every ``features`` flag, kept by its Graph
    name. ``passwordWritebackEnabled`` is kept too but documented as unused: never evidence.

    The navigation property is a collection (OBS: SDK models type it as an array; the docs'
    example reads ``/{id}``), so both a ``value`` array and a bare entity are accepted.
    """
    body = client.get("/directory/onPremisesSynchronization")
    items = body.get("value") if "value" in body else [body]
    entity = next((i for i in items or () if isinstance(i, dict) and i.get("id")), None)
    if entity is None:
        return None
    raw = entity.get("features") or {}
    features = {
        name: value for name, value in raw.items() if value is None or isinstance(value, bool)
    }
    return SyncFeatures(id=str(entity["id"]), features=features)


def read_group_unified(client: GraphClient) -> GroupUnifiedSetting:
    """The tenant-wide ``Group.Unified`` setting from v1.0 ``/groupSettings``; absent means
    every ``NewUnifiedGroupWritebackDefault`` reads as its default, true (domain.md §2.3)."""
    setting = find_group_unified(client)
    if setting is None:
        return GroupUnifiedSetting(present=False)
    values = {
        str(v.get("name")): "" if v.get("value") is None else str(v.get("value"))
        for v in setting.get("values") or ()
        if isinstance(v, dict) and v.get("name")
    }
    return GroupUnifiedSetting(present=True, id=str(setting.get("id")), values=values)


def find_group_unified(client: GraphClient) -> dict[str, Any] | None:
    """The raw ``Group.Unified`` groupSetting object, or None when the tenant has none."""
    for setting in client.get_all("/groupSettings"):
        template = str(setting.get("templateId", "")).lower()
        if template == GROUP_UNIFIED_TEMPLATE_ID or setting.get("displayName") == "Group.Unified":
            return setting
    return None


def read_devices(client: GraphClient, progress: Progress = NO_PROGRESS) -> TenantDevices:
    """``GET /devices`` (paged, minimal ``$select``) with counts by ``trustType``."""
    first_request = client.requests
    progress.phase("Reading tenant: devices", "devices")
    found = counted(
        client.get_all("/devices", {"$select": DEVICE_SELECT, "$top": DEVICE_PAGE_SIZE}),
        progress,
        lambda: client.requests - first_request,
    )
    items = tuple(
        TenantDevice(
            device_id=str(d.get("deviceId", "")).lower(),
            display_name=_opt_str(d.get("displayName")),
            trust_type=_opt_str(d.get("trustType")),
            account_enabled=_opt_bool(d.get("accountEnabled")),
        )
        for d in found
    )
    counts = Counter(d.trust_type or "unknown" for d in items)
    return TenantDevices(counts_by_trust_type=dict(sorted(counts.items())), items=items)


def read_domains(client: GraphClient) -> tuple[TenantDomain, ...]:
    """``GET /domains``: verified domains, for the hybrid-join SCP's ``azureADName``."""
    params = {"$select": "id,isVerified,isDefault,isInitial,authenticationType"}
    return tuple(
        TenantDomain(
            id=str(d["id"]),
            is_verified=bool(d.get("isVerified")),
            is_default=bool(d.get("isDefault")),
            is_initial=bool(d.get("isInitial")),
            authentication_type=str(d["authenticationType"])
            if d.get("authenticationType")
            else None,
        )
        for d in client.get_all("/domains", params)
        if d.get("id")
    )


def unverifiable_observations(policy: Policy) -> tuple[Unread, ...]:
    """``Unread`` entries for switches no API exposes, for each feature the policy declares."""
    wb = policy.writeback
    found: list[Unread] = []
    connect_wizard = (
        "Entra Connect wizard on the sync server → Customize synchronization options → "
        "Optional features"
    )
    local = (
        "it is local configuration of the Entra Connect server; Microsoft Graph does not expose "
        "which optional features are ticked"
    )
    if wb.password is not None:
        found.append(
            Unread(
                what="tenant.sspr[on-premises-writeback]",
                reason="no Microsoft Graph API exposes the SSPR on-premises integration toggle; "
                "features.passwordWritebackEnabled is documented as unused, so it is not evidence",
                verify_at=f"{_ADMIN} → Protection → Password reset → On-premises integration → "
                "'Write back passwords to your on-premises directory'",
            )
        )
        found.append(
            Unread(
                what="connect.option[password-writeback]",
                reason=local,
                verify_at=f"{connect_wizard} → Password writeback",
            )
        )
    if wb.device is not None:
        found.append(
            Unread(
                what="connect.option[device-writeback]",
                reason=local,
                verify_at="Entra Connect wizard → Configure device options → Configure device "
                "writeback (the writeback forest)",
            )
        )
    if wb.group is not None:
        found.append(
            Unread(
                what="connect.option[group-writeback]",
                reason=local,
                verify_at=f"{connect_wizard} → Group writeback (and its OU); or "
                "Get-ADSyncAADCompanyFeature (UnifiedGroupWriteback, GroupWritebackV2)",
            )
        )
    if wb.exchange_hybrid is not None:
        found.append(
            Unread(
                what="connect.option[exchange-hybrid]",
                reason=local,
                verify_at=f"{connect_wizard} → Exchange hybrid deployment",
            )
        )
    return tuple(found)


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _opt_bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None
