"""Build the inputs of the plan scenarios: ``tests/plan/scenarios/<name>/policy.yaml`` and
``state.json`` (an observed state built with the pydantic model, so it is schema-valid by
construction).

Every scenario is one function below: its docstring says what it shows, it returns the policy's
``writeback`` section and the observed world. The fictional forest is ``contoso.test`` (the
example's), observed at a fixed time; each world starts from :class:`World`'s defaults (schema
2012 R2 with the device classes, Exchange schema 15312, the connector found, P1 active, every
sync feature off, ``Group.Unified`` absent) and states only what differs.

``python -m tests.plan.build_scenarios`` writes the inputs; ``--check`` fails when a committed
file differs. ``python -m tests.plan.regen`` runs this and then rewrites the expected outputs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from planner.connect.importer import merge, read_collector_file, read_export_folder
from planner.model.connect import ConnectEvidence
from planner.model.guids import ATTRIBUTE_GUIDS, CLASS_GUIDS, EXTENDED_RIGHTS
from planner.model.state import (
    Ace,
    AdObject,
    AdState,
    CloudSyncAd,
    CloudSyncAgent,
    CloudSyncConfiguration,
    CloudSyncJob,
    CloudSyncTargetContainer,
    CloudSyncTenant,
    ConnectorAccount,
    ConnectV2Groups,
    Domain,
    GmsaObservation,
    GroupsInContainer,
    GroupUnifiedSetting,
    ObservedState,
    Organization,
    PrepaidUnits,
    RootDse,
    SchemaInfo,
    ScopedObject,
    ScopeScan,
    SecurityDescriptor,
    ServicePlan,
    Source,
    SubscribedSku,
    SyncFeatures,
    TenantDomain,
    TenantState,
    Unread,
)
from planner.observe.ad_scan import dacl_digest
from planner.observe.sd import descriptor_bytes
from planner.observe.snapshot import dump_state
from planner.rights import inherited_by_child
from planner.scope_rights import CLOUD_SYNC_GROUP_ATTRIBUTES

SCENARIOS_DIR = Path(__file__).resolve().parent / "scenarios"
REPO = Path(__file__).resolve().parent.parent.parent
CONNECT_FIXTURES = "tests/connect/fixtures"

FOREST = "contoso.test"
BASE = "DC=contoso,DC=test"
CONFIG = f"CN=Configuration,{BASE}"
SERVICES = f"CN=Services,{CONFIG}"
DRS_CONFIG = f"CN=Device Registration Configuration,{SERVICES}"
DRS_SERVICES = f"CN=Device Registration Services,{DRS_CONFIG}"
DRS_SERVICE = f"CN=DeviceRegistrationService,{DRS_SERVICES}"
SCP = f"CN=62a0ff2e-97b9-4513-943f-0d221bd30080,{DRS_CONFIG}"
REGISTERED_DEVICES = f"CN=RegisteredDevices,{BASE}"
STAFF = f"OU=Staff,{BASE}"
CLOUD_GROUPS = f"OU=CloudGroups,{BASE}"
CONTRACTORS = f"OU=Contractors,{BASE}"
SALES_EMEA = f"OU=Sales\\, EMEA,{BASE}"
"""An OU whose name holds a comma, escaped in its DN (RFC 4514)."""

TENANT = "7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b"
TENANT_DOMAIN = "contoso.onmicrosoft.com"
CONNECTOR = "CONTOSO\\MSOL_1a2b3c4d5e6f"
DOMAIN_SID = "S-1-5-21-1004336348-1177238915-682003330"
CONNECTOR_SID = f"{DOMAIN_SID}-1105"
SYNC_WRITERS_SID = f"{DOMAIN_SID}-1201"
"""A group the connector is a member of (for rights held through tokenGroups)."""
KEY_ADMINS_SID = f"{DOMAIN_SID}-526"
SYSTEM = "S-1-5-18"
DOMAIN_ADMINS = f"{DOMAIN_SID}-512"
AUTH_USERS = "S-1-5-11"

# ACE bits and flags (domain.md §1.6)
CI, IO, INHERITED = 0x02, 0x08, 0x10
CREATE_CHILD, DELETE_CHILD = 0x1, 0x2
READ_PROP, WRITE_PROP, CONTROL_ACCESS = 0x10, 0x20, 0x100
GR_DS, GW_DS = 0x20094, 0x20028
DELETE, DELETE_TREE = 0x10000, 0x40
FULL = 0xF01FF

DEVICE_CLASSES = (
    "msDS-Device",
    "msDS-DeviceContainer",
    "msDS-DeviceRegistrationService",
    "msDS-DeviceRegistrationServiceContainer",
)
P1_PLAN = "41781fb2-bc02-4b7c-bd55-b576c07bb09d"


# --------------------------------------------------------------------------------------------
# ACEs as the tools that prepare a forest write them (ADSyncConfig / AdSyncPrep, domain.md)


def default_aces(inherited: bool = True) -> list[Ace]:
    """SYSTEM and Domain Admins full control, Authenticated Users read."""
    flags = CI | (INHERITED if inherited else 0)
    return [
        Ace(qualifier="allow", trustee=SYSTEM, mask=FULL, flags=flags),
        Ace(qualifier="allow", trustee=DOMAIN_ADMINS, mask=FULL, flags=flags),
        Ace(qualifier="allow", trustee=AUTH_USERS, mask=GR_DS, flags=flags),
    ]


def password_aces(
    trustee: str = CONNECTOR_SID, *, inherited: bool = False, only: tuple[str, ...] = ()
) -> list[Ace]:
    """Set-ADSyncPasswordWritebackPermissions: CA Reset Password, WP lockoutTime, WP pwdLastSet
    on descendant users (/I:S). ``only`` restricts to some of reset/lockout/pwdlastset."""
    grants = {
        "reset": (CONTROL_ACCESS, EXTENDED_RIGHTS["User-Force-Change-Password"]),
        "lockout": (WRITE_PROP, ATTRIBUTE_GUIDS["lockoutTime"]),
        "pwdlastset": (WRITE_PROP, ATTRIBUTE_GUIDS["pwdLastSet"]),
    }
    flags = CI | IO | (INHERITED if inherited else 0)
    return [
        Ace(
            qualifier="allow",
            trustee=trustee,
            mask=mask,
            flags=flags,
            object_type=guid,
            inherited_object_type=CLASS_GUIDS["user"],
        )
        for name, (mask, guid) in grants.items()
        if not only or name in only
    ]


def unexpire_for_authenticated_users() -> Ace:
    """The Unexpire Password grant public domain-root SDs show for AU (domain.md §3 [S70])."""
    return Ace(
        qualifier="allow",
        trustee=AUTH_USERS,
        mask=CONTROL_ACCESS,
        flags=0,
        object_type=EXTENDED_RIGHTS["Unexpire-Password"],
    )


def group_ou_aces(trustee: str = CONNECTOR_SID, *, only: tuple[str, ...] = ()) -> list[Ace]:
    """Create/delete group children on the writeback OU; GR/GW/Delete/DeleteTree on groups."""
    group = CLASS_GUIDS["group"]
    aces = {
        "create-delete": Ace(
            qualifier="allow",
            trustee=trustee,
            mask=CREATE_CHILD | DELETE_CHILD,
            flags=CI,
            object_type=group,
        ),
        "manage": Ace(
            qualifier="allow",
            trustee=trustee,
            mask=GR_DS | GW_DS | DELETE | DELETE_TREE,
            flags=CI | IO,
            inherited_object_type=group,
        ),
    }
    return [ace for name, ace in aces.items() if not only or name in only]


def device_container_aces(trustee: str = CONNECTOR_SID, *, only: tuple[str, ...] = ()) -> list[Ace]:
    """Create/delete msDS-Device children; read/write their attributes."""
    device = CLASS_GUIDS["msDS-Device"]
    aces = {
        "create-delete": Ace(
            qualifier="allow",
            trustee=trustee,
            mask=CREATE_CHILD | DELETE_CHILD,
            flags=CI,
            object_type=device,
        ),
        "read-write": Ace(
            qualifier="allow",
            trustee=trustee,
            mask=READ_PROP | WRITE_PROP,
            flags=CI | IO,
            inherited_object_type=device,
        ),
    }
    return [ace for name, ace in aces.items() if not only or name in only]


def device_wizard_ace(trustee: str = CONNECTOR_SID) -> Ace:
    """What the Connect wizard's CreateDeviceContainer.ps1 grants on RegisteredDevices:
    GRGWCCDCSDDT /I:T (this object and all descendants)."""
    return Ace(
        qualifier="allow",
        trustee=trustee,
        mask=GR_DS | GW_DS | CREATE_CHILD | DELETE_CHILD | DELETE | DELETE_TREE,
        flags=CI,
    )


def drs_configuration_ace(trustee: str = CONNECTOR_SID) -> Ace:
    """GRGW /I:T on the Device Registration Configuration container (AdSyncPrep-derived)."""
    return Ace(qualifier="allow", trustee=trustee, mask=GR_DS | GW_DS, flags=CI)


def exchange_aces(trustee: str = CONNECTOR_SID) -> list[Ace]:
    """Set-ADSyncExchangeHybridPermissions: RPWP on descendant user/inetOrgPerson/group/contact."""
    return [
        Ace(
            qualifier="allow",
            trustee=trustee,
            mask=READ_PROP | WRITE_PROP,
            flags=CI | IO,
            inherited_object_type=CLASS_GUIDS[cls],
        )
        for cls in ("user", "inetOrgPerson", "group", "contact")
    ]


# --------------------------------------------------------------------------------------------
# Objects


def missing(dn: str) -> AdObject:
    """An object wbplan looked for and did not find."""
    return AdObject(dn=dn, exists=False)


def present(
    dn: str,
    classes: tuple[str, ...],
    aces: list[Ace] | tuple[Ace, ...] = (),
    *,
    attributes: dict[str, tuple[str, ...]] | None = None,
    protected: bool = False,
    defaults_inherited: bool = True,
) -> AdObject:
    """An existing object: its explicit ``aces`` first (canonical order), then the defaults."""
    return AdObject(
        dn=dn,
        exists=True,
        object_class=("top", *classes),
        attributes=attributes or {},
        security=SecurityDescriptor(
            dacl_protected=protected,
            aces=(*aces, *default_aces(inherited=defaults_inherited)),
        ),
    )


@dataclass
class Node:
    """An object under a scope root: explicit ACEs, protection, children (for ``scope_tree``)."""

    rdn: str
    cls: str = "user"
    aces: list[Ace] = field(default_factory=list)
    protected: bool = False
    keep_inherited: bool = False
    """With ``protected``: keep the inherited ACEs as explicit copies (what Samba does)."""
    admin_count: bool = False
    children: list[Node] = field(default_factory=list)


def scope_tree(
    root: AdObject, nodes: list[Node]
) -> tuple[ScopeScan, dict[str, SecurityDescriptor]]:
    """The scan of ``root`` with each node's DACL computed as the DC stores it: explicit ACEs
    first, then what it inherits from its parent (unless protected)."""
    assert root.security is not None
    table: dict[str, SecurityDescriptor] = {}
    containers: list[ScopedObject] = []
    objects: list[ScopedObject] = []

    def walk(parent_dn: str, parent: SecurityDescriptor, node: Node) -> None:
        dn = f"{node.rdn},{parent_dn}"
        inherited = list(inherited_by_child(parent, CLASS_GUIDS[node.cls]))
        if node.protected:
            kept = [a.model_copy(update={"flags": a.flags & ~INHERITED}) for a in inherited]
            aces = (*node.aces, *(kept if node.keep_inherited else default_aces(inherited=False)))
        else:
            aces = (*node.aces, *inherited)
        sd = SecurityDescriptor(dacl_protected=node.protected, aces=aces)
        key = dacl_digest(descriptor_bytes(sd))
        table[key] = sd
        item = ScopedObject(dn=dn, object_class=node.cls, dacl=key, admin_count=node.admin_count)
        # As a live scan reads them: OUs and containers are containers, the rest objects.
        (containers if node.cls in ("organizationalUnit", "container") else objects).append(item)
        for child in node.children:
            walk(dn, sd, child)

    for node in nodes:
        walk(root.dn, root.security, node)
    scan = ScopeScan(
        root=root.dn,
        containers=tuple(sorted(containers, key=lambda o: o.dn.lower())),
        objects=tuple(sorted(objects, key=lambda o: o.dn.lower())),
        ous_total=sum(c.object_class == "organizationalUnit" for c in containers),
    )
    return scan, table


def domain_root(aces: list[Ace] | tuple[Ace, ...] = ()) -> AdObject:
    """``DC=contoso,DC=test`` with explicit defaults."""
    return present(BASE, ("domain", "domainDNS"), aces, defaults_inherited=False)


def admin_sd_holder() -> AdObject:
    """``CN=AdminSDHolder,CN=System``: SDProp's template, protected, defaults only."""
    return present(
        f"CN=AdminSDHolder,CN=System,{BASE}",
        ("container",),
        protected=True,
        defaults_inherited=False,
    )


