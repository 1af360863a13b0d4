"""Markdown rendering of a plan for a pull-request comment, read from the public JSON document.

Layout, top to bottom:

1. a title, the lineage, and the **summary table** (add / change / destroy / manual / deferred /
   unverifiable counts, applyable, complete);
2. a destructive-change **banner** (a GitHub ``[!CAUTION]`` alert) when ``doc["destructive"]``,
   with the destroy count and every blast radius (count and first DNs);
3. one ``<details>`` block per feature (a change's ``features``; changes of no feature under
   "shared"): a line per change with its symbol and action, address, reason, ``before → after``,
   ``todo`` instructions for manual / unverifiable items and, for deferred changes, what blocks
   them (a change of several features is listed under each);
4. the dependency graph as Mermaid (``render/graph.py``), collapsed;
5. the closing line, identical to the text renderer's ``summary_line``.

GitHub refuses comments over 65,536 characters. When the full rendering is longer than
``limit``, the graph is dropped and the per-feature lines are cut where the budget ends; the
summary table, the banner and the closing line are always kept, and a pointer says how many
changes are not shown and where to find them (the JSON plan artifact).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from planner.references import Source, confidence_text, sources
from planner.render.graph import render_mermaid
from planner.render.plan_text import SYMBOLS, ace_line, summary_line

DEFAULT_LIMIT = 65_000
"""Characters; GitHub's comment limit is 65,536 and CI tools often append a footer."""
MERMAID_MAX_CHARS = 40_000
"""Above this the graph is left out even when the comment would fit (GitHub's Mermaid renderer
gives up on very large diagrams)."""
MERMAID_MAX_EDGES = 500
"""Mermaid's default ``maxEdges``: GitHub refuses to draw a diagram with more edges."""
BANNER_DNS = 5
"""Blast-radius DNs named in the banner (the feature block lists every DN the plan carries)."""
VALUE_MAX = 240
"""A ``before`` / ``after`` value longer than this is cut with an ellipsis (the JSON has it all)."""

FEATURE_TITLES = {
    "shared": "Shared prerequisites",
    "password": "Password writeback",
    "device": "Device writeback",
    "group": "Group writeback (v1)",
    "exchange_hybrid": "Exchange hybrid writeback",
    "ngc_keys": "Windows Hello for Business key writeback",
    "hybrid_join": "Hybrid-join service connection point",
    "user": "User writeback (withdrawn)",
}
ACTION_WORDS = {
    "create": "create",
    "update": "update",
    "delete": "destroy",
    "no-op": "no-op",
    "manual": "manual",
    "read": "unverifiable",
}
POINTER = (
    "> **Output truncated:** {n} change(s) not shown; see the JSON plan artifact "
    "(`wbplan plan --format json`)."
)
GRAPH_OMITTED = (
    "_Dependency graph left out of this comment; `wbplan graph --format mermaid` draws it._"
)


