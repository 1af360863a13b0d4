"""The public sources wbplan cites: one table, so every rule, requirement and report names the same
document the same way (issue 13).

Rules (:class:`~planner.model.report.RuleInfo`) and requirements
(:class:`~planner.model.plan.Resource`) keep ``references`` as source ids; renderers look them up
here and print a title and a public address, never an internal note. The ids of Microsoft and
third-party sources are the source tags of the project's domain reference (``S29`` …, with a
letter for one document of a group: ``S17c``), so a code comment citing ``[S29]`` and a rule
citing ``"S29"`` mean the same document; ``M<n>`` ids are primary Microsoft sources added when
the catalogue was built (they replace third-party evidence for the same fact), ``W<n>`` ids are
wbplan's own documentation (for rules about wbplan's own policy format).

Addresses: Microsoft Learn pages (``learn.microsoft.com/en-us/…``, mapped from the MicrosoftDocs
repository path and confirmed against public copies of the page); where no Learn page could be
confirmed (a retired page, an include file), the file in Microsoft's public documentation
repository on GitHub, pinned to a commit when the file no longer exists on the default branch.
Third-party sources keep their public address when one exists; ``url`` is ``None`` for evidence
without a single public page (the note says what it is).

``docs/references.md`` is generated from this table (``python -m planner.references --write``)
with, for each source, the rules and requirements that cite it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

SourceKind = Literal["microsoft", "third-party", "project"]
"""``microsoft``: a primary Microsoft source (documentation, reference, specification);
``third-party``: anything else (public copies, forum threads, observations in public data);
``project``: wbplan's own documentation (``url`` is a path in the wbplan distribution)."""

Confidence = Literal["documented", "observed", "inferred"]
"""How sure a rule or requirement is: ``documented`` (a primary source it cites states it),
``observed`` (wbplan's own observation — on Samba, in public dumps, of what an API offers — not
documented by Microsoft), ``inferred`` (a consequence wbplan draws, e.g. from how access checks
work, that no source states in these words)."""

CONFIDENCE_WORDS: dict[str, str] = {
    "documented": "documented",
    "observed": "observed, not documented by Microsoft",
    "inferred": "inferred by wbplan, not documented by Microsoft",
}

LEARN = "https://learn.microsoft.com/en-us"
GITHUB = "https://github.com"


@dataclass(frozen=True)
class Source:
    """One cited document."""

    id: str
    title: str
    url: str | None
    kind: SourceKind
    site: str
    """Where it is published, as a reader names it: ``Microsoft Learn``, ``Microsoft Docs on
    GitHub``, ``GitHub``, ``wbplan``."""
    note: str = ""
    """What a reader should know about it (a retired page, a public copy, no single URL)."""

    @property
    def label(self) -> str:
        """``Microsoft Learn: Tutorial: …`` (third-party sources say so)."""
        prefix = f"{self.site} (third-party)" if self.kind == "third-party" else self.site
        return f"{prefix}: {self.title}"

    @property
    def short(self) -> str:
        """The title alone (``(third-party)`` appended for a third-party source): link text where
        the address is the link."""
        return f"{self.title} (third-party)" if self.kind == "third-party" else self.title

    def line(self) -> str:
        """``label — url`` (or ``label (note)`` when there is no public address)."""
        if self.url is None:
            return f"{self.label} ({self.note})" if self.note else self.label
        return f"{self.label} — {self.url}"


def _learn(path: str) -> str:
    return f"{LEARN}/{path}"


def _docs_on_github(repo: str, path: str, ref: str = "main") -> str:
    return f"{GITHUB}/MicrosoftDocs/{repo}/blob/{ref}/{path}"


