"""Observed state: what wbplan read from AD (LDAP) and the tenant (Graph).

A live ``refresh`` and an offline ``--state FILE`` produce the same ``ObservedState``; a snapshot
file is this model serialised (``schemas/state.schema.json`` is generated from it). Nothing here
may hold a secret: no passwords, tokens, or bind DNs' credentials.

Conventions
- DNs are kept as read; compare them with :func:`planner.model.dn.dn_key`.
- GUIDs are lower-case ``8-4-4-4-12`` strings; SIDs are ``S-1-…`` strings.
- ``None`` means "not read" (see ``unread`` for why); an empty tuple means "read, none found".
"""

from __future__ import annotations

from typing import Literal

from planner.model.base import Frozen
from planner.model.connect import ConnectEvidence

STATE_FORMAT_VERSION: Literal[2] = 2

# ACE header flags (MS-DTYP 2.4.4.1). Kept numeric in the model; named here for readers.
OBJECT_INHERIT_ACE = 0x01
CONTAINER_INHERIT_ACE = 0x02
NO_PROPAGATE_INHERIT_ACE = 0x04
INHERIT_ONLY_ACE = 0x08
INHERITED_ACE = 0x10


class Ace(Frozen):
    """One access-control entry, normalised from the binary DACL."""

    qualifier: Literal["allow", "deny"]
    """ACCESS_ALLOWED(_OBJECT)_ACE or ACCESS_DENIED(_OBJECT)_ACE. Other ACE types (audit,
    callback) are not kept: they do not grant or deny directory access."""
    trustee: str
    """SID of the principal."""
    mask: int
    """Access mask as stored (ADS_RIGHTS_ENUM bits, domain.md §1.6)."""
    flags: int = 0
    """ACE header flags: CI 0x02, OI 0x01, NP 0x04, IO 0x08, INHERITED 0x10."""
    object_type: str | None = None
    """Right, property or property-set GUID the ACE is limited to; None = all."""
    inherited_object_type: str | None = None
    """Class GUID of the objects the ACE is inherited onto; None = every class."""

    @property
    def inherited(self) -> bool:
        """True when AD propagated this ACE from an ancestor."""
        return bool(self.flags & INHERITED_ACE)


class SecurityDescriptor(Frozen):
    """The DACL part of an object's ``nTSecurityDescriptor`` (read with the SD-flags control)."""

    dacl_protected: bool
    """SE_DACL_PROTECTED: inheritance from the parent is disabled."""
    aces: tuple[Ace, ...]
    sddl: str | None = None
    """The DACL as SDDL, for display and diffs only; never parsed back."""


class AdObject(Frozen):
    """One directory object wbplan looked at, by DN (present or not)."""

    dn: str
    exists: bool
    object_class: tuple[str, ...] = ()
    """All ``objectClass`` values, most specific last (as AD returns them)."""
    attributes: dict[str, tuple[str, ...]] = {}
    """Only the attributes a requirement or rule needs, as strings."""
    usn_changed: int | None = None
    """``uSNChanged``: part of the fingerprint, so apply can detect a stale plan."""
    security: SecurityDescriptor | None = None
    """DACL, when it was read (None: not read or not readable; see ``AdState.unread``)."""


class RootDse(Frozen):
    """The rootDSE facts wbplan uses."""

    default_naming_context: str
    configuration_naming_context: str
    schema_naming_context: str
    root_domain_naming_context: str
    dns_host_name: str | None = None
    forest_functionality: int | None = None
    domain_functionality: int | None = None


class Domain(Frozen):
    """A domain of the forest (from the partitions container)."""

    dns_name: str
    dn: str
    netbios_name: str | None = None
    sid: str | None = None


