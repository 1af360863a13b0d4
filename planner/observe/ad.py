"""Observe one AD forest over LDAP: exactly what the policy's features need, plus what the
compliance rules need (domain.md, design.md §6).

``observe_ad(session, policy)`` reads, in this order:

1. the rootDSE (naming contexts, functional levels, DC name);
2. the domains (crossRef objects in ``CN=Partitions``) and each held domain root — its SID,
   its objectGUID (the forest root's is the plan lineage), and its DACL;
3. the schema (``ad_schema``): objectVersion, schemaIDGUIDs, Exchange rangeUpper, rights GUIDs;
4. the objects the declared features address, each with objectClass, uSNChanged, the
   attributes a rule needs and the DACL: password / Exchange scope roots, the device
   registration tree, every msDS-DeviceRegistrationService of the configuration NC (counted:
   more than one is a finding) and the locations they point to, the group writeback OU, the
   hybrid-join SCP with ``keywords``;
5. the connector account with its tokenGroups, and Key Admins groups when key writeback is
   declared (``ad_connector``); with ``cloud_sync``, the Cloud Sync gMSA, the KDS root key and
   the target OUs (``ad_cloudsync``), whose scan roots join those of step 6;
6. paged scans (``ad_scan``): protected containers and adminCount=1 users under each scope
   root, groups under the writeback OU, devices under the device location;
7. the names of the trustees in every DACL read (``principals``): one batched objectSid search
   per domain this DC holds, so that plans and reports print ``CONTOSO\\svc-helpdesk`` instead
   of a SID. Well-known SIDs (Everyone, SYSTEM, …) need no lookup; a SID of a domain this DC
   does not hold, or of a deleted or foreign principal, stays unnamed (shown as the SID).

Whatever cannot be read becomes an ``Unread`` entry; only connection failures raise. Output
is sorted (objects by DN key) so that snapshots diff well.

The bulk reads of steps 6 and 7 go through a :class:`BulkReads` object: incremental refresh
(``planner.observe.incremental``) passes one that merges the changes since a snapshot into it
instead of reading everything again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from planner.acewords import WELL_KNOWN_SIDS
from planner.errors import LdapError
from planner.model.dn import (
    admin_sd_holder_dn,
    dn_key,
    dns_name_of,
    drs_configuration_dn,
    drs_service_dn,
    drs_services_dn,
    is_at_or_under,
    registered_devices_dn,
    scp_dn,
)
from planner.model.policy import Policy
from planner.model.state import (
    AdDevices,
    AdObject,
    AdState,
    Domain,
    GroupsInContainer,
    RootDse,
    SchemaInfo,
    ScopeScan,
    SecurityDescriptor,
)
from planner.observe.ad_cloudsync import read_cloud_sync
from planner.observe.ad_common import (
    BASE_ATTRIBUTES,
    AdReader,
    add_object,
    escape_filter_value,
    object_address,
    sorted_objects,
)
from planner.observe.ad_connector import read_connector, read_key_admin_groups
from planner.observe.ad_scan import DaclTable, scan_devices, scan_groups, scan_scope
from planner.observe.ad_schema import read_schema
from planner.observe.ldapconn import LdapSession
from planner.observe.sd import (
    SecurityDescriptorError,
    guid_from_bytes,
    sid_from_bytes,
    sid_to_bytes,
)
from planner.progress import NO_PROGRESS, Progress

ROOT_DSE_ATTRIBUTES = (
    "defaultNamingContext",
    "configurationNamingContext",
    "schemaNamingContext",
    "rootDomainNamingContext",
    "dnsHostName",
    "forestFunctionality",
    "domainFunctionality",
)
DRS_ATTRIBUTES = ("msDS-DeviceLocation", "msDS-IsEnabled")
RESOLVE_BATCH = 50
"""SIDs per objectSid search when naming trustees (an OR filter; a few hundred bytes each)."""
BUILTIN_PREFIX = "S-1-5-32-"
PASSWORD_CLASSES = ("user", "inetOrgPerson")
EXCHANGE_CLASSES = ("user", "inetOrgPerson", "group", "contact")


def read_root_dse(session: LdapSession) -> RootDse:
    """The rootDSE; failing to read it is fatal (nothing else can be located)."""
    entry = session.require("", ROOT_DSE_ATTRIBUTES)
    missing = [a for a in ROOT_DSE_ATTRIBUTES[:4] if not entry.text(a)]
    if missing:
        raise LdapError(
            f"the rootDSE of {session.url} lacks {', '.join(missing)}: not an AD domain controller?",
            hint="point --ldap-url at a domain controller of the forest",
        )
    return RootDse(
        default_naming_context=entry.text("defaultNamingContext") or "",
        configuration_naming_context=entry.text("configurationNamingContext") or "",
        schema_naming_context=entry.text("schemaNamingContext") or "",
        root_domain_naming_context=entry.text("rootDomainNamingContext") or "",
        dns_host_name=entry.text("dnsHostName"),
        forest_functionality=entry.integer("forestFunctionality"),
        domain_functionality=entry.integer("domainFunctionality"),
    )


def _read_domains(
    reader: AdReader, root_dse: RootDse, objects: dict[str, AdObject]
) -> tuple[list[Domain], str | None]:
    """Domains from the partitions container; each held domain root read with its DACL."""
    domains: list[Domain] = []
    forest_guid: str | None = None
    partitions = f"CN=Partitions,{root_dse.configuration_naming_context}"
    crossrefs = []
    with reader.section("ad.domains"):
        crossrefs = list(
            reader.session.search(
                partitions,
                "(&(objectClass=crossRef)(nETBIOSName=*))",
                ["nCName", "dnsRoot", "nETBIOSName"],
                scope="one",
            )
        )
    for ref in crossrefs:
        nc = ref.text("nCName") or ""
        dns = (ref.text("dnsRoot") or dns_name_of(nc) or "").lower()
        sid = None
        with reader.section(object_address(nc)):
            entry = reader.session.read(
                nc, [*BASE_ATTRIBUTES, "objectSid", "objectGUID"], security=True
            )
            if entry is None:
                reader.note(object_address(nc), f"this DC does not hold the domain {dns}")
            else:
                add_object(objects, reader.object_from_entry(entry))
                if entry.raw("objectSid"):
                    sid = sid_from_bytes(entry.raw("objectSid")[0])
                if dn_key(nc) == dn_key(root_dse.root_domain_naming_context) and entry.raw(
                    "objectGUID"
                ):
                    forest_guid = guid_from_bytes(entry.raw("objectGUID")[0])
        domains.append(Domain(dns_name=dns, dn=nc, netbios_name=ref.text("nETBIOSName"), sid=sid))
    domains.sort(key=lambda d: d.dns_name)
    return domains, forest_guid


def _read_device_tree(
    reader: AdReader,
    policy: Policy,
    root_dse: RootDse,
    forest: str,
    schema: SchemaInfo,
    objects: dict[str, AdObject],
) -> tuple[tuple[str, ...], str]:
    """The DRS configuration tree, every DRS object of the configuration NC, and the device
    locations; returns (DRS object DNs, the device location to scan)."""
    config = root_dse.configuration_naming_context
    for dn in (drs_configuration_dn(config), drs_services_dn(config)):
        add_object(objects, reader.read_object(dn))
    device = policy.writeback.device
    default_location = registered_devices_dn((device.domain if device else None) or forest)
    drs: list[AdObject] = []
    if schema.classes.get("msDS-DeviceRegistrationService") is None:
        # Without the class (schema < 2012 R2) no DRS object can exist; searching for it would
        # only earn an "unknown class" error on some servers.
        add_object(objects, reader.read_object(drs_service_dn(config), DRS_ATTRIBUTES))
    else:
        with reader.section("ad.drs_services"):
            for entry in reader.session.search(
                config,
                "(objectClass=msDS-DeviceRegistrationService)",
                [*BASE_ATTRIBUTES, *DRS_ATTRIBUTES],
                security=True,
            ):
                drs.append(reader.object_from_entry(entry, DRS_ATTRIBUTES))
        for obj in drs:
            add_object(objects, obj)
        if not any(dn_key(o.dn) == dn_key(drs_service_dn(config)) for o in drs):
            add_object(objects, AdObject(dn=drs_service_dn(config), exists=False))
    locations = [default_location]
    for obj in drs:
        locations.extend(obj.attributes.get("msDS-DeviceLocation", ()))
    for location in dict.fromkeys(locations):
        add_object(objects, reader.read_object(location))
    configured = [loc for o in drs for loc in o.attributes.get("msDS-DeviceLocation", ())]
    scan_location = configured[0] if len(set(map(dn_key, configured))) == 1 else default_location
    drs_dns = tuple(sorted((o.dn for o in drs), key=dn_key))
    return drs_dns, scan_location


def trustees(objects: Iterable[AdObject], dacls: Iterable[SecurityDescriptor]) -> set[str]:
    """Every trustee SID of the DACLs read (objects and scanned DACLs)."""
    found: set[str] = set()
    for obj in objects:
        if obj.security is not None:
            found.update(ace.trustee for ace in obj.security.aces)
    for sd in dacls:
        found.update(ace.trustee for ace in sd.aces)
    return found


def resolve_principals(
    reader: AdReader,
    sids: Iterable[str],
    domains: Sequence[Domain],
    held: Mapping[str, AdObject],
    default_nc: str,
) -> dict[str, str]:
    """SID → ``DOMAIN\\sAMAccountName`` (``BUILTIN\\…`` for S-1-5-32-…) for the SIDs of
    the domains this DC holds (their root is in ``held``, by DN key), by batched objectSid
    searches. Well-known SIDs and SIDs of other domains are left out (shown as the SID); a
    failed search is an ``Unread`` entry ``ad.principals``, never an error."""
    by_domain: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    prefixes = {d.sid.upper(): d for d in domains if d.sid}
    own = next((d for d in domains if dn_key(d.dn) == dn_key(default_nc)), None)
    for sid in sorted(set(sids)):
        if sid in WELL_KNOWN_SIDS:
            continue
        domain = own if sid.startswith(BUILTIN_PREFIX) else prefixes.get(sid.rsplit("-", 1)[0])
        root = held.get(dn_key(domain.dn)) if domain is not None else None
        if domain is not None and root is not None and root.exists:
            by_domain.setdefault(domain.dn, []).append(sid)
    for domain in domains:
        wanted = by_domain.get(domain.dn, [])
        label = domain.netbios_name or domain.dns_name
        for start in range(0, len(wanted), RESOLVE_BATCH):
            batch = wanted[start : start + RESOLVE_BATCH]
            terms = "".join(f"(objectSid={escape_filter_value(sid_to_bytes(s))})" for s in batch)
            with reader.section("ad.principals"):
                for entry in reader.session.search(
                    domain.dn, f"(|{terms})", ["objectSid", "sAMAccountName"]
                ):
                    sam = entry.text("sAMAccountName")
                    if not sam or not entry.raw("objectSid"):
                        continue
                    try:
                        sid = sid_from_bytes(entry.raw("objectSid")[0])
                    except SecurityDescriptorError:
                        continue
                    names[sid] = (
                        f"BUILTIN\\{sam}" if sid.startswith(BUILTIN_PREFIX) else f"{label}\\{sam}"
                    )
    return dict(sorted(names.items()))


def _scope_roots(configured: Sequence[str], domains: Sequence[Domain]) -> list[str]:
    return list(configured) if configured else [d.dn for d in domains]


class BulkReads:
    """The paged reads of :func:`observe_ad` (scans and trustee names): plain reads here; a
    subclass may answer them otherwise (incremental refresh) as long as the result is what
    these would read."""

    def devices(self, reader: AdReader, location: str, progress: Progress) -> AdDevices | None:
        """:func:`~planner.observe.ad_scan.scan_devices`."""
        return scan_devices(reader, location, progress)

    def groups(
        self, reader: AdReader, container: str, progress: Progress
    ) -> GroupsInContainer | None:
        """:func:`~planner.observe.ad_scan.scan_groups`."""
        return scan_groups(reader, container, progress)

    def scope(
        self,
        reader: AdReader,
        root: str,
        table: DaclTable,
        classes: tuple[str, ...],
        progress: Progress,
    ) -> ScopeScan | None:
        """:func:`~planner.observe.ad_scan.scan_scope`."""
        return scan_scope(reader, root, table, classes, progress)

    def principals(
        self,
        reader: AdReader,
        sids: set[str],
        domains: Sequence[Domain],
        held: Mapping[str, AdObject],
        default_nc: str,
    ) -> dict[str, str]:
        """:func:`resolve_principals`."""
        return resolve_principals(reader, sids, domains, held, default_nc)


def observe_ad(
    session: LdapSession,
    policy: Policy,
    progress: Progress = NO_PROGRESS,
    bulk: BulkReads | None = None,
) -> AdState:
    """Read the forest behind ``session`` as far as ``policy`` needs (see module docstring);
    each phase is reported to ``progress`` (display only). ``bulk`` answers the paged reads
    (default: read them)."""
    bulk = bulk or BulkReads()
    reader = AdReader(session)
    progress.phase("Reading AD: rootDSE and domains")
    root_dse = read_root_dse(session)
    forest = dns_name_of(root_dse.root_domain_naming_context) or policy.forest
    objects: dict[str, AdObject] = {}
    domains, forest_guid = _read_domains(reader, root_dse, objects)
    progress.phase("Reading AD: schema")
    schema = read_schema(
        reader, root_dse.schema_naming_context, root_dse.configuration_naming_context
    )
    wb = policy.writeback
    progress.phase("Reading AD: the objects the policy names")

    # Scope root → the object classes its features act on (merged when both use one root).
    scope_classes: dict[str, tuple[str, list[str]]] = {}
    if wb.password is not None:
        for root in _scope_roots(wb.password.scope, domains):
            scope_classes.setdefault(dn_key(root), (root, []))[1].extend(PASSWORD_CLASSES)
    if wb.exchange_hybrid is not None:
        for root in _scope_roots(wb.exchange_hybrid.scope, domains):
            scope_classes.setdefault(dn_key(root), (root, []))[1].extend(EXCHANGE_CLASSES)
    scope_roots = [root for root, _ in scope_classes.values()]
    for root in scope_roots:
        add_object(objects, reader.read_object(root))
    holders = list(scope_roots)
    if scope_roots:
        # SDProp copies AdminSDHolder's DACL onto adminCount=1 objects within the hour
        # (domain.md §1.7): their verdict needs it.
        for domain in domains:
            if any(is_at_or_under(r, domain.dn) for r in holders):
                add_object(objects, reader.read_object(admin_sd_holder_dn(domain.dn)))

    drs_dns: tuple[str, ...] = ()
    devices = None
    if wb.device is not None:
        drs_dns, location = _read_device_tree(reader, policy, root_dse, forest, schema, objects)
        located = objects.get(dn_key(location))
        if located is not None and located.exists and schema.classes.get("msDS-Device"):
            devices = bulk.devices(reader, location, progress)
    if wb.hybrid_join is not None:
        config = root_dse.configuration_naming_context
        add_object(objects, reader.read_object(drs_configuration_dn(config)))
        add_object(objects, reader.read_object(scp_dn(config), ("keywords",)))

    groups = []
    if wb.group is not None and wb.group.container:
        progress.phase(f"Reading AD: group writeback OU {wb.group.container}")
        group_ou = reader.read_object(wb.group.container)
        add_object(objects, group_ou)
        if group_ou is not None and group_ou.exists:
            found = bulk.groups(reader, wb.group.container, progress)
            groups = [found] if found is not None else []

    connector = None
    if policy.connector is not None:  # a policy with only Cloud Sync names no connector
        progress.phase("Reading AD: the connector account")
        connector = read_connector(reader, policy.connector.account, domains)
    well_known: dict[str, str | None] = {}
    if wb.ngc_keys is not None:
        root_domain = next(
            (d for d in domains if dn_key(d.dn) == dn_key(root_dse.root_domain_naming_context)),
            None,
        )
        well_known = read_key_admin_groups(
            reader, domains, root_domain, root_dse.default_naming_context
        )

    cloud_sync = None
    if policy.cloud_sync is not None:
        progress.phase("Reading AD: Cloud Sync (its gMSA, the KDS root key, target OUs)")
        cloud_read = read_cloud_sync(reader, policy, root_dse, domains, schema, objects)
        if cloud_read is not None:
            cloud_sync = cloud_read.observation
            for root, classes in cloud_read.scan_roots:
                scope_classes.setdefault(dn_key(root), (root, []))[1].extend(classes)

    # Per-object scans also of the group writeback OU (its groups) and the device container
    # (its devices): the connector acts on each of them.
    if wb.group is not None and wb.group.container:
        scope_classes.setdefault(dn_key(wb.group.container), (wb.group.container, []))[1].append(
            "group"
        )
    if devices is not None:
        scope_classes.setdefault(dn_key(devices.location), (devices.location, []))[1].append(
            "msDS-Device"
        )
    scopes = []
    table = DaclTable()
    for key in sorted(scope_classes):
        root = scope_classes[key][0]
        obj = objects.get(dn_key(root))
        if obj is not None and obj.exists:
            classes = tuple(dict.fromkeys(scope_classes[dn_key(root)][1]))
            scan = bulk.scope(reader, root, table, classes, progress)
            if scan is not None:
                scopes.append(scan)

    progress.phase("Reading AD: the names of the trustees in the DACLs read")
    principals = bulk.principals(
        reader,
        trustees(objects.values(), table.dacls.values()),
        domains,
        objects,
        root_dse.default_naming_context,
    )

    return AdState(
        forest=forest,
        forest_guid=forest_guid,
        root_dse=root_dse,
        domains=tuple(domains),
        schema_info=schema,
        objects=sorted_objects(objects),
        drs_services=drs_dns,
        connector=connector,
        scopes=tuple(scopes),
        groups=tuple(groups),
        devices=devices,
        cloud_sync=cloud_sync,
        dacls=dict(sorted(table.dacls.items())),
        well_known_groups=well_known,
        principals=principals,
        unread=tuple(sorted(reader.unread, key=lambda u: (u.what, u.reason))),
    )
