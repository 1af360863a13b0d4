"""The desired state a policy file declares (policy language v1).

The *shape* of a policy is defined by ``schemas/policy.schema.json`` (JSON Schema 2020-12), which
is the single source of truth; these pydantic models mirror it so the rest of the code gets typed
values. A policy reaches these models only after the schema accepted it, so a pydantic error here
is a wbplan bug (the schema and the models disagree), and ``tests/test_schema_model_parity.py``
keeps them in step.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from planner.model.base import Frozen

API_VERSION = "wbplan.dev/v1"
KIND = "WritebackPolicy"


class Metadata(Frozen):
    """Who owns the policy; shown in plans and reports, never interpreted."""

    name: str
    owner: str | None = None
    description: str | None = None


class Tenant(Frozen):
    """The Entra tenant the forest synchronises to."""

    id: str
    """Tenant (directory) id, a GUID; recorded in plan lineage."""
    domain: str
    """The tenant's initial ``*.onmicrosoft.com`` domain (or another verified domain)."""


class Connector(Frozen):
    """The AD DS connector account Entra Connect uses for this forest.

    It cannot be discovered from Graph (domain.md §0.3), so the policy names it:
    ``DOMAIN\\sAMAccountName``, a UPN, or a distinguished name.
    """

    account: str


class Connect(Frozen):
    """Facts about the Entra Connect server that no API exposes (optional)."""

    version: str | None = None
    """Installed build, e.g. ``2.4.27.0``; used for version gates (domain.md §12.2 item 9)."""


class Licences(Frozen):
    """Service plans the tenant must hold. ``AAD_PREMIUM_P2`` also satisfies ``AAD_PREMIUM``."""

    require: tuple[Literal["AAD_PREMIUM", "AAD_PREMIUM_P2"], ...] = ("AAD_PREMIUM",)


class Feature(Frozen):
    """Fields every writeback feature has."""

    enabled: bool
    remove_preparation: bool = False
    """Only meaningful with ``enabled: false``: also remove the AD ACEs wbplan would grant.
    Containers are never deleted while they hold children."""


class PasswordWriteback(Feature):
    """SSPR password writeback (domain.md §3)."""

    scope: tuple[str, ...] = ()
    """Roots (DNs) under which the connector needs Reset Password / write lockoutTime /
    write pwdLastSet on descendant users. Default: every domain root of the forest."""
    unexpire_password: bool = False
    """Also require the Unexpire Password extended right on the domain root."""


class DeviceWriteback(Feature):
    """Device writeback (domain.md §4)."""

    domain: str | None = None
    """DNS name of the domain whose ``CN=RegisteredDevices`` receives devices
    (default: the forest root domain)."""


class GroupWriteback(Feature):
    """Group writeback v1: Microsoft 365 groups to on-premises distribution groups (§7)."""

    version: Literal["v1", "v2"] = "v1"
    container: str | None = None
    """DN of the single writeback OU. Required when enabled."""
    new_group_default: bool = False
    """Desired ``NewUnifiedGroupWritebackDefault``; false stops every existing M365 group from
    being written back the moment the feature is turned on (domain.md §2.3, §7)."""


class ExchangeHybridWriteback(Feature):
    """Exchange hybrid writeback (domain.md §10)."""

    scope: tuple[str, ...] = ()
    """Roots under which the connector needs RPWP on user/inetOrgPerson/group/contact.
    Default: every domain root of the forest."""


class UserWriteback(Frozen):
    """User writeback: withdrawn in the August 2015 update; only ``enabled: false`` is valid."""

    enabled: bool = False


class NgcKeyWriteback(Feature):
    """Windows Hello for Business key writeback (msDS-KeyCredentialLink, domain.md §6)."""

    group: Literal["key_admins", "enterprise_key_admins"] = "key_admins"
    """Which group the connector account should belong to (single- vs multi-domain forest)."""


class HybridJoin(Feature):
    """The hybrid-join service connection point (domain.md §5)."""

    azure_ad_name: str | None = None
    """Verified domain for the ``azureADName:`` keyword (default: the tenant domain)."""


class Writeback(Frozen):
    """Every writeback feature; an absent feature is neither required nor forbidden."""

    password: PasswordWriteback | None = None
    device: DeviceWriteback | None = None
    group: GroupWriteback | None = None
    exchange_hybrid: ExchangeHybridWriteback | None = None
    user: UserWriteback | None = None
    ngc_keys: NgcKeyWriteback | None = None
    hybrid_join: HybridJoin | None = None


