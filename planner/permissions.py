"""What each command needs to be allowed to do, for one policy (``wbplan permissions``).

Two tables, each row per command (``refresh, plan, check`` read; ``apply`` writes) and feature:

- **Microsoft Graph**: the request, its least-privileged permission, whether it is delegated
  only or also available as an application permission, and the Microsoft Entra role a
  signed-in person needs — from :data:`planner.graphapi.failures.PERMISSIONS`, the same table
  the 403 messages use (each row names its Microsoft Learn page).
- **Active Directory**: the rights the bind account needs — reading everything in scope for
  refresh/plan/check; for apply, Create Child on the parents of new objects, Modify permissions
  (WRITE_DAC) on objects whose DACL changes, Write property for attribute drift and group
  membership — computed from the policy's required resources (:func:`planner.requirements.expand`
  without an observation, so it lists what *may* change, not what the next plan will change).

Pure: no I/O; the CLI renders the result.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.featurewords import policy_keys
from planner.graphapi.failures import EndpointPermission, endpoint_permission
from planner.model.dn import (
    admin_sd_holder_dn,
    dn_key,
    dns_name_of,
    domain_dn,
    parent_dn,
    registered_devices_dn,
    schema_nc,
)
from planner.model.plan import Resource
from planner.model.policy import Policy

READ = "refresh, plan, check"
APPLY = "apply"


@dataclass(frozen=True)
class GraphRow:
    """One Graph request a command makes."""

    command: str
    feature: str
    request: str
    permission: str
    kind: str
    """``delegated or application`` / ``delegated only``."""
    role: str
    """The Microsoft Entra role a signed-in person needs (delegated sign-in)."""


@dataclass(frozen=True)
class AdRow:
    """One right the LDAP bind account needs."""

    command: str
    feature: str
    right: str
    target: str


@dataclass(frozen=True)
class Permissions:
    """Both tables and the notes that go with them."""

    policy_name: str
    features: tuple[str, ...]
    graph: tuple[GraphRow, ...]
    ad: tuple[AdRow, ...]
    notes: tuple[str, ...]


def declared_features(policy: Policy) -> tuple[str, ...]:
    """The writeback features the policy declares (enabled or with remove_preparation)."""
    wb = policy.writeback
    found = []
    for name in ("password", "device", "group", "exchange_hybrid", "ngc_keys", "hybrid_join"):
        section = getattr(wb, name, None)
        if section is not None and (
            section.enabled or getattr(section, "remove_preparation", False)
        ):
            found.append(name)
    return tuple(found)


def _graph_row(command: str, feature: str, method: str, path: str) -> GraphRow:
    row: EndpointPermission | None = endpoint_permission(method, path)
    assert row is not None, f"no documented permission for {method} {path}"
    request = f"{method} {path}"
    return GraphRow(command, feature, request, row.permission, row.kind, row.role)


def _features_of(resources: list[Resource], kind: str) -> str:
    names = sorted({f for r in resources if r.type == kind and r.manageable for f in r.features})
    return ", ".join(names)


def graph_rows(policy: Policy, resources: list[Resource]) -> list[GraphRow]:
    """Graph requests per command. The reads mirror :func:`planner.observe.graph.observe_tenant`
    (a test compares them with the requests it actually makes)."""
    wb = policy.writeback
    flags = _features_of(resources, "tenant.feature")
    rows = [
        _graph_row(READ, "all (tenant id, sync status)", "GET", "/organization"),
        _graph_row(READ, "licences", "GET", "/subscribedSkus"),
        _graph_row(
            READ,
            f"{flags}, retired flags" if flags else "retired flags",
            "GET",
            "/directory/onPremisesSynchronization",
        ),
    ]
    if wb.group is not None:
        rows.append(_graph_row(READ, "group", "GET", "/groupSettings"))
    if wb.device is not None:
        rows.append(_graph_row(READ, "device", "GET", "/devices"))
    rows.append(_graph_row(READ, "hybrid_join" if wb.hybrid_join else "all", "GET", "/domains"))
    rows += cloud_sync_rows(policy)
    if flags:
        rows.append(_graph_row(APPLY, flags, "PATCH", "/directory/onPremisesSynchronization/{id}"))
    settings = _features_of(resources, "tenant.setting")
    if settings:
        # PATCH the Group.Unified setting, or POST it when the tenant has none; rollback DELETEs
        # a setting apply created.
        row = _graph_row(APPLY, settings, "PATCH", "/groupSettings/{id}")
        rows.append(
            GraphRow(
                APPLY,
                settings,
                "PATCH|POST|DELETE /groupSettings",
                row.permission,
                row.kind,
                row.role,
            )
        )
    return rows


def cloud_sync_rows(policy: Policy) -> list[GraphRow]:
    """The Cloud Sync reads (:mod:`planner.observe.cloudsync_graph`): the configurations'
    service principals and jobs, the groups assigned to a group-provisioning configuration, and
    the provisioning agents (beta, delegated only)."""
    cloud_sync = policy.cloud_sync
    if cloud_sync is None:
        return []
    feature = "cloud_sync"
    rows = [
        _graph_row(READ, feature, "GET", "/servicePrincipals"),
        _graph_row(READ, feature, "GET", "/servicePrincipals/{id}/synchronization/jobs"),
    ]
    if any(d.group_provisioning is not None for d in cloud_sync.domains):
        path = "/servicePrincipals/{id}/appRoleAssignedTo"
        rows.append(_graph_row(READ, "cloud_sync (group scope)", "GET", path))
        path = "/servicePrincipals/{id}/synchronization/jobs/{jobId}/schema"
        rows.append(_graph_row(READ, "cloud_sync (target container)", "GET", path))
    path = "/beta/onPremisesPublishingProfiles/provisioning/agents"
    rows.append(_graph_row(READ, "cloud_sync (agents)", "GET", path))
    return rows


_READ_RIGHT = "read properties and DACL"
_READ_TREE = "read properties and DACL, whole subtree"


def _scan_roots(policy: Policy, features: tuple[str, ...]) -> list[tuple[str, str]]:
    """``(feature, root)`` of every subtree the AD observer scans object by object: password
    and Exchange hybrid scopes (default: the domain roots), the group writeback OU, the device
    container (as :func:`planner.observe.ad.observe_ad` does)."""
    wb = policy.writeback
    roots: list[tuple[str, str]] = []
    for feature in ("password", "exchange_hybrid"):
        section = getattr(wb, feature, None)
        if feature in features and section is not None:
            scope = [str(s) for s in section.scope] or ["every domain root"]
            roots += [(feature, root) for root in scope]
    if "group" in features and wb.group is not None and wb.group.container:
        roots.append(("group", wb.group.container))
    if "device" in features and wb.device is not None:
        roots.append(("device", registered_devices_dn(wb.device.domain or policy.forest)))
    return roots


def ad_rows(policy: Policy, resources: list[Resource]) -> list[AdRow]:
    """AD rights per command and feature (see the module docstring)."""
    config = f"CN=Configuration,{domain_dn(policy.forest)}"
    rows: list[AdRow] = [
        AdRow(READ, "all", "read (rootDSE, crossRef objects)", f"CN=Partitions,{config}"),
        AdRow(READ, "all", _READ_RIGHT, "each domain's root object"),
        AdRow(
            READ,
            "all",
            "read, including the constructed tokenGroups",
            f"the connector account {policy.connector_account}",
        ),
    ]
    features = declared_features(policy)
    for r in resources:
        if r.type in ("ad.schema", "ad.exchange_schema"):
            what = "objectVersion, classes" if r.type == "ad.schema" else "Exchange rangeUpper"
            feature = ", ".join(r.features) or "all"
            rows.append(AdRow(READ, feature, f"read ({what})", schema_nc(policy.forest)))
    for feature, root in _scan_roots(policy, features):
        rows.append(AdRow(READ, feature, _READ_TREE, root))
        name = dns_name_of(root)
        if feature in ("password", "exchange_hybrid") and name:
            holder = admin_sd_holder_dn(domain_dn(name))
            rows.append(AdRow(READ, feature, f"{_READ_RIGHT} (for adminCount=1 users)", holder))
    if "device" in features:
        rows.append(AdRow(READ, "device", "search msDS-DeviceRegistrationService objects", config))
    rows += _cloud_sync_reads(policy, resources, config)
    rows += _migration_rows(policy)
    trees = {dn_key(row.target) for row in rows if row.right == _READ_TREE}
    for r in resources:
        if r.dn is None or r.type not in ("ad.ace", "ad.object") or not r.features:
            continue  # objects no feature names (scope and domain roots) are read above
        if dn_key(r.dn) not in trees and not _is_domain_root(r.dn):
            rows.append(AdRow(READ, ", ".join(r.features), _READ_RIGHT, r.dn))
    for r in resources:
        if r.type == "ad.group":
            rows.append(
                AdRow(
                    READ,
                    ", ".join(r.features),
                    "read (member)",
                    f"the group {r.desired.get('name', r.address)}",
                )
            )

    for r in resources:
        if not r.manageable:
            continue
        feature = ", ".join(r.features) or "all"
        if r.type == "ad.ace" and r.dn:
            rows.append(AdRow(APPLY, feature, "Modify permissions (WRITE_DAC)", r.dn))
        elif r.type == "ad.object" and r.dn:
            if r.destroy:
                rows.append(AdRow(APPLY, feature, "Delete (or Delete Child on its parent)", r.dn))
                continue
            parent = parent_dn(r.dn)
            cls = r.desired.get("objectClass")
            if parent and cls:
                rows.append(AdRow(APPLY, feature, f"Create Child ({cls})", parent))
            attributes = sorted(k for k in r.desired if k not in ("objectClass", "exists"))
            if attributes:
                rows.append(
                    AdRow(APPLY, feature, f"Write property ({', '.join(attributes)})", r.dn)
                )
        elif r.type == "ad.membership":
            group = r.desired.get("group", r.address)
            rows.append(AdRow(APPLY, feature, "Write property (member)", f"the group {group}"))
    return _dedupe(rows)


def _cloud_sync_reads(policy: Policy, resources: list[Resource], config: str) -> list[AdRow]:
    """What the AD observer reads for Cloud Sync (``planner.observe.ad_cloudsync``): the gMSA,
    the KDS root key, the schema attribute, and the subtrees where the gMSA's rights are judged
    object by object (target OUs, domain roots)."""
    rows: list[AdRow] = []
    for r in resources:
        feature = ", ".join(r.features)
        if r.type == "ad.gmsa":
            who = policy.cloud_sync.gmsa.account if policy.cloud_sync else None
            rows.append(
                AdRow(
                    READ,
                    feature,
                    "search msDS-GroupManagedServiceAccount; read objectSid, the constructed "
                    "tokenGroups, msDS-SupportedEncryptionTypes",
                    f"the gMSA {who}" if who else "the agent's gMSA (each domain)",
                )
            )
        elif r.type == "ad.kds_root_key":
            rows.append(
                AdRow(
                    READ,
                    feature,
                    "search msKds-ProvRootKey (visible to Domain Admins, Enterprise Admins and "
                    "SYSTEM only: otherwise unknown); the rootDSE's tokenGroups",
                    config,
                )
            )
        elif r.type == "ad.schema_attribute":
            rows.append(AdRow(READ, feature, "read (attributes by name)", schema_nc(policy.forest)))
        elif r.desired.get("principal") == "gmsa" and r.desired.get("at") == "root":
            root = str(r.desired["scope"])
            rows.append(AdRow(READ, feature, _READ_TREE, root))
            name = dns_name_of(root)
            if name:
                holder = admin_sd_holder_dn(domain_dn(name))
                rows.append(
                    AdRow(READ, feature, f"{_READ_RIGHT} (for adminCount=1 objects)", holder)
                )
    return rows


def _migration_rows(policy: Policy) -> list[AdRow]:
    """The migration from Connect group writeback v2 (``migrate_from_connect_v2``): the observer
    reads the groups under the v2 OU, apply writes msDS-ExternalDirectoryObjectId on those v2
    wrote (Microsoft's migration page asks for "at least domain administrator permissions" for
    this copy; Write Property on the attribute is what the write itself needs)."""
    rows: list[AdRow] = []
    for d in policy.cloud_sync.domains if policy.cloud_sync else ():
        gp = d.group_provisioning
        if gp is None or gp.migrate_from_connect_v2 is None:
            continue
        ou = gp.migrate_from_connect_v2.ou
        rows.append(
            AdRow(
                READ,
                "cloud_sync_group",
                "search groups; read adminDescription, groupType, "
                "msDS-ExternalDirectoryObjectId and Read Permissions (this object and all "
                "descendants)",
                ou,
            )
        )
        rows.append(
            AdRow(
                APPLY,
                "cloud_sync_group",
                "Write property (msDS-ExternalDirectoryObjectId) on each group that group writeback "
                "v2 wrote back",
                ou,
            )
        )
    return rows


def _is_domain_root(dn: str) -> bool:
    """``DC=…`` only: read by the "each domain's root object" row."""
    return dn_key(dn) == dn_key(domain_dn(dns_name_of(dn) or "")) if dns_name_of(dn) else False


def _dedupe(rows: list[AdRow]) -> list[AdRow]:
    seen: dict[tuple[str, str, str], AdRow] = {}
    for row in rows:
        key = (row.command, row.right, dn_key(row.target) if "=" in row.target else row.target)
        prior = seen.get(key)
        if prior is None:
            seen[key] = row
        elif row.feature not in prior.feature.split(", "):
            merged = ", ".join(sorted({*prior.feature.split(", "), *row.feature.split(", ")}))
            seen[key] = AdRow(prior.command, merged, prior.right, prior.target)
    return list(seen.values())


NOTES = (
    "apply also needs every refresh row: it re-reads everything the plan observed before "
    "writing, and refuses a stale plan.",
    "delegated only: Microsoft documents no application permission for "
    "/directory/onPremisesSynchronization (Get/Update onPremisesDirectorySynchronization, "
    "https://learn.microsoft.com/graph/api/onpremisesdirectorysynchronization-get); a CI service "
    "principal or workload identity cannot read or change these flags. A Global Administrator "
    "runs `wbplan refresh --tenant-only --graph-auth azure-cli --out state/tenant.json` and CI "
    "plans with `--state-tenant state/tenant.json`.",
    "Graph can PATCH features.* (device and group writeback flags), but Microsoft's documented "
    "step is the option in the Entra Connect wizard, which is still required: the "
    "connect.option[...] items of the plan.",
    "delegated sign-in: the app (or Azure CLI) holds the permission and the signed-in person "
    "also needs the role; application permissions need admin consent and no role.",
    "Not rights of the bind account: manual plan steps (schema upgrades, licences, the Connect "
    "wizard) need a person with those roles. Apply without these AD rights: "
    "`wbplan apply PLAN --emit powershell|ldif` writes a file for an administrator.",
)


CLOUD_SYNC_NOTE = (
    "Cloud Sync: the provisioning agents are listed only by a Graph beta endpoint that serves "
    "signed-in administrators (delegated OnPremisesPublishingProfiles.ReadWrite.All or "
    "Directory.ReadWrite.All, no read-only scope; application permissions are not supported): "
    "with an app-only credential "
    "the agents are unknown and the report says why. The configurations, their jobs and the "
    "group provisioning job's schema (its target container) can be read with application "
    "permissions. The configurations' synchronization secrets (where the accidental-deletion "
    "threshold is kept) are not read: Microsoft documents writing them, not reading them."
)


def permissions(policy: Policy) -> Permissions:
    """Both tables for ``policy``."""
    from planner.requirements import expand

    resources = expand(policy, None)
    return Permissions(
        policy_name=policy.metadata.name,
        features=declared_features(policy),
        graph=tuple(graph_rows(policy, resources)),
        ad=tuple(ad_rows(policy, resources)),
        notes=(*NOTES, CLOUD_SYNC_NOTE) if policy.cloud_sync is not None else NOTES,
    )


def _table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(headers), line(tuple("-" * w for w in widths)), *(line(r) for r in rows)]


def render_text(found: Permissions, policy_file: str) -> str:
    """The two tables and the notes as terminal text; features named as the policy spells them
    (JSON keeps the plan's feature keys, which tools match on)."""
    features = ", ".join(found.features) or "none"
    out = [
        f"wbplan permissions: policy {found.policy_name} ({policy_file}); features: {features}",
        "",
        "Microsoft Graph",
        *_table(
            ("command", "feature", "request", "permission", "type", "role (delegated sign-in)"),
            [
                (g.command, policy_keys(g.feature), g.request, g.permission, g.kind, g.role)
                for g in found.graph
            ],
        ),
        "",
        "Active Directory (the LDAP bind account)",
        *_table(
            ("command", "feature", "right", "on"),
            [(a.command, policy_keys(a.feature), a.right, a.target) for a in found.ad],
        ),
        "",
        "Notes:",
        *(f"- {n}" for n in found.notes),
    ]
    return "\n".join(out) + "\n"