class SchemaInfo(Frozen):
    """Schema facts, with GUIDs resolved at run time by lDAPDisplayName (domain.md §0.1)."""

    object_version: int | None
    """``objectVersion`` of the schema NC: 47 = 2008 R2, 69 = 2012 R2, 87 = 2016 (§1.1)."""
    classes: dict[str, str | None] = {}
    """lDAPDisplayName → schemaIDGUID for every class wbplan asked about (None = absent)."""
    attributes: dict[str, str | None] = {}
    """lDAPDisplayName → schemaIDGUID for every attribute wbplan asked about (None = absent)."""
    property_sets: dict[str, str | None] = {}
    """lDAPDisplayName → ``attributeSecurityGUID`` (the property set the attribute belongs to;
    None = in no set) for every attribute wbplan asked about. An ACE on the set decides the
    attribute (e.g. pwdLastSet in User-Account-Restrictions)."""
    exchange_range_upper: int | None = None
    """``rangeUpper`` of ``CN=ms-Exch-Schema-Version-Pt``; None = Exchange schema not extended."""
    extended_rights: dict[str, str | None] = {}
    """Extended-right CN → rightsGuid from ``CN=Extended-Rights`` (None = absent)."""


class ConnectorAccount(Frozen):
    """The AD DS connector account as found in AD."""

    account: str
    """As the policy named it."""
    found: bool
    dn: str | None = None
    sid: str | None = None
    token_groups: tuple[str, ...] = ()
    """SIDs of every group the account is in, transitively (constructed ``tokenGroups``)."""


class ScopedObject(Frozen):
    """One object under a scope root as the access check sees it: its class and its DACL.

    The DC stores inherited ACEs on every object, so the object's own DACL is what the DC
    decides by (MS-DTYP 2.5.3.2); evaluating it per object is what makes wbplan's verdict the
    DC's. DACLs are shared by reference (``AdState.dacls``): a directory of 100,000 users holds
    a few hundred distinct DACLs, and each is parsed and evaluated once."""

    dn: str
    object_class: str
    """The most specific ``objectClass`` value (``user``, ``inetOrgPerson``, ``organizationalUnit``
    …): inheritance matches an ACE's inherited object type against exactly this class."""
    dacl: str | None = None
    """Key of the object's DACL in ``AdState.dacls`` (None: the descriptor could not be read)."""
    admin_count: bool = False
    """``adminCount=1``: AdminSDHolder-protected, SDProp rewrites its DACL within the hour."""


class ScopeScan(Frozen):
    """Everything under one password / Exchange-hybrid scope root that the access check needs:
    every container (for inheritance and for naming where a deciding ACE is explicit) and every
    object a writeback feature acts on, each with its DACL."""

    root: str
    classes: tuple[str, ...] = ("user", "inetOrgPerson")
    """The object classes read into ``objects`` (lDAPDisplayNames)."""
    containers: tuple[ScopedObject, ...] = ()
    """OUs and containers under the root (the root itself excluded: it is in ``AdState.objects``),
    sorted by lower-cased DN."""
    objects: tuple[ScopedObject, ...] = ()
    """The objects of ``classes`` under the root, sorted by lower-cased DN."""
    ous_total: int = 0

    @property
    def users_total(self) -> int:
        """Objects read under the root (users and inetOrgPersons for password writeback)."""
        return len(self.objects)


class GroupsInContainer(Frozen):
    """Groups below the group-writeback OU: the blast radius of disabling group writeback."""

    container: str
    count: int
    first: tuple[str, ...] = ()
    """Up to the first 20 DNs, sorted."""


class AdDevices(Frozen):
    """msDS-Device objects under the device location, for the coverage rule."""

    location: str
    count: int
    device_ids: tuple[str, ...] = ()
    """``msDS-DeviceID`` values (GUIDs)."""


class GmsaObservation(Frozen):
    """The Cloud Sync agent's group Managed Service Account as found in AD
    (``msDS-GroupManagedServiceAccount``)."""

    dn: str
    sam_account_name: str
    """As stored, with the trailing ``$`` (the default gMSA's is ``pGMSA_<hex>$``)."""
    sid: str
    token_groups: tuple[str, ...] = ()
    """SIDs of every group the account is in, transitively (constructed ``tokenGroups``): its
    effective rights are evaluated for these too, as the connector account's are."""
    found_by: Literal["default", "custom"]
    """``default``: found by ``cn=provAgentgMSA`` or ``sAMAccountName=pGMSA_*`` (the policy names
    no gMSA); ``custom``: the account the policy names (``cloud_sync.gmsa.account``)."""
    supported_encryption_types: int | None = None
    """``msDS-SupportedEncryptionTypes`` (None: not set or not readable); the agent host must
    share one with it, or installing the account on the host fails."""


