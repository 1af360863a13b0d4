"""Import Connect server evidence: the collector's JSON file or a ``Get-ADSyncServerConfiguration``
export folder → :class:`~planner.model.connect.ConnectEvidence` (what each fact is read from:
``planner.connect.facts``).

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from planner.connect import exportxml
from planner.connect.facts import (
    COMPANY,
    CONNECTOR,
    EXPORT,
    GS,
    INSTALLED,
    INSTALLED_NAMES,
    RESET,
    SCHEDULER,
    Parts,
    merge,
)
from planner.connect.verdicts import parse_time
from planner.errors import ConnectEvidenceError
from planner.fileio import BadFileError, TooLargeError, parse_json, read_bytes_bounded
from planner.model.connect import (
    EVIDENCE_FORMAT,
    EVIDENCE_FORMAT_VERSION,
    AdConnector,
    ConnectEvidence,
    EvidenceFile,
    Fact,
    NotRead,
)

__all__ = [
    "COMPANY",
    "CONNECTOR",
    "GS",
    "INSTALLED",
    "INSTALLED_NAMES",
    "RESET",
    "SCHEDULER",
    "import_evidence",
    "merge",
    "read_collector_file",
    "read_evidence",
    "read_export_folder",
]

MAX_JSON_BYTES = 32 * 1024 * 1024
"""Largest collector file read (32 MiB; a real one is a few kilobytes)."""
MAX_XML_BYTES = 64 * 1024 * 1024
"""Largest export XML file read (64 MiB; an AD connector with its whole schema is a few MB)."""
MAX_FOLDER_FILES = 200
"""Most XML files read from one folder of an export (a server has a handful of connectors)."""


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
    parts = Parts(file)
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
        # UNCONFIRMED: the Type value "AD" of an Active Directory connector on the cmdlet's object
        # is seen in third-party scripts (`Type -eq "AD"`); Microsoft's sample export has the same
        # word as the connector's <category>.
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
                # UNCONFIRMED: the partition properties DN and Selected of Get-ADSyncConnector's
                # objects are seen in a third-party script (Laparoscope) only.
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
    parts = Parts(
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


def import_evidence(paths: Iterable[Path]) -> ConnectEvidence:
    """Every ``--connect-evidence`` path, read and merged."""
    return merge([read_evidence(p) for p in paths])
