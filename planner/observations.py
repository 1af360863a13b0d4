"""Observations by address, and their fingerprints (pure).

A fingerprint is the sha256 of the canonical JSON of what was observed at an address (for AD
objects including uSNChanged and the DACL). The plan records the fingerprint of every observation
it consulted; apply re-reads, recomputes, and refuses a stale plan naming each address whose
fingerprint changed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from planner.model.dn import admin_sd_holder_dn, dn_key, is_at_or_under
from planner.model.state import AdObject, ObservedState, ScopedObject, ScopeScan


def fingerprint(value: Any) -> str:
    """sha256 of the canonical JSON of ``value``."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


WBPLAN_CONTAINERS = ("cn=wbplan-locks,cn=program data,", "cn=wbplan-journals,cn=program data,")
"""Where apply keeps its lock and journal anchors (``planner.apply.adlock``, ``anchor``): apply
creates them after the plan was made, so a scan of the domain root that meets them must not
make the plan look stale."""


CLOUD_SYNC = "tenant.cloud_sync"
"""The tenant section (and prefix of its ``unread`` entries) Cloud Sync plans depend on."""
CLOUD_SYNC_TYPES = (
    "tenant.cloud_sync_configuration",
    "tenant.cloud_sync_job",
    "tenant.cloud_sync_scope",
    "tenant.cloud_sync_target",
    "tenant.cloud_sync_agent",
    "tenant.cloud_sync_licence",
)
"""Requirement types judged on ``tenant.cloud_sync`` (``planner.diff.cloudsync_tenant``)."""


def _bookkeeping(dn: str) -> bool:
    key = dn_key(dn)
    return any(key.startswith(c) or f",{c}" in key for c in WBPLAN_CONTAINERS)


class Index:
    """Fast lookups into an ``ObservedState`` (objects by DN key)."""

    def __init__(self, state: ObservedState | None) -> None:
        self.state = state
        self.ad = state.ad if state else None
        self.tenant = state.tenant if state else None
        self.objects: dict[str, AdObject] = {}
        if self.ad is not None:
            for obj in self.ad.objects:
                self.objects[dn_key(obj.dn)] = obj

        self._scoped: dict[str, tuple[ScopedObject, str]] | None = None
        self._scans: dict[str, ScopeScan] | None = None

    def scan(self, key: str) -> ScopeScan | None:
        """The scope scan whose root has DN key ``key`` (None: not scanned)."""
        if self._scans is None:
            self._scans = {}
            for scan in self.ad.scopes if self.ad is not None else ():
                self._scans.setdefault(dn_key(scan.root), scan)
        return self._scans.get(key)

    def object(self, dn: str) -> AdObject | None:
        """The observed object at ``dn`` (None when it was not read at all): read on its own,
        or met by a scope scan (a container or an object under a scope root)."""
        key = dn_key(dn)
        found = self.objects.get(key)
        if found is not None or self.ad is None:
            return found
        if self._scoped is None:
            self._scoped = {}
            for scan in self.ad.scopes:
                for o in (*scan.containers, *scan.objects):
                    self._scoped.setdefault(dn_key(o.dn), (o, scan.root))
        hit = self._scoped.get(key)
        if hit is None:
            return None
        scoped = hit[0]
        return AdObject(
            dn=scoped.dn,
            exists=True,
            object_class=(scoped.object_class,),
            security=self.ad.dacls.get(scoped.dacl) if scoped.dacl else None,
        )

    def scope(self, root: str) -> Any:
        """The observed value behind ``ad.scope[root]``: every scanned container and object
        with its class, DACL digest and adminCount (uSNChanged left out: logons bump it)."""
        if self.ad is None:
            return None
        key = dn_key(root)
        scan = self.scan(key)
        if scan is None:
            return None
        return [
            [
                [o.dn, o.object_class, o.dacl, o.admin_count]
                for o in scan.containers
                if not _bookkeeping(o.dn)
            ],
            [[o.dn, o.object_class, o.dacl, o.admin_count] for o in scan.objects],
        ]

    def cloud_sync(self) -> Any:
        """The observed value behind ``tenant.cloud_sync[]``: every configuration, job and agent
        as read, except that each job's run timestamps are replaced by the verdict the plan drew
        from them (``planner.diff.cloudsync_tenant.job_verdict``: healthy, failing or unknown as
        of the observation). A job runs every 2 to 40 minutes, so its timestamps change between
        plan and apply while nothing the plan decided on does; a job that stops succeeding, is
        quarantined or paused, or a configuration, assignment or agent that comes or goes,
        changes the value and makes the plan stale."""
        from planner.diff.cloudsync_tenant import job_verdict

        tenant = self.tenant
        if tenant is None or tenant.cloud_sync is None:
            return None
        observed_at = self.state.observed_at if self.state else ""
        value = tenant.cloud_sync.model_dump(mode="json")
        for config, read in zip(
            value["configurations"], tenant.cloud_sync.configurations, strict=True
        ):
            for job, job_read in zip(config["jobs"], read.jobs, strict=True):
                del job["last_execution_ended"], job["last_successful_execution_ended"]
                job["verdict"] = job_verdict(job_read, observed_at)[0]
        value["unread"] = sorted(u.what for u in tenant.unread if u.what.startswith(CLOUD_SYNC))
        return value

    def organization(self) -> Any:
        """The observed value behind ``tenant.organization[]``: the organization as read, except
        that the last directory sync's time is replaced by the verdict the plan drew from it
        (``planner.syncstate.sync_verdict``: synced recently, not, or unknown, as of the
        observation). Entra Connect syncs every 30 minutes, so the time changes between plan and
        apply while the plan's verdict does not; a sync server that stopped (the verdict turns)
        still makes the plan stale."""
        from planner.syncstate import sync_verdict

        tenant = self.tenant
        if tenant is None or tenant.organization is None:
            return None
        value = tenant.organization.model_dump(mode="json")
        del value["on_premises_last_sync"]
        observed_at = self.state.observed_at if self.state else ""
        value["sync_verdict"] = sync_verdict(tenant.organization, observed_at).status
        return value

    def observation(self, address: str) -> Any:
        """The observed value behind an observation address (see ``observation_address``)."""
        kind, _, rest = address.partition("[")
        key = rest[:-1]
        if kind == "ad.object":
            obj = self.object(key)
            return obj.model_dump(mode="json") if obj else None
        if kind == "ad.scope":
            return self.scope(key)
        if kind == "ad.schema" and self.ad:
            return self.ad.schema_info.model_dump(mode="json")
        if kind == "ad.connector" and self.ad:
            return self.ad.connector.model_dump(mode="json") if self.ad.connector else None
        if kind == "ad.cloud_sync" and self.ad:
            cloud = self.ad.cloud_sync
            return cloud.model_dump(mode="json") if cloud is not None else None
        if kind == "ad.well_known_groups" and self.ad:
            return self.ad.well_known_groups
        if kind == "ad.drs_services" and self.ad:
            return sorted(dn_key(d) for d in self.ad.drs_services)
        if kind == "tenant.cloud_sync" and self.tenant:
            return self.cloud_sync()
        if kind == "tenant.organization" and self.tenant:
            return self.organization()
        if kind.startswith("tenant.") and self.tenant:
            section = getattr(self.tenant, kind.removeprefix("tenant."), None)
            if isinstance(section, tuple):
                return [s.model_dump(mode="json") for s in section]
            return section.model_dump(mode="json") if section is not None else None
        return None

    def admin_sd_holders(self, addresses: set[str]) -> set[str]:
        """``ad.object[CN=AdminSDHolder,…]`` of the domain of each ``ad.scope[root]`` among
        ``addresses`` whose scan holds an adminCount=1 object: such objects are judged on
        AdminSDHolder's DACL too (SDProp copies it onto them within the hour), so a change of
        that DACL changes the plan's per-object verdicts (the connector's and the gMSA's)."""
        if self.ad is None:
            return set()
        out: set[str] = set()
        for address in addresses:
            if not address.startswith("ad.scope["):
                continue
            key = dn_key(address.removeprefix("ad.scope[")[:-1])
            scan = self.scan(key)
            if scan is None or not any(o.admin_count for o in scan.objects):
                continue
            # the domain scope_rights.analyse_scan takes AdminSDHolder from
            domain = next((d.dn for d in self.ad.domains if is_at_or_under(scan.root, d.dn)), None)
            if domain is not None:
                out.add(f"ad.object[{admin_sd_holder_dn(domain)}]")
        return out

    def fingerprints(self, addresses: set[str]) -> dict[str, str]:
        """Fingerprint of each observation address, sorted by address."""
        return {a: fingerprint(self.observation(a)) for a in sorted(addresses)}


