"""What Microsoft Entra Cloud Sync needs from AD besides ACEs: the agent's gMSA, the KDS root
key, the 2016 schema attribute, and which containers to scan for the gMSA's per-object rights
(cloud-sync.md §1, §2). Read only when the policy has a ``cloud_sync`` section.

* **The gMSA** (§1.1): the account the provisioning agent runs as. A custom one is the account
  the policy names (``DOMAIN\\name$``), searched in that NetBIOS domain. The default one is
  created by the agent's wizard as ``CN=provAgentgMSA`` with the account name ``pGMSA_<hex>$`` —
  not ``provAgentgMSA$``, whatever the wizard shows — so it is searched as
  ``(&(objectClass=msDS-GroupManagedServiceAccount)(|(cn=provAgentgMSA)(sAMAccountName=pGMSA_*)))``
  in every domain this DC holds. Several candidates are reported, never picked from. Its SID,
  ``tokenGroups`` (a base read of the account, as for the connector) and
  ``msDS-SupportedEncryptionTypes`` are read.
* **The KDS root key** (§1.2): a gMSA's password is derived from one. ``msKds-ProvRootKey``
  objects are searched anywhere in the configuration NC (MS-GKDI and admin scripts disagree on
  the container's name). Their default security descriptor lets only Enterprise Admins, Domain
  Admins and SYSTEM read them, so seeing none proves nothing unless the bind is one of those:
  the bind's own token is read from the rootDSE's constructed ``tokenGroups`` (AD and Samba
  both return it), and "none" counts as *missing* only for such a bind; otherwise it is unknown
  (an ``Unread`` entry says why), never missing.
* **msDS-ExternalDirectoryObjectId** (§2.1): present when the schema read found the attribute
  by its lDAPDisplayName (``ad_schema``), not inferred from objectVersion.
* **Group writeback v2's OU** (a declared migration, ``planner.observe.ad_connect_v2``): its
  groups with adminDescription, groupType and msDS-ExternalDirectoryObjectId.
* **Scan roots**: each target OU of group provisioning (its groups and containers, with their
  DACLs, as for the connector's group writeback OU) and the domain root of each domain with
  password writeback (users, inetOrgPersons) or Exchange hybrid (users, inetOrgPersons, groups,
  contacts) through Cloud Sync. ``observe_ad`` scans them with the other scope roots; the
  gMSA's rights are judged on them by the same per-object engine (``planner.scope_rights``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from planner.model.dn import admin_sd_holder_dn, dn_key, is_at_or_under
from planner.model.policy import Policy
from planner.model.state import (
    AdObject,
    CloudSyncAd,
    ConnectV2Groups,
    Domain,
    GmsaObservation,
    RootDse,
    SchemaInfo,
)
from planner.observe.ad_common import AdReader, add_object, escape_filter_value
from planner.observe.ad_connect_v2 import read_connect_v2
from planner.observe.ldapconn import Entry
from planner.observe.sd import SecurityDescriptorError, sid_from_bytes

GMSA_CLASS = "msDS-GroupManagedServiceAccount"
DEFAULT_GMSA_FILTER = f"(&(objectClass={GMSA_CLASS})(|(cn=provAgentgMSA)(sAMAccountName=pGMSA_*)))"
GMSA_ATTRIBUTES = ("objectSid", "sAMAccountName", "msDS-SupportedEncryptionTypes")
KDS_ROOT_KEY_FILTER = "(objectClass=msKds-ProvRootKey)"
PASSWORD_CLASSES = ("user", "inetOrgPerson")
EXCHANGE_CLASSES = ("user", "inetOrgPerson", "group", "contact")
GROUP_CLASSES = ("group",)
DOMAIN_ADMINS_RID = "512"
ENTERPRISE_ADMINS_RID = "519"
SYSTEM = "S-1-5-18"

GMSA = "ad.cloud_sync.gmsa"
KDS = "ad.cloud_sync.kds_root_key"
KDS_UNSEEN = (
    "no KDS root key (msKds-ProvRootKey) is visible to the account wbplan read with; its objects "
    "are readable by Enterprise Admins, Domain Admins and SYSTEM only, so this is unknown, not "
    "missing"
)
KDS_VERIFY = "as a Domain Admin, run Get-KdsRootKey on a domain controller"


@dataclass(frozen=True)
class CloudSyncRead:
    """What :func:`read_cloud_sync` found, and which roots ``observe_ad`` scans for it."""

    observation: CloudSyncAd
    scan_roots: tuple[tuple[str, tuple[str, ...]], ...]
    """(root DN, object classes) to scan per object, as the connector's scope roots are."""