class ConnectV2Groups(Frozen):
    """The groups under the OU Entra Connect group writeback v2 wrote to, read for a policy that
    migrates them to Cloud Sync (``cloud_sync.domains[].group_provisioning
    .migrate_from_connect_v2``). Each group is in ``AdState.objects`` with its DACL and the
    attributes the migration needs: ``adminDescription`` (Connect writes ``Group_<cloud object
    id>``), ``msDS-ExternalDirectoryObjectId`` (only asked for when the schema has it) and
    ``groupType``."""

    ou: str
    """The OU as the policy names it."""
    exists: bool = True
    """False: the OU is not there (then ``groups`` is empty)."""
    groups: tuple[str, ...] = ()
    """DNs of every group in the OU's subtree (as Microsoft's copy script searches), sorted by
    lower-cased DN: written back by Connect or not, the blast radius tells them apart."""


class CloudSyncAd(Frozen):
    """What the Cloud Sync features need from AD beyond the objects and DACLs read as for Connect
    (those stay in ``AdState.objects``, ``scopes`` and ``dacls``)."""

    gmsa: GmsaObservation | None = None
    """The gMSA the agent runs as. None: not identified — none found (``gmsa_candidates``
    empty), several default candidates and the policy names none (``gmsa_candidates`` lists
    them), or not searched (an ``AdState.unread`` entry ``ad.cloud_sync.gmsa`` says why)."""
    gmsa_candidates: tuple[str, ...] = ()
    """DNs of every gMSA the default search found (``cn=provAgentgMSA`` /
    ``sAMAccountName=pGMSA_*``), sorted; empty when the policy names the account."""
    kds_root_key: bool | None = None
    """A KDS root key (``msKds-ProvRootKey`` in the configuration NC) is present. None: not
    readable (its default security descriptor admits only Enterprise and Domain Admins and
    SYSTEM, so a non-admin bind sees nothing: unknown, never "missing")."""
    external_directory_object_id: bool | None = None
    """The attribute ``msDS-ExternalDirectoryObjectId`` exists in the schema NC (searched by
    lDAPDisplayName, not inferred from ``objectVersion``). None: not read."""
    connect_v2: tuple[ConnectV2Groups, ...] = ()
    """The OUs group writeback v2 wrote to, one per migration the policy declares (an OU that
    could not be searched is absent, and an ``AdState.unread`` entry
    ``ad.cloud_sync.connect_v2[<ou>]`` says why)."""


class Unread(Frozen):
    """Something wbplan meant to read but could not, and why (never guessed)."""

    what: str
    """An address or a section name, e.g. ``tenant.sync`` or ``ad.object[CN=…]``."""
    reason: str
    verify_at: str | None = None
    """Where a person can check by hand."""


class TrackedObject(Frozen):
    """An object incremental refresh follows by identity: where it was and at which version."""

    guid: str
    """``objectGUID``: survives renames and moves (a DN does not)."""
    dn: str
    """The DN as read."""
    usn_changed: int | None = None
    """``uSNChanged`` as read."""
    dacl: str | None = None
    """Digest of its DACL as read (``ad_scan.dacl_digest``); scan roots only."""
    values: tuple[str, ...] = ()
    """``msDS-DeviceID`` values (devices only), as in ``AdDevices.device_ids``."""


class RootMarks(Frozen):
    """What incremental refresh needs to merge changes into the bulk reads under one root (a
    scope root, the group-writeback OU, the device location). ``containers`` and ``objects``
    are ``(objectGUID, uSNChanged)`` pairs in the order of the ``ScopeScan`` of the same root."""

    root: str
    """The root as the policy names it (``ScopeScan.root``, ``GroupsInContainer.container``,
    ``AdDevices.location``)."""
    guid: str | None = None
    """``objectGUID`` of the root: another object renamed to its DN is another root."""
    dacl: str | None = None
    """Digest of the root's DACL: when it changes, the DC rewrote the inherited ACEs below it."""
    containers: tuple[tuple[str, int], ...] | None = None
    """Per ``ScopeScan.containers`` entry; None: no scope scan of this root."""
    objects: tuple[tuple[str, int], ...] | None = None
    """Per ``ScopeScan.objects`` entry; None: no scope scan of this root."""
    anchors: tuple[TrackedObject, ...] = ()
    """Ancestors of tracked objects below the root that are not scanned containers (neither
    OU nor container, e.g. ``builtinDomain``): their moves move what lies below them."""
    groups: tuple[TrackedObject, ...] | None = None
    """Every group below the root (``GroupsInContainer``); None: no group read of this root."""
    devices: tuple[TrackedObject, ...] | None = None
    """Every device directly below the root (``AdDevices``); None: no device read here."""