SOURCES: tuple[Source, ...] = (
    # --- Microsoft Entra Connect and Cloud Sync (Microsoft Learn, MicrosoftDocs/entra-docs) ---
    Source(
        "S1",
        "Microsoft Entra Connect: Configure AD DS Connector Account Permissions",
        _learn("entra/identity/hybrid/connect/how-to-connect-configure-ad-ds-connector-account"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S2",
        "AdSyncConfig.psm1 (a public copy of Microsoft's ADSyncConfig module)",
        f"{GITHUB}/Evangeliste/ActiveDirectory/blob/be9e1ec19375d42354fdc7a4a414860af74accbd/AdSyncConfig.psm1",
        "third-party",
        "GitHub",
        "the module Microsoft ships with Entra Connect; its cmdlets are documented on the Learn page "
        "'Configure AD DS Connector Account Permissions'",
    ),
    Source(
        "S3",
        "Microsoft Entra Connect: Version release history",
        _learn("entra/identity/hybrid/connect/reference-connect-version-history"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S4",
        "Microsoft Entra Connect: Enabling device writeback",
        _learn("entra/identity/hybrid/connect/how-to-connect-device-writeback"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S18",
        "Microsoft Entra Connect group writeback",
        _learn("entra/identity/hybrid/connect/how-to-connect-group-writeback-v2"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S19",
        "Group writeback for Microsoft 365 groups",
        _learn("entra/identity/hybrid/connect/how-to-connect-group-writeback-enable"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S20",
        "Group writeback v2 deprecation notice",
        _docs_on_github("entra-docs", "docs/includes/gwb-v2-deprecation.md"),
        "microsoft",
        "Microsoft Docs on GitHub",
        "the notice Microsoft Learn shows on the group writeback pages",
    ),
    Source(
        "S21",
        "Migrate Microsoft Entra Connect Sync group writeback V2 to Microsoft Entra Cloud Sync",
        _learn("entra/identity/hybrid/cloud-sync/migrate-group-writeback"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S22",
        "Configure provisioning from Microsoft Entra ID to Active Directory with Microsoft Entra "
        "Cloud Sync (Group Provision to AD)",
        _learn("entra/identity/hybrid/cloud-sync/how-to-configure-entra-to-active-directory"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S27",
        "Exchange hybrid writeback with cloud sync",
        _learn("entra/identity/hybrid/cloud-sync/exchange-hybrid"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M10",
        "Microsoft Entra Cloud Sync supported topologies and scenarios",
        _learn("entra/identity/hybrid/cloud-sync/plan-cloud-sync-topologies"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M11",
        "Tutorial: Enable cloud sync self-service password reset writeback to an on-premises "
        "environment",
        _learn("entra/identity/authentication/tutorial-enable-cloud-sync-sspr-writeback"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M12",
        "Choose a deployment option for provisioning to Active Directory (configurations per domain "
        "and per tenant)",
        _learn(
            "entra/identity/hybrid/cloud-sync/concept-deployment-options-provision-to-active-directory"
        ),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M13",
        "Overview of Microsoft Entra ID to Active Directory provisioning (licence requirements, "
        "at most 20 configurations per tenant)",
        _learn("entra/identity/hybrid/cloud-sync/overview-provision-entra-id-to-active-directory"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M14",
        "Install the Microsoft Entra provisioning agent by using a CLI and PowerShell "
        "(Add-AADCloudSyncGMSA -CustomGMSAName)",
        _learn("entra/identity/hybrid/cloud-sync/how-to-install-pshell"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M15",
        "Group Managed Service Accounts for Microsoft Entra Cloud Sync",
        _learn("entra/identity/hybrid/cloud-sync/gmsa-cloud-sync"),
        "microsoft",
        "Microsoft Learn",
    ),
    # Cloud Sync, tenant side (issue 18): the configurations and jobs over Microsoft Graph, their
    # health, the group assignments, the provisioning agents.
    Source(
        "M30",
        "Microsoft Entra Cloud Sync: configure inbound synchronization with Microsoft Graph "
        "(service principal per domain, job templates AD2AADProvisioning, AD2AADPasswordHash, "
        "AAD2ADExchangeHybridWriteback)",
        _learn("entra/identity/hybrid/cloud-sync/how-to-inbound-synch-ms-graph"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M31",
        "Microsoft Graph: synchronizationJob resource type",
        _learn("graph/api/resources/synchronization-synchronizationjob?view=graph-rest-1.0"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M32",
        "Microsoft Graph: synchronizationStatus resource type (code NotConfigured, NotRun, "
        "Active, Paused, Quarantine; lastSuccessfulExecution)",
        _learn("graph/api/resources/synchronization-synchronizationstatus?view=graph-rest-1.0"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M33",
        "Microsoft Graph: synchronizationQuarantine resource type (reason, error)",
        _learn("graph/api/resources/synchronization-synchronizationquarantine?view=graph-rest-1.0"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M34",
        "Microsoft Graph: List synchronization jobs (permissions)",
        _learn("graph/api/synchronization-synchronization-list-jobs?view=graph-rest-1.0"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M35",
        "Microsoft Graph: List appRoleAssignments granted for a service principal "
        "(appRoleAssignedTo)",
        _learn("graph/api/serviceprincipal-list-approleassignedto?view=graph-rest-1.0"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M36",
        "Microsoft Graph (beta): List onPremisesAgents (delegated permissions only, application "
        "not supported)",
        _learn("graph/api/onpremisesagent-list?view=graph-rest-beta"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M37",
        "Microsoft Entra Cloud Sync troubleshooting (agents, quarantined jobs)",
        _learn("entra/identity/hybrid/cloud-sync/how-to-troubleshoot"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M38",
        "Microsoft Entra Cloud Sync FAQ (a service principal per configuration, named after the "
        "domain; one active agent, more for high availability)",
        _learn("entra/identity/hybrid/cloud-sync/reference-cloud-sync-faq"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M39",
        "Microsoft Entra Cloud Sync error codes (HybridIdentityServiceNoAgentsAssigned, "
        "HybridIdentityServiceNoActiveAgents)",
        _learn("entra/identity/hybrid/cloud-sync/reference-error-codes"),
        "microsoft",
        "Microsoft Learn",
    ),
    # Cloud Sync, AD side (issue 18): the gMSA's permissions, its prerequisites, the KDS root key
    # and the schema attribute of group provisioning.
    Source(
        "M40",
        "Microsoft Entra Cloud Sync gMSA PowerShell cmdlets (Set-AADCloudSyncPermissions "
        "-PermissionType BasicRead, PasswordWriteBack, HybridExchangePermissions, "
        "UserGroupCreateDelete …)",
        _learn("entra/identity/hybrid/cloud-sync/how-to-gmsa-cmdlets"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M41",
        "Prerequisites for Microsoft Entra Cloud Sync (the gMSA, schema and domain controller "
        "requirements)",
        _learn("entra/identity/hybrid/cloud-sync/how-to-prerequisites"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M42",
        "Create the Key Distribution Services KDS Root Key",
        _learn(
            "windows-server/security/group-managed-service-accounts/"
            "create-the-key-distribution-services-kds-root-key"
        ),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M43",
        "[MS-ADA2] Active Directory Schema Attributes: msDS-ExternalDirectoryObjectId",
        _learn("openspecs/windows_protocols/ms-ada2/0abc1d06-ac09-476f-a60b-5deb05b394f7"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M44",
        "[MS-ADSC] Active Directory Schema Classes: msKds-ProvRootKey (default security "
        "descriptor: Enterprise Admins, Domain Admins, SYSTEM)",
        _learn("openspecs/windows_protocols/ms-adsc/67cd9709-f545-4484-a01d-9461efb0f3b3"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M45",
        "Prerequisites for Microsoft Entra Cloud Sync provisioning to Active Directory (schema "
        "attribute msDS-ExternalDirectoryObjectId, gMSA permissions)",
        _learn(
            "entra/identity/hybrid/cloud-sync/"
            "how-to-prerequisites-provision-entra-to-active-directory"
        ),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M50",
        "Microsoft Graph: Get synchronizationSchema (a job's schema: object and attribute "
        "mappings; permissions)",
        _learn("graph/api/synchronization-synchronizationschema-get?view=graph-rest-1.0"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M51",
        "Microsoft Graph: attributeMappingSource resource type (Constant, Attribute, Function; "
        "expression)",
        _learn("graph/api/resources/synchronization-attributemappingsource?view=graph-rest-1.0"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M52",
        "Reference for writing expressions for attribute mappings in Microsoft Entra ID "
        "(string constants, Switch, IIF)",
        _learn("entra/identity/app-provisioning/functions-for-customizing-application-data"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S25",
        "Microsoft Entra Connect: More details about features in preview",
        _learn("entra/identity/hybrid/connect/how-to-connect-preview"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S26",
        "Microsoft Entra Connect Sync: Attributes synchronized to Microsoft Entra ID",
        _learn("entra/identity/hybrid/connect/reference-connect-sync-attributes-synchronized"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S29",
        "Tutorial: Enable Microsoft Entra self-service password reset writeback to an on-premises "
        "environment",
        _learn("entra/identity/authentication/tutorial-enable-sspr-writeback"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S30",
        "How does self-service password reset writeback work in Microsoft Entra ID?",
        _learn("entra/identity/authentication/concept-sspr-writeback"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S31",
        "Licensing requirements for Microsoft Entra self-service password reset",
        _learn("entra/identity/authentication/concept-sspr-licensing"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S32",
        "Custom installation of Microsoft Entra Connect",
        _learn("entra/identity/hybrid/connect/how-to-connect-install-custom"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S33",
        "Microsoft Entra Connect: Device options",
        _learn("entra/identity/hybrid/connect/how-to-connect-device-options"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S34",
        "Product names and service plan identifiers for licensing",
        _learn("entra/identity/users/licensing-service-plan-reference"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S47",
        "Configure Microsoft Entra hybrid join manually",
        _learn("entra/identity/devices/hybrid-join-manual"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S73",
        "How it works: Device registration",
        _learn("entra/identity/devices/device-registration-how-it-works"),
        "microsoft",
        "Microsoft Learn",
    ),
    # --- Microsoft Graph (Microsoft Learn) ---
    Source(
        "S36a",
        "Microsoft Graph: onPremisesDirectorySynchronizationFeature resource type",
        _learn("graph/api/resources/onpremisesdirectorysynchronizationfeature?view=graph-rest-1.0"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S37a",
        "Microsoft Graph: subscribedSku resource type",
        _learn("graph/api/resources/subscribedsku?view=graph-rest-1.0"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S40",
        "Microsoft Graph: Overview of group settings",
        _learn("graph/group-directory-settings"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S41",
        "Microsoft Graph: device resource type",
        _learn("graph/api/resources/device?view=graph-rest-1.0"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M1",
        "Microsoft Graph: organization resource type (onPremisesSyncEnabled, "
        "onPremisesLastSyncDateTime)",
        _learn("graph/api/resources/organization?view=graph-rest-1.0"),
        "microsoft",
        "Microsoft Learn",
    ),
    # --- the Entra Connect server's own configuration (Connect server evidence, issue 16) ---
    Source(
        "M5",
        "Microsoft Entra Connect Sync: Scheduler (Get-ADSyncScheduler: StagingModeEnabled, "
        "SyncCycleEnabled, SchedulerSuspended)",
        _learn("entra/identity/hybrid/connect/how-to-connect-sync-feature-scheduler"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M6",
        "Microsoft Entra Connect: Staging server and disaster recovery",
        _learn("entra/identity/hybrid/connect/how-to-connect-sync-staging-server"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M7",
        "Microsoft Entra Connect: ADSync PowerShell Reference",
        _learn("entra/identity/hybrid/connect/reference-connect-adsync"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M8",
        "Azure AD Connect is not working correctly after an automatic upgrade (installed version in "
        "Programs and Features; Microsoft.Synchronize.ServerConfigurationVersion)",
        _learn("troubleshoot/entra/entra-id/user-prov-sync/cannot-work-automatic-upgrade"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M9",
        "AADConnectConfigDocumenter: sample Get-ADSyncServerConfiguration exports (global settings, "
        "connectors)",
        f"{GITHUB}/microsoft/AADConnectConfigDocumenter/tree/"
        "d1987713be2d844208d39a55d38deee3a7effb5b/src/SolutionOutput/Data/Contoso",
        "microsoft",
        "GitHub",
        "Microsoft's configuration documenter for Entra Connect, with the exports of a 1.1.130.0 "
        "server it documents",
    ),
    # --- Windows Server and Active Directory ---
    Source(
        "S9",
        "Windows Server Active Directory schema updates",
        _learn("windows-server/identity/ad-ds/deploy/schema-updates"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S10",
        "Domain-Wide Updates (adprep /domainprep)",
        _learn("windows-server/identity/ad-ds/deploy/domain-wide-updates"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S13a",
        "[MS-ADA2] Active Directory Schema Attributes: msDS-KeyCredentialLink",
        _learn("openspecs/windows_protocols/ms-ada2/45916e5b-d66f-444e-b1e5-5b0666ed4d66"),
        "microsoft",
        "Microsoft Learn (Open Specifications)",
    ),
    Source(
        "S42",
        "Appendix C: Protected Accounts and Groups in Active Directory",
        _learn(
            "windows-server/identity/ad-ds/plan/security-best-practices/"
            "appendix-c--protected-accounts-and-groups-in-active-directory"
        ),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S53",
        "Get-AdfsDeviceRegistration (ADFS PowerShell module)",
        _learn("powershell/module/adfs/get-adfsdeviceregistration"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S54",
        "Initialize-ADDeviceRegistration (ADFS PowerShell module)",
        _learn("powershell/module/adfs/initialize-addeviceregistration"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M2",
        "[MS-DTYP] 2.4.2.4 Well-Known SID Structures (Key Admins, Enterprise Key Admins)",
        _learn("openspecs/windows_protocols/ms-dtyp/81d92bba-d22b-4a8c-908a-554ab29148ab"),
        "microsoft",
        "Microsoft Learn (Open Specifications)",
    ),
    Source(
        "M3",
        "Active Directory schema: Unexpire-Password extended right",
        _learn("windows/win32/adschema/r-unexpire-password"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "M4",
        "How AccessCheck Works (how DACLs control access to an object)",
        _learn("windows/win32/secauthz/how-dacls-control-access-to-an-object"),
        "microsoft",
        "Microsoft Learn",
    ),
    # --- Windows Hello for Business (retired pages, MicrosoftDocs/windows-itpro-docs) ---
    Source(
        "S6",
        "Configure Device Registration for Hybrid Windows Hello for Business",
        _docs_on_github(
            "windows-itpro-docs",
            "windows/security/identity-protection/hello-for-business/hello-hybrid-cert-trust-devreg.md",
            "c850a3fbc0fe20a98d435f8a96ae8985388ea5eb",
        ),
        "microsoft",
        "Microsoft Docs on GitHub",
        "a retired Microsoft Learn page, at the last revision read",
    ),
    Source(
        "S7",
        "Configuring Hybrid Windows Hello for Business - Directory Synchronization (certificate trust)",
        _docs_on_github(
            "windows-itpro-docs",
            "windows/security/identity-protection/hello-for-business/hello-hybrid-cert-whfb-settings-dir-sync.md",
            "a03a05bf6e6fe10634359a246e25497ed0fdc9fa",
        ),
        "microsoft",
        "Microsoft Docs on GitHub",
        "a retired Microsoft Learn page, at the last revision read",
    ),
    Source(
        "S8",
        "Configuring Hybrid key trust Windows Hello for Business - Directory Synchronization",
        _docs_on_github(
            "windows-itpro-docs",
            "windows/security/identity-protection/hello-for-business/hello-hybrid-key-whfb-settings-dir-sync.md",
            "33164f6872ce61a41916ba0a04df682fd3093d69",
        ),
        "microsoft",
        "Microsoft Docs on GitHub",
        "a retired Microsoft Learn page, at the last revision read",
    ),
    # --- Exchange Server (Microsoft Learn) ---
    Source(
        "S17a",
        "Prepare Active Directory and domains (Exchange Server 2013)",
        _learn("exchange/prepare-active-directory-and-domains-exchange-2013-help"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S17b",
        "Prepare Active Directory and domains for Exchange Server",
        _learn("exchange/plan-and-deploy/prepare-ad-and-domains"),
        "microsoft",
        "Microsoft Learn",
    ),
    Source(
        "S17c",
        "Configure Microsoft 365 Groups with on-premises Exchange hybrid",
        _learn("exchange/hybrid-deployment/set-up-microsoft-365-groups"),
        "microsoft",
        "Microsoft Learn",
    ),
    # --- third-party evidence ---
    Source(
        "S45",
        "Azure-Sentinel issue #713: no Graph API tells whether SSPR password writeback is enabled",
        f"{GITHUB}/Azure/Azure-Sentinel/issues/713",
        "third-party",
        "GitHub",
    ),
    Source(
        "S76",
        "Laparoscope: a REST front end for the ADSync cmdlets, with the Get-ADSyncGlobalSettings "
        "parameters of a 2.0.25.1 server",
        f"{GITHUB}/sean-m/laparoscope/blob/7d84946b7580c803a1cf1269baf0841e27abffed/scripts/"
        "Laparoscope.psm1",
        "third-party",
        "GitHub",
    ),
    Source(
        "S46",
        "DeviceRegSCPTool.ps1 (Device Registration SCP Tool), derived from Entra Connect's AdSyncPrep "
        "module",
        f"{GITHUB}/mzmaili/DeviceRegSCPTool/blob/6cdb08a17b1c65e9bc01ea9ddf7ae54b04d29d17/DeviceRegSCPTool.ps1",
        "third-party",
        "GitHub",
    ),
    Source(
        "S70",
        "Public domain-root security descriptor dumps granting Unexpire Password to Authenticated Users",
        None,
        "third-party",
        "Public data",
        "several public dumps; no single page, and not a Microsoft statement",
    ),
    # --- wbplan's own documentation ---
    Source(
        "W1",
        "Policy schema: waivers (rule, scope, reason, approved_by, expires)",
        "schemas/policy.schema.json",
        "project",
        "wbplan",
        "in the wbplan source tree and wheel",
    ),
    Source(
        "W2",
        "README: Connect server evidence (the collector, what it proves, how old it may be)",
        "README.md",
        "project",
        "wbplan",
        "the section 'Connect server evidence' of the README in the wbplan source tree",
    ),
)

CATALOGUE: dict[str, Source] = {s.id: s for s in SOURCES}
"""Source id → source."""


def source(source_id: str) -> Source:
    """The catalogue entry of ``source_id`` (``KeyError`` naming the id when it is not one)."""
    try:
        return CATALOGUE[source_id]
    except KeyError:
        raise KeyError(f"unknown source id {source_id!r} (not in planner/references.py)") from None


def sources(source_ids: Iterable[str]) -> list[Source]:
    """The entries of ``source_ids``, in order, unknown ids left out (renderers must not fail on
    a document written by another version; the tests make sure wbplan cites no unknown id)."""
    return [CATALOGUE[i] for i in source_ids if i in CATALOGUE]


def lines(source_ids: Iterable[str]) -> list[str]:
    """``label — url`` per cited source."""
    return [s.line() for s in sources(source_ids)]


def first_url(source_ids: Iterable[str]) -> str | None:
    """The public address of the first cited source that has one (SARIF ``helpUri``); project
    documents are paths, not addresses, so they are skipped."""
    for s in sources(source_ids):
        if s.url is not None and s.kind != "project":
            return s.url
    return None


def confidence_text(confidence: str, note: str | None) -> str:
    """``observed, not documented by Microsoft: <note>`` (``documented`` alone needs no words:
    the empty string)."""
    if confidence == "documented":
        return ""
    words = CONFIDENCE_WORDS.get(confidence, confidence)
    return f"{words}: {note}" if note else words


if __name__ == "__main__":  # python -m planner.references --write | --check
    from planner.references_doc import main

    sys.exit(main())