def _sid(reader: AdReader, entry: Entry, what: str) -> str | None:
    raw = entry.raw("objectSid")
    if not raw:
        return None
    try:
        return sid_from_bytes(raw[0])
    except SecurityDescriptorError as exc:
        reader.note(what, str(exc))
        return None


def _observe_gmsa(
    reader: AdReader, entry: Entry, found_by: str, token_note: str
) -> GmsaObservation | None:
    """The gMSA at ``entry.dn``: a base read for its constructed tokenGroups."""
    full = reader.session.read(entry.dn, [*GMSA_ATTRIBUTES, "tokenGroups"]) or entry
    sid = _sid(reader, full, GMSA)
    if sid is None:
        reader.note(GMSA, f"the objectSid of {entry.dn} could not be read")
        return None
    groups: list[str] = []
    for raw in full.raw("tokenGroups"):
        try:
            groups.append(sid_from_bytes(raw))
        except SecurityDescriptorError as exc:
            reader.note(token_note, str(exc))
    if not full.raw("tokenGroups"):
        reader.note(
            token_note,
            "tokenGroups was not returned: the bind account may not read it on the gMSA, so "
            "rights the gMSA holds through groups are not seen",
        )
    return GmsaObservation(
        dn=full.dn,
        sam_account_name=full.text("sAMAccountName") or "",
        sid=sid,
        token_groups=tuple(sorted(set(groups))),
        found_by="custom" if found_by == "custom" else "default",
        supported_encryption_types=full.integer("msDS-SupportedEncryptionTypes"),
    )


def read_gmsa(
    reader: AdReader, account: str | None, domains: Sequence[Domain], schema: SchemaInfo
) -> tuple[GmsaObservation | None, tuple[str, ...]]:
    """(the gMSA, the default candidates' DNs when several): see the module docstring. A failed
    search leaves an ``Unread`` entry ``ad.cloud_sync.gmsa``."""
    if schema.object_version is not None and schema.classes.get(GMSA_CLASS) is None:
        reader.note(
            GMSA,
            f"the forest schema has no {GMSA_CLASS} class (group Managed Service Accounts need "
            "the Windows Server 2012 schema or later)",
        )
        return None, ()
    if account is not None:
        netbios, _, sam = account.partition("\\")
        scope = [d for d in domains if (d.netbios_name or "").lower() == netbios.lower()]
        if not scope:
            reader.note(GMSA, f"no domain of the forest has the NetBIOS name {netbios}")
            return None, ()
        search = f"(&(objectClass={GMSA_CLASS})(sAMAccountName={escape_filter_value(sam)}))"
        with reader.section(GMSA):
            for domain in scope:
                found = list(reader.session.search(domain.dn, search, GMSA_ATTRIBUTES))
                if found:
                    return _observe_gmsa(reader, found[0], "custom", f"{GMSA}.token_groups"), ()
            return None, ()
        return None, ()
    entries: list[Entry] = []
    with reader.section(GMSA):
        for domain in domains:
            entries.extend(reader.session.search(domain.dn, DEFAULT_GMSA_FILTER, GMSA_ATTRIBUTES))
    if any(u.what == GMSA for u in reader.unread):
        return None, ()
    unique = {dn_key(e.dn): e for e in entries}
    if len(unique) == 1:
        only = next(iter(unique.values()))
        return _observe_gmsa(reader, only, "default", f"{GMSA}.token_groups"), ()
    return None, tuple(sorted((e.dn for e in unique.values()), key=dn_key))


