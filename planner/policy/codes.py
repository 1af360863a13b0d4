"""Every diagnostic code ``wbplan validate`` reports, what it means, and the public sources the
checks behind it rest on.

Codes are stable: a code names one class of mistake and keeps its number (scripts and editors
match on it). The ranges: ``WBP00x`` the file and its YAML, ``WBP01x`` the shape (JSON Schema),
``WBP02x`` distinguished names, ``WBP03x`` Entra Connect features Microsoft withdrew or does not
support, ``WBP04x`` waivers, ``WBP05x`` several policy files together, ``WBP06x`` Microsoft Entra
Cloud Sync (``cloud_sync``). A diagnostic that refuses something because Microsoft does not
support it says why in its message and names the first source below in its hint; every source
is in the catalogue of ``planner/references.py`` and listed with the codes citing it in
``docs/references.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.references import source


@dataclass(frozen=True)
class DiagnosticCode:
    """One diagnostic code."""

    code: str
    title: str
    references: tuple[str, ...] = ()
    """Source ids (``planner/references.py``) of the facts the check rests on."""


CODES: tuple[DiagnosticCode, ...] = (
    DiagnosticCode("WBP000", "the file or folder cannot be read, or is too large"),
    DiagnosticCode(
        "WBP001",
        "not readable YAML (syntax, encoding, nesting, size, an integer too long to be a value)",
    ),
    DiagnosticCode("WBP002", "a key appears twice in one mapping"),
    DiagnosticCode("WBP003", "the document is not one mapping"),
    DiagnosticCode("WBP010", "unknown key"),
    DiagnosticCode("WBP011", "wrong type"),
    DiagnosticCode("WBP012", "missing required key"),
    DiagnosticCode("WBP013", "value not allowed"),
    DiagnosticCode("WBP014", "invalid value (pattern or format)"),
    DiagnosticCode("WBP015", "list or text constraint (empty, too short, repeated entry)"),
    DiagnosticCode("WBP020", "invalid distinguished name"),
    DiagnosticCode("WBP021", "a distinguished name outside the declared forest"),
    DiagnosticCode("WBP030", "user writeback enabled (withdrawn in 2015)", ("S25",)),
    DiagnosticCode("WBP031", "group writeback v2 (retired after June 30, 2024)", ("S20", "S21")),
    DiagnosticCode("WBP032", "device writeback for more than one forest", ("S4",)),
    DiagnosticCode("WBP033", "group writeback without its OU"),
    DiagnosticCode("WBP034", "remove_preparation on an enabled feature"),
    DiagnosticCode("WBP035", "the device domain is outside the declared forest"),
    DiagnosticCode("WBP036", "an Entra Connect feature without the connector account"),
    DiagnosticCode("WBP040", "waiver expired (a warning; `wbplan check` fails it)"),
    DiagnosticCode("WBP041", "waiver expires within 30 days (a warning)"),
    DiagnosticCode("WBP042", "waiver for a rule that does not exist"),
    DiagnosticCode("WBP043", "waiver for a rule the policy never evaluates (a warning)"),
    DiagnosticCode("WBP050", "a forest declared by two policy files"),
    DiagnosticCode(
        "WBP060",
        "two Cloud Sync entries for one AD domain (one configuration per domain)",
        ("M12",),
    ),
    DiagnosticCode(
        "WBP061", "more than 20 Cloud Sync configurations for one tenant", ("M13", "M12")
    ),
    DiagnosticCode(
        "WBP062",
        "Cloud Sync group provisioning together with Connect group writeback v2",
        ("S21", "S20"),
    ),
    DiagnosticCode(
        "WBP063",
        "one writeback feature served by both Entra Connect and Cloud Sync for one domain",
        ("M10", "M11", "S27"),
    ),
    DiagnosticCode("WBP064", "a Cloud Sync target OU outside the entry's domain", ("M13", "S22")),
    DiagnosticCode("WBP065", "a custom gMSA not named DOMAIN\\name$", ("M15", "M14")),
    DiagnosticCode("WBP066", "a Cloud Sync domain outside the declared forest"),
    DiagnosticCode(
        "WBP067", "the group writeback v2 OU of a migration outside the entry's domain", ("S21",)
    ),
)

CODE_INFO: dict[str, DiagnosticCode] = {c.code: c for c in CODES}
"""Code → its entry."""


def see(code: str, source_id: str | None = None) -> str:
    """``see <address>`` of the code's first source (or of ``source_id``, one of its sources):
    the end of a hint."""
    info = CODE_INFO[code]
    sid = source_id or info.references[0]
    assert sid in info.references, f"{code} does not cite {sid}"
    return f"see {source(sid).url}"