class AdMarks(Frozen):
    """The replication position of an AD read, for ``refresh --incremental``: the DC it came
    from, that DC's update sequence number when the read began, and the identity of every
    object the bulk reads hold. Not an observation: no verdict reads it."""

    dc: str
    """``dsServiceName`` of the DC read (its NTDS Settings object)."""
    invocation_id: str
    """``invocationId`` of that DC's database: a restore from backup changes it."""
    highest_committed_usn: int
    """``highestCommittedUSN`` read before anything else: every later change is above it."""
    marked_at: str
    """When the mark was read (ISO 8601 UTC)."""
    full_read_at: str
    """When the last full read behind this snapshot began (an incremental read keeps it)."""
    naming_contexts: tuple[str, ...] = ()
    """The naming contexts searched for changes (the domains this DC holds)."""
    roots: tuple[RootMarks, ...] = ()
    bind_token: tuple[str, ...] | None = None
    """The SIDs of the bind's token when the mark was read (the rootDSE's ``tokenGroups``,
    sorted): what one account may read and see differs from another's, so an incremental read
    requires the same set. None: not recorded (an older wbplan, or the DC did not return it)."""


class AdState(Frozen):
    """Everything read from one forest."""

    forest: str
    """DNS name of the forest root domain."""
    forest_guid: str | None = None
    """objectGUID of the forest root domain NC: plan lineage."""
    root_dse: RootDse
    domains: tuple[Domain, ...] = ()
    schema_info: SchemaInfo
    objects: tuple[AdObject, ...] = ()
    """Every object a requirement or rule addresses by DN, sorted by DN."""
    drs_services: tuple[str, ...] = ()
    """DNs of **all** msDS-DeviceRegistrationService objects in the configuration NC."""
    connector: ConnectorAccount | None = None
    scopes: tuple[ScopeScan, ...] = ()
    groups: tuple[GroupsInContainer, ...] = ()
    devices: AdDevices | None = None
    cloud_sync: CloudSyncAd | None = None
    """What Cloud Sync needs from AD (None: the policy uses no Cloud Sync, or an older
    snapshot)."""
    dacls: dict[str, SecurityDescriptor] = {}
    """Distinct DACLs of the scanned objects (``ScopeScan``), by a digest of their bytes."""
    well_known_groups: dict[str, str | None] = {}
    """Name → SID for groups some feature depends on (``Key Admins``, ``Enterprise Key Admins``);
    None = the group does not exist."""
    principals: dict[str, str] = {}
    """SID → ``DOMAIN\\name`` (``BUILTIN\\name``) of the trustees of the DACLs read, resolved by
    objectSid during the read: display only (plans and reports name trustees first). Well-known
    SIDs are named without a lookup and not listed; a SID this DC could not resolve (another
    domain, a deleted or foreign principal) is absent and shows as the SID."""
    unread: tuple[Unread, ...] = ()
    marks: AdMarks | None = None
    """Replication marks for ``refresh --incremental`` (None: written without them)."""


class ServicePlan(Frozen):
    """A service plan inside a subscribed SKU (Graph servicePlanInfo)."""

    service_plan_id: str
    service_plan_name: str
    provisioning_status: str
    applies_to: str | None = None


class PrepaidUnits(Frozen):
    """Graph licenseUnitsDetail."""

    enabled: int = 0
    warning: int = 0
    suspended: int = 0
    locked_out: int = 0


class SubscribedSku(Frozen):
    """One Graph subscribedSku."""

    sku_id: str
    sku_part_number: str
    capability_status: str
    consumed_units: int = 0
    prepaid_units: PrepaidUnits = PrepaidUnits()
    service_plans: tuple[ServicePlan, ...] = ()


