"""Diff of tenant and Connect resources: licences, sync feature flags, the Group.Unified
setting, and the switches no API exposes (``read`` / ``unverifiable``, unless Connect server
evidence settles them: ``planner.diff.connect``); Cloud Sync's tenant side in
``planner.diff.cloudsync_tenant``."""

from __future__ import annotations

from planner.diff.ad import migration_radius, v2_radius
from planner.diff.cloudsync_tenant import diff_cloud_sync
from planner.diff.connect import diff_connect
from planner.diff.outcome import Outcome, not_observed
from planner.model.dn import dn_key
from planner.model.plan import ActionReason, BlastRadius, Resource
from planner.model.state import NEW_GROUP_WRITEBACK_DEFAULT
from planner.observations import Index
from planner.observe.licences import licence_status
from planner.syncstate import sync_verdict


def diff_licence(r: Resource, index: Index) -> Outcome:
    """A service plan (P2 satisfies P1), decided on service plans, never on SKU ids."""
    assert index.tenant is not None
    skus = index.tenant.subscribed_skus
    if skus is None:
        return not_observed("the tenant's subscribed-SKU list")
    plan = r.desired["service_plan"]
    verdict = licence_status(skus, plan)
    before = {"satisfied": verdict.satisfied, "summary": verdict.summary}
    if verdict.satisfied:
        return Outcome("no-op", "satisfied", before, before)
    wanted = f"{plan} service plan provisioned (Success) in an Enabled or Warning SKU with units"
    return Outcome("manual", "licence_missing", before, {"satisfied": True, "summary": wanted})


def _blast_radius(index: Index, container: str | None) -> BlastRadius | None:
    if index.ad is None or container is None:
        return None
    for g in index.ad.groups:
        if dn_key(g.container) == dn_key(container):
            return BlastRadius(
                description=f"The next sync cycle deletes the groups group writeback created in {container}",
                count=g.count,
                first=g.first,
            )
    return None


def diff_feature(r: Resource, index: Index, group_container: str | None) -> Outcome:
    """A ``features.*`` flag of onPremisesSynchronization."""
    assert index.tenant is not None
    sync = index.tenant.sync
    if sync is None:
        return not_observed("the tenant's onPremisesSynchronization features")
    flag = r.address.removeprefix("tenant.feature[").removesuffix("]")
    current = bool(sync.features.get(flag) or False)
    want = bool(r.desired["value"])
    if current == want:
        return Outcome("no-op", "satisfied", {"value": current}, {"value": want})
    reason: ActionReason = "feature_disabled" if want else "feature_enabled"
    extra = None
    if flag == "unifiedGroupWritebackEnabled" and not want:
        radius = _blast_radius(index, group_container)
        if radius is not None:
            extra = {"blast_radius": radius}
    return Outcome("update", reason, {"value": current}, {"value": want}, extra=extra)


def diff_setting(r: Resource, index: Index) -> Outcome:
    """``Group.Unified`` / NewUnifiedGroupWritebackDefault (absent or unset means true)."""
    assert index.tenant is not None
    setting = index.tenant.group_unified
    if setting is None:
        return not_observed("the Group.Unified directory setting")
    want = bool(r.desired["value"])
    if not setting.present:
        if want:
            return Outcome("no-op", "satisfied", {"value": None}, {"value": True})
        return Outcome(
            "create", "setting_absent", {"value": None, "present": False}, {"value": False}
        )
    raw = setting.values.get(NEW_GROUP_WRITEBACK_DEFAULT)
    current = True if raw is None or raw == "" else raw.strip().lower() == "true"
    if current == want:
        return Outcome("no-op", "satisfied", {"value": current}, {"value": want})
    return Outcome("update", "setting_drift", {"value": current}, {"value": want})


def diff_sync_status(r: Resource, index: Index) -> Outcome:
    """Directory sync on and recent (planner.syncstate, shared with WB-TEN-001)."""
    assert index.tenant is not None and index.state is not None
    org = index.tenant.organization
    if org is None:
        return not_observed("the tenant's organization")
    verdict = sync_verdict(org, index.state.observed_at)
    before = {
        "onPremisesSyncEnabled": org.on_premises_sync_enabled,
        "onPremisesLastSyncDateTime": org.on_premises_last_sync,
    }
    if verdict.status == "pass":
        return Outcome("no-op", "satisfied", before, before)
    if verdict.status == "unknown":
        return Outcome("read", "unverifiable", before, None, instructions=verdict.message)
    return Outcome(
        "manual",
        "sync_stale",
        before,
        {"onPremisesSyncEnabled": True, "onPremisesLastSyncDateTime": "within 3 hours"},
        instructions=f"{verdict.message}. {r.instructions}",
    )


def diff_tenant(r: Resource, index: Index, group_container: str | None = None) -> Outcome:
    """Dispatch on the tenant/connect resource type."""
    connect = diff_connect(r, index)
    if connect is not None:
        return connect
    cloud_sync = diff_cloud_sync(r, index)
    if cloud_sync is not None:
        return cloud_sync
    match r.type:
        case "tenant.sspr":
            return Outcome("read", "unverifiable", instructions=r.instructions)
        case "connect.version":
            problems = list(r.desired.get("problems") or [])
            if problems:
                return Outcome(
                    "manual",
                    "connect_too_old",
                    {"problems": problems},
                    {"problems": []},
                    instructions=f"{'; '.join(problems)}. {r.instructions}",
                )
            return Outcome("no-op", "satisfied")
    if index.tenant is None:
        return not_observed("the tenant")
    match r.type:
        case "tenant.licence":
            return diff_licence(r, index)
        case "tenant.feature":
            return diff_feature(r, index, group_container)
        case "tenant.setting":
            return diff_setting(r, index)
        case "tenant.sync_status":
            return diff_sync_status(r, index)
        case "tenant.retired_feature":
            sync = index.tenant.sync
            if sync is None:
                return not_observed("the tenant's onPremisesSynchronization features")
            flag = r.address.removeprefix("tenant.feature[").removesuffix("]")
            if sync.features.get(flag) is True:
                groups: dict[str, list[str]] = {}
                v2_ous = r.desired.get("v2_ous") or ()
                if v2_ous:
                    # a declared migration: the groups v2 wrote under its OU, every one listed
                    # (on both sides: turning v2 off changes the flag, not the list)
                    found = v2_radius(index, v2_ous)
                    radius = found[0] if found is not None else None
                    groups = found[1] if found is not None else {}
                else:
                    radius = migration_radius(index, r.desired.get("radius_containers") or ())
                extra = {"blast_radius": radius} if radius is not None else None
                return Outcome(
                    "manual",
                    "feature_enabled",
                    {"value": True, **groups},
                    {"value": False, **groups},
                    extra=extra,
                )
            return Outcome("no-op", "satisfied")
    raise AssertionError(f"no diff for resource type {r.type}")
