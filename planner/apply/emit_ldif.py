"""The AD part of a plan as an LDIF change file (RFC 2849) for ``ldapmodify`` / ``ldifde``.

One change record per step, in plan order:

* ``changetype: add`` with exactly the planned objectClass and attributes;
* ``changetype: modify`` + ``replace:`` for attribute drift;
* for ACE changes, one ``replace: nTSecurityDescriptor`` per DN (several ACE changes on one DN
  merge into one record): the DACL-only descriptor read at emit time with the planned ACEs
  merged in canonical order / removed, every other ACE kept byte-for-byte
  (:func:`planner.observe.sd.merge_into_descriptor`, :func:`~planner.observe.sd.remove_aces`).
  The record carries the LDAP_SERVER_SD_FLAGS control (DACL only) as an RFC 2849 ``control:``
  line, so owner, group and SACL are not touched — verified with OpenLDAP's ldapmodify on Samba
  (tests/apply/test_emit_samba.py);
* group memberships as ``add: member`` / ``delete: member``. The plan carries the group's and the
  connector's SIDs, not their DNs, so both are addressed as ``<SID=…>``, the alternative DN form
  AD accepts wherever a DN is expected (MS-ADTS 3.1.1.3.1.2.4; Samba accepts it too, tested).

An ACE on an object this same file creates cannot be computed in advance: the new object's DACL
comes from its class's defaultSecurityDescriptor and its parent, which exist only once the add
ran. Such ACE changes are listed as a second pass (apply the file, re-plan, emit again). The
header says the file is valid only while the objects are as they were read.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator, Mapping

from planner.apply.emit_steps import (
    AceStep,
    CreateObject,
    EmitError,
    EmitPlan,
    MembershipStep,
    Note,
    ReplaceAttributes,
    Step,
    ascii_text,
)
from planner.model.dn import dn_key
from planner.model.state import Ace
from planner.observe.sd import merge_into_descriptor, remove_aces

SD_FLAGS_OID = "1.2.840.113556.1.4.801"
SD_FLAGS_DACL_ONLY = bytes([0x30, 0x03, 0x02, 0x01, 0x04])
"""BER of ``SDFlagsRequestValue ::= SEQUENCE { Flags INTEGER }`` with Flags = 4
(DACL_SECURITY_INFORMATION), MS-ADTS 3.1.1.3.4.1.11."""
SD_CONTROL_LINE = (
    f"control: {SD_FLAGS_OID} true:: {base64.b64encode(SD_FLAGS_DACL_ONLY).decode('ascii')}"
)
"""Critical: a server that does not know the control must refuse the change rather than write
the whole descriptor (owner and SACL included)."""
_WIDTH = 76


# --------------------------------------------------------------------------- LDIF encoding


def _safe(value: str) -> bool:
    # RFC 2849 SAFE-STRING: ASCII without NUL/LF/CR, not starting with space, ':' or '<'; a
    # trailing space is base64-encoded too so that no tool trims it.
    if not value:
        return True
    if value[0] in " :<" or value[-1] == " ":
        return False
    return all(0 < ord(ch) < 0x80 and ch not in "\r\n" for ch in value)


def _fold(line: str) -> list[str]:
    """Lines of at most 76 characters; continuations start with one space (RFC 2849 §2)."""
    out = [line[:_WIDTH]]
    rest = line[_WIDTH:]
    while rest:
        out.append(" " + rest[: _WIDTH - 1])
        rest = rest[_WIDTH - 1 :]
    return out


def attr_line(name: str, value: str | bytes) -> list[str]:
    """``name: value``, or ``name:: base64`` when the value is binary or not a SAFE-STRING."""
    if isinstance(value, str) and _safe(value):
        return _fold(f"{name}: {value}")
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return _fold(f"{name}:: {base64.b64encode(raw).decode('ascii')}")


def _comment(text: str) -> str:
    return "# " + ascii_text(text)


def _ace_text(ace: Ace, names: tuple[str | None, str | None] = (None, None)) -> str:
    parts = [f"{ace.qualifier} mask=0x{ace.mask:x} flags=0x{ace.flags:x}"]
    if ace.object_type:
        parts.append(f"object={names[0] + ' ' if names[0] else ''}({ace.object_type})")
    if ace.inherited_object_type:
        name = names[1] + " " if names[1] else ""
        parts.append(f"applies-to={name}({ace.inherited_object_type})")
    parts.append(f"trustee={ace.trustee}")
    return " ".join(parts)


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- records


def _add_record(step: CreateObject) -> list[str]:
    lines = [*attr_line("dn", step.dn), "changetype: add"]
    for cls in step.object_class:
        lines += attr_line("objectClass", cls)
    for name in sorted(step.attributes):
        for value in step.attributes[name]:
            lines += attr_line(name, value)
    return lines


def _replace_record(step: ReplaceAttributes) -> list[str]:
    lines = [*attr_line("dn", step.dn), "changetype: modify"]
    for name in sorted(step.after):
        lines.append(f"replace: {name}")
        for value in step.after[name]:
            lines += attr_line(name, value)
        lines.append("-")
    return lines


def _membership_record(step: MembershipStep) -> list[str]:
    assert step.group_sid is not None and step.member_sid is not None
    verb = "add" if step.action == "create" else "delete"
    return [
        _comment(f"dn: <SID={step.group_sid}> ({step.group}); member: <SID={step.member_sid}>"),
        *attr_line("dn", f"<SID={step.group_sid}>"),
        "changetype: modify",
        f"{verb}: member",
        *attr_line("member", f"<SID={step.member_sid}>"),
        "-",
    ]


_DACL_ORIGIN = {"emit": "DACL read at emit time", "plan": "DACL as the plan observed it"}


def _sd_record(dn: str, old: bytes, steps: list[AceStep], origin: str) -> list[str] | None:
    removed = [s.ace for s in steps if s.action == "delete"]
    added = [s.ace for s in steps if s.action == "create"]
    new = merge_into_descriptor(remove_aces(old, removed), added)
    if new == old:
        return None
    lines = [_comment(f"{_DACL_ORIGIN[origin]}: {_sha(old)}")]
    for s in steps:
        sign = "+" if s.action == "create" else "-"
        names = (s.object_type_name, s.inherited_object_type_name)
        lines.append(_comment(f"{sign} ACE {_ace_text(s.ace, names)}"))
    lines += attr_line("dn", dn)
    lines += [SD_CONTROL_LINE, "changetype: modify", "replace: nTSecurityDescriptor"]
    lines += attr_line("nTSecurityDescriptor", new)
    lines.append("-")
    return lines


def _heading(step: Step) -> str:
    c = step.change
    sign = {"create": "+", "update": "~", "delete": "-"}.get(c.change.actions[0], "?")
    return _comment(f"{sign} {c.address} ({c.action_reason})")


def _records(
    emit: EmitPlan, descriptors: Mapping[str, bytes], origin: str = "emit"
) -> tuple[list[list[str]], list[str], list[str]]:
    """(records, second-pass notes, by-hand notes) in plan order."""
    created = emit.created_dns()
    by_dn: dict[str, list[AceStep]] = {}
    for s in emit.steps:
        if isinstance(s, AceStep):
            by_dn.setdefault(dn_key(s.dn), []).append(s)
    records: list[list[str]] = []
    later: list[str] = []
    by_hand: list[str] = []
    done: set[str] = set()
    for step in emit.steps:
        if isinstance(step, CreateObject):
            records.append([_heading(step), *_add_record(step)])
        elif isinstance(step, ReplaceAttributes):
            records.append([_heading(step), *_replace_record(step)])
        elif isinstance(step, MembershipStep):
            if step.group_sid is None or step.member_sid is None:
                by_hand.append(
                    f"{step.change.address}: the plan does not carry the SIDs needed to address "
                    f"the group; {'add' if step.action == 'create' else 'remove'} "
                    f"{step.member} {'to' if step.action == 'create' else 'from'} {step.group} "
                    "by hand (or use --emit powershell)"
                )
                continue
            records.append([_heading(step), *_membership_record(step)])
        else:
            key = dn_key(step.dn)
            if key in created:
                later.append(
                    f"{step.change.address}: {step.dn} is created by this file, so its DACL "
                    "cannot be read yet; apply this file, then `wbplan plan -out NEXT` and "
                    "`wbplan apply NEXT --emit ldif` for this ACE"
                )
                continue
            if key in done:
                continue
            done.add(key)
            if key not in descriptors:
                if origin == "plan":
                    raise EmitError(
                        f"the plan file does not record the DACL of {step.dn} "
                        f"({step.change.address}) in a form the LDIF can replace without losing "
                        "an ACE (or was written by a wbplan that did not record DACLs)",
                        hint="emit with a connection (--ldap-url …) so the DACL is read now, or "
                        "use --emit powershell, whose steps read each DACL when they run",
                    )
                raise EmitError(
                    f"no security descriptor was read for {step.dn} ({step.change.address})",
                    hint="read it with the SD-flags control (DACL only) before emitting",
                )
            record = _sd_record(step.dn, descriptors[key], by_dn[key], origin)
            headings = [_heading(s) for s in by_dn[key]]
            if record is None:
                records.append([*headings, _comment("already as planned: no record")])
            else:
                records.append([*headings, *record])
    return records, later, by_hand


# --------------------------------------------------------------------------- file


_VALIDITY = {
    "emit": [
        "VALID ONLY WHILE THE OBJECTS ARE UNCHANGED. Each nTSecurityDescriptor below is the DACL",
        "read from the DC when this file was written, with the planned ACEs merged in (every",
        "other ACE kept byte-for-byte); replacing it after someone else changed that DACL would",
        "undo their change. If anything changed since, re-plan and re-emit.",
    ],
    "plan": [
        "VALID ONLY WHILE THE OBJECTS ARE AS THE PLAN SAW THEM. Written with no connection: each",
        "nTSecurityDescriptor below is the DACL as observed for the plan (see 'planned from'),",
        "with the planned ACEs merged in; nothing was re-read and the plan was not checked for",
        "staleness. Replacing a DACL someone changed since would undo their change: if in doubt,",
        "re-plan, or emit with --ldap-url (reads and checks first), or use --emit powershell.",
    ],
}


def _header(
    emit: EmitPlan, ldap_url: str | None, planned_from: str | None, origin: str
) -> list[str]:
    plan = emit.plan
    url = ldap_url or "ldaps://DC.EXAMPLE.COM"
    lines = [
        f"wbplan LDIF change file: the Active Directory part of plan {plan.policy_name!r}",
        f"plan {emit.plan_digest} made {plan.timestamp} by wbplan {plan.wbplan_version}",
        planned_from or f"planned from {plan.state_source}",
        f"policy {plan.policy_file} {plan.policy_digest}",
        f"forest {plan.lineage.forest} ({plan.lineage.forest_guid or 'GUID not read'}), "
        f"tenant {plan.lineage.tenant_id}",
        "",
        *_VALIDITY[origin],
        "",
        "Apply as an account that holds the rights, stopping at the first error:",
        f"  LDAPTLS_CACERT=/path/to/dc-ca.pem ldapmodify -H {url} -x -D ADMIN@DOMAIN -W -f FILE",
        f"  ldapmodify -H {url} -Y GSSAPI -f FILE        (with a Kerberos ticket)",
        f"  ldifde -i -f FILE -s {url.split('://', 1)[-1]}        (Windows)",
        "OpenLDAP's ldapmodify sends the SD-flags `control:` lines (tested on Samba). Whether",
        "ldifde honours them is not confirmed: prefer ldapmodify, or --emit powershell.",
        "Then run `wbplan plan --detailed-exitcode`: exit 0 means AD matches the policy.",
    ]
    # Indented lines are commands: keep their indent so they read as such.
    return [
        ("#   " + ascii_text(x) if x.startswith("  ") else _comment(x)) if x else "#" for x in lines
    ]


def _note_lines(title: str, notes: list[Note] | list[str]) -> list[str]:
    if not notes:
        return []
    lines = ["#", _comment(title)]
    for n in notes:
        if isinstance(n, Note):
            lines.append(_comment(f"- {n.change.address}: {n.text}"))
        else:
            lines.append(_comment(f"- {n}"))
    return lines


def _chunks(records: list[list[str]]) -> Iterator[str]:
    for record in records:
        yield "\n".join(record)


def render_ldif(
    emit: EmitPlan,
    descriptors: Mapping[str, bytes],
    *,
    ldap_url: str | None = None,
    planned_from: str | None = None,
    descriptors_from: str = "emit",
) -> str:
    """The LDIF text (LF line ends, ASCII only). ``descriptors_from``: ``emit`` (read from the
    DC now) or ``plan`` (the DACLs the plan file recorded; no connection)."""
    records, later, by_hand = _records(emit, descriptors, descriptors_from)
    top = ["version: 1", "", *_header(emit, ldap_url, planned_from, descriptors_from)]
    top += _note_lines("Before this file, a person must (wbplan cannot):", emit.notes_of("manual"))
    if not records:
        top += ["#", _comment("No Active Directory change in this plan can be written here.")]
    bottom = _note_lines("Not in this file, blocked by a step above:", emit.notes_of("deferred"))
    bottom += _note_lines("Second pass (after this file is applied):", later)
    bottom += _note_lines("Not in this file; do it by hand:", by_hand)
    bottom += _note_lines(
        "Tenant part (Microsoft Graph), after the AD part, in this order:",
        emit.notes_of("tenant"),
    )
    bottom += _note_lines("Cannot be verified remotely; check by hand:", emit.notes_of("read"))
    parts = ["\n".join(top), *_chunks(records)]
    if bottom:
        parts.append("\n".join(bottom[1:]))
    return "\n\n".join(parts) + "\n"
