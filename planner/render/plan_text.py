"""Terraform-like text rendering of a plan, read from the public JSON document (so text and JSON
can never disagree).

Layout: a legend of symbols; one block per change that does something (``+ ~ - ! ?``) with its
reason, ``before → after`` and the ``why``; deferred changes listed under the manual change that
blocks them; unchanged resources hidden behind a count; and the closing line
``Plan: X to add, Y to change, Z to destroy, M manual.`` Colour is applied by the caller's flag
(the CLI enables it only on a terminal).
"""

from __future__ import annotations

import json
from typing import Any

from planner.references import confidence_text
from planner.references import lines as source_lines

SYMBOLS = {"create": "+", "update": "~", "delete": "-", "no-op": " ", "manual": "!", "read": "?"}
VERBS = {
    "create": "will be created",
    "update": "will be updated in-place",
    "delete": "will be destroyed",
    "manual": "needs a person",
    "read": "cannot be verified remotely",
}
COLOURS = {"create": "32", "update": "33", "delete": "31", "manual": "35", "read": "36"}


def _c(text: str, action: str, color: bool) -> str:
    return f"\x1b[{COLOURS[action]}m{text}\x1b[0m" if color and action in COLOURS else text


def _value(v: Any) -> str:
    return json.dumps(v, sort_keys=True, ensure_ascii=False)


def ace_line(ace: dict[str, Any]) -> str:
    """One ACE spec as ``allow mask=0x.. flags=0x.. object=… applies-to=…``."""
    parts = [f"{ace['qualifier']} mask=0x{ace['mask']:x} flags=0x{ace['flags']:x}"]
    if ace.get("object_type"):
        name = ace.get("object_type_name")
        parts.append(
            f"object={name} ({ace['object_type']})" if name else f"object={ace['object_type']}"
        )
    if ace.get("inherited_object_type"):
        name = ace.get("inherited_object_type_name")
        tail = f"{name} ({ace['inherited_object_type']})" if name else ace["inherited_object_type"]
        parts.append(f"applies-to={tail}")
    return " ".join(parts)


def _is_ace(value: Any) -> bool:
    return isinstance(value, dict) and {"qualifier", "mask", "trustee"} <= set(value)


def _shown(value: Any, principals: dict[str, str]) -> str:
    """A before/after value: ACEs (alone or in a list) in dsacls words with the trustee's name,
    as the ``ace:`` lines; anything else as JSON."""
    if _is_ace(value):
        return ace_words(value, principals)
    if isinstance(value, list) and value and all(_is_ace(v) for v in value):
        return "[" + "; ".join(ace_words(v, principals) for v in value) + "]"
    return _value(value)


def ace_words(ace: Any, principals: dict[str, str]) -> str:
    """The ACE apply writes (``change.after``; for a removal ``change.before``) in dsacls words,
    trustee by name with its SID: what a reviewer reads is what runs."""
    from planner.acewords import Names
    from planner.model.state import Ace

    if not isinstance(ace, dict):
        return "(no ACE recorded)"
    names = Names(None)
    names.sids.update(principals)
    return names.ace(Ace.model_validate(ace))


def _detail(
    change: dict[str, Any], indent: str, principals: dict[str, str] | None = None
) -> list[str]:
    principals = principals or {}
    detail = change["change"]
    action = detail["actions"][0]
    before, after = detail.get("before"), detail.get("after")
    lines: list[str] = []
    if change.get("ace") and action in ("create", "delete"):
        concrete = after if action == "create" else before
        lines.append(f"{indent}ace: {ace_words(concrete, principals)}")
    elif isinstance(after, dict) and action == "create":
        for k in sorted(k for k in after if k != "dn"):
            lines.append(f"{indent}{k} = {_value(after[k])}")
    elif isinstance(before, dict) and isinstance(after, dict):
        for k in sorted(set(before) | set(after)):
            if before.get(k) != after.get(k):
                old = _shown(before.get(k), principals)
                lines.append(f"{indent}{k}: {old} -> {_shown(after.get(k), principals)}")
    if change.get("blast_radius"):
        br = change["blast_radius"]
        lines.append(f"{indent}BLAST RADIUS: {br['description']}: {br['count']} group(s)")
        lines.extend(f"{indent}  - {dn}" for dn in br.get("first", []))
        if br["count"] > len(br.get("first", [])):
            lines.append(f"{indent}  … and {br['count'] - len(br.get('first', []))} more")
    if change.get("instructions") and action in ("manual", "read"):
        lines.append(f"{indent}todo: {change['instructions']}")
    if change.get("blocked_by"):
        lines.append(f"{indent}waits for: {', '.join(change['blocked_by'])}")
    lines.append(f"{indent}why: {change['why']}")
    lines.extend(f"{indent}see: {s}" for s in source_lines(change.get("references") or ()))
    note = confidence_text(change.get("confidence", "documented"), change.get("confidence_note"))
    if note:
        lines.append(f"{indent}confidence: {note}")
    return lines