def code(text: str) -> str:
    """An inline code span that survives backticks inside ``text``."""
    runs = [len(m) for m in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def prose(text: str) -> str:
    """Plain text for Markdown: ``<``, ``>`` and ``&`` escaped outside backtick spans (so an
    instruction naming ``<connector SID>`` is not swallowed as an HTML tag)."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)


def _compact(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= VALUE_MAX else text[: VALUE_MAX - 1] + "…"


def _action(change: dict[str, Any]) -> str:
    action: str = change["change"]["actions"][0]
    return action


def _badge(change: dict[str, Any]) -> str:
    action = _action(change)
    symbol = SYMBOLS[action].strip() or "="
    return code(f"{symbol} {ACTION_WORDS[action]}")


def _side(value: Any) -> str:
    return "(none)" if value is None else code(_compact(value))


def _before_after(change: dict[str, Any]) -> str | None:
    action = _action(change)
    detail = change["change"]
    before, after = detail.get("before"), detail.get("after")
    if change.get("ace") and action in ("create", "delete"):
        trustee = (after or before or {}).get("trustee", "")
        ace = code(f"{ace_line(change['ace'])} trustee={trustee}")
        return f"ACE {ace} → (none)" if action == "delete" else f"(none) → ACE {ace}"
    if before is None and after is None:
        return None
    if isinstance(after, dict) and before is None:
        after = {k: v for k, v in after.items() if k != "dn"}  # the address names the DN
    if isinstance(before, dict) and isinstance(after, dict):
        keys = [k for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
        if keys:  # only what differs, as the text renderer shows it
            before = {k: before[k] for k in keys if k in before}
            after = {k: after[k] for k in keys if k in after}
    return f"{_side(before)} → {_side(after)}"


def source_link(s: Source) -> str:
    """A source as a Markdown link on its title (plain text when it has no public address;
    a project document is named by its path)."""
    text = prose(s.short).replace("[", "\\[").replace("]", "\\]")
    if s.url is None or s.kind == "project":
        return f"{text} ({code(s.url)})" if s.url else text
    return f"[{text}]({s.url})"


def why_line(why: str, references: Any, confidence: str, note: str | None) -> str:
    """``why: … — see [title](url), …`` with the confidence when it is not documented."""
    line = f"why: {prose(why)}"
    links = [source_link(s) for s in sources(references or ())]
    if links:
        line += f" — see {', '.join(links)}"
    words = confidence_text(confidence, note)
    if words:
        line += f" _({prose(words)})_"
    return line


def change_lines(change: dict[str, Any], *, deferred: bool) -> list[str]:
    """The Markdown list item for one change (a line, plus indented detail lines)."""
    prefix = "⏸ deferred " if deferred else ""
    head = f"- {prefix}{_badge(change)} {code(change['address'])} — {code(change['action_reason'])}"
    lines = [head]
    ba = _before_after(change)
    if ba is not None:
        lines.append(f"  - before → after: {ba}")
    radius = change.get("blast_radius")
    if radius:
        lines.append(
            f"  - **blast radius:** {prose(radius['description'])}: **{radius['count']}** group(s)"
        )
        lines.extend(f"    - {code(dn)}" for dn in radius.get("first", []))
        more = radius["count"] - len(radius.get("first", []))
        if more > 0:
            lines.append(f"    - … and {more} more")
    if change.get("instructions") and _action(change) in ("manual", "read"):
        lines.append(f"  - todo: {prose(change['instructions'])}")
    if change.get("blocked_by"):
        lines.append(f"  - blocked by {', '.join(code(b) for b in change['blocked_by'])}")
    lines.append(
        "  - "
        + why_line(
            change["why"],
            change.get("references"),
            change.get("confidence", "documented"),
            change.get("confidence_note"),
        )
    )
    return lines


@dataclass
class _Block:
    """One feature's ``<details>`` block: items are (address, lines)."""

    key: str
    counts: dict[str, int] = field(default_factory=dict)
    items: list[tuple[str, list[str]]] = field(default_factory=list)
    unchanged: int = 0

    def summary(self) -> str:
        parts = [
            f"{self.counts[k]} {label}"
            for k, label in (
                ("create", "to add"),
                ("update", "to change"),
                ("delete", "to destroy"),
                ("manual", "manual"),
                ("read", "unverifiable"),
                ("deferred", "deferred"),
            )
            if self.counts.get(k)
        ]
        if self.unchanged:
            parts.append(f"{self.unchanged} unchanged")
        title = FEATURE_TITLES.get(self.key, self.key)
        return f"<details><summary><b>{prose(title)}</b> ({code(self.key)}): {', '.join(parts) or 'nothing'}</summary>"

    def opener(self) -> str:
        empty = (
            ""
            if self.items
            else f"_Nothing to change: {self.unchanged} resource(s) match the policy._\n"
        )
        return self.summary() + "\n\n" + empty

    closer = "\n</details>\n"


def _blocks(doc: dict[str, Any]) -> list[_Block]:
    blocks: dict[str, _Block] = {}

    def block(key: str) -> _Block:
        return blocks.setdefault(key, _Block(key))

    for deferred, section in ((False, "resource_changes"), (True, "deferred_changes")):
        for change in doc.get(section, []):
            action = _action(change)
            for key in change.get("features") or ["shared"]:
                b = block(key)
                if action == "no-op" and not deferred:
                    b.unchanged += 1
                    continue
                counter = "deferred" if deferred else action
                b.counts[counter] = b.counts.get(counter, 0) + 1
                b.items.append((change["address"], change_lines(change, deferred=deferred)))
    order = list(FEATURE_TITLES)
    return sorted(
        blocks.values(),
        key=lambda b: (order.index(b.key) if b.key in order else len(order), b.key),
    )


def _head(doc: dict[str, Any]) -> str:
    s = doc["summary"]
    lineage = doc["lineage"]
    yes = {True: "yes", False: "no"}
    lines = [
        f"### wbplan plan: {prose(doc['policy_name'])}",
        "",
        f"Policy {code(doc['policy_file'])} against {code(doc['state_source'])} · forest "
        f"{code(lineage['forest'])} · tenant {code(lineage['tenant_id'])}",
        "",
        "| to add | to change | to destroy | manual | deferred | unverifiable | applyable | complete |",
        "|---:|---:|---:|---:|---:|---:|:---:|:---:|",
        f"| {s['add']} | {s['change']} | {s['destroy']} | {s['manual']} | {s['deferred']} "
        f"| {s['read']} | {yes[bool(doc['applyable'])]} | {yes[bool(doc['complete'])]} |",
    ]
    if doc.get("destructive"):
        lines += _banner(doc)
    return "\n".join(lines) + "\n"


def _banner(doc: dict[str, Any]) -> list[str]:
    destroy = doc["summary"]["destroy"]
    radii = [
        (change["address"], change["blast_radius"])
        for change in (*doc.get("resource_changes", []), *doc.get("deferred_changes", []))
        if change.get("blast_radius") and change["blast_radius"]["count"]
    ]
    parts = [f"**{destroy}** to destroy"] if destroy else []
    total = sum(radius["count"] for _, radius in radii)
    if total:
        parts.append(f"**{total}** group(s) deleted by the next sync cycle (blast radius)")
    lines = ["", "> [!CAUTION]", f"> **This plan destroys something:** {' and '.join(parts)}."]
    for address, radius in radii:
        first = radius.get("first", [])[:BANNER_DNS]
        named = ", ".join(code(dn) for dn in first)
        more = radius["count"] - len(first)
        tail = f"{named}{f' and {more} more' if more > 0 else ''}" if first else ""
        lines.append(">")
        lines.append(
            f"> **Blast radius of {code(address)}:** {prose(radius['description'])}: "
            f"**{radius['count']}** group(s)" + (f": {tail}." if tail else ".")
        )
    return lines


def _graph(doc: dict[str, Any]) -> str | None:
    mermaid = render_mermaid(doc)
    if len(mermaid) > MERMAID_MAX_CHARS or mermaid.count(" --> ") > MERMAID_MAX_EDGES:
        return None
    count = len(doc.get("resource_changes", [])) + len(doc.get("deferred_changes", []))
    return (
        f"<details><summary>Dependency graph ({count} resource(s))</summary>\n\n"
        f"```mermaid\n{mermaid}```\n\n</details>\n"
    )


def render_markdown(doc: dict[str, Any], *, limit: int = DEFAULT_LIMIT) -> str:
    """The plan as a pull-request comment of at most ``limit`` characters (the summary table,
    banner and closing line are always kept, so a ``limit`` smaller than them is exceeded)."""
    head = _head(doc)
    tail = "\n" + summary_line(doc) + "\n"
    blocks = _blocks(doc)
    graph = _graph(doc)
    body = "".join(
        b.opener() + "".join("\n".join(ls) + "\n" for _, ls in b.items) + b.closer for b in blocks
    )
    middle = body + ("\n" + (graph if graph is not None else GRAPH_OMITTED + "\n"))
    full = head + "\n" + middle + tail
    if len(full) <= limit:
        return full
    return _truncated(head, tail, blocks, limit)


class Foldable(Protocol):
    """A ``<details>`` block of items that a truncated comment shows a prefix of."""

    @property
    def items(self) -> Sequence[tuple[object, list[str]]]:
        """(key, lines) per item, in display order."""
        ...

    @property
    def closer(self) -> str: ...

    def opener(self) -> str:
        """The block's text before its items."""
        ...


def fit_blocks(blocks: Sequence[Foldable], budget: int) -> tuple[str, list[object]]:
    """As many whole items as fit in ``budget`` characters, block by block in order, each block
    with its opener and closer; stops at the first item that does not fit. Returns the text and
    the keys of the items shown (for the "N not shown" pointer)."""
    shown: list[object] = []
    parts: list[str] = []
    for b in blocks:
        if not b.items:
            continue
        opener, closer = b.opener(), b.closer
        room = budget - len(opener) - len(closer)
        lines: list[str] = []
        for key, item in b.items:
            text = "\n".join(item) + "\n"
            if len(text) > room:
                break
            lines.append(text)
            room -= len(text)
            shown.append(key)
        if not lines:
            break
        chunk = opener + "".join(lines) + closer
        parts.append(chunk)
        budget -= len(chunk)
    return "".join(parts), shown


def _truncated(head: str, tail: str, blocks: list[_Block], limit: int) -> str:
    every = {address for b in blocks for address, _ in b.items}
    reserve = len(POINTER.format(n=len(every))) + len(GRAPH_OMITTED) + 8
    budget = limit - len(head) - len(tail) - reserve - 1
    body, shown = fit_blocks(blocks, budget)
    pointer = POINTER.format(n=len(every - set(shown)))
    return head + "\n" + body + "\n" + pointer + "\n\n" + GRAPH_OMITTED + "\n" + tail
