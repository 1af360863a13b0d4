"""Import Connect server evidence: the collector's JSON file or a ``Get-ADSyncServerConfiguration``
export folder → :class:`~planner.model.connect.ConnectEvidence`.

What each fact is read from (the names are the cmdlets' own; sources in ``planner/references.py``
and the comments below):

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

Every read is bounded (size, nesting, file count), strictly typed, and confined to the path
given: in an export folder only regular files directly inside ``GlobalSettings/`` and
``Connectors/`` are read, symbolic links are refused. Each problem is one
:class:`~planner.errors.ConnectEvidenceError` line naming the file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from planner.connect import exportxml
from planner.connect.verdicts import parse_time
from planner.errors import ConnectEvidenceError
from planner.fileio import BadFileError, TooLargeError, parse_json, read_bytes_bounded
from planner.model.connect import (
    EVIDENCE_FORMAT,
    EVIDENCE_FORMAT_VERSION,
    AdConnector,
    ConnectEvidence,
    ConnectFeature,
    EvidenceFile,
    Fact,
    FeatureKey,
    NotRead,
)

MAX_JSON_BYTES = 32 * 1024 * 1024
"""Largest collector file read (32 MiB; a real one is a few kilobytes)."""
MAX_XML_BYTES = 64 * 1024 * 1024
"""Largest export XML file read (64 MiB; an AD connector with its whole schema is a few MB)."""
MAX_FOLDER_FILES = 200
"""Most XML files read from one folder of an export (a server has a handful of connectors)."""

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


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


@dataclass
class _Reader:
    """Type checks on a parsed collector file, each failure one line naming the file and the
    JSON path."""

    name: str

    def fail(self, where: str, expected: str, found: Any) -> NoReturn:
        raise ConnectEvidenceError(
            f"{self.name}: {where}: expected {expected}, found {_kind(found)}; "
            "the file is not what `wbplan connect-collector`'s script writes"
        )

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(where, "an object", value)
        return value

    def text(self, value: Any, where: str, *, optional: bool = True) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str):
            self.fail(where, "text" + (" or null" if optional else ""), value)
        return value

    def scalars(self, value: Any, where: str) -> dict[str, bool | str | int | float | None]:
        record = self.obj(value, where)
        for key, item in record.items():
            if item is not None and not isinstance(item, bool | str | int | float):
                self.fail(f"{where}.{key}", "true, false, a number, text or null", item)
        return record

    def texts(self, value: Any, where: str) -> dict[str, str | None]:
        record = self.obj(value, where)
        for key, item in record.items():
            self.text(item, f"{where}.{key}")
        return record

    def items(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(where, "a list", value)
        return value


def _bool_text(raw: str) -> bool | None:
    lowered = raw.strip().lower()
    return True if lowered == "true" else False if lowered == "false" else None


def _param_fact(params: dict[str, str | None] | None, name: str, file: str, cmdlet: str) -> Fact:
    """A switch from a global parameter (``"True"``/``"False"``; anything else unknown)."""
    if params is None or name not in params:
        return Fact()
    raw = params[name]
    if raw is None:
        return Fact(file=file, cmdlet=cmdlet, field=name)
    return Fact(value=_bool_text(raw), raw=raw, file=file, cmdlet=cmdlet, field=name)


def _param_text(params: dict[str, str | None] | None, name: str, file: str, cmdlet: str) -> Fact:
    """A name from a global parameter (empty: not set, unknown)."""
    if params is None or name not in params:
        return Fact()
    raw = params[name]
    value = raw.strip() if raw is not None and raw.strip() else None
    return Fact(value=value, raw=raw, file=file, cmdlet=cmdlet, field=name)


def _record_bool(
    record: dict[str, bool | str | int | float | None] | None, name: str, file: str, cmdlet: str
) -> Fact:
    """A boolean property of a cmdlet's output (a ``"True"`` string is read too)."""
    if record is None or name not in record:
        return Fact()
    item = record[name]
    if isinstance(item, bool):
        return Fact(value=item, raw=str(item), file=file, cmdlet=cmdlet, field=name)
    raw = None if item is None else str(item)
    value = _bool_text(raw) if raw is not None else None
    return Fact(value=value, raw=raw, file=file, cmdlet=cmdlet, field=name)


def _first(*facts: Fact) -> Fact:
    """The first fact that states a value, else the first that was read at all."""
    for f in facts:
        if f.known:
            return f
    for f in facts:
        if f.cmdlet is not None:
            return f
    return Fact()