def _bind_is_admin(reader: AdReader, domains: Sequence[Domain], root: RootDse) -> bool:
    """Whether the bind's token (the rootDSE's ``tokenGroups``) holds Domain Admins of a domain
    of the forest, Enterprise Admins or SYSTEM: the principals a KDS root key is visible to."""
    with reader.section("ad.bind_token"):
        entry = reader.session.read("", ["tokenGroups"])
        if entry is None:
            return False
        sids = set()
        for raw in entry.raw("tokenGroups"):
            try:
                sids.add(sid_from_bytes(raw).upper())
            except SecurityDescriptorError:
                continue
        admins = {SYSTEM}
        for d in domains:
            if d.sid:
                admins.add(f"{d.sid}-{DOMAIN_ADMINS_RID}".upper())
                if dn_key(d.dn) == dn_key(root.root_domain_naming_context):
                    admins.add(f"{d.sid}-{ENTERPRISE_ADMINS_RID}".upper())
        return bool(sids & admins)
    return False


def read_kds_root_key(reader: AdReader, root: RootDse, domains: Sequence[Domain]) -> bool | None:
    """True: a KDS root key is visible; False: none, and the bind could see one if it existed;
    None: unknown (none visible to this bind, or the search failed), with an ``Unread``
    entry."""
    found: list[Entry] | None = None
    with reader.section(KDS):
        found = list(
            reader.session.search(root.configuration_naming_context, KDS_ROOT_KEY_FILTER, ("1.1",))
        )
    if found is None:
        return None
    if found:
        return True
    if _bind_is_admin(reader, domains, root):
        return False
    reader.note(KDS, KDS_UNSEEN, verify_at=KDS_VERIFY)
    return None


def _domain_of(name: str, domains: Sequence[Domain]) -> Domain | None:
    return next((d for d in domains if d.dns_name.lower() == name.lower().rstrip(".")), None)


def read_cloud_sync(
    reader: AdReader,
    policy: Policy,
    root: RootDse,
    domains: Sequence[Domain],
    schema: SchemaInfo,
    objects: dict[str, AdObject],
) -> CloudSyncRead | None:
    """Everything Cloud Sync needs from AD (module docstring); None without ``cloud_sync``.
    Target OUs and AdminSDHolder of the domains scanned are read into ``objects``."""
    cloud = policy.cloud_sync
    if cloud is None:
        return None
    gmsa, candidates = read_gmsa(reader, cloud.gmsa.account, domains, schema)
    kds = read_kds_root_key(reader, root, domains)
    attribute: bool | None = None
    if schema.object_version is not None:
        attribute = schema.attributes.get("msDS-ExternalDirectoryObjectId") is not None
    roots: dict[str, tuple[str, list[str]]] = {}
    v2: list[ConnectV2Groups] = []
    for entry in cloud.domains:
        domain = _domain_of(entry.domain, domains)
        if entry.group_provisioning is not None:
            for ou in entry.group_provisioning.target_ous:
                add_object(objects, reader.read_object(ou))
                roots.setdefault(dn_key(ou), (ou, []))[1].extend(GROUP_CLASSES)
            migration = entry.group_provisioning.migrate_from_connect_v2
            if migration is not None:
                found = read_connect_v2(reader, migration.ou, attribute, objects)
                if found is not None:
                    v2.append(found)
        if domain is None:
            if entry.password_writeback or entry.exchange_hybrid:
                reader.note(
                    f"ad.cloud_sync.domain[{entry.domain}]",
                    f"{entry.domain} is not a domain of the forest this DC serves",
                )
            continue
        if entry.password_writeback:
            roots.setdefault(dn_key(domain.dn), (domain.dn, []))[1].extend(PASSWORD_CLASSES)
        if entry.exchange_hybrid:
            roots.setdefault(dn_key(domain.dn), (domain.dn, []))[1].extend(EXCHANGE_CLASSES)
    # adminCount=1 objects are judged on AdminSDHolder's DACL too (SDProp copies it onto them).
    for domain in domains:
        if any(is_at_or_under(r, domain.dn) for r, _ in roots.values()):
            add_object(objects, reader.read_object(admin_sd_holder_dn(domain.dn)))
    observation = CloudSyncAd(
        gmsa=gmsa,
        gmsa_candidates=candidates,
        kds_root_key=kds,
        external_directory_object_id=attribute,
        connect_v2=tuple(v2),
    )
    scans = tuple((dn, tuple(dict.fromkeys(classes))) for dn, classes in roots.values())
    return CloudSyncRead(observation, scans)