def ou(dn: str, aces: list[Ace] | tuple[Ace, ...] = ()) -> AdObject:
    """An organizational unit."""
    return present(dn, ("organizationalUnit",), aces)


def drs_service(location: str = REGISTERED_DEVICES) -> AdObject:
    """The msDS-DeviceRegistrationService object pointing at ``location``."""
    return present(
        DRS_SERVICE,
        ("msDS-DeviceRegistrationService",),
        attributes={"msDS-DeviceLocation": (location,), "msDS-IsEnabled": ("TRUE",)},
    )


def device_objects_prepared() -> list[AdObject]:
    """The complete device-writeback preparation of the forest."""
    return [
        present(DRS_CONFIG, ("container",), [drs_configuration_ace()]),
        present(DRS_SERVICES, ("msDS-DeviceRegistrationServiceContainer",)),
        drs_service(),
        present(REGISTERED_DEVICES, ("msDS-DeviceContainer",), [device_wizard_ace()]),
    ]


def device_objects_missing() -> list[AdObject]:
    """Nothing of device writeback prepared."""
    return [missing(dn) for dn in (DRS_CONFIG, DRS_SERVICES, DRS_SERVICE, REGISTERED_DEVICES)]


def scp(keywords: tuple[str, ...]) -> AdObject:
    """The hybrid-join service connection point."""
    return present(SCP, ("serviceConnectionPoint",), attributes={"keywords": keywords})


SCP_KEYWORDS = (f"azureADId:{TENANT}", f"azureADName:{TENANT_DOMAIN}")


# --------------------------------------------------------------------------------------------
# Tenant


def p1_sku(
    capability: str = "Enabled", enabled: int = 250, suspended: int = 0, consumed: int = 212
) -> SubscribedSku:
    """Entra ID P1 (SKU AAD_PREMIUM with the AAD_PREMIUM service plan, domain.md §2.1)."""
    return SubscribedSku(
        sku_id="078d2b04-f1bd-4111-bbd4-b4b1b354cef4",
        sku_part_number="AAD_PREMIUM",
        capability_status=capability,
        consumed_units=consumed,
        prepaid_units=PrepaidUnits(enabled=enabled, suspended=suspended),
        service_plans=(
            ServicePlan(
                service_plan_id=P1_PLAN,
                service_plan_name="AAD_PREMIUM",
                provisioning_status="Success",
                applies_to="User",
            ),
        ),
    )