@dataclass
class _Parts:
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
            server = (
                _param_fact(p, SERVER_OPTIONS[key], pf, pc) if key in SERVER_OPTIONS else Fact()
            )
            if key == "password-writeback":
                server = _first(server, _record_bool(self.reset, RESET_ENABLED, name, RESET))
            tenant = (
                _record_bool(self.company, COMPANY_FEATURES[key], name, COMPANY)
                if key in COMPANY_FEATURES
                else Fact()
            )
            if server.cmdlet is not None or tenant.cmdlet is not None:
                features[key] = ConnectFeature(server=server, tenant=tenant)
        config_version = _param_text(p, "Microsoft.Synchronize.ServerConfigurationVersion", pf, pc)
        return ConnectEvidence(
            files=(self.file,),
            server=self.file.server,
            collected_at=self.file.collected_at,
            version=_first(self.installed, config_version),
            server_configuration_version=config_version,
            features=dict(sorted(features.items())),
            device_writeback_forest=_param_text(p, "Microsoft.DeviceWriteBack.Forest", pf, pc),
            device_writeback_container=_param_text(
                p, "Microsoft.DeviceWriteBack.Container", pf, pc
            ),
            group_writeback_forest=_param_text(p, "Microsoft.GroupWriteBack.Forest", pf, pc),
            group_writeback_container=_param_text(p, "Microsoft.GroupWriteBack.Container", pf, pc),
            staging_mode=_first(
                _record_bool(self.scheduler, "StagingModeEnabled", name, SCHEDULER),
                _param_fact(p, "Microsoft.Synchronize.StagingMode", pf, pc),
            ),
            sync_cycle_enabled=_record_bool(self.scheduler, "SyncCycleEnabled", name, SCHEDULER),
            scheduler_suspended=_first(
                _record_bool(self.scheduler, "SchedulerSuspended", name, SCHEDULER),
                _param_fact(p, "Microsoft.Synchronize.SchedulerSuspended", pf, pc),
            ),
            ad_connectors=self.connectors,
            not_read=self.not_read,
        )


# -- the collector's JSON ---------------------------------------------------------------------


def _decode(data: bytes, name: str) -> str:
    """UTF-8 (a byte-order mark, as Windows PowerShell 5.1's ``-Encoding UTF8`` writes, is
    dropped) or UTF-16 with a byte-order mark (what ``>`` writes in Windows PowerShell)."""
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConnectEvidenceError(
            f"{name}: not UTF-8 or UTF-16 text (a bad byte at offset {exc.start})"
        ) from None


def _read_bytes(path: Path, name: str, limit: int) -> bytes:
    try:
        return read_bytes_bounded(path, limit)
    except TooLargeError as exc:
        raise ConnectEvidenceError(f"{name}: {exc.problem}") from None
    except OSError as exc:
        raise ConnectEvidenceError(f"cannot read {name}: {exc.strerror or exc}") from None


def read_collector_file(path: Path, name: str | None = None) -> ConnectEvidence:
    """The collector's JSON file → evidence (``name``: how to name the file; default ``path``)."""
    name = name or path.as_posix()
    data = _read_bytes(path, name, MAX_JSON_BYTES)
    try:
        doc = parse_json(_decode(data, name))
    except BadFileError as exc:
        raise ConnectEvidenceError(exc.located(name)) from None
    return collector_evidence(doc, name, hashlib.sha256(data).hexdigest())


