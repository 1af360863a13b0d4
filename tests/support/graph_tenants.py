"""Tenant scenarios for the Graph emulator, built from Graph's documented JSON shapes.

Each builder returns plain JSON-like dicts exactly as Graph v1.0 would return them (camelCase,
GUID strings, ``prepaidUnits`` objects, ``values`` name/value lists), so the observer is tested on
the wire format, not on our model. Facts: domain.md §2 (service plan and SKU ids [S34],
onPremisesDirectorySynchronization features [S36], Group.Unified template [S40][S69],
device trustType [S41]).
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

TENANT_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
SYNC_ID = TENANT_ID  # Graph: the sync object's id is the tenant id (domain.md §2.2)
GROUP_UNIFIED_TEMPLATE_ID = "62375ab9-6b52-47ed-826b-58e47e0e304b"

AAD_PREMIUM = ("41781fb2-bc02-4b7c-bd55-b576c07bb09d", "AAD_PREMIUM")
AAD_PREMIUM_P2 = ("eec0eb4f-6444-4f95-aba0-50c24d67f998", "AAD_PREMIUM_P2")
MFA_PREMIUM = ("8a256a2b-b617-496d-b51b-e76466e88db0", "MFA_PREMIUM")
EXCHANGE_S_FOUNDATION = ("113feb6c-3fe4-4440-bddc-54d774bf0318", "EXCHANGE_S_FOUNDATION")
SKU_P1 = ("078d2b04-f1bd-4111-bbd4-b4b1b354cef4", "AAD_PREMIUM")
SKU_P2 = ("84a661c4-e949-4bd2-a560-ed7766fcaf2b", "AAD_PREMIUM_P2")
SKU_E1 = ("18181a46-0d4e-45cd-891e-60aabd171b4e", "STANDARDPACK")  # Office 365 E1: no Entra P1

# Every features flag the v1.0 docs example returns [S36], all off.
FEATURES_OFF: dict[str, bool] = dict.fromkeys(
    (
        "passwordSyncEnabled",
        "passwordWritebackEnabled",
        "directoryExtensionsEnabled",
        "quarantineUponUpnConflictEnabled",
        "quarantineUponProxyAddressesConflictEnabled",
        "softMatchOnUpnEnabled",
        "cloudPasswordPolicyForPasswordSyncedUsersEnabled",
        "fopeConflictResolutionEnabled",
        "unifiedGroupWritebackEnabled",
        "userWritebackEnabled",
        "deviceWritebackEnabled",
        "synchronizeUpnForManagedUsersEnabled",
        "userForcePasswordChangeOnLogonEnabled",
        "concurrentOrgIdProvisioningEnabled",
        "concurrentCredentialUpdateEnabled",
        "groupWriteBackEnabled",
        "blockSoftMatchEnabled",
        "blockCloudObjectTakeoverThroughHardMatchEnabled",
        "bypassDirSyncOverridesEnabled",
    ),
    False,
)

# The Group.Unified template's settings and defaults [S40]; NewUnifiedGroupWritebackDefault: true.
_TEMPLATE_VALUES: tuple[tuple[str, str, str], ...] = (
    ("EnableMIPLabels", "System.Boolean", "false"),
    ("CustomBlockedWordsList", "System.String", ""),
    ("EnableMSStandardBlockedWords", "System.Boolean", "false"),
    ("ClassificationDescriptions", "System.String", ""),
    ("DefaultClassification", "System.String", ""),
    ("PrefixSuffixNamingRequirement", "System.String", ""),
    ("AllowGuestsToBeGroupOwner", "System.Boolean", "false"),
    ("AllowGuestsToAccessGroups", "System.Boolean", "true"),
    ("GuestUsageGuidelinesUrl", "System.String", ""),
    ("GroupCreationAllowedGroupId", "System.Guid", ""),
    ("AllowToAddGuests", "System.Boolean", "true"),
    ("UsageGuidelinesUrl", "System.String", ""),
    ("ClassificationList", "System.String", ""),
    ("EnableGroupCreation", "System.Boolean", "true"),
    ("NewUnifiedGroupWritebackDefault", "System.Boolean", "true"),
)


def group_unified_template() -> dict[str, Any]:
    """The ``groupSettingTemplate`` object for Group.Unified."""
    return {
        "id": GROUP_UNIFIED_TEMPLATE_ID,
        "deletedDateTime": None,
        "displayName": "Group.Unified",
        "description": "Setting templates define the different settings that can be used for "
        "the associated ObjectSettings. This template defines settings that can be used for "
        "Unified Groups.",
        "values": [
            {"name": n, "type": t, "defaultValue": d, "description": f"{n} setting"}
            for n, t, d in _TEMPLATE_VALUES
        ],
    }


def group_unified_setting(new_group_writeback_default: str | None = "false") -> dict[str, Any]:
    """A tenant-wide Group.Unified ``groupSetting``; None leaves the writeback value out."""
    values = [
        {"name": n, "value": d}
        for n, _, d in _TEMPLATE_VALUES
        if n != "NewUnifiedGroupWritebackDefault"
    ]
    if new_group_writeback_default is not None:
        values.insert(
            0, {"name": "NewUnifiedGroupWritebackDefault", "value": new_group_writeback_default}
        )
    return {
        "id": "f0b2d6f5-097d-4177-91af-a24e530b53cc",
        "displayName": "Group.Unified",
        "templateId": GROUP_UNIFIED_TEMPLATE_ID,
        "values": values,
    }


def service_plan(plan: tuple[str, str], status: str = "Success") -> dict[str, Any]:
    return {
        "servicePlanId": plan[0],
        "servicePlanName": plan[1],
        "provisioningStatus": status,
        "appliesTo": "User",
    }


def sku(
    sku_ids: tuple[str, str],
    plans: list[dict[str, Any]],
    *,
    capability: str = "Enabled",
    enabled: int = 25,
    warning: int = 0,
    suspended: int = 0,
    consumed: int = 10,
) -> dict[str, Any]:
    """A ``subscribedSku`` as Graph lists it."""
    return {
        "accountId": TENANT_ID,
        "accountName": "Contoso",
        "appliesTo": "User",
        "capabilityStatus": capability,
        "consumedUnits": consumed,
        "id": f"{TENANT_ID}_{sku_ids[0]}",
        "prepaidUnits": {
            "enabled": enabled,
            "suspended": suspended,
            "warning": warning,
            "lockedOut": 0,
        },
        "servicePlans": plans,
        "skuId": sku_ids[0],
        "skuPartNumber": sku_ids[1],
        "subscriptionIds": [str(uuid.uuid5(uuid.NAMESPACE_OID, sku_ids[0]))],
    }


def sku_e1() -> dict[str, Any]:
    return sku(SKU_E1, [service_plan(EXCHANGE_S_FOUNDATION)], enabled=50, consumed=40)


def sku_p1(**kwargs: Any) -> dict[str, Any]:
    plan_status = kwargs.pop("plan_status", "Success")
    plans = [
        service_plan(AAD_PREMIUM, plan_status),
        service_plan(MFA_PREMIUM),
        service_plan(EXCHANGE_S_FOUNDATION),
    ]
    return sku(SKU_P1, plans, **kwargs)


def sku_p2_only(**kwargs: Any) -> dict[str, Any]:
    """The P2 SKU, with its AAD_PREMIUM plan switched off: only the P2 plan can count."""
    plans = [service_plan(AAD_PREMIUM_P2), service_plan(AAD_PREMIUM, "Disabled")]
    return sku(SKU_P2, plans, **kwargs)


def device(index: int, trust_type: str, enabled: bool = True) -> dict[str, Any]:
    return {
        "deviceId": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"device-{index}.contoso.com")),
        "displayName": f"PC-{index:04d}",
        "trustType": trust_type,
        "accountEnabled": enabled,
        # Graph stores more; the emulator's $select must cut these away.
        "operatingSystem": "Windows",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"device-{index}")),
    }


def devices_of_each_trust_type(per_type: int = 9) -> list[dict[str, Any]]:
    """``per_type`` devices of each trust type: Workplace, AzureAd, ServerAd (27 by default)."""
    out: list[dict[str, Any]] = []
    for trust in ("Workplace", "AzureAd", "ServerAd"):
        out.extend(device(len(out), trust, enabled=len(out) % 7 != 0) for _ in range(per_type))
    return out


def default_domains() -> list[dict[str, Any]]:
    base = {"authenticationType": "Managed", "isAdminManaged": True, "isRoot": True}
    return [
        {
            **base,
            "id": "contoso.onmicrosoft.com",
            "isDefault": False,
            "isInitial": True,
            "isVerified": True,
        },
        {**base, "id": "contoso.com", "isDefault": True, "isInitial": False, "isVerified": True},
        {**base, "id": "fabrikam.com", "isDefault": False, "isInitial": False, "isVerified": False},
    ]


@dataclass
class EmulatedTenant:
    """Everything the emulator serves; tests mutate it freely before or between requests."""

    tenant_id: str = TENANT_ID
    organization: dict[str, Any] = field(default_factory=dict)
    skus: list[dict[str, Any]] = field(default_factory=list)
    sync: dict[str, Any] | None = None
    group_settings: list[dict[str, Any]] = field(default_factory=list)
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    devices: list[dict[str, Any]] = field(default_factory=list)
    domains: list[dict[str, Any]] = field(default_factory=list)
    service_principals: list[dict[str, Any]] = field(default_factory=list)
    sync_jobs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Service principal id → its synchronization jobs (Cloud Sync builders:
    :mod:`tests.support.graph_cloudsync`)."""
    app_role_assignments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Service principal id → the appRoleAssignments granted for it."""
    sync_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Synchronization job id → its ``synchronizationSchema`` (the job schema a Group
    Provision to AD job's target container is read from)."""
    provisioning_agents: list[dict[str, Any]] = field(default_factory=list)
    """Cloud Sync provisioning agents (beta ``onPremisesPublishingProfiles/provisioning``)."""


