"""Where each Connect evidence fact is read from, and how the values of one file or several become
:class:`~planner.model.connect.ConnectEvidence` (pure; ``planner.connect.importer`` reads the
files). The names are the cmdlets' own; sources in ``planner/references.py`` and below:

- ``Get-ADSyncGlobalSettings`` parameters (``Name`` → ``Value``, strings such as ``"True"``):
  ``Microsoft.OptionalFeature.PasswordWriteback`` / ``DeviceWriteBack`` / ``GroupWriteBack`` /
  ``HybridExchange`` / ``UserWriteBack`` / ``PasswordHashSync``, ``Microsoft.DeviceWriteBack.Forest``
  / ``.Container``, ``Microsoft.GroupWriteBack.Forest`` / ``.Container``,
  ``Microsoft.Synchronize.StagingMode`` / ``SchedulerSuspended`` / ``ServerConfigurationVersion``.
  Two generations of names are documented publicly: 1.1.x servers (Microsoft's sample export,
  1.1.130.0) list ``PasswordWriteback``, ``PasswordHashSync`` and ``GroupWriteBack.Forest`` /
  ``.Container``; 1.4 and 2.x listings (1.4.18.0, 2.0.25.1, 2.2.1.0) no longer list
  ``PasswordWriteback`` or ``PasswordHashSync``, and 2.0.25.1 not ``GroupWriteBack.Forest`` /
  ``.Container`` either. A parameter a server does not list stays unknown.
- ``Get-ADSyncAADCompanyFeature`` (booleans): ``PasswordHashSync``, ``UserWriteback``,
  ``DeviceWriteback``, ``UnifiedGroupWriteback`` (group writeback v1), ``GroupWritebackV2`` (2.x).
- ``Get-ADSyncAADPasswordResetConfiguration -Connector <Entra connector>``: ``Enabled`` (password
  writeback on this server, where the global settings no longer say).
- ``Get-ADSyncScheduler``: ``StagingModeEnabled``, ``SyncCycleEnabled``, ``SchedulerSuspended``.
- ``Get-ADSyncConnector``: ``Name``, ``Type`` (``AD`` for an Active Directory connector), the
  connectivity parameters ``forest-name``, ``forest-login-user``, ``forest-login-domain`` and the
  selected partitions' ``DN``.
- Programs and Features (the uninstall registry entry): ``DisplayVersion`` of Entra Connect.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from planner.connect.verdicts import parse_time
from planner.errors import ConnectEvidenceError
from planner.model.connect import (
    AdConnector,
    ConnectEvidence,
    ConnectFeature,
    EvidenceFile,
    Fact,
    FeatureKey,
    NotRead,
)

GS = "Get-ADSyncGlobalSettings"
COMPANY = "Get-ADSyncAADCompanyFeature"
SCHEDULER = "Get-ADSyncScheduler"
CONNECTOR = "Get-ADSyncConnector"
RESET = "Get-ADSyncAADPasswordResetConfiguration"
INSTALLED = "Programs and Features"
EXPORT = "Get-ADSyncServerConfiguration"

SERVER_OPTIONS: dict[FeatureKey, str] = {
    # Microsoft's 1.1.130.0 sample export lists all six; the 1.4/2.x listings lack the two
    # password ones (see the module docstring).
    "password-writeback": "Microsoft.OptionalFeature.PasswordWriteback",
    "device-writeback": "Microsoft.OptionalFeature.DeviceWriteBack",
    "group-writeback": "Microsoft.OptionalFeature.GroupWriteBack",
    "exchange-hybrid": "Microsoft.OptionalFeature.HybridExchange",
    "user-writeback": "Microsoft.OptionalFeature.UserWriteBack",
    "password-hash-sync": "Microsoft.OptionalFeature.PasswordHashSync",
}
COMPANY_FEATURES: dict[FeatureKey, str] = {
    # Microsoft documents UnifiedGroupWriteback (v1) and GroupWritebackV2 in this cmdlet's output
    # (group writeback v2 page). UNCONFIRMED: PasswordHashSync, UserWriteback and DeviceWriteback
    # are seen in third-party listings of the output only (a 1.x console listing, Laparoscope).
    "password-hash-sync": "PasswordHashSync",
    "user-writeback": "UserWriteback",
    "device-writeback": "DeviceWriteback",
    "group-writeback": "UnifiedGroupWriteback",
    "group-writeback-v2": "GroupWritebackV2",
}
RESET_ENABLED = "Enabled"
# UNCONFIRMED: the property name of Get-ADSyncAADPasswordResetConfiguration's output is seen in
# third-party scripts reading `.Enabled`, not in a Microsoft sample of the output.
INSTALLED_NAMES = (
    "Microsoft Entra Connect Sync",
    "Microsoft Entra Connect",
    "Microsoft Azure AD Connect",
)
# UNCONFIRMED: the Programs and Features display names of Connect across releases (Microsoft
# documents "Programs and Features" as where to read the installed version, not the names).


def bool_text(raw: str) -> bool | None:
    lowered = raw.strip().lower()
    return True if lowered == "true" else False if lowered == "false" else None


def param_fact(params: dict[str, str | None] | None, name: str, file: str, cmdlet: str) -> Fact:
    """A switch from a global parameter (``"True"``/``"False"``; anything else unknown)."""
    if params is None or name not in params:
        return Fact()
    raw = params[name]
    if raw is None:
        return Fact(file=file, cmdlet=cmdlet, field=name)
    return Fact(value=bool_text(raw), raw=raw, file=file, cmdlet=cmdlet, field=name)


def param_text(params: dict[str, str | None] | None, name: str, file: str, cmdlet: str) -> Fact:
    """A name from a global parameter (empty: not set, unknown)."""
    if params is None or name not in params:
        return Fact()
    raw = params[name]
    value = raw.strip() if raw is not None and raw.strip() else None
    return Fact(value=value, raw=raw, file=file, cmdlet=cmdlet, field=name)


def record_bool(
    record: dict[str, bool | str | int | float | None] | None, name: str, file: str, cmdlet: str
) -> Fact:
    """A boolean property of a cmdlet's output (a ``"True"`` string is read too)."""
    if record is None or name not in record:
        return Fact()
    item = record[name]
    if isinstance(item, bool):
        return Fact(value=item, raw=str(item), file=file, cmdlet=cmdlet, field=name)
    raw = None if item is None else str(item)
    value = bool_text(raw) if raw is not None else None
    return Fact(value=value, raw=raw, file=file, cmdlet=cmdlet, field=name)