def office_e1_sku() -> SubscribedSku:
    """Office 365 E1: no Entra ID P1 service plan in it."""
    return SubscribedSku(
        sku_id="18181a46-0d4e-45cd-891e-60aabd171b4e",
        sku_part_number="STANDARDPACK",
        capability_status="Enabled",
        consumed_units=180,
        prepaid_units=PrepaidUnits(enabled=200),
        service_plans=(
            ServicePlan(
                service_plan_id="9aaf7827-d63c-4b61-89c3-182f06f82e5c",
                service_plan_name="EXCHANGE_S_STANDARD",
                provisioning_status="Success",
                applies_to="User",
            ),
        ),
    )


FEATURE_FLAGS = (
    "deviceWritebackEnabled",
    "groupWriteBackEnabled",
    "passwordSyncEnabled",
    "passwordWritebackEnabled",
    "unifiedGroupWritebackEnabled",
    "userWritebackEnabled",
)


# --------------------------------------------------------------------------------------------
# The world


@dataclass
class World:
    """An observed forest + tenant; ``build()`` turns it into an ``ObservedState``."""

    object_version: int = 69
    device_classes: bool = True
    key_credential_link: bool = False
    exchange_range_upper: int | None = 15312
    objects: list[AdObject] = field(default_factory=list)
    connector_found: bool = True
    connector_groups: tuple[str, ...] = (f"{DOMAIN_SID}-513",)
    well_known_groups: dict[str, str | None] = field(default_factory=dict)
    groups_in_ou: GroupsInContainer | None = None
    ad_observed: bool = True
    tenant_observed: bool = True
    skus: tuple[SubscribedSku, ...] | None = (p1_sku(),)
    """None: ``/subscribedSkus`` could not be read (recorded in the tenant's ``unread``)."""
    features: dict[str, bool] = field(default_factory=dict)
    scans: tuple[ScopeScan, ...] = ()
    """Per-object scans of scope roots (``scope_tree`` builds them with their DACLs)."""
    dacls: dict[str, SecurityDescriptor] = field(default_factory=dict)
    new_group_default: str | None = None
    """``NewUnifiedGroupWritebackDefault`` as Graph stores it; None = Group.Unified absent."""
    cloud_sync: CloudSyncAd | None = None
    """What Cloud Sync needs from AD (gMSA, KDS root key, schema attribute); None: no
    ``cloud_sync`` in the policy."""
    tenant_cloud_sync: CloudSyncTenant | None = None
    """Cloud Sync as Graph shows it (configurations, jobs, agents); None: not read."""
    external_directory_object_id: bool = False
    """The 2016 schema attribute msDS-ExternalDirectoryObjectId is in the schema."""
    ad_unread: tuple[Unread, ...] = ()
    connect_evidence: tuple[str, ...] = ()
    """Connect server evidence imported into the snapshot: paths, relative to the repository,
    of fixtures under ``tests/connect/fixtures`` (collector JSON files, export folders), read by
    wbplan's importer as ``refresh --connect-evidence`` reads them."""

    def ad(self) -> AdState:
        """The forest side."""
        classes: dict[str, str | None] = dict(CLASS_GUIDS)
        if not self.device_classes:
            classes.update(dict.fromkeys(DEVICE_CLASSES))
        attributes: dict[str, str | None] = {
            "lockoutTime": ATTRIBUTE_GUIDS["lockoutTime"],
            "pwdLastSet": ATTRIBUTE_GUIDS["pwdLastSet"],
            "msDS-DeviceLocation": ATTRIBUTE_GUIDS["msDS-DeviceLocation"]
            if self.device_classes
            else None,
            "msDS-KeyCredentialLink": ATTRIBUTE_GUIDS["msDS-KeyCredentialLink"]
            if self.key_credential_link
            else None,
        }
        if self.cloud_sync is not None:
            attributes.update({name: ATTRIBUTE_GUIDS[name] for name in CLOUD_SYNC_GROUP_ATTRIBUTES})
            if not self.external_directory_object_id:
                attributes["msDS-ExternalDirectoryObjectId"] = None
        usn = iter(range(12001, 99999, 7))
        objects = sorted(
            (
                o.model_copy(update={"usn_changed": next(usn)}) if o.exists else o
                for o in self.objects
            ),
            key=lambda o: o.dn.lower(),
        )
        return AdState(
            forest=FOREST,
            forest_guid="5b2e6a10-8c4d-4f1e-9a3b-7d6c5e4f3a21",
            root_dse=RootDse(
                default_naming_context=BASE,
                configuration_naming_context=CONFIG,
                schema_naming_context=f"CN=Schema,{CONFIG}",
                root_domain_naming_context=BASE,
                dns_host_name="dc1.contoso.test",
                forest_functionality=6 if self.object_version >= 69 else 4,
                domain_functionality=6 if self.object_version >= 69 else 4,
            ),
            domains=(Domain(dns_name=FOREST, dn=BASE, netbios_name="CONTOSO", sid=DOMAIN_SID),),
            schema_info=SchemaInfo(
                object_version=self.object_version,
                classes={k: classes[k] for k in sorted(classes)},
                attributes=attributes,
                exchange_range_upper=self.exchange_range_upper,
                extended_rights=dict(EXTENDED_RIGHTS),
            ),
            objects=objects,
            drs_services=tuple(
                sorted(
                    (
                        o.dn
                        for o in self.objects
                        if o.exists and "msDS-DeviceRegistrationService" in o.object_class
                    ),
                    key=str.lower,
                )
            ),
            scopes=self.scans,
            dacls=dict(sorted(self.dacls.items())),
            connector=ConnectorAccount(
                account=CONNECTOR,
                found=True,
                dn=f"CN=MSOL_1a2b3c4d5e6f,CN=Users,{BASE}",
                sid=CONNECTOR_SID,
                token_groups=self.connector_groups,
            )
            if self.connector_found
            else ConnectorAccount(account=CONNECTOR, found=False),
            groups=(self.groups_in_ou,) if self.groups_in_ou else (),
            well_known_groups=self.well_known_groups,
            cloud_sync=self.cloud_sync,
            unread=self.ad_unread,
        )

    def tenant(self) -> TenantState:
        """The tenant side."""
        return TenantState(
            tenant_id=TENANT,
            organization=Organization(
                id=TENANT,
                display_name="Contoso (test)",
                on_premises_sync_enabled=True,
                on_premises_last_sync="2026-11-22T17:30:00Z",
            ),
            subscribed_skus=self.skus,
            sync=SyncFeatures(
                id=TENANT,
                features={
                    f: self.features.get(f, f == "passwordSyncEnabled") for f in FEATURE_FLAGS
                },
            ),
            group_unified=GroupUnifiedSetting(present=False)
            if self.new_group_default is None
            else GroupUnifiedSetting(
                present=True,
                id="2f1e8a4c-5b6d-4e7f-8091-a2b3c4d5e6f7",
                values={"NewUnifiedGroupWritebackDefault": self.new_group_default},
            ),
            domains=(
                TenantDomain(id=TENANT_DOMAIN, is_verified=True, is_initial=True),
                TenantDomain(id=FOREST, is_verified=True, is_default=True),
            ),
            cloud_sync=self.tenant_cloud_sync,
            unread=()
            if self.skus is not None
            else (
                Unread(
                    what="tenant.subscribed_skus",
                    reason="403 Forbidden: the token lacks Organization.Read.All",
                    verify_at="Microsoft 365 admin center → Billing → Licenses",
                ),
            ),
        )

    def build(self, name: str) -> ObservedState:
        """The observed state of scenario ``name``."""
        return ObservedState(
            wbplan_version="scenario",
            observed_at="2026-11-22T18:00:00Z",
            source=Source(
                description=f"tests/plan/scenarios/{name} (built by tests/plan/build_scenarios.py)"
            ),
            ad=self.ad() if self.ad_observed else None,
            tenant=self.tenant() if self.tenant_observed else None,
            connect=connect_evidence(self.connect_evidence) if self.connect_evidence else None,
        )


