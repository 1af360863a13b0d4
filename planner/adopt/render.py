"""The imported policy as YAML, every entry with a comment saying what it was inferred from
(pure).

Values are written plain when YAML reads them back as the same string, else double-quoted with
YAML escapes; comments never carry a line break or a control character from an observed value.
:func:`render` checks its own output with the policy loader's parser, schema and semantic checks
(and that it reads back as the policy it meant), so an import that does not validate is a
wbplan bug, never a file left for the user to find.
"""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from typing import Any

from planner.adopt.cloudsync import CloudSyncFinding, DomainFinding
from planner.adopt.core import Adoption
from planner.adopt.features import Finding

WIDTH = 100
_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9_.,=\\@-]*(?: [A-Za-z0-9_.,=\\@-]+)*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}
_LINE_BREAKS = {"\x85", "\u2028", "\u2029", "\ufeff"}


def scalar(value: Any) -> str:
    """A YAML scalar for ``value`` (bool, int or str)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED:
        return text
    return _quoted(text)


def _quoted(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif 0x20 <= code < 0x7F:
            out.append(ch)
        elif code < 0x100 and (code < 0x20 or code == 0x7F or not ch.isprintable()):
            out.append(f"\\x{code:02x}")
        elif ch in _LINE_BREAKS or not ch.isprintable() or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def safe_text(text: str) -> str:
    """``text`` fit for a comment line: control characters and line breaks escaped."""
    return "".join(
        ch
        if ch.isprintable() and ch not in _LINE_BREAKS
        else f"\\x{ord(ch):02x}"
        if ord(ch) < 0x100
        else f"\\U{ord(ch):08x}"
        for ch in text
    )


_DN = re.compile(r"(?:[A-Za-z][\w-]*=(?:\\.|[^,=\\])*?,)+DC=[\w-]+")
_KEEP = "\x00"


def _keep_dns_whole(text: str) -> str:
    """Spaces inside DNs become a placeholder textwrap does not break at."""
    return _DN.sub(lambda m: m.group(0).replace(" ", _KEEP), text)


def comment(text: str, indent: int, *, bullet: bool = False) -> list[str]:
    """``text`` as comment lines at ``indent``, wrapped (continuation lines indented, never
    inside a DN); as a ``- `` list item under a heading with ``bullet``."""
    pad = " " * indent
    first, rest = ("  - ", "    ") if bullet else ("", "  ")
    lines = textwrap.wrap(
        _keep_dns_whole(safe_text(text)),
        width=max(40, WIDTH - indent - 2),
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return [f"{pad}# {line}".replace(_KEEP, " ").rstrip() for line in lines or [""]]


def block(key: str, value: Any, indent: int) -> list[str]:
    """``key: value`` in block style (mappings and lists nested below)."""
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return [f"{pad}{key}: {{}}"]
        lines = [f"{pad}{key}:"]
        for k, v in value.items():
            lines.extend(block(k, v, indent + 2))
        return lines
    if isinstance(value, (list, tuple)):
        if not value:
            return [f"{pad}{key}: []"]
        return [f"{pad}{key}:", *(f"{pad}  - {scalar(v)}" for v in value)]
    return [f"{pad}{key}: {scalar(value)}"]


def _header(a: Adoption) -> list[str]:
    lines = comment(
        f"wbplan import: the writeback already prepared in {a.forest}, as observed in "
        f"{a.source} at {a.observed_at}.",
        0,
    )
    lines += comment(
        "Each entry says what it was inferred from. `wbplan plan` with this policy against the "
        "same observation plans no change for what is imported; it never changed anything to "
        "find out. A commented-out entry is partly prepared: uncomment it and the plan lists "
        "what is missing.",
        0,
    )
    lines.append("#")
    lines.append("# Not inferred (no observation holds them):")
    for item in a.not_inferred:
        lines += comment(item, 0, bullet=True)
    if a.shared_notes:
        lines.append("#")
        lines += comment(
            "Every plan with a writeback feature shows, so no feature that needs it is imported: "
            + "; ".join(a.shared_notes),
            0,
        )
    if a.global_notes:
        lines.append("#")
        lines += comment(
            "Every plan of this observation shows, whatever the policy says (not a writeback "
            "entry; fix it where it lives): " + "; ".join(a.global_notes),
            0,
        )
    return lines


def _feature_lines(f: Finding) -> list[str]:
    notes = [*f.notes, *f.unverified]
    if f.entry is not None:
        lines = comment(f"{f.feature} — imported:", 2)
        for note in notes:
            lines += comment(note, 2, bullet=True)
        return lines + block(f.feature, f.entry, 2)
    if not notes and f.suggestion is None:
        return []
    lines = comment(f"{f.feature} — {f.status}:", 2)
    for note in notes:
        lines += comment(note, 2, bullet=True)
    if f.suggestion is not None:
        lines += [f"  # {line[2:]}" for line in block(f.feature, f.suggestion, 2)]
    return lines


def _commented(lines: list[str]) -> list[str]:
    """YAML lines as comments, keeping their indentation."""
    out = []
    for line in lines:
        body = line.lstrip(" ")
        pad = line[: len(line) - len(body)]
        out.append(f"{pad}# {body}")
    return out


def _domain_lines(d: DomainFinding, indent: int) -> list[str]:
    """One ``cloud_sync.domains[]`` item with its comments; commented out entirely when
    nothing of it is imported (its partly prepared features then show what to uncomment)."""
    pad = " " * indent
    lines: list[str] = []
    entry = d.entry()
    status = "imported" if entry is not None else "nothing imported"
    lines += comment(f"{d.domain} — {status}:", indent)
    for note in d.notes:
        lines += comment(note, indent, bullet=True)
    for f in d.features:
        if not f.notes:
            continue
        lines += comment(f"{f.key} — {f.status}:", indent + 2)
        for note in f.notes:
            lines += comment(note, indent + 2, bullet=True)
    shown = entry if entry is not None else d.suggestion()
    if shown is None:
        return lines
    item = [f"{pad}- domain: {scalar(d.domain)}"]
    for f in d.features:
        value = f.value if entry is not None else (f.value if f.value is not None else f.suggestion)
        if value is None and entry is not None and f.suggestion is not None:
            item += _commented(block(f.key, f.suggestion, indent + 2))
        elif value is not None:
            item += block(f.key, value, indent + 2)
            if entry is not None and f.value is not None:
                # keys of an unfinished step (a v2 migration), to uncomment once it is wanted
                for key, pending in f.pending.items():
                    item += _commented(block(key, pending, indent + 4))
    return lines + (item if entry is not None else _commented(item))


def _cloud_sync_lines(c: CloudSyncFinding) -> list[str]:
    """The ``cloud_sync`` section with its comments (commented out when nothing of it is
    imported but something is partly prepared; comments only when nothing is)."""
    section = c.section()
    lines = comment(
        "cloud_sync — Microsoft Entra Cloud Sync " + ("imported:" if section else "found:"), 0
    )
    for note in c.notes:
        lines += comment(note, 0, bullet=True)
    body = ["cloud_sync:"]
    if c.gmsa:
        body.append("  gmsa:")
        body += [x for note in c.gmsa_notes for x in comment(note, 4)]
        body += block("account", c.gmsa["account"], 4)
    else:
        body += [x for note in c.gmsa_notes for x in comment(f"gmsa: {note}", 2)]
    body.append("  domains:")
    items = [x for d in c.domains for x in _domain_lines(d, 4)]
    if section is not None:
        return lines + body + items
    if not any(d.suggestion() for d in c.domains):
        return lines + [x for x in body if x.lstrip().startswith("#")] + items
    return lines + [x if x.lstrip().startswith("#") else _commented([x])[0] for x in body] + items


def render(a: Adoption, today: dt.date | None = None) -> str:
    """The policy YAML (validated before it is returned)."""
    doc = a.document()
    lines = _header(a)
    lines.append(f"apiVersion: {doc['apiVersion']}")
    lines.append(f"kind: {doc['kind']}")
    lines += block("metadata", doc["metadata"], 0)
    lines += comment(f"forest: {a.forest_note}", 0)
    lines.append(f"forest: {scalar(a.forest)}")
    lines.append("tenant:")
    lines += comment(a.tenant_notes[0], 2)
    lines.append(f"  id: {scalar(a.tenant_id)}")
    for note in a.tenant_notes[1:]:
        lines += comment(note, 2)
    lines.append(f"  domain: {scalar(a.tenant_domain)}")
    if a.connector is None:
        for note in a.connector_notes:  # no connector: said in a comment, nothing declared
            lines += comment(note, 0)
    else:
        lines.append("connector:")
        for note in a.connector_notes:
            lines += comment(note, 2)
        lines.append(f"  account: {scalar(a.connector)}")
    if a.connect_version:
        lines.append("connect:")
        for note in a.connect_notes:
            lines += comment(note, 2)
        lines.append(f"  version: {scalar(a.connect_version)}")
    elif a.connect_notes:
        for note in a.connect_notes:
            lines += comment(f"connect: {note}", 0)
    lines.append("licences:")
    for note in a.licence_notes:
        lines += comment(note, 2)
    lines += block("require", doc["licences"]["require"], 2)
    writeback = doc["writeback"]
    lines.append("writeback:" if writeback else "writeback: {}")
    if not writeback and any(f.suggestion is not None for f in a.findings):
        lines += comment(
            "nothing is imported: to use an entry below, write `writeback:` instead of "
            "`writeback: {}` and uncomment it",
            2,
        )
    for f in a.findings:
        lines += _feature_lines(f)
    if a.cloud_sync is not None:
        lines += _cloud_sync_lines(a.cloud_sync)
    text = "\n".join(lines) + "\n"
    check(text, doc, today)
    return text


def check(text: str, doc: dict[str, Any], today: dt.date | None = None) -> None:
    """``text`` parses back to ``doc`` and passes the policy schema and semantic checks."""
    from planner.policy.loader import today_utc
    from planner.policy.semantics import semantic_diagnostics
    from planner.policy.shape import shape_diagnostics
    from planner.policy.yamlmarks import parse_yaml

    parsed = parse_yaml(text, "<import>")
    diags = [*parsed.diagnostics]
    if parsed.data != doc:
        raise AssertionError(f"the imported policy does not read back as written: {parsed.data!r}")
    diags += shape_diagnostics(parsed, "<import>")
    diags += semantic_diagnostics(parsed, "<import>", today or today_utc(), set())
    errors = [d.format() for d in diags if d.severity == "error"]
    if errors:
        raise AssertionError("the imported policy does not validate: " + "; ".join(errors))
