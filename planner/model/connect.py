"""Connect server evidence: what only the Entra Connect server knows, as its own cmdlets report it.

No API reaches the Connect server, so which optional features are ticked, its AD DS connector
account, staging mode, scheduler state and installed version come from files the server's own
PowerShell module writes: the JSON ``wbplan connect-collector``'s script writes (Get-* cmdlets
only), or a ``Get-ADSyncServerConfiguration -Path`` export folder. ``planner.connect.importer``
reads them into :class:`ConnectEvidence`, which a snapshot keeps in ``ObservedState.connect``.

Every fact is a :class:`Fact` that says where it came from (file, cmdlet, field) and holds the
value as the file stated it. ``None`` means *the evidence does not say* — a parameter a Connect
generation does not have, a cmdlet the collector could not run — and is never read as false.
"""

from __future__ import annotations

from typing import Literal

from planner.model.base import Frozen

EVIDENCE_FORMAT = "wbplan-connect-evidence"
"""``format`` of the collector's JSON file."""
EVIDENCE_FORMAT_VERSION: Literal[1] = 1
"""``format_version`` of the collector's JSON file (bumped for any change its reader must know)."""

FeatureKey = Literal[
    "password-writeback",
    "device-writeback",
    "group-writeback",
    "exchange-hybrid",
    "user-writeback",
    "group-writeback-v2",
    "password-hash-sync",
]
"""The Connect features the evidence can speak about, named as the plan's ``connect.option[…]``
addresses name them (``group-writeback`` is the original, v1, group writeback)."""


class Fact(Frozen):
    """One fact about the Connect server and where it came from."""

    value: bool | str | None = None
    """The fact (``True``/``False`` for a switch, text for a name, DN or version); None: the
    evidence does not say (never "off")."""
    raw: str | None = None
    """The value exactly as the file holds it (``"True"``, ``""``), when it holds one."""
    file: str | None = None
    """The evidence file it was read from (as given to ``--connect-evidence``)."""
    cmdlet: str | None = None
    """The cmdlet whose output it is: ``Get-ADSyncGlobalSettings``, ``Get-ADSyncAADCompanyFeature``,
    ``Get-ADSyncScheduler``, ``Get-ADSyncConnector``, ``Get-ADSyncAADPasswordResetConfiguration``,
    ``Get-ADSyncServerConfiguration`` (an export folder) or ``Programs and Features`` (the
    installed version from the uninstall registry)."""
    field: str | None = None
    """The parameter or property name in that output (``Microsoft.OptionalFeature.GroupWriteBack``,
    ``StagingModeEnabled`` …)."""

    @property
    def known(self) -> bool:
        """The evidence states a value."""
        return self.value is not None

    def where(self) -> str:
        """``Get-ADSyncGlobalSettings Microsoft.Synchronize.StagingMode in FILE`` (or ``no
        evidence`` when nothing was read)."""
        if self.cmdlet is None:
            return "no evidence"
        what = f"{self.cmdlet} {self.field}" if self.field else self.cmdlet
        return f"{what} in {self.file}" if self.file else what


class ConnectFeature(Frozen):
    """One feature as the Connect server reports it."""

    server: Fact = Fact()
    """Whether the feature is enabled on this server: the optional feature ticked in the wizard
    (``Get-ADSyncGlobalSettings`` ``Microsoft.OptionalFeature.*``; password writeback also from
    ``Get-ADSyncAADPasswordResetConfiguration``)."""
    tenant: Fact = Fact()
    """The tenant's flag as the server reads it (``Get-ADSyncAADCompanyFeature``)."""


class AdConnector(Frozen):
    """An Active Directory connector of the Connect server: the forest it syncs and the account
    it signs in with (the AD DS connector account every writeback ACE is granted to)."""

    name: str
    """The connector's name (the Connect wizard names it after the forest)."""
    forest: str | None = None
    """``forest-name`` connectivity parameter."""
    login_user: str | None = None
    """``forest-login-user`` connectivity parameter (the account's sAMAccountName)."""
    login_domain: str | None = None
    """``forest-login-domain`` connectivity parameter (the account's domain)."""
    partitions: tuple[str, ...] | None = None
    """DNs of the partitions (domains) selected for sync; None: not in the evidence."""
    file: str | None = None
    cmdlet: str | None = None