def connect_evidence(paths: tuple[str, ...]) -> ConnectEvidence:
    """The fixtures at ``paths`` (relative to the repository), imported and merged, each named
    by its relative path (so snapshots do not depend on where the checkout lives)."""
    parts = []
    for rel in paths:
        path = REPO / rel
        parts.append(
            read_export_folder(path, rel) if path.is_dir() else read_collector_file(path, rel)
        )
    return merge(parts)


# --------------------------------------------------------------------------------------------
# Policies

PASSWORD = f"""\
  password:
    enabled: true
    scope: ["{STAFF}"]
    unexpire_password: true
"""
DEVICE = f"""\
  device:
    enabled: true
    domain: {FOREST}
"""
GROUP = f"""\
  group:
    enabled: true
    version: v1
    container: {CLOUD_GROUPS}
    new_group_default: false
"""
EXCHANGE = """\
  exchange_hybrid:
    enabled: true
"""
NGC = """\
  ngc_keys:
    enabled: true
    group: key_admins
"""
HYBRID_JOIN = """\
  hybrid_join:
    enabled: true
"""


def policy_text(name: str, description: str, writeback: str) -> str:
    """A complete policy for the contoso.test forest."""
    summary = description.strip().splitlines()[0]
    return f"""\
# Plan scenario {name}: {summary}
# Generated by tests/plan/build_scenarios.py; edit the scenario there.
apiVersion: wbplan.dev/v1
kind: WritebackPolicy
metadata:
  name: {name}
  owner: identity-team@contoso.test
forest: {FOREST}
tenant:
  id: {TENANT}
  domain: {TENANT_DOMAIN}
connector:
  account: {CONNECTOR}
licences:
  require: [AAD_PREMIUM]
writeback:
{writeback}"""


# --------------------------------------------------------------------------------------------
# Scenarios: name → (policy writeback section, world)

Scenario = Callable[[], tuple[str, World]]
SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str) -> Callable[[Scenario], Scenario]:
    """Register a scenario function under ``name``."""

    def register(fn: Scenario) -> Scenario:
        SCENARIOS[name] = fn
        return fn

    return register


@scenario("password-from-nothing")
def password_from_nothing() -> tuple[str, World]:
    """Password writeback on a forest where nothing was granted."""
    return PASSWORD, World(objects=[domain_root(), ou(STAFF)])


@scenario("device-from-nothing")
def device_from_nothing() -> tuple[str, World]:
    """Device writeback on a 2012 R2 forest with no DRS objects and no RegisteredDevices."""
    return DEVICE, World(objects=device_objects_missing())


@scenario("group-from-nothing")
def group_from_nothing() -> tuple[str, World]:
    """Group writeback v1 with the Exchange schema present but no OU, no ACEs, no setting."""
    return GROUP, World(objects=[missing(CLOUD_GROUPS)])


@scenario("exchange-hybrid-from-nothing")
def exchange_hybrid_from_nothing() -> tuple[str, World]:
    """Exchange hybrid writeback: the Exchange schema is there, the RPWP grants are not."""
    return EXCHANGE, World(objects=[domain_root()])


@scenario("ngc-keys-from-nothing")
def ngc_keys_from_nothing() -> tuple[str, World]:
    """Key writeback on a 2016 schema with Key Admins, the connector not yet a member."""
    return NGC, World(
        object_version=87,
        key_credential_link=True,
        well_known_groups={"Key Admins": KEY_ADMINS_SID},
    )


@scenario("hybrid-join-from-nothing")
def hybrid_join_from_nothing() -> tuple[str, World]:
    """The hybrid-join SCP on a forest with no Device Registration Configuration container."""
    return HYBRID_JOIN, World(objects=[missing(DRS_CONFIG), missing(SCP)])


@scenario("scp-tenant-drift")
def scp_tenant_drift() -> tuple[str, World]:
    """The hybrid-join SCP exists but names another tenant: its keywords are an update."""
    other = (
        "azureADId:00000000-0000-0000-0000-0000000000aa",
        "azureADName:fabrikam.onmicrosoft.com",
    )
    return HYBRID_JOIN, World(
        objects=[present(DRS_CONFIG, ("container",), [drs_configuration_ace()]), scp(other)]
    )


@scenario("half-prepared")
def half_prepared() -> tuple[str, World]:
    """Password, device and group writeback, each partly prepared.

    Password: Reset Password and lockoutTime granted, pwdLastSet not; Unexpire Password held by
    Authenticated Users. Device: the configuration containers and RegisteredDevices exist (with
    the create/delete ACE only), the DRS object does not. Group: the OU has the create/delete
    ACE only; Group.Unified says new groups are written back (true).
    """
    return PASSWORD + DEVICE + GROUP, World(
        objects=[
            domain_root([unexpire_for_authenticated_users()]),
            ou(STAFF, password_aces(only=("reset", "lockout"))),
            present(DRS_CONFIG, ("container",), [drs_configuration_ace()]),
            present(DRS_SERVICES, ("msDS-DeviceRegistrationServiceContainer",)),
            missing(DRS_SERVICE),
            present(
                REGISTERED_DEVICES,
                ("msDS-DeviceContainer",),
                device_container_aces(only=("create-delete",)),
            ),
            ou(CLOUD_GROUPS, group_ou_aces(only=("create-delete",))),
        ],
        new_group_default="true",
        groups_in_ou=GroupsInContainer(container=CLOUD_GROUPS, count=0),
    )


@scenario("fully-prepared")
def fully_prepared() -> tuple[str, World]:
    """Every feature prepared and enabled: the plan has nothing to do."""
    return PASSWORD + DEVICE + GROUP + EXCHANGE + NGC + HYBRID_JOIN, World(
        object_version=87,
        key_credential_link=True,
        objects=[
            domain_root([*exchange_aces(), unexpire_for_authenticated_users()]),
            ou(STAFF, password_aces()),
            *device_objects_prepared(),
            scp(SCP_KEYWORDS),
            ou(CLOUD_GROUPS, group_ou_aces()),
        ],
        connector_groups=(f"{DOMAIN_SID}-513", KEY_ADMINS_SID),
        well_known_groups={"Key Admins": KEY_ADMINS_SID},
        features={"deviceWritebackEnabled": True, "unifiedGroupWritebackEnabled": True},
        new_group_default="false",
        groups_in_ou=GroupsInContainer(container=CLOUD_GROUPS, count=0),
    )


@scenario("schema-too-old")
def schema_too_old() -> tuple[str, World]:
    """Device and password writeback on a 2008 R2 schema (objectVersion 47, no device classes).

    The schema upgrade is a manual step; every device object waits for it (deferred, blocked
    by ad.schema), while the unrelated password grants go ahead.
    """
    return PASSWORD + DEVICE, World(
        object_version=47,
        device_classes=False,
        objects=[
            domain_root([unexpire_for_authenticated_users()]),
            ou(STAFF),
            *device_objects_missing(),
        ],
    )