class Organization(Frozen):
    """Graph ``/organization`` facts."""

    id: str
    display_name: str | None = None
    on_premises_sync_enabled: bool | None = None
    on_premises_last_sync: str | None = None
    """ISO 8601 timestamp of the last directory sync."""


class SyncFeatures(Frozen):
    """Graph ``/directory/onPremisesSynchronization`` (id + ``features``)."""

    id: str
    features: dict[str, bool | None] = {}
    """Every flag Graph returned, by its Graph name (``deviceWritebackEnabled`` …).
    ``passwordWritebackEnabled`` is documented as unused (domain.md §2.2): never evidence."""


NEW_GROUP_WRITEBACK_DEFAULT = "NewUnifiedGroupWritebackDefault"
"""The ``Group.Unified`` value group writeback v1 reads (absent or unset means true, §2.3)."""


class GroupUnifiedSetting(Frozen):
    """The ``Group.Unified`` directory setting."""

    present: bool
    id: str | None = None
    values: dict[str, str] = {}
    """name → value as Graph stores it (strings, e.g. ``"false"``)."""


class TenantDevice(Frozen):
    """One Entra device (Graph ``/devices``)."""

    device_id: str
    display_name: str | None = None
    trust_type: str | None = None
    """``Workplace`` | ``AzureAd`` | ``ServerAd`` (domain.md §4)."""
    account_enabled: bool | None = None


class TenantDevices(Frozen):
    """Devices registered in Entra, for the device-writeback coverage rule."""

    counts_by_trust_type: dict[str, int] = {}
    items: tuple[TenantDevice, ...] = ()


class TenantDomain(Frozen):
    """A domain of the tenant (Graph ``/domains``)."""

    id: str
    is_verified: bool = False
    is_default: bool = False
    is_initial: bool = False
    authentication_type: str | None = None
    """``Managed`` or ``Federated`` (Graph ``authenticationType``); None = not read."""


class CloudSyncTargetContainer(Frozen):
    """Where a Group Provision to AD job creates groups: the ``parentDistinguishedName``
    attribute mapping of the group object mapping in the job's schema (Graph
    ``synchronizationSchema``; Microsoft Learn "Get synchronizationSchema")."""

    mapped: bool
    """The group object mapping maps ``parentDistinguishedName`` (False: "SchemaInvalid", the
    job cannot create groups)."""
    source_type: str | None = None
    """``source.type`` of the mapping: ``Constant``, ``Function`` or ``Attribute``."""
    expression: str | None = None
    """``source.expression`` as Graph gave it (a constant's value for a ``Constant``)."""
    dns: tuple[str, ...] = ()
    """The DNs the mapping can produce: the constant, or the string constants in the value
    positions of ``Switch()``/``IIF()`` (and the mapping's ``defaultValue``)."""
    open: tuple[str, ...] = ()
    """Why other DNs are possible (a value computed from an attribute or another function, an
    expression wbplan could not parse); empty: ``dns`` is the whole set."""


class CloudSyncJob(Frozen):
    """One synchronization job of a Cloud Sync configuration (Graph ``synchronizationJob``)."""

    id: str
    """``<templateId>.<hex>.<guid>``."""
    template_id: str
    """``AAD2ADGroupProvisioning`` (Group Provision to AD), ``AD2AADProvisioning``,
    ``AD2AADPasswordHash``, ``AAD2ADExchangeHybridWriteback`` …"""
    status_code: str | None = None
    """``status.code``: ``NotConfigured``, ``NotRun``, ``Active``, ``Paused`` or ``Quarantine``."""
    quarantine_reason: str | None = None
    """``status.quarantine.reason`` (None: not quarantined)."""
    quarantine_error: str | None = None
    """``status.quarantine.error.code`` (and message, when Graph gives one)."""
    last_execution_state: str | None = None
    """``status.lastExecution.state`` (``Succeeded``, ``Failed`` …)."""
    last_execution_ended: str | None = None
    """``status.lastExecution.timeEnded`` (ISO 8601)."""
    last_successful_execution_ended: str | None = None
    """``status.lastSuccessfulExecution.timeEnded`` (ISO 8601)."""
    schedule_state: str | None = None
    """``schedule.state`` (``Active``, ``Disabled``, ``Paused``)."""
    settings: dict[str, str] = {}
    """``synchronizationJobSettings`` name → value (``DomainFQDN``, ``ForestFQDN`` …)."""
    target_container: CloudSyncTargetContainer | None = None
    """For an ``AAD2ADGroupProvisioning`` job: the group target container read from its schema.
    None: not read (another template, or Graph refused the schema — ``TenantState.unread`` has
    an entry ``tenant.cloud_sync.schema``)."""