class EvidenceFile(Frozen):
    """One evidence file (or export folder) that was imported."""

    path: str
    """As given to ``--connect-evidence`` (POSIX separators)."""
    kind: Literal["collector", "server-configuration"]
    """``collector``: the JSON written by the ``wbplan connect-collector`` script;
    ``server-configuration``: a ``Get-ADSyncServerConfiguration -Path`` export folder."""
    sha256: str
    """Digest of the bytes read (for a folder: of every file read, by relative path)."""
    collected_at: str | None = None
    """When the server's state was read, as the file states it (ISO 8601); None: it does not say."""
    collected_at_note: str | None = None
    """How ``collected_at`` was read when the file is not plain about it (an export's
    ``export-date`` carries no time zone)."""
    server: str | None = None
    """The Connect server's computer name, as the file states it."""
    collector: str | None = None
    """The collector that wrote the JSON (``wbplan connect-collector <version>``)."""


class NotRead(Frozen):
    """Something the collector meant to read on the server but could not, and why."""

    what: str
    """The cmdlet or item (``Get-ADSyncScheduler``, ``installed version``)."""
    reason: str
    """The error the server gave, as the collector recorded it."""


FEATURE_KEYS: tuple[FeatureKey, ...] = (
    "password-writeback",
    "device-writeback",
    "group-writeback",
    "exchange-hybrid",
    "user-writeback",
    "group-writeback-v2",
    "password-hash-sync",
)


class ConnectEvidence(Frozen):
    """Everything imported about one Entra Connect server (``ObservedState.connect``)."""

    files: tuple[EvidenceFile, ...]
    """The files it came from (newest first, by ``collected_at``; a fact stated by several is
    taken from the first)."""
    server: str | None = None
    """The Connect server's computer name."""
    collected_at: str | None = None
    """The *oldest* collection time of the files (ISO 8601): the evidence is as old as its
    oldest part. None: a file does not say when it was collected (the evidence's age is then
    unknown, so it never counts as fresh)."""
    max_age_seconds: int | None = None
    """How long before the observation (``ObservedState.observed_at``) the evidence may have
    been collected and still count (``plan``/``check --max-evidence-age``); None: the default,
    :data:`planner.connect.verdicts.DEFAULT_MAX_EVIDENCE_AGE`. Not a fact of the server: the
    threshold it is judged by."""
    version: Fact = Fact()
    """The installed Connect version (Programs and Features), else the server configuration's
    (``Microsoft.Synchronize.ServerConfigurationVersion``; the two differ after a partial
    upgrade)."""
    server_configuration_version: Fact = Fact()
    """``Microsoft.Synchronize.ServerConfigurationVersion`` of ``Get-ADSyncGlobalSettings``."""
    features: dict[FeatureKey, ConnectFeature] = {}
    """Per feature, the server's option and the tenant's flag as the server reads them."""
    device_writeback_forest: Fact = Fact()
    """``Microsoft.DeviceWriteBack.Forest``."""
    device_writeback_container: Fact = Fact()
    """``Microsoft.DeviceWriteBack.Container``."""
    group_writeback_forest: Fact = Fact()
    """``Microsoft.GroupWriteBack.Forest`` (1.x servers)."""
    group_writeback_container: Fact = Fact()
    """``Microsoft.GroupWriteBack.Container`` (1.x servers)."""
    staging_mode: Fact = Fact()
    """Staging mode (``Get-ADSyncScheduler`` StagingModeEnabled, else ``Get-ADSyncGlobalSettings``
    ``Microsoft.Synchronize.StagingMode``): a staging server exports nothing, so writes nothing
    back."""
    sync_cycle_enabled: Fact = Fact()
    """``Get-ADSyncScheduler`` SyncCycleEnabled: the scheduler runs import, sync and export."""
    scheduler_suspended: Fact = Fact()
    """``Get-ADSyncScheduler`` SchedulerSuspended (else ``Microsoft.Synchronize.SchedulerSuspended``):
    set by Connect during an upgrade."""
    ad_connectors: tuple[AdConnector, ...] | None = None
    """The server's Active Directory connectors; None: the connectors were not read."""
    not_read: tuple[NotRead, ...] = ()
    """What the collector could not read on the server (its facts stay unknown)."""

    def feature(self, key: FeatureKey) -> ConnectFeature:
        """The feature's facts (all unknown when the evidence says nothing about it)."""
        return self.features.get(key, ConnectFeature())