@scenario("licence-missing")
def licence_missing() -> tuple[str, World]:
    """AD prepared for device and group writeback, but the tenant holds only Office 365 E1."""
    return DEVICE + GROUP, World(
        objects=[*device_objects_prepared(), ou(CLOUD_GROUPS, group_ou_aces())],
        skus=(office_e1_sku(),),
        groups_in_ou=GroupsInContainer(container=CLOUD_GROUPS, count=0),
    )


@scenario("licence-suspended")
def licence_suspended() -> tuple[str, World]:
    """Entra ID P1 is listed, but its SKU is Suspended with no enabled units."""
    return DEVICE, World(
        objects=device_objects_prepared(),
        skus=(p1_sku(capability="Suspended", enabled=0, suspended=250, consumed=0),),
    )


@scenario("licence-not-readable")
def licence_not_readable() -> tuple[str, World]:
    """The tenant was read but its licences were not (no permission): the feature flag waits.

    An unobserved prerequisite blocks its dependents like a manual step (nothing is built on a
    state nobody read); the Connect option, unverifiable by nature, blocks nothing.
    """
    return DEVICE, World(objects=device_objects_prepared(), skus=None)


@scenario("connector-not-found")
def connector_not_found() -> tuple[str, World]:
    """The policy names a connector account that does not exist: no ACE can be granted."""
    world = World(
        objects=[
            domain_root([unexpire_for_authenticated_users()]),
            ou(STAFF),
            *device_objects_missing(),
        ],
        connector_found=False,
    )
    return PASSWORD + DEVICE, world


@scenario("deny-ace-defeats-grant")
def deny_ace_defeats_grant() -> tuple[str, World]:
    """All three password grants exist, but an explicit deny of Reset Password comes first."""
    deny = Ace(
        qualifier="deny",
        trustee=CONNECTOR_SID,
        mask=CONTROL_ACCESS,
        flags=CI | IO,
        object_type=EXTENDED_RIGHTS["User-Force-Change-Password"],
        inherited_object_type=CLASS_GUIDS["user"],
    )
    return PASSWORD, World(
        objects=[
            domain_root([unexpire_for_authenticated_users()]),
            ou(STAFF, [deny, *password_aces()]),
        ]
    )


@scenario("escaped-dn")
def escaped_dn() -> tuple[str, World]:
    """A scope root whose DN holds an escaped comma (OU=Sales\\, EMEA) and a deny ACE.

    The deny of Reset Password needs a person, the two other grants are planned; every output
    line (address, todo, before → after) keeps the DN's backslash."""
    deny = Ace(
        qualifier="deny",
        trustee=CONNECTOR_SID,
        mask=CONTROL_ACCESS,
        flags=CI | IO,
        object_type=EXTENDED_RIGHTS["User-Force-Change-Password"],
        inherited_object_type=CLASS_GUIDS["user"],
    )
    writeback = f"""\
  password:
    enabled: true
    scope: ['{SALES_EMEA}']
    unexpire_password: true
"""
    return writeback, World(
        objects=[
            domain_root([unexpire_for_authenticated_users()]),
            ou(SALES_EMEA, [deny]),
        ]
    )


@scenario("password-per-object")
def password_per_object() -> tuple[str, World]:
    """Per-object verdicts under a prepared scope root, each needing its own fix.

    OU=Staff holds all three grants for users. Below it: OU=Sales denies Reset Password to the
    connector for its users (a manual step: wbplan removes no ACE it did not add); OU=Locked has
    inheritance disabled with two users (grants planned on OU=Locked); a user with inheritance
    disabled on itself (grants planned on the user); an inetOrgPerson the user-scoped grants do
    not reach (grants for inetOrgPerson planned at the root); an adminCount=1 user (reported by
    WB-PWD-003, not changed).
    """
    staff = ou(STAFF, password_aces())
    sales_deny = Ace(
        qualifier="deny",
        trustee=CONNECTOR_SID,
        mask=CONTROL_ACCESS,
        flags=CI | IO,
        object_type=EXTENDED_RIGHTS["User-Force-Change-Password"],
        inherited_object_type=CLASS_GUIDS["user"],
    )
    scan, dacls = scope_tree(
        staff,
        [
            Node(
                "OU=Sales",
                "organizationalUnit",
                [sales_deny],
                children=[Node("CN=ajones"), Node("CN=mlee")],
            ),
            Node(
                "OU=Locked",
                "organizationalUnit",
                protected=True,
                children=[Node("CN=bwhite"), Node("CN=cgreen")],
            ),
            Node("CN=kiosk01", protected=True),
            Node("CN=dblack", "inetOrgPerson"),
            Node("CN=adm-jdoe", protected=True, admin_count=True),
            Node("CN=ezra"),
        ],
    )
    return PASSWORD, World(
        objects=[domain_root([unexpire_for_authenticated_users()]), staff, admin_sd_holder()],
        scans=(scan,),
        dacls=dacls,
    )


@scenario("device-narrow-grants")
def device_narrow_grants() -> tuple[str, World]:
    """Device writeback prepared with narrower grants than the wizard's (create/delete
    msDS-Device children, RP WP on msDS-Device objects): they give what device writeback uses,
    so no ACE is planned on RegisteredDevices."""
    objects = [o for o in device_objects_prepared() if o.dn != REGISTERED_DEVICES]
    narrow = present(REGISTERED_DEVICES, ("msDS-DeviceContainer",), device_container_aces())
    return DEVICE, World(
        objects=[domain_root(), *objects, narrow], features={"deviceWritebackEnabled": True}
    )


@scenario("drs-duplicate")
def drs_duplicate() -> tuple[str, World]:
    """Two msDS-DeviceRegistrationService objects: a person deletes the extra one, and the
    tenant flag waits for that; wbplan creates no third and deletes nothing itself."""
    extra = present(
        f"CN=DeviceRegistrationService-old,{DRS_SERVICES}",
        ("msDS-DeviceRegistrationService",),
        attributes={"msDS-DeviceLocation": (REGISTERED_DEVICES,), "msDS-IsEnabled": ("TRUE",)},
    )
    return DEVICE, World(objects=[domain_root(), *device_objects_prepared(), extra])


@scenario("ace-via-token-group")
def ace_via_token_group() -> tuple[str, World]:
    """The password grants are held by a group the connector is in (tokenGroups): no new ACE."""
    return PASSWORD, World(
        objects=[
            domain_root([unexpire_for_authenticated_users()]),
            ou(STAFF, password_aces(SYNC_WRITERS_SID)),
        ],
        connector_groups=(f"{DOMAIN_SID}-513", SYNC_WRITERS_SID),
    )


@scenario("ace-inherited-from-parent")
def ace_inherited_from_parent() -> tuple[str, World]:
    """The password grants sit on the domain root and reach OU=Staff by inheritance: no new ACE."""
    return PASSWORD, World(
        objects=[
            domain_root([*password_aces(), unexpire_for_authenticated_users()]),
            ou(STAFF, password_aces(inherited=True)),
        ]
    )


@scenario("drs-location-drift")
def drs_location_drift() -> tuple[str, World]:
    """Device writeback prepared, but the DRS object's msDS-DeviceLocation names another container."""
    objects = [o for o in device_objects_prepared() if o.dn != DRS_SERVICE]
    return DEVICE, World(
        objects=[*objects, drs_service(f"CN=Devices,{BASE}")],
        features={"deviceWritebackEnabled": True},
    )


@scenario("wrong-object-class")
def wrong_object_class() -> tuple[str, World]:
    """CN=RegisteredDevices exists as a plain container, not an msDS-DeviceContainer."""
    objects = [o for o in device_objects_missing() if o.dn != REGISTERED_DEVICES]
    return DEVICE, World(objects=[*objects, present(REGISTERED_DEVICES, ("container",))])