def first(*facts: Fact) -> Fact:
    """The first fact that states a value, else the first that was read at all."""
    for f in facts:
        if f.known:
            return f
    for f in facts:
        if f.cmdlet is not None:
            return f
    return Fact()


@dataclass
class Parts:
    """What one evidence file says, before merging."""

    file: EvidenceFile
    params: dict[str, str | None] | None = None
    params_cmdlet: str = GS
    params_file: str = ""
    company: dict[str, bool | str | int | float | None] | None = None
    scheduler: dict[str, bool | str | int | float | None] | None = None
    reset: dict[str, bool | str | int | float | None] | None = None
    installed: Fact = field(default_factory=Fact)
    connectors: tuple[AdConnector, ...] | None = None
    not_read: tuple[NotRead, ...] = ()

    def evidence(self) -> ConnectEvidence:
        name = self.file.path
        pf, pc, p = self.params_file or name, self.params_cmdlet, self.params
        features: dict[FeatureKey, ConnectFeature] = {}
        for key in (*SERVER_OPTIONS, *COMPANY_FEATURES):
            server = param_fact(p, SERVER_OPTIONS[key], pf, pc) if key in SERVER_OPTIONS else Fact()
            if key == "password-writeback":
                server = first(server, record_bool(self.reset, RESET_ENABLED, name, RESET))
            tenant = (
                record_bool(self.company, COMPANY_FEATURES[key], name, COMPANY)
                if key in COMPANY_FEATURES
                else Fact()
            )
            if server.cmdlet is not None or tenant.cmdlet is not None:
                features[key] = ConnectFeature(server=server, tenant=tenant)
        config_version = param_text(p, "Microsoft.Synchronize.ServerConfigurationVersion", pf, pc)
        return ConnectEvidence(
            files=(self.file,),
            server=self.file.server,
            collected_at=self.file.collected_at,
            version=first(self.installed, config_version),
            server_configuration_version=config_version,
            features=dict(sorted(features.items())),
            device_writeback_forest=param_text(p, "Microsoft.DeviceWriteBack.Forest", pf, pc),
            device_writeback_container=param_text(p, "Microsoft.DeviceWriteBack.Container", pf, pc),
            group_writeback_forest=param_text(p, "Microsoft.GroupWriteBack.Forest", pf, pc),
            group_writeback_container=param_text(p, "Microsoft.GroupWriteBack.Container", pf, pc),
            staging_mode=first(
                record_bool(self.scheduler, "StagingModeEnabled", name, SCHEDULER),
                param_fact(p, "Microsoft.Synchronize.StagingMode", pf, pc),
            ),
            sync_cycle_enabled=record_bool(self.scheduler, "SyncCycleEnabled", name, SCHEDULER),
            scheduler_suspended=first(
                record_bool(self.scheduler, "SchedulerSuspended", name, SCHEDULER),
                param_fact(p, "Microsoft.Synchronize.SchedulerSuspended", pf, pc),
            ),
            ad_connectors=self.connectors,
            not_read=self.not_read,
        )