def collector_evidence(doc: Any, name: str, digest: str) -> ConnectEvidence:
    """A parsed collector document → evidence (every type checked)."""
    r = _Reader(name)
    top = r.obj(doc, "the top level")
    if top.get("format") != EVIDENCE_FORMAT:
        raise ConnectEvidenceError(
            f"{name}: not a Connect evidence file (its 'format' is {_kind(top.get('format'))}, "
            f"not {EVIDENCE_FORMAT!r}); write one with the script `wbplan connect-collector` writes, "
            "or give a Get-ADSyncServerConfiguration export folder"
        )
    if top.get("format_version") != EVIDENCE_FORMAT_VERSION:
        raise ConnectEvidenceError(
            f"{name}: Connect evidence format_version {top.get('format_version')!r}; this wbplan "
            f"reads version {EVIDENCE_FORMAT_VERSION}"
        )
    unknown = sorted(
        set(top)
        - {"format", "format_version", "collector", "collected_at", "server", "reads", "not_read"}
    )
    if unknown:
        raise ConnectEvidenceError(f"{name}: unknown key {unknown[0]!r} at the top level")
    stated = r.text(top.get("collected_at"), "collected_at", optional=False)
    when = parse_time(stated)
    if when is None:
        raise ConnectEvidenceError(
            f"{name}: collected_at: expected an ISO 8601 time such as 2026-11-22T17:00:00Z, "
            f"found {stated!r}"
        )
    collected = when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    reads = r.obj(top.get("reads", {}), "reads")
    file = EvidenceFile(
        path=name,
        kind="collector",
        sha256=digest,
        collected_at=collected,
        server=r.text(top.get("server"), "server"),
        collector=r.text(top.get("collector"), "collector"),
    )
    parts = _Parts(file)
    if GS in reads:
        gs = r.obj(reads[GS], f"reads.{GS}")
        parts.params = r.texts(gs.get("Parameters", {}), f"reads.{GS}.Parameters")
    if COMPANY in reads:
        parts.company = r.scalars(reads[COMPANY], f"reads.{COMPANY}")
    if SCHEDULER in reads:
        parts.scheduler = r.scalars(reads[SCHEDULER], f"reads.{SCHEDULER}")
    if RESET in reads:
        parts.reset = r.scalars(reads[RESET], f"reads.{RESET}")
    if INSTALLED in reads:
        parts.installed = _installed(r, reads[INSTALLED], name)
    if CONNECTOR in reads:
        parts.connectors = tuple(_connectors(r, reads[CONNECTOR], name))
    not_read = r.items(top.get("not_read", []), "not_read")
    parts.not_read = tuple(
        NotRead(
            what=r.text(
                r.obj(n, f"not_read[{i}]").get("what"), f"not_read[{i}].what", optional=False
            )
            or "",
            reason=r.text(n.get("reason"), f"not_read[{i}].reason") or "",
        )
        for i, n in enumerate(not_read)
    )
    return parts.evidence()


def _installed(r: _Reader, value: Any, name: str) -> Fact:
    entries = r.items(value, f"reads.{INSTALLED}")
    for i, entry in enumerate(entries):
        e = r.obj(entry, f"reads.{INSTALLED}[{i}]")
        display = r.text(e.get("DisplayName"), f"reads.{INSTALLED}[{i}].DisplayName")
        version = r.text(e.get("DisplayVersion"), f"reads.{INSTALLED}[{i}].DisplayVersion")
        if display in INSTALLED_NAMES and version and version.strip():
            return Fact(
                value=version.strip(),
                raw=version,
                file=name,
                cmdlet=INSTALLED,
                field=f"{display} DisplayVersion",
            )
    return Fact()


def _connectors(r: _Reader, value: Any, name: str) -> Iterable[AdConnector]:
    for i, entry in enumerate(r.items(value, f"reads.{CONNECTOR}")):
        where = f"reads.{CONNECTOR}[{i}]"
        c = r.obj(entry, where)
        kind = r.text(c.get("Type"), f"{where}.Type")
        if (kind or "").strip().lower() != "ad":
            continue
        params = r.texts(c.get("ConnectivityParameters", {}), f"{where}.ConnectivityParameters")
        partitions: tuple[str, ...] | None = None
        if c.get("Partitions") is not None:
            chosen = []
            for j, p in enumerate(r.items(c["Partitions"], f"{where}.Partitions")):
                part = r.obj(p, f"{where}.Partitions[{j}]")
                dn = r.text(part.get("DN"), f"{where}.Partitions[{j}].DN")
                selected = part.get("Selected")
                if selected is not None and not isinstance(selected, bool):
                    r.fail(f"{where}.Partitions[{j}].Selected", "true, false or null", selected)
                if dn and selected is not False:
                    chosen.append(dn)
            partitions = tuple(chosen)
        yield AdConnector(
            name=r.text(c.get("Name"), f"{where}.Name", optional=False) or "",
            forest=(params.get("forest-name") or "").strip() or None,
            login_user=(params.get("forest-login-user") or "").strip() or None,
            login_domain=(params.get("forest-login-domain") or "").strip() or None,
            partitions=partitions,
            file=name,
            cmdlet=CONNECTOR,
        )


# -- a Get-ADSyncServerConfiguration export folder --------------------------------------------