class CloudSyncGmsa(Frozen):
    """The group Managed Service Account the Cloud Sync provisioning agent runs as (cloud-sync.md
    §1.1): every right a Cloud Sync feature needs in AD is a right of this account."""

    account: str | None = None
    """``DOMAIN\\name$`` of a custom gMSA created beforehand (the agent's "Use custom gMSA" /
    ``Add-AADCloudSyncGMSA -CustomGMSAName name$``). None: the default gMSA the agent's wizard
    creates, found by ``cn=provAgentgMSA`` or ``sAMAccountName=pGMSA_*`` (its account name on the
    wire is ``pGMSA_<hex>$``, not ``provAgentgMSA$``)."""


class CloudSyncV2Migration(Frozen):
    """The move of this domain's security groups from Entra Connect group writeback v2 to
    Group Provision to AD, as Microsoft's migration page describes it ("Migrate Microsoft Entra
    Connect Sync group writeback V2 to Microsoft Entra Cloud Sync"): each group v2 wrote back gets
    its ``adminDescription`` copied into ``msDS-ExternalDirectoryObjectId``, then v2 is turned
    off (``Set-ADSyncAADCompanyFeature -GroupWritebackV2 $false``). Declaring it states that v2
    must be off and where its groups are."""

    ou: str
    """DN of the OU group writeback v2 wrote groups to (its single writeback OU); in this
    entry's domain. Groups are searched in its whole subtree, as Microsoft's copy script does."""


class CloudSyncGroupProvisioning(Frozen):
    """Group Provision to AD: a "Microsoft Entra ID to AD sync" configuration writing cloud
    security groups into this domain (the replacement of Connect group writeback v2)."""

    target_ous: tuple[str, ...]
    """DNs of the OU(s) or containers the groups are created in (the configuration's
    ``parentDistinguishedName`` mapping: one constant, or several through a ``Switch()``
    expression). At least one; each must lie in this entry's domain."""
    scope: Literal["selected_groups", "all_security_groups"] = "selected_groups"
    """Scoping filter: ``selected_groups`` (groups assigned to the configuration; Microsoft's
    recommended default) or ``all_security_groups`` (every cloud security group, narrowed by
    attribute filters)."""
    migrate_from_connect_v2: CloudSyncV2Migration | None = None
    """The groups come from Connect group writeback v2 (None: no migration)."""


class CloudSyncDomain(Frozen):
    """The Cloud Sync configuration of one AD domain and the writeback features it serves.
    Microsoft allows one configuration per AD domain, so a domain appears once."""

    domain: str
    """DNS name of the AD domain (the configuration is named after it), e.g. ``emea.contoso.com``."""
    group_provisioning: CloudSyncGroupProvisioning | None = None
    """Group Provision to AD for this domain; None: not served by Cloud Sync."""
    password_writeback: bool = False
    """SSPR password writeback for this domain's users through Cloud Sync ("Write back passwords
    with Microsoft Entra Connect cloud sync")."""
    exchange_hybrid: bool = False
    """Exchange hybrid writeback through Cloud Sync (the configuration's "Exchange hybrid
    writeback" property)."""


class CloudSync(Frozen):
    """Microsoft Entra Cloud Sync: its agent's gMSA and, per AD domain, which writeback features
    Cloud Sync (rather than Entra Connect) serves. Connect and Cloud Sync may serve different
    domains; one feature is never served by both for the same domain."""

    gmsa: CloudSyncGmsa = CloudSyncGmsa()
    domains: tuple[CloudSyncDomain, ...]
    """One entry per AD domain with a Cloud Sync configuration (at most 20 per tenant)."""


class Waiver(Frozen):
    """An approved exception to one compliance rule for one scope, until a date."""

    rule: str
    scope: str = "*"
    """A DN (the waiver covers findings at or under it), a tenant address, or ``*``."""
    reason: str
    approved_by: str
    expires: dt.date


class Policy(Frozen):
    """One policy document: the desired writeback state for one forest and one tenant."""

    api_version: str = Field(alias="apiVersion")
    kind: str
    metadata: Metadata
    forest: str
    """DNS name of the forest root domain, e.g. ``contoso.com``."""
    other_forests: tuple[str, ...] = ()
    """Other forests the same Entra Connect installation synchronises (topology facts: device
    writeback supports only one user forest, domain.md §4)."""
    tenant: Tenant
    connector: Connector | None = None
    """The Entra Connect connector account. Validation requires it as soon as an Entra Connect
    writeback feature is enabled (or its preparation removed); a policy whose writeback is all
    Cloud Sync names none."""
    connect: Connect = Connect()
    licences: Licences = Licences()
    writeback: Writeback = Writeback()
    cloud_sync: CloudSync | None = None
    """Writeback served by Microsoft Entra Cloud Sync (None: Cloud Sync is not used)."""
    waivers: tuple[Waiver, ...] = ()

    @property
    def connector_account(self) -> str:
        """``connector.account``, or ``""`` when the policy names no connector (then no Entra
        Connect feature is enabled: validation refuses one without it, so nothing planned or
        judged for Connect reads this)."""
        return self.connector.account if self.connector is not None else ""