class CloudSyncConfiguration(Frozen):
    """One Cloud Sync configuration: the service principal named after the AD domain and its
    synchronization jobs (found by listing jobs and their template ids)."""

    service_principal_id: str
    display_name: str | None = None
    domain: str | None = None
    """The AD domain it serves (DNS name), from the jobs' settings or the display name; None:
    neither says."""
    jobs: tuple[CloudSyncJob, ...] = ()
    app_role_assignment_required: bool | None = None
    """The service principal's ``appRoleAssignmentRequired`` (None: not read)."""
    assigned_groups: int | None = None
    """Groups assigned to the service principal (``appRoleAssignedTo``): the "selected groups"
    of group provisioning. None: not read."""


class CloudSyncAgent(Frozen):
    """One provisioning agent (Graph beta ``onPremisesAgent``)."""

    id: str
    machine_name: str | None = None
    status: str
    """``active`` or ``inactive``."""
    agent_groups: tuple[str, ...] = ()
    """Display names of its agent groups (``Group-<domain>-…``)."""


class CloudSyncTenant(Frozen):
    """Cloud Sync as the tenant shows it over Graph."""

    configurations: tuple[CloudSyncConfiguration, ...] = ()
    agents: tuple[CloudSyncAgent, ...] | None = None
    """None: not read — the agents endpoint is beta and delegated-only; ``TenantState.unread``
    has an entry ``tenant.cloud_sync.agents`` saying why."""


class TenantState(Frozen):
    """Everything read from the tenant. A section that could not be read is None and has an
    ``unread`` entry naming why (missing permission, endpoint error)."""

    tenant_id: str
    organization: Organization | None = None
    subscribed_skus: tuple[SubscribedSku, ...] | None = None
    sync: SyncFeatures | None = None
    group_unified: GroupUnifiedSetting | None = None
    devices: TenantDevices | None = None
    domains: tuple[TenantDomain, ...] | None = None
    cloud_sync: CloudSyncTenant | None = None
    """Cloud Sync configurations and agents (None: not read, or the policy uses no Cloud
    Sync)."""
    unread: tuple[Unread, ...] = ()


class AdRead(Frozen):
    """How the AD part was read: in full, or incrementally from a snapshot's marks."""

    mode: Literal["full", "incremental"]
    full_read_reason: str | None = None
    """Why an incremental refresh read everything instead (None: none was asked for, or it
    was incremental)."""
    since_usn: int | None = None
    """Incremental: the snapshot's mark the changes were read from."""
    changes: int | None = None
    """Incremental: objects changed since the mark (deletions included)."""
    reread: tuple[str, ...] = ()
    """Incremental: subtrees read again in full (a container whose DACL changed or that moved,
    a scan root not read before), as ``ROOT`` or ``ROOT: DN``."""


class Source(Frozen):
    """Where the observations came from (URLs only, never credentials)."""

    ldap_url: str | None = None
    graph_url: str | None = None
    description: str | None = None
    ad_read: AdRead | None = None
    """How AD was read (None: not recorded)."""


class ObservedState(Frozen):
    """A complete observation: the input of diff and rules, and the content of a snapshot."""

    format_version: Literal[2] = STATE_FORMAT_VERSION
    wbplan_version: str
    observed_at: str
    """ISO 8601 UTC timestamp."""
    source: Source = Source()
    ad: AdState | None = None
    tenant: TenantState | None = None
    connect: ConnectEvidence | None = None
    """What the Entra Connect server reports about itself (``wbplan refresh --connect-evidence``);
    None: no evidence was imported (the Connect options stay "cannot be verified remotely")."""