def _xml_files(folder: Path, name: str, sub: str) -> list[tuple[str, Path]]:
    """``(relative name, path)`` of the regular ``*.xml`` files directly in ``folder/sub``
    (sorted); symbolic links are refused, nothing else is looked at."""
    where = folder / sub
    try:
        st = os.lstat(where)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ConnectEvidenceError(f"cannot read {name}/{sub}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(st.st_mode):
        raise ConnectEvidenceError(
            f"{name}/{sub} is a symbolic link; wbplan reads only the folders and files of the export itself"
        )
    if not stat.S_ISDIR(st.st_mode):
        return []
    found: list[tuple[str, Path]] = []
    try:
        with os.scandir(where) as entries:
            for entry in entries:
                if not entry.name.lower().endswith(".xml"):
                    continue
                if entry.is_symlink():
                    raise ConnectEvidenceError(
                        f"{name}/{sub}/{entry.name} is a symbolic link; wbplan reads only the "
                        "files of the export itself"
                    )
                if entry.is_file(follow_symlinks=False):
                    found.append((f"{sub}/{entry.name}", Path(entry.path)))
                if len(found) > MAX_FOLDER_FILES:
                    raise ConnectEvidenceError(
                        f"{name}/{sub}: more than {MAX_FOLDER_FILES} XML files; not a Connect export"
                    )
    except OSError as exc:
        raise ConnectEvidenceError(f"cannot read {name}/{sub}: {exc.strerror or exc}") from None
    return sorted(found)


def read_export_folder(folder: Path, name: str | None = None) -> ConnectEvidence:
    """A ``Get-ADSyncServerConfiguration -Path`` folder → evidence."""
    name = (name or folder.as_posix()).rstrip("/")
    settings = _xml_files(folder, name, "GlobalSettings")
    connectors = _xml_files(folder, name, "Connectors")
    if not settings and not connectors:
        raise ConnectEvidenceError(
            f"{name}: not a Get-ADSyncServerConfiguration export (no GlobalSettings/*.xml and no "
            "Connectors/*.xml in it)"
        )
    digest = hashlib.sha256()
    gs: exportxml.GlobalSettingsXml | None = None
    gs_name = ""
    ad: list[AdConnector] = []
    for rel, path in (*settings, *connectors):
        shown = f"{name}/{rel}"
        data = _read_bytes(path, shown, MAX_XML_BYTES)
        digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
        try:
            root = exportxml.parse(data)
        except exportxml.XmlRefusedError as exc:
            where = f"{shown}:{exc.line}:{exc.column}" if exc.line is not None else shown
            raise ConnectEvidenceError(f"{where}: {exc.problem}") from None
        if rel.startswith("GlobalSettings/"):
            found = exportxml.global_settings(root)
            if found is not None and gs is None:
                gs, gs_name = found, shown
            continue
        conn = exportxml.connector(root)
        if conn is None:
            raise ConnectEvidenceError(
                f"{shown}: not a connector (its root element is <{root.tag}>, not <ma-data>)"
            )
        if (conn.category or "").strip().upper() == "AD":
            ad.append(
                AdConnector(
                    name=conn.name,
                    forest=conn.forest,
                    login_user=conn.login_user,
                    login_domain=conn.login_domain,
                    partitions=conn.partitions,
                    file=shown,
                    cmdlet=EXPORT,
                )
            )
    if settings and gs is None:
        raise ConnectEvidenceError(
            f"{name}/GlobalSettings: no <saved-mv-configuration> file in it; not a Connect export"
        )
    collected = exportxml.export_time(gs.export_date) if gs else None
    file = EvidenceFile(
        path=name,
        kind="server-configuration",
        sha256=digest.hexdigest(),
        collected_at=collected,
        collected_at_note=(
            "the export's export-date states no time zone; read as UTC" if collected else None
        ),
        server=gs.server if gs else None,
    )
    parts = _Parts(
        file,
        params=dict(gs.parameters) if gs else None,
        params_cmdlet=EXPORT,
        params_file=gs_name,
        connectors=tuple(ad) if connectors else None,
    )
    return parts.evidence()


# -- several files ------------------------------------------------------------------------------


def read_evidence(path: Path) -> ConnectEvidence:
    """One ``--connect-evidence`` argument: a folder is an export, anything else a collector file."""
    name = path.as_posix()
    try:
        is_dir = path.is_dir()
    except OSError as exc:
        raise ConnectEvidenceError(f"cannot read {name}: {exc.strerror or exc}") from None
    if is_dir:
        return read_export_folder(path, name)
    return read_collector_file(path, name)


def _newest_first(item: ConnectEvidence) -> tuple[int, float]:
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
    ordered = sorted(parts, key=_newest_first)
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
            server=_first(*(f.server for f in feats)), tenant=_first(*(f.tenant for f in feats))
        )

    def pick(attr: str) -> Fact:
        return _first(*(getattr(p, attr) for p in ordered))

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


def import_evidence(paths: Iterable[Path]) -> ConnectEvidence:
    """Every ``--connect-evidence`` path, read and merged."""
    return merge([read_evidence(p) for p in paths])