GROUP_OFF = f"""\
  group:
    enabled: false
    version: v1
    container: {CLOUD_GROUPS}
"""


@scenario("group-disable-blast-radius")
def group_disable_blast_radius() -> tuple[str, World]:
    """Group writeback declared off while it is on: the next sync cycle deletes 37 groups."""
    first = tuple(sorted(f"CN=Group_{i:02d}a1b2c3d4e5f6,{CLOUD_GROUPS}" for i in range(1, 21)))
    return GROUP_OFF, World(
        objects=[ou(CLOUD_GROUPS, group_ou_aces())],
        features={"unifiedGroupWritebackEnabled": True},
        new_group_default="false",
        groups_in_ou=GroupsInContainer(container=CLOUD_GROUPS, count=37, first=first),
    )


@scenario("remove-preparation")
def remove_preparation() -> tuple[str, World]:
    """Password and group writeback off with remove_preparation: the connector's ACEs go.

    Group writeback is still on (no groups written back yet): the flag goes off first, then the
    ACEs. Unexpire Password is held by Authenticated Users, not granted by wbplan: it is kept.
    OU=Contractors is gone already: nothing to remove there, and nothing asks to recreate it.
    """
    writeback = f"""\
  password:
    enabled: false
    remove_preparation: true
    scope: ["{STAFF}", "{CONTRACTORS}"]
    unexpire_password: true
  group:
    enabled: false
    remove_preparation: true
    version: v1
    container: {CLOUD_GROUPS}
"""
    return writeback, World(
        objects=[
            domain_root([unexpire_for_authenticated_users()]),
            ou(STAFF, password_aces()),
            missing(CONTRACTORS),
            ou(CLOUD_GROUPS, group_ou_aces()),
        ],
        features={"unifiedGroupWritebackEnabled": True},
        new_group_default="false",
        groups_in_ou=GroupsInContainer(container=CLOUD_GROUPS, count=0),
    )


@scenario("device-remove-preparation")
def device_remove_preparation() -> tuple[str, World]:
    """Device writeback off with remove_preparation while hybrid join stays on.

    The flag goes off first, then the connector's ACEs on RegisteredDevices; the containers and
    the DRS object stay, and so does the grant on the DRS configuration (hybrid join needs it).
    """
    writeback = f"""\
  device:
    enabled: false
    remove_preparation: true
    domain: {FOREST}
{HYBRID_JOIN}"""
    return writeback, World(
        objects=[*device_objects_prepared(), scp(SCP_KEYWORDS)],
        features={"deviceWritebackEnabled": True},
    )


@scenario("keys-and-hybrid-join-remove-preparation")
def keys_and_hybrid_join_remove_preparation() -> tuple[str, World]:
    """Key writeback and hybrid join both off with remove_preparation, device writeback absent.

    The connector leaves Key Admins (the group stays) and loses its grant on the DRS
    configuration; the SCP and the containers stay (wbplan never deletes objects).
    """
    writeback = """\
  ngc_keys:
    enabled: false
    remove_preparation: true
    group: key_admins
  hybrid_join:
    enabled: false
    remove_preparation: true
"""
    return writeback, World(
        object_version=87,
        key_credential_link=True,
        well_known_groups={"Key Admins": KEY_ADMINS_SID},
        connector_groups=(f"{DOMAIN_SID}-513", KEY_ADMINS_SID),
        objects=[present(DRS_CONFIG, ("container",), [drs_configuration_ace()]), scp(SCP_KEYWORDS)],
    )


@scenario("tenant-not-observed")
def tenant_not_observed() -> tuple[str, World]:
    """A snapshot of AD alone (no Graph access): every tenant item is unknown, not guessed."""
    return DEVICE + GROUP, World(
        objects=[*device_objects_prepared(), ou(CLOUD_GROUPS, group_ou_aces())],
        tenant_observed=False,
    )


@scenario("group-v2-refused")
def group_v2_refused() -> tuple[str, World]:
    """Group writeback v2 was retired after June 2024: validation refuses to plan it (WBP031)."""
    writeback = f"""\
  group:
    enabled: true
    version: v2
    container: {CLOUD_GROUPS}
"""
    return writeback, World(objects=[ou(CLOUD_GROUPS)])


def with_connect_evidence(*fixtures: str) -> tuple[str, World]:
    """The fully prepared forest and tenant, with Connect server evidence from ``fixtures``."""
    writeback, world = fully_prepared()
    world.connect_evidence = tuple(f"{CONNECT_FIXTURES}/{f}" for f in fixtures)
    return writeback, world


@scenario("connect-evidence-v1")
def connect_evidence_v1() -> tuple[str, World]:
    """Everything prepared, with the Get-ADSyncServerConfiguration export of a Connect 1.1.x server.

    Its global settings (1.1.x parameter names: Microsoft.OptionalFeature.PasswordWriteback among
    them) show every option ticked, device writeback to RegisteredDevices, no staging mode and
    server configuration version 1.1.880.0; its AD connector signs in as the policy's account.
    The Connect items are no longer "cannot be verified": only the SSPR toggle is left.
    """
    return with_connect_evidence("v1-export")


@scenario("connect-evidence-v2")
def connect_evidence_v2() -> tuple[str, World]:
    """Everything prepared, with the collector's evidence from a Connect 2.x server (2.4.27.0).

    2.x global settings no longer list Microsoft.OptionalFeature.PasswordWriteback: password
    writeback comes from Get-ADSyncAADPasswordResetConfiguration; staging mode from
    Get-ADSyncScheduler; the installed version from Programs and Features.
    """
    return with_connect_evidence("v2-collector.json")


@scenario("connect-evidence-mismatch")
def connect_evidence_mismatch() -> tuple[str, World]:
    """Everything prepared in AD and the tenant, but the Connect server disagrees.

    Its AD connector signs in as another account, it writes devices to another container than
    msDS-DeviceLocation names, group writeback is on in the tenant but not ticked on the server,
    and the server is in staging mode: each is a failing rule and a manual step.
    """
    return with_connect_evidence("v2-collector-mismatch.json")


@scenario("connect-evidence-stale")
def connect_evidence_stale() -> tuple[str, World]:
    """Everything prepared, with Connect evidence collected 52 days before the observation.

    Older than the default limit (7 days), it does not count: the Connect items are "cannot be
    verified remotely" again and WB-CON-008 fails.
    """
    return with_connect_evidence("v2-collector-stale.json")


# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Microsoft Entra Cloud Sync (AD side): the gMSA is the trustee, the schema attribute and the
# KDS root key are gates of their own.

GMSA_DN = f"CN=provAgentgMSA,CN=Managed Service Accounts,{BASE}"
GMSA_SID = f"{DOMAIN_SID}-1601"
SECURITY_GROUPS = f"OU=SecurityGroups,{BASE}"


def gmsa(*groups: str, dn: str = GMSA_DN, sid: str = GMSA_SID) -> GmsaObservation:
    """The agent's default gMSA as the wizard creates it (account name pGMSA_<hex>$)."""
    return GmsaObservation(
        dn=dn,
        sam_account_name="pGMSA_e6620264$",
        sid=sid,
        token_groups=(f"{DOMAIN_SID}-515", *groups),
        found_by="default",
        supported_encryption_types=0x1C,
    )


def cloud_sync_policy(
    *, group: bool = True, password: bool = False, exchange: bool = False, connect: str = "  {}\n"
) -> str:
    """The policy's writeback section (``connect``: Connect features, none by default) followed
    by a ``cloud_sync`` section for contoso.test."""
    lines = ["cloud_sync:", "  domains:", f"    - domain: {FOREST}"]
    if group:
        lines += ["      group_provisioning:", f'        target_ous: ["{SECURITY_GROUPS}"]']
    if password:
        lines.append("      password_writeback: true")
    if exchange:
        lines.append("      exchange_hybrid: true")
    return connect + "\n".join(lines) + "\n"