def _newestfirst(item: ConnectEvidence) -> tuple[int, float]:
    when = parse_time(item.collected_at)
    return (0, -when.timestamp()) if when else (1, 0.0)


def merge(parts: list[ConnectEvidence]) -> ConnectEvidence:
    """Evidence from several files of one server: each fact from the newest file that states
    it; the whole is as old as its oldest file. Files from different servers are refused."""
    if not parts:
        raise ValueError("no evidence to merge")
    servers = sorted({p.server for p in parts if p.server}, key=str.lower)
    if len({s.lower() for s in servers}) > 1:
        raise ConnectEvidenceError(
            f"the Connect evidence comes from different servers ({', '.join(servers)}); import "
            "one server's evidence (the active server, not a staging one)"
        )
    if len(parts) == 1:
        return parts[0]
    ordered = sorted(parts, key=_newestfirst)
    times = [p.collected_at for p in parts]
    stamps = [parse_time(t) for t in times]
    oldest = (
        None
        if any(s is None for s in stamps)
        else min(zip(stamps, times, strict=True), key=lambda pair: pair[0] or 0)[1]
    )
    features: dict[FeatureKey, ConnectFeature] = {}
    for key in sorted({k for p in ordered for k in p.features}):
        feats = [p.feature(key) for p in ordered]
        features[key] = ConnectFeature(
            server=first(*(f.server for f in feats)), tenant=first(*(f.tenant for f in feats))
        )

    def pick(attr: str) -> Fact:
        return first(*(getattr(p, attr) for p in ordered))

    return ConnectEvidence(
        files=tuple(f for p in ordered for f in p.files),
        server=servers[0] if servers else None,
        collected_at=oldest,
        version=pick("version"),
        server_configuration_version=pick("server_configuration_version"),
        features=features,
        device_writeback_forest=pick("device_writeback_forest"),
        device_writeback_container=pick("device_writeback_container"),
        group_writeback_forest=pick("group_writeback_forest"),
        group_writeback_container=pick("group_writeback_container"),
        staging_mode=pick("staging_mode"),
        sync_cycle_enabled=pick("sync_cycle_enabled"),
        scheduler_suspended=pick("scheduler_suspended"),
        ad_connectors=next((p.ad_connectors for p in ordered if p.ad_connectors is not None), None),
        not_read=tuple(n for p in ordered for n in p.not_read),
    )