STALE_SYNC = "2025-01-15T08:30:00Z"
"""A last sync long before any observation (WB-TEN-001 fails, the plan asks a person)."""


def tenant(
    *,
    skus: list[dict[str, Any]] | None = None,
    features: dict[str, bool] | None = None,
    group_unified: dict[str, Any] | None = None,
    devices: list[dict[str, Any]] | None = None,
    synced: bool = True,
    last_sync: str | None = None,
    sync_stopped: bool = False,
) -> EmulatedTenant:
    """A tenant: P1 licence, features off, no Group.Unified setting, no devices by default;
    last synced ten minutes before it was made unless ``last_sync`` says when (STALE_SYNC for a
    sync server that stopped)."""
    sync_features = {**FEATURES_OFF, **(features or {})}
    when = last_sync or (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    return EmulatedTenant(
        organization={
            "id": TENANT_ID,
            "displayName": "Contoso",
            # Graph: true while synced, false once synced but no longer, null if never synced.
            "onPremisesSyncEnabled": (not sync_stopped) if synced else None,
            "onPremisesLastSyncDateTime": when if synced else None,
        },
        skus=copy.deepcopy(skus) if skus is not None else [sku_p1()],
        sync={
            "id": SYNC_ID,
            "configuration": {
                "accidentalDeletionPrevention": {
                    "synchronizationPreventionType": "enabledForCount",
                    "alertThreshold": 500,
                }
            },
            "features": sync_features,
        }
        if synced
        else None,
        group_settings=[copy.deepcopy(group_unified)] if group_unified is not None else [],
        templates={GROUP_UNIFIED_TEMPLATE_ID: group_unified_template()},
        devices=copy.deepcopy(devices) if devices is not None else [],
        domains=default_domains(),
    )


# -- the named scenarios of issue #4 ---------------------------------------------------------
def no_premium() -> EmulatedTenant:
    return tenant(skus=[sku_e1()])


def p1_suspended() -> EmulatedTenant:
    return tenant(skus=[sku_e1(), sku_p1(capability="Suspended", enabled=0, suspended=25)])


def p1() -> EmulatedTenant:
    return tenant(skus=[sku_e1(), sku_p1()])


def p2_only() -> EmulatedTenant:
    return tenant(skus=[sku_p2_only(enabled=10, consumed=4)])


def features_on() -> EmulatedTenant:
    return tenant(features={"deviceWritebackEnabled": True, "unifiedGroupWritebackEnabled": True})


def v2_group_writeback_still_enabled() -> EmulatedTenant:
    return tenant(features={"unifiedGroupWritebackEnabled": True, "groupWriteBackEnabled": True})


def group_unified_present(default: str | None = "false") -> EmulatedTenant:
    return tenant(group_unified=group_unified_setting(default))


def with_devices(per_type: int = 9) -> EmulatedTenant:
    return tenant(devices=devices_of_each_trust_type(per_type))
