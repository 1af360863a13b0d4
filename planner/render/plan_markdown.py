"""Markdown rendering of a plan for a pull-request comment, read from the public JSON document.

Layout, top to bottom:

1. a title, the lineage, and the **summary table** (add / change / destroy / manual / deferred /
   unverifiable counts, applyable, complete);
2. a destructive-change **banner** (a GitHub ``[!CAUTION]`` alert, as tfcmt's) when
   ``doc["destructive"]``, with the destroy count and every blast radius (count and first DNs);
3. one **open** ``<details open>`` block per feature with changes or failures (a change's
   ``features``; changes of no feature under "shared"): a line per change with its symbol and
   action, address, reason, ``before → after`` as short values (``value: false → true``,
   ``msDS-DeviceLocation: CN=A… → CN=B…``, an ACE in dsacls words), ``todo`` instructions for
   manual / unverifiable items, what blocks a deferred change, and its ``why`` with the sources
   (a change of several features is listed under each);
4. the features with nothing to change, on **one line**;
5. the dependency graph as Mermaid (``render/graph.py``), collapsed;
6. the closing line, identical to the text renderer's ``summary_line``.

Valid CommonMark + GFM tables: ``<summary>`` lines are HTML (Markdown is not rendered inside an
HTML block), so they carry ``<code>`` and escaped text, never backticks; plain text has ``\\``,
``*``, ``<``, ``>`` and ``&`` escaped so a DN's ``\\,`` keeps its backslash; values are code
spans (where backslashes are literal).

GitHub refuses comments over 65,536 characters. When the full rendering is longer than
``limit``, the graph is dropped and the per-feature lines are cut where the budget ends; the
summary table, the banner and the closing line are always kept, and a pointer says how many
changes are not shown and where to find them (the JSON plan artifact).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from planner.acewords import Names
from planner.featurewords import PLAN_TITLES, feature_title
from planner.model.state import Ace
from planner.references import Source, confidence_text, sources
from planner.render.graph import render_mermaid
from planner.render.plan_text import SYMBOLS, summary_line

DEFAULT_LIMIT = 65_000
"""Characters; GitHub's comment limit is 65,536 and CI tools often append a footer."""
MERMAID_MAX_CHARS = 40_000
"""Above this the graph is left out even when the comment would fit (GitHub's Mermaid renderer
gives up on very large diagrams)."""
MERMAID_MAX_EDGES = 500
"""Mermaid's default ``maxEdges``: GitHub refuses to draw a diagram with more edges."""
BANNER_DNS = 5
"""Blast-radius DNs named in the banner (the feature block lists every DN the plan carries)."""
VALUE_MAX = 120
"""A ``before`` / ``after`` value longer than this is cut with an ellipsis (the JSON has it all)."""
VALUES_SHOWN = 8
"""Attributes of one change shown as ``key: before → after`` lines; the rest are counted."""

FEATURE_TITLES = PLAN_TITLES
"""Feature titles, in block order (:mod:`planner.featurewords`)."""
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


_PUNCTUATION_AFTER_BACKSLASH = re.compile(r"\\(?=[!-/:-@\[-`{-~])")
"""A backslash CommonMark would take as an escape (before ASCII punctuation, as in ``\\,``)."""


def prose(text: str) -> str:
    """Plain text for Markdown: ``<``, ``>`` and ``&`` escaped outside backtick spans (so an
    instruction naming ``<connector SID>`` is not swallowed as an HTML tag), ``*`` and a backslash
    before punctuation backslash-escaped there (so a DN's ``\\,`` keeps its backslash and nothing
    turns bold; ``CONTOSO\\MSOL`` needs nothing)."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):
        parts[i] = (
            _PUNCTUATION_AFTER_BACKSLASH.sub(r"\\\\", parts[i])
            .replace("*", "\\*")
            .replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
        )
    return "`".join(parts)


def html_code(text: str) -> str:
    """``<code>`` for HTML blocks (``<summary>``), where backticks are not Markdown."""
    return f"<code>{html.escape(text, quote=False)}</code>"


def _short(text: str) -> str:
    return text if len(text) <= VALUE_MAX else text[: VALUE_MAX - 1] + "…"


def _is_ace(value: Any) -> bool:
    return isinstance(value, dict) and {"qualifier", "mask", "trustee"} <= set(value)


def _names(doc: dict[str, Any]) -> Names:
    """Names for the plan's trustees: the plan's ``principals`` and the connector's SID."""
    names = Names(None)
    for change in doc.get("resource_changes", []):
        after = change["change"].get("after")
        if change.get("type") == "ad.connector" and isinstance(after, dict) and after.get("sid"):
            names.sids[str(after["sid"]).upper()] = change["address"].split("[", 1)[1][:-1]
    for sid, name in (doc.get("principals") or {}).items():
        names.sids[sid.upper()] = name
    return names


def ace_words(value: dict[str, Any], names: Names) -> str:
    """An ACE of the plan document in dsacls words (``allow WP pwdLastSet on descendant user
    objects to CONTOSO\\MSOL_…``)."""
    ace = Ace(
        qualifier=value["qualifier"],
        trustee=value["trustee"],
        mask=value["mask"],
        flags=value.get("flags", 0),
        object_type=value.get("object_type"),
        inherited_object_type=value.get("inherited_object_type"),
    )
    return names.ace(ace)