def _block(
    change: dict[str, Any],
    color: bool,
    indent: str = "  ",
    principals: dict[str, str] | None = None,
) -> list[str]:
    action = change["change"]["actions"][0]
    head = f"{indent}{_c(SYMBOLS[action], action, color)} {change['address']}"
    verb = "was not observed" if change["action_reason"] == "not_observed" else VERBS[action]
    lines = [f"{indent}# {change['address']} {verb} ({change['action_reason']})", head]
    lines.extend(_detail(change, indent + "      ", principals))
    return lines


def not_observed(doc: dict[str, Any]) -> int:
    """How many changes are unknown because their side was not observed (not merely
    unverifiable): the plan cannot claim the configuration matches."""
    return sum(1 for c in doc["resource_changes"] if c["action_reason"] == "not_observed")


def summary_line(doc: dict[str, Any]) -> str:
    """The closing line."""
    s = doc["summary"]
    if not (s["add"] or s["change"] or s["destroy"] or s["manual"] or s["deferred"]):
        missing = not_observed(doc)
        if missing:
            return f"No changes in what was observed; {missing} item(s) were not observed, so the plan is incomplete."
        return "No changes. Writeback configuration matches the policy."
    return f"Plan: {s['add']} to add, {s['change']} to change, {s['destroy']} to destroy, {s['manual']} manual."


def render_text(doc: dict[str, Any], *, color: bool = False) -> str:
    """The human plan."""
    out: list[str] = []
    lineage = doc["lineage"]
    out.append(
        f"wbplan {doc['wbplan_version']}: policy {doc['policy_name']} ({doc['policy_file']}) against "
        f"{doc['state_source']}; forest {lineage['forest']}, tenant {lineage['tenant_id']}"
    )
    changes = doc["resource_changes"]
    deferred = doc["deferred_changes"]
    acting = [c for c in changes if c["change"]["actions"][0] != "no-op"]
    if doc.get("destructive"):
        radius = any((c.get("blast_radius") or {}).get("count") for c in (*changes, *deferred))
        see = " and BLAST RADIUS" if radius else ""
        out += [
            "",
            _c(f"WARNING: this plan destroys something (see '-'{see} below).", "delete", color),
        ]
    if acting or deferred:
        only_reads = not deferred and all(c["change"]["actions"][0] == "read" for c in acting)
        out += [
            "",
            "Symbols: + create  ~ update in-place  - destroy  ! manual (a person must act)  ? cannot be verified remotely",
            "",
            "Nothing to change; these items cannot be checked from here:"
            if only_reads
            else "wbplan will perform the following actions, in this order:",
        ]
    blocked_under: dict[str, list[dict[str, Any]]] = {}
    for d in deferred:
        for b in d["blocked_by"]:
            blocked_under.setdefault(b, []).append(d)
    for c in acting:
        out.append("")
        out.extend(_block(c, color, principals=doc.get("principals") or {}))
        for d in blocked_under.get(c["address"], []):
            out.append(
                f"      blocks: {SYMBOLS[d['change']['actions'][0]]} {d['address']} ({d['action_reason']})"
            )
    if deferred:
        out += ["", f"Deferred until what blocks them above is resolved ({len(deferred)}):"]
        for d in deferred:
            out.append(
                f"  {SYMBOLS[d['change']['actions'][0]]} {d['address']}  [blocked by {', '.join(d['blocked_by'])}]"
            )
            if d.get("blast_radius"):
                # a deferred step still destroys when it runs: the warning above points here
                br = d["blast_radius"]
                out.append(f"      BLAST RADIUS: {br['description']}: {br['count']} group(s)")
    unchanged = len(changes) - len(acting)
    if unchanged:
        out += [
            "",
            f"{unchanged} resource(s) already match the policy (hidden; --format json lists them).",
        ]
    s = doc["summary"]
    missing = not_observed(doc)
    if s["read"] - missing:
        out.append(
            f"{s['read'] - missing} item(s) cannot be verified remotely: check them by hand ('todo' lines)."
        )
    if missing:
        out.append(
            f"{missing} item(s) were not observed: refresh with access to them ('todo' lines)."
        )
    out += ["", summary_line(doc)]
    return "\n".join(out) + "\n"