def observation_address(
    resource_type: str, dn: str | None, forest: str, account: str
) -> str | None:
    """Which observation a resource of ``resource_type`` is computed from."""
    if resource_type in ("ad.object", "ad.ace", "ad.deny", "ad.duplicate") and dn is not None:
        return f"ad.object[{dn}]"
    if resource_type in ("ad.schema", "ad.exchange_schema"):
        return f"ad.schema[{forest}]"
    if resource_type in ("ad.gmsa", "ad.kds_root_key", "ad.schema_attribute"):
        # msDS-ExternalDirectoryObjectId is looked up on its own (CloudSyncAd), not in
        # SchemaInfo: the fingerprint must cover where the verdict was read.
        return "ad.cloud_sync[]"
    if resource_type == "ad.connector":
        return f"ad.connector[{account}]"
    if resource_type == "ad.group":
        return "ad.well_known_groups[]"
    if resource_type == "ad.membership":
        return f"ad.connector[{account}]"
    if resource_type == "tenant.licence":
        return "tenant.subscribed_skus[]"
    if resource_type == "tenant.feature":
        return "tenant.sync[]"
    if resource_type == "tenant.retired_feature":
        return "tenant.sync[]"
    if resource_type == "tenant.sync_status":
        return "tenant.organization[]"
    if resource_type == "tenant.setting":
        return "tenant.group_unified[]"
    if resource_type in CLOUD_SYNC_TYPES:
        return f"{CLOUD_SYNC}[]"
    return None


def observation_addresses(
    resource_type: str, dn: str | None, forest: str, account: str
) -> tuple[str, ...]:
    """Every observation a resource of ``resource_type`` is computed from: the one of
    :func:`observation_address`, plus the subscribed SKUs for the Cloud Sync licence (judged on
    the licences *and* on how many provisioning-to-AD configurations there are) and the schema
    for the schema attribute (found on its own, planned with the schema's GUIDs)."""
    first = observation_address(resource_type, dn, forest, account)
    extra: tuple[str, ...] = ()
    if resource_type == "tenant.cloud_sync_licence":
        extra = ("tenant.subscribed_skus[]",)
    elif resource_type == "ad.schema_attribute":
        extra = (f"ad.schema[{forest}]",)
    return (first, *extra) if first is not None else extra
