"""Read the XML files of a ``Get-ADSyncServerConfiguration -Path`` export (the only module that
imports defusedxml).

The export folder holds ``GlobalSettings/*.xml`` (the metaverse configuration, root
``saved-mv-configuration``, with the server's global parameters under
``mv-data/parameter-values/parameter[@name]``), ``Connectors/Connector_{guid}.xml`` (root
``ma-data``; an Active Directory connector has ``category`` ``AD`` and its sign-in under
``private-configuration/adma-configuration``: ``forest-name``, ``forest-login-user``,
``forest-login-domain``; its partitions under ``ma-partition-data/partition`` with ``name`` and
``selected``) and ``SynchronizationRules/*.xml`` (not read: no writeback fact lives there).
Shapes as in the sample exports Microsoft publishes with AADConnectConfigDocumenter
(microsoft/AADConnectConfigDocumenter, ``src/SolutionOutput/Data/Contoso/*``: a 1.1.130.0
server), which is also how that tool reads them (``/mv-data//parameter-values/parameter``).

UNCONFIRMED: that exports of 1.4 and 2.x servers keep this layout and these element names (the
only public sample export is of a 1.1.130.0 server; 2.x evidence is best collected with the
collector script), and the time zone of ``export-date`` (none is written; read as UTC).

Parsing refuses any DTD (so no entity can be declared, expanded or fetched: billion laughs and
external entities fail before anything is expanded or read) and never resolves anything outside
the bytes it is given.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from xml.etree.ElementTree import Element  # types only: parsing goes through defusedxml

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException


class XmlRefusedError(ValueError):
    """The bytes are not a usable XML document; ``problem`` says why in one line, ``line`` and
    ``column`` (1-based) where, when known."""

    def __init__(self, problem: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line
        self.column = column


def parse(data: bytes) -> Element:
    """Parse ``data`` (any encoding the document declares or its byte-order mark shows), with
    DTDs, entities and external references refused."""
    try:
        root: Element = SafeET.fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise XmlRefusedError(
            f"refused: it declares a DTD or entities ({type(exc).__name__}); a Connect export "
            "holds none, and wbplan expands no entity and fetches nothing"
        ) from None
    except SafeET.ParseError as exc:
        line, column = exc.position
        reason = str(exc.msg).split(": line ")[0]
        raise XmlRefusedError(
            f"not well-formed XML (truncated or damaged?): {reason}", line, column + 1
        ) from None
    return root


def _text(element: Element | None) -> str | None:
    if element is None:
        return None
    return (element.text or "").strip()


@dataclass(frozen=True)
class GlobalSettingsXml:
    """The metaverse configuration file's facts."""

    server: str | None
    export_date: str | None
    """``export-date`` as written (``2016-05-03 14:28:09.784``: no time zone)."""
    parameters: dict[str, str]


def global_settings(root: Element) -> GlobalSettingsXml | None:
    """The server's global parameters, or None when ``root`` is not a ``saved-mv-configuration``."""
    if root.tag != "saved-mv-configuration":
        return None
    params: dict[str, str] = {}
    for p in root.iterfind("mv-data/parameter-values/parameter"):
        name = p.get("name")
        if name:
            params[name] = (p.text or "").strip()
    return GlobalSettingsXml(root.get("server"), root.get("export-date"), params)


@dataclass(frozen=True)
class ConnectorXml:
    """One connector file's facts."""

    name: str
    category: str | None
    forest: str | None
    login_user: str | None
    login_domain: str | None
    partitions: tuple[str, ...] | None


def connector(root: Element) -> ConnectorXml | None:
    """A connector's name, category, sign-in and selected partitions, or None when ``root`` is
    not an ``ma-data``."""
    if root.tag != "ma-data":
        return None
    adma = root.find("private-configuration/adma-configuration")

    def param(name: str) -> str | None:
        if adma is None:
            return None
        direct = _text(adma.find(name))
        if direct:
            return direct
        for p in adma.iterfind("parameter-values/parameter"):
            if p.get("name") == name and (p.text or "").strip():
                return (p.text or "").strip()
        return None

    partitions: tuple[str, ...] | None = None
    data = root.find("ma-partition-data")
    if data is not None:
        partitions = tuple(
            _text(part.find("name")) or ""
            for part in data.iterfind("partition")
            if _text(part.find("selected")) == "1" and _text(part.find("name"))
        )
    return ConnectorXml(
        name=_text(root.find("name")) or "",
        category=_text(root.find("category")),
        forest=param("forest-name"),
        login_user=param("forest-login-user"),
        login_domain=param("forest-login-domain"),
        partitions=partitions,
    )


def export_time(text: str | None) -> str | None:
    """``2016-05-03 14:28:09.784`` → ``2016-05-03T14:28:09Z`` (the export states no time zone:
    read as UTC, and the caller says so); None when absent or not such a time."""
    if not text:
        return None
    for pattern in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            parsed = dt.datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
        return parsed.replace(microsecond=0).isoformat() + "Z"
    return None
