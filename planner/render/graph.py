"""The plan's dependency graph as Mermaid (for pull-request comments) or Graphviz DOT (for
``dot -Tsvg``), read from the public JSON plan document like every other renderer.

Nodes are the addresses of ``resource_changes`` and ``deferred_changes``, labelled with the
action symbol and a short address (a DN shortened to its first RDN); edges point from a
prerequisite to what depends on it and are drawn only between addresses present in the plan
(the same rule ``planner.dag`` applies). Node ids are derived from the address by hashing, so
they are safe in both languages and stable when other nodes come and go; the output is
deterministic: nodes in plan order, edges sorted.
"""

from __future__ import annotations

import hashlib
from typing import Any

from planner.model.dn import DnError, split_rdns

SYMBOLS = {"create": "+", "update": "~", "delete": "-", "no-op": "", "manual": "!", "read": "?"}
ACTION_CLASSES = {
    "create": "create",
    "update": "update",
    "delete": "delete",
    "no-op": "noop",
    "manual": "manual",
    "read": "read",
}
# fill, stroke, text colour per action (shared by both formats so they look alike)
STYLES: dict[str, tuple[str, str, str]] = {
    "create": ("#d4f7dc", "#1a7f37", "#0b3d1a"),
    "update": ("#fff3c4", "#9a6700", "#4d3300"),
    "delete": ("#ffd7d5", "#cf222e", "#5c0a0f"),
    "noop": ("#f0f0f0", "#8c959f", "#57606a"),
    "manual": ("#f3d9fa", "#8250df", "#3b1a66"),
    "read": ("#d6f3fb", "#0969da", "#0a3069"),
}


def node_id(address: str) -> str:
    """A short identifier that is valid in Mermaid and DOT: ``n`` + 10 hex digits of sha256."""
    return "n" + hashlib.sha256(address.encode("utf-8")).hexdigest()[:10]


def _first_rdn(dn: str) -> str:
    try:
        rdns = split_rdns(dn)
    except DnError:
        return dn
    attr, value = rdns[0]
    if attr.lower() == "dc":  # a domain root: its DC= components are the whole name
        return dn
    return f"{attr}={value}"


def short_address(address: str) -> str:
    """``ad.ace[OU=Staff,DC=contoso,DC=test/password-writeback/reset-password]`` →
    ``ad.ace[OU=Staff/password-writeback/reset-password]``; non-DN keys are kept."""
    kind, bracket, rest = address.partition("[")
    if not bracket or not rest.endswith("]"):
        return address
    key = rest[:-1]
    if kind == "ad.ace" and key.count("/") >= 2:
        dn, purpose, name = key.rsplit("/", 2)
        return f"{kind}[{_first_rdn(dn)}/{purpose}/{name}]"
    if kind == "ad.object":
        return f"{kind}[{_first_rdn(key)}]"
    return address


def _nodes(doc: dict[str, Any]) -> list[tuple[dict[str, Any], bool]]:
    """Every change once, in plan order, with whether it is deferred."""
    seen: set[str] = set()
    out: list[tuple[dict[str, Any], bool]] = []
    for deferred, key in ((False, "resource_changes"), (True, "deferred_changes")):
        for change in doc.get(key, []):
            if change["address"] not in seen:
                seen.add(change["address"])
                out.append((change, deferred))
    return out


def _edges(nodes: list[tuple[dict[str, Any], bool]]) -> list[tuple[str, str]]:
    """(prerequisite, dependent) pairs between addresses of the plan, sorted by plan position."""
    position = {c["address"]: i for i, (c, _) in enumerate(nodes)}
    pairs = {
        (dep, c["address"])
        for c, _ in nodes
        for dep in c.get("depends_on", [])
        if dep in position and dep != c["address"]
    }
    return sorted(pairs, key=lambda p: (position[p[1]], position[p[0]]))


def _label(change: dict[str, Any]) -> str:
    symbol = SYMBOLS[change["change"]["actions"][0]]
    short = short_address(change["address"])
    return f"{symbol} {short}" if symbol else short


def _mermaid_text(text: str) -> str:
    """Escape a label for a quoted Mermaid node text (entity codes, ``#`` first)."""
    return (
        text.replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    )


def render_mermaid(doc: dict[str, Any], *, direction: str = "LR") -> str:
    """A Mermaid ``flowchart`` of the plan (``direction``: LR or TD). Deferred changes get a
    dashed border; classes colour nodes by action."""
    if direction not in ("LR", "TD"):
        raise ValueError(f"direction must be LR or TD, not {direction!r}")
    nodes = _nodes(doc)
    lines = [f"flowchart {direction}"]
    by_class: dict[str, list[str]] = {}
    deferred_ids: list[str] = []
    for change, deferred in nodes:
        nid = node_id(change["address"])
        lines.append(f'  {nid}["{_mermaid_text(_label(change))}"]')
        by_class.setdefault(ACTION_CLASSES[change["change"]["actions"][0]], []).append(nid)
        if deferred:
            deferred_ids.append(nid)
    lines.extend(f"  {node_id(a)} --> {node_id(b)}" for a, b in _edges(nodes))
    for name, (fill, stroke, color) in STYLES.items():
        lines.append(f"  classDef {name} fill:{fill},stroke:{stroke},color:{color}")
    lines.append("  classDef deferred stroke-dasharray:5 5")
    for name in STYLES:
        if by_class.get(name):
            lines.append(f"  class {','.join(by_class[name])} {name}")
    if deferred_ids:
        lines.append(f"  class {','.join(deferred_ids)} deferred")
    return "\n".join(lines) + "\n"


def _dot_string(text: str) -> str:
    """A DOT double-quoted string (backslashes and quotes escaped, newlines as ``\\n``)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def render_dot(doc: dict[str, Any], *, rankdir: str = "LR") -> str:
    """A Graphviz digraph of the plan; the full address is each node's tooltip."""
    nodes = _nodes(doc)
    lines = [
        "digraph wbplan {",
        f"  rankdir={rankdir};",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
        '  edge [color="#57606a"];',
    ]
    for change, deferred in nodes:
        fill, stroke, color = STYLES[ACTION_CLASSES[change["change"]["actions"][0]]]
        style = '"rounded,filled,dashed"' if deferred else '"rounded,filled"'
        attrs = [
            f"label={_dot_string(_label(change))}",
            f"tooltip={_dot_string(change['address'])}",
            f'fillcolor="{fill}"',
            f'color="{stroke}"',
            f'fontcolor="{color}"',
            f"style={style}",
        ]
        lines.append(f"  {node_id(change['address'])} [{', '.join(attrs)}];")
    lines.extend(f"  {node_id(a)} -> {node_id(b)};" for a, b in _edges(nodes))
    lines.append("}")
    return "\n".join(lines) + "\n"