def _plain(value: Any, names: Names) -> str:
    """A value as short text: ``true``, ``CN=…``, an ACE in words, lists joined with ``; ``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if _is_ace(value):
        return ace_words(value, names)
    if isinstance(value, (list, tuple)):
        return "; ".join(_plain(v, names) for v in value) if value else "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_plain(v, names)}" for k, v in sorted(value.items()))
    return json.dumps(value, ensure_ascii=False)


def _side(value: Any, names: Names) -> str:
    if value is None or value == []:
        return "(none)"
    if _is_ace(value) or (
        isinstance(value, list) and len(value) == 1 and all(_is_ace(v) for v in value)
    ):
        return code(_plain(value, names))  # an ACE in words is short enough and read whole
    return code(_short(_plain(value, names)))


def before_after(change: dict[str, Any], names: Names) -> list[str]:
    """``before → after`` lines: ``ACE (none) → `allow …```, or one ``key: before → after`` per
    attribute that differs (``value: `false` → `true```)."""
    detail = change["change"]
    before, after = detail.get("before"), detail.get("after")
    if before is None and after is None:
        return []
    if _is_ace(before) or _is_ace(after):
        return [f"ACE: {_side(before, names)} → {_side(after, names)}"]
    if isinstance(after, dict) and before is None:
        after = {k: v for k, v in after.items() if k != "dn"}  # the address names the DN
    if isinstance(before, dict) or isinstance(after, dict):
        b = before if isinstance(before, dict) else {}
        a = after if isinstance(after, dict) else {}
        keys = [k for k in sorted(set(b) | set(a)) if b.get(k) != a.get(k)]
        lines = [
            f"{prose(k)}: {_side(b.get(k), names)} → {_side(a.get(k), names)}"
            for k in keys[:VALUES_SHOWN]
        ]
        if len(keys) > VALUES_SHOWN:
            lines.append(f"… and {len(keys) - VALUES_SHOWN} more (the JSON plan has them)")
        return lines
    return [f"{_side(before, names)} → {_side(after, names)}"]


def _action(change: dict[str, Any]) -> str:
    action: str = change["change"]["actions"][0]
    return action


def _badge(change: dict[str, Any]) -> str:
    action = _action(change)
    symbol = SYMBOLS[action].strip() or "="
    return code(f"{symbol} {ACTION_WORDS[action]}")


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


def change_lines(
    change: dict[str, Any], *, deferred: bool, names: Names | None = None
) -> list[str]:
    """The Markdown list item for one change (a line, plus indented detail lines)."""
    names = names or Names(None)
    prefix = "⏸ deferred " if deferred else ""
    head = f"- {prefix}{_badge(change)} {code(change['address'])} — {code(change['action_reason'])}"
    lines = [head]
    ba = before_after(change, names)
    if len(ba) == 1:
        lines.append(f"  - {ba[0]}")
    elif ba:
        lines.append("  - before → after:")
        lines.extend(f"    - {line}" for line in ba)
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
        title = feature_title(self.key)
        return (
            f"<details open><summary><b>{html.escape(title, quote=False)}</b> "
            f"({html_code(self.key)}): {', '.join(parts) or 'nothing'}</summary>"
        )

    def opener(self) -> str:
        return self.summary() + "\n\n"

    closer = "\n</details>\n"


def _blocks(doc: dict[str, Any]) -> list[_Block]:
    blocks: dict[str, _Block] = {}
    names = _names(doc)

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
                b.items.append(
                    (change["address"], change_lines(change, deferred=deferred, names=names))
                )
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


def unchanged_line(blocks: Sequence[_Block]) -> str:
    """The features with nothing to change, on one line (empty when there are none)."""
    quiet = [b for b in blocks if not b.items]
    if not quiet:
        return ""
    named = ", ".join(f"{prose(feature_title(b.key))} ({b.unchanged} matching)" for b in quiet)
    return f"**Nothing to change:** {named}.\n"


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
    quiet = unchanged_line(blocks)
    graph = _graph(doc)
    body = "".join(
        b.opener() + "".join("\n".join(ls) + "\n" for _, ls in b.items) + b.closer
        for b in blocks
        if b.items
    )
    if quiet:
        body += ("\n" if body else "") + quiet
    middle = body + ("\n" + (graph if graph is not None else GRAPH_OMITTED + "\n"))
    full = head + "\n" + middle + tail
    if len(full) <= limit:
        return full
    return _truncated(head, tail, blocks, quiet, limit)


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


def _truncated(head: str, tail: str, blocks: list[_Block], quiet: str, limit: int) -> str:
    every = {address for b in blocks for address, _ in b.items}
    reserve = len(POINTER.format(n=len(every))) + len(GRAPH_OMITTED) + len(quiet) + 8
    budget = limit - len(head) - len(tail) - reserve - 1
    body, shown = fit_blocks(blocks, budget)
    pointer = POINTER.format(n=len(every - set(shown)))
    quiet_part = quiet + "\n" if quiet else ""
    return head + "\n" + body + "\n" + quiet_part + pointer + "\n\n" + GRAPH_OMITTED + "\n" + tail