def cloud_sync_job(template: str, **status: str | None) -> CloudSyncJob:
    """A job of contoso.test's configuration, healthy unless ``status`` says otherwise (its
    last success 12 minutes before the scenarios' observation)."""
    fields: dict[str, str | None] = {
        "status_code": "Active",
        "last_execution_state": "Succeeded",
        "last_execution_ended": "2026-11-22T17:48:00Z",
        "last_successful_execution_ended": "2026-11-22T17:48:00Z",
        "schedule_state": "Active",
        **status,
    }
    # A group provisioning job's schema maps the target container to the declared OU (a
    # Constant, as the portal's target-container step stores one OU).
    target = (
        CloudSyncTargetContainer(
            mapped=True,
            source_type="Constant",
            expression=f'"{SECURITY_GROUPS}"',
            dns=(SECURITY_GROUPS,),
        )
        if template == "AAD2ADGroupProvisioning"
        else None
    )
    return CloudSyncJob(
        id=f"{template}.0f1e2d3c4b5a69788796a5b4c3d2e1f0.7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
        template_id=template,
        settings={"DomainFQDN": FOREST, "ForestFQDN": FOREST},
        target_container=target,
        **fields,
    )


def cloud_sync_tenant(*templates: str, agent: bool = True, **status: str | None) -> CloudSyncTenant:
    """contoso.test's Cloud Sync in the tenant: the Entra-to-AD configuration (its group
    provisioning job as ``status`` says, three groups assigned) and the AD-to-Entra one, for the
    job templates given; an active agent for the domain unless ``agent`` is false."""
    group = "AAD2ADGroupProvisioning"
    inbound = tuple(t for t in templates if t != group)
    configurations = []
    if group in templates:
        configurations.append(
            CloudSyncConfiguration(
                service_principal_id="5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d11",
                display_name=FOREST,
                domain=FOREST,
                jobs=(cloud_sync_job(group, **status),),
                app_role_assignment_required=True,
                assigned_groups=3,
            )
        )
    if inbound:
        configurations.append(
            CloudSyncConfiguration(
                service_principal_id="5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d20",
                display_name=FOREST,
                domain=FOREST,
                jobs=tuple(cloud_sync_job(t) for t in inbound),
                app_role_assignment_required=True,
            )
        )
    agents = (
        CloudSyncAgent(
            id="3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a",
            machine_name="cloudsync1.contoso.test",
            status="active",
            agent_groups=(f"Group-{FOREST}-5f1a2b", "Default group for AD Sync Fabric"),
        ),
    )
    return CloudSyncTenant(configurations=tuple(configurations), agents=agents if agent else ())


def gmsa_group_aces(trustee: str = GMSA_SID) -> list[Ace]:
    """What wbplan grants the gMSA on a target OU (Connect's group writeback shapes)."""
    return group_ou_aces(trustee)


def security_groups(
    aces: list[Ace] | tuple[Ace, ...] = (),
    nodes: list[Node] | None = None,
    *,
    protected: bool = False,
) -> tuple[AdObject, ScopeScan, dict[str, SecurityDescriptor]]:
    """The target OU with its groups, scanned per object."""
    target = present(SECURITY_GROUPS, ("organizationalUnit",), aces, protected=protected)
    scan, dacls = scope_tree(
        target,
        nodes
        if nodes is not None
        else [Node("CN=Group_a1b2c3", "group"), Node("CN=Group_d4e5f6", "group")],
    )
    return target, scan, dacls


@scenario("cloud-sync-from-nothing")
def cloud_sync_from_nothing() -> tuple[str, World]:
    """Cloud Sync group provisioning and password writeback on a 2012 R2 forest: no gMSA, no
    msDS-ExternalDirectoryObjectId, no target OU; the KDS root key is not visible to the reader.
    The schema attribute and the gMSA are manual steps, the target OU and every gMSA ACE wait
    for them, the KDS root key is unknown (never "missing"). In the tenant: no configuration and
    no agent yet — manual steps, the configurations waiting for the AD side."""
    return cloud_sync_policy(password=True), World(
        objects=[domain_root(), missing(SECURITY_GROUPS), admin_sd_holder()],
        cloud_sync=CloudSyncAd(kds_root_key=None, external_directory_object_id=False),
        tenant_cloud_sync=cloud_sync_tenant(agent=False),
        ad_unread=(
            Unread(
                what="ad.cloud_sync.kds_root_key",
                reason="no KDS root key (msKds-ProvRootKey) is visible to the account wbplan read with; its "
                "objects are readable by Enterprise Admins, Domain Admins and SYSTEM only, so this is "
                "unknown, not missing",
                verify_at="as a Domain Admin, run Get-KdsRootKey on a domain controller",
            ),
        ),
    )


@scenario("cloud-sync-gmsa-without-rights")
def cloud_sync_gmsa_without_rights() -> tuple[str, World]:
    """The gMSA exists (default name, found by pGMSA_*) but holds no right: group provisioning
    into OU=SecurityGroups (inheritance disabled, two groups, one more OU below it with
    inheritance disabled) and password writeback for the domain's users. Every gMSA ACE is
    planned, on the target OU, on the protected sub-OU and at the domain root; a deny ACE on one
    group's member attribute is a manual step. In the tenant the group provisioning job is
    quarantined for lack of rights (HybridSynchronizationActiveDirectoryInsufficientAccessRights):
    a manual step after the ACEs."""
    deny_member = Ace(
        qualifier="deny",
        trustee=GMSA_SID,
        mask=WRITE_PROP,
        flags=0,
        object_type=ATTRIBUTE_GUIDS["member"],
    )
    target, scan, dacls = security_groups(
        nodes=[
            Node("CN=Group_a1b2c3", "group"),
            Node("CN=Group_d4e5f6", "group", [deny_member]),
            Node(
                "OU=Apps",
                "organizationalUnit",
                protected=True,
                children=[Node("CN=Group_0f9e8d", "group")],
            ),
        ],
        protected=True,
    )
    root = domain_root([unexpire_for_authenticated_users()])
    users, user_dacls = scope_tree(
        root,
        [Node("OU=Staff", "organizationalUnit", children=[Node("CN=ajones"), Node("CN=mlee")])],
    )
    return cloud_sync_policy(password=True), World(
        objects=[root, target, admin_sd_holder()],
        scans=(users, scan),
        dacls={**dacls, **user_dacls},
        cloud_sync=CloudSyncAd(gmsa=gmsa(), kds_root_key=True, external_directory_object_id=True),
        tenant_cloud_sync=cloud_sync_tenant(
            "AAD2ADGroupProvisioning",
            "AD2AADProvisioning",
            status_code="Quarantine",
            quarantine_reason="EncounteredQuarantineException",
            quarantine_error="HybridSynchronizationActiveDirectoryInsufficientAccessRights",
            last_execution_state="Failed",
            last_successful_execution_ended=None,
        ),
        external_directory_object_id=True,
    )


@scenario("cloud-sync-prepared")
def cloud_sync_prepared() -> tuple[str, World]:
    """Everything the AD side of Cloud Sync needs is there: the gMSA holds the group rights on
    the target OU through a group it is in, and the password rights at the domain root; nothing
    to do in AD. In the tenant both configurations run and an agent is active; only the password
    writeback check box cannot be verified."""
    writers = f"{DOMAIN_SID}-1602"
    target, scan, dacls = security_groups(gmsa_group_aces(writers))
    root = domain_root([*password_aces(GMSA_SID), unexpire_for_authenticated_users()])
    users, user_dacls = scope_tree(
        root, [Node("OU=Staff", "organizationalUnit", children=[Node("CN=ajones")])]
    )
    return cloud_sync_policy(password=True), World(
        objects=[root, target, admin_sd_holder()],
        scans=(users, scan),
        dacls={**dacls, **user_dacls},
        cloud_sync=CloudSyncAd(
            gmsa=gmsa(writers), kds_root_key=True, external_directory_object_id=True
        ),
        tenant_cloud_sync=cloud_sync_tenant("AAD2ADGroupProvisioning", "AD2AADProvisioning"),
        external_directory_object_id=True,
    )


@scenario("cloud-sync-several-gmsas")
def cloud_sync_several_gmsas() -> tuple[str, World]:
    """Two gMSAs look like the agent's (cn=provAgentgMSA, and another one named pGMSA_*, e.g.
    left by a reinstall): wbplan picks neither; naming one in cloud_sync.gmsa.account is a manual
    step and every gMSA ACE waits for it."""
    target, scan, dacls = security_groups()
    return cloud_sync_policy(), World(
        objects=[domain_root(), target, admin_sd_holder()],
        scans=(scan,),
        dacls=dacls,
        cloud_sync=CloudSyncAd(
            gmsa_candidates=(GMSA_DN, f"CN=pGMSA_03ec3eec,CN=Managed Service Accounts,{BASE}"),
            kds_root_key=True,
            external_directory_object_id=True,
        ),
        tenant_cloud_sync=cloud_sync_tenant("AAD2ADGroupProvisioning"),
        external_directory_object_id=True,
    )


@scenario("cloud-sync-migration-from-v2")
def cloud_sync_migration_from_v2() -> tuple[str, World]:
    """Security groups move from Connect group writeback v2 (still on in the tenant) to Cloud
    Sync group provisioning into the OU v2 wrote them to: the Cloud Sync preparation (gMSA
    rights on the OU) and, after the schema attribute, turning v2 off — a manual step whose
    blast radius is the groups already in the OU — then the Cloud Sync configuration (an agent is
    installed, no configuration yet)."""
    target, scan, dacls = security_groups(
        nodes=[Node(f"CN=Group_{i:02d}a1b2c3", "group") for i in range(1, 24)]
    )
    return cloud_sync_policy(), World(
        objects=[domain_root(), target, admin_sd_holder()],
        scans=(scan,),
        dacls=dacls,
        cloud_sync=CloudSyncAd(gmsa=gmsa(), kds_root_key=True, external_directory_object_id=True),
        tenant_cloud_sync=cloud_sync_tenant(),
        external_directory_object_id=True,
        features={"groupWriteBackEnabled": True},
    )


V2_OU = f"OU=WritebackContainer,{BASE}"
"""Where the migration scenarios' group writeback v2 wrote its groups."""
UNIVERSAL_SECURITY = "-2147483640"
GLOBAL_SECURITY = "-2147483646"
UNIVERSAL_DISTRIBUTION = "8"


def v2_group(
    cn: str, group_type: str, *, description: str | None = None, anchor: str | None = None
) -> AdObject:
    """A group under ``V2_OU`` as the migration reads it (adminDescription, groupType,
    msDS-ExternalDirectoryObjectId)."""
    attributes = {"groupType": (group_type,)}
    if description is not None:
        attributes["adminDescription"] = (description,)
    if anchor is not None:
        attributes["msDS-ExternalDirectoryObjectId"] = (anchor,)
    return present(f"CN={cn},{V2_OU}", ("group",), attributes=attributes)


@scenario("cloud-sync-migration-declared")
def cloud_sync_migration_declared() -> tuple[str, World]:
    """The policy declares the move from Connect group writeback v2 (migrate_from_connect_v2,
    v2 still on in the tenant), with Cloud Sync provisioning new groups to another OU, prepared.
    v2 wrote seven groups to OU=WritebackContainer: three universal security groups still
    without msDS-ExternalDirectoryObjectId (one attribute update each, the value their
    adminDescription), one already copied, one holding another value (a manual step), a global
    security group and a universal distribution group (not supported by the migration: no copy,
    reported); a group an administrator made there (no Group_ adminDescription) is not v2's.
    Turning v2 off is a manual step after every copy, its blast radius the seven groups."""
    writers = f"{DOMAIN_SID}-1602"
    target, scan, dacls = security_groups(gmsa_group_aces(writers))
    ids = [f"{n:08x}-1c2d-4e3f-8a9b-0c1d2e3f4a5b" for n in range(1, 8)]
    groups = [
        v2_group(f"Group_{ids[0]}", UNIVERSAL_SECURITY, description=f"Group_{ids[0]}"),
        v2_group(f"Group_{ids[1]}", UNIVERSAL_SECURITY, description=f"Group_{ids[1]}"),
        v2_group(f"Sales_{ids[2][-12:]}", UNIVERSAL_SECURITY, description=f"Group_{ids[2]}"),
        v2_group(
            f"Group_{ids[3]}",
            UNIVERSAL_SECURITY,
            description=f"Group_{ids[3]}",
            anchor=f"Group_{ids[3]}",
        ),
        v2_group(
            f"Group_{ids[4]}",
            UNIVERSAL_SECURITY,
            description=f"Group_{ids[4]}",
            anchor="Group_99999999-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
        ),
        v2_group(f"Group_{ids[5]}", GLOBAL_SECURITY, description=f"Group_{ids[5]}"),
        v2_group(f"Group_{ids[6]}", UNIVERSAL_DISTRIBUTION, description=f"Group_{ids[6]}"),
        v2_group("Helpdesk-Local", GLOBAL_SECURITY),
    ]
    policy = cloud_sync_policy() + f'        migrate_from_connect_v2:\n          ou: "{V2_OU}"\n'
    return policy, World(
        objects=[domain_root(), target, admin_sd_holder(), ou(V2_OU), *groups],
        scans=(scan,),
        dacls=dacls,
        cloud_sync=CloudSyncAd(
            gmsa=gmsa(writers),
            kds_root_key=True,
            external_directory_object_id=True,
            connect_v2=(
                ConnectV2Groups(
                    ou=V2_OU, groups=tuple(sorted((g.dn for g in groups), key=str.lower))
                ),
            ),
        ),
        tenant_cloud_sync=cloud_sync_tenant("AAD2ADGroupProvisioning"),
        external_directory_object_id=True,
        features={"groupWriteBackEnabled": True},
    )


def inputs(name: str) -> dict[str, str]:
    """File name → text of one scenario's inputs."""
    fn = SCENARIOS[name]
    writeback, world = fn()
    return {
        "policy.yaml": policy_text(name, fn.__doc__ or name, writeback),
        "state.json": dump_state(world.build(name)),
    }


def write_all(check: bool = False) -> list[Path]:
    """Write (or with ``check``, compare) every scenario's inputs; returns the stale files."""
    stale: list[Path] = []
    for name in sorted(SCENARIOS):
        folder = SCENARIOS_DIR / name
        for file_name, text in inputs(name).items():
            path = folder / file_name
            if path.is_file() and path.read_text(encoding="utf-8") == text:
                continue
            stale.append(path)
            if not check:
                folder.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    return stale


def main() -> None:
    """``python -m tests.plan.build_scenarios [--check]``."""
    check = "--check" in sys.argv
    stale = write_all(check=check)
    for path in stale:
        print(
            f"{'stale' if check else 'wrote'} {path.relative_to(SCENARIOS_DIR.parent.parent.parent)}"
        )
    if check and stale:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
