"""Byte spans of values in canonical JSON, and splicing new values into the old bytes.

A snapshot or JSON report that did not change except for a few small values (``observed_at``,
``ad.marks.marked_at``, a report's ``timestamp``) need not be re-serialised: 40 MB cost about half
a second to write again, finding and replacing a few values in the old bytes costs milliseconds.

**Input.** ``doc`` is *canonical JSON* as :mod:`planner.jsontext` writes it — exactly
``json.dumps(data, indent=2, sort_keys=True, ensure_ascii=E) + "\\n"`` encoded as UTF-8 — and the
caller guarantees it (it binds the bytes by a sha256 to what wbplan itself wrote). For other text
these functions give no guarantee: they may return ``None`` / raise :class:`LookupError` or
:class:`ValueError`, or find something wrong, but they raise nothing else and always terminate.

**Why a byte scan is sound on canonical JSON.** ``json.dumps`` escapes every control character
inside strings (a newline is ``\\n``), so a raw ``\\n`` byte only ever ends a physical line, and
every line starts with exactly ``2 * depth`` spaces. For a value whose line (its key line, its
element line, or the document's first line) has depth ``d``:

* a scalar runs to the end of that line, minus the trailing ``,`` when a sibling follows (a
  scalar never ends with ``,``: a string ends with ``"``, a number with a digit, a literal with a
  letter);
* an empty object/array is written inline, ``{}`` / ``[]``;
* a non-empty object/array opens with ``{`` / ``[`` at the end of the line, and ends at the first
  following line that has exactly ``2 * d`` spaces of indentation followed by ``}`` / ``]``: every
  line in between is indented deeper;
* inside a non-empty object, the lines with exactly ``2 * (d + 1)`` spaces followed by ``"`` are
  exactly its members' key lines ``"key": value`` (deeper lines have more spaces; the closing
  lines of member values start with ``}`` / ``]``). A key is matched as its JSON string literal
  followed by ``": "``; a JSON string literal ends at its first unescaped ``"``, so a literal that
  starts a key line and matches the search literal *is* that key (``"k"`` never matches
  ``"k2"`` or ``"k\\\\"``). A key literal is tried as ``json.dumps`` writes it with and without
  ``ensure_ascii`` — whichever is found decodes to the key, and a key occurs once per object;
* inside a non-empty array at depth ``d``, the first element starts at the line after ``[``, and
  each element is followed by ``,`` + newline + ``2 * (d + 1)`` spaces + the next element, or by
  a newline before the closing ``]``: elements are walked one by one, each skipped with one
  ``bytes.find`` (a container element: its closing line; a scalar: its newline).

**Cost.** Only ``bytes.find``/``rfind`` (C speed) touch the bulk of the document; no Python loop
runs per byte or per line. A key is searched in windows of doubling size; inside an object whose
end is known (the document's top level: the end of the file) windows alternate from both ends, so
a top-level key after a huge sibling (``observed_at`` after ``ad``) is found from the end in
microseconds. Inside an object whose end is not known yet (``ad``) windows run forward from its
start, each also searched for the object's closing line (so a key absent from the object is not
looked for past its end): cost proportional to the bytes before the key in that object (``ad``'s
``dacls``, ``devices`` …, not the ``objects`` after ``marks``). Array elements cost one find each
before the index wanted.

**Replacement.** The canonical JSON of the new value (:func:`planner.jsontext.canonical_json`,
without its final newline) with each newline followed by the indentation of the line the value
sits on — what ``json.dumps`` writes for that value at that depth — so the result is byte for
byte ``canonical_json`` of the data with the values replaced. Only the value's bytes are replaced:
the separator after it (``,`` or nothing for the last member) stays. Floats are refused
(:class:`ValueError`): ``canonical_json`` does not support them (its fast encoder writes exponents
differently), and snapshots and reports have none.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from planner.jsontext import canonical_json

Path = Sequence[str | int]
"""Object keys and array indexes, from the document's top level down."""

_FIRST_WINDOW = 1 << 16
_MAX_WINDOW = 1 << 23

_OPENERS = {ord("{"): b"}", ord("["): b"]"}


class _AbsentError(LookupError):
    """Internal: the path leads nowhere (absent key, index out of range, through a scalar, or
    text that is not canonical JSON)."""


@dataclass(slots=True)
class _Node:
    """A value located in the document: where it starts, the depth of the line it starts on,
    and — once known — where it ends."""

    start: int
    depth: int
    end: int | None = None
    clear_to: int = 0
    """No closing line of this container (a container's ``_closer``) starts in
    ``[start, clear_to)`` — a closing-line search resumes there."""


def _indent(depth: int) -> bytes:
    return b"  " * depth


def _closer(doc: bytes, node: _Node) -> bytes | None:
    """The closing line of ``node`` if it is a non-empty container (``\\n``, its indentation,
    ``}`` or ``]``), else None."""
    closing = _OPENERS.get(doc[node.start]) if node.start < len(doc) else None
    if closing is None or doc[node.start + 1 : node.start + 2] != b"\n":
        return None
    return b"\n" + _indent(node.depth) + closing


def _key_literals(key: str, ensure_ascii: bool | None) -> list[bytes]:
    """The JSON string literal(s) of ``key`` as ``json.dumps`` writes it with the given
    ``ensure_ascii`` (None: either; they differ only for non-ASCII keys and DEL)."""
    forms: list[bytes] = []
    if ensure_ascii is not False:
        forms.append(json.dumps(key, ensure_ascii=True).encode("ascii"))
    if ensure_ascii is not True:
        try:
            raw = json.dumps(key, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate has no UTF-8: no UTF-8 document has it
            pass
        else:
            if raw not in forms:
                forms.append(raw)
    return forms


class _Locator:
    """Finds values in one document; remembers the values located on the way (several paths
    under ``ad.marks`` find ``ad`` and ``marks`` once)."""

    def __init__(self, doc: bytes, ensure_ascii: bool | None) -> None:
        self.doc = doc
        self.ensure_ascii = ensure_ascii
        root = _Node(0, 0, clear_to=0)
        # The top-level container's closing line is the document's last line: its end is known
        # without a scan (a top-level key is then searched from both ends).
        if doc.endswith((b"\n}\n", b"\n]\n")) and _closer(doc, root) is not None:
            root.end = len(doc) - 1
        self.nodes: dict[tuple[str | int, ...], _Node] = {(): root}

    def node(self, path: Path) -> _Node:
        """The value at ``path``; :class:`_AbsentError` when there is none."""
        if isinstance(path, str | bytes):  # a str is a Sequence of str: almost surely a mistake
            raise ValueError(f"a path is a sequence of keys and indexes, not {path!r}")
        key = tuple(path)
        for part in key:
            if isinstance(part, bool) or not isinstance(part, str | int):
                raise ValueError(
                    f"a path holds object keys (str) and array indexes (int), not {part!r}"
                )
        known = len(key)
        while key[:known] not in self.nodes:  # the longest prefix already located
            known -= 1
        node = self.nodes[key[:known]]
        for depth in range(known, len(key)):
            part = key[depth]
            node = self._member(node, part) if isinstance(part, str) else self._element(node, part)
            self.nodes[key[: depth + 1]] = node
        return node

    def span(self, node: _Node) -> tuple[int, int]:
        """``[start, end)`` of the located value."""
        if node.end is None:
            node.end = self._end(node)
        return node.start, node.end

    def _end(self, node: _Node) -> int:
        doc = self.doc
        start = node.start
        closer = _closer(doc, node)
        if closer is not None:
            found = doc.find(closer, max(node.clear_to, start))
            if found < 0:
                raise _AbsentError("no closing line")
            return found + len(closer)
        if doc[start : start + 2] in (b"{}", b"[]"):
            return start + 2
        line_end = doc.find(b"\n", start)
        if line_end < 0:
            line_end = len(doc)
        if line_end > start and doc[line_end - 1] == ord(","):
            return line_end - 1
        return line_end

    def _member(self, node: _Node, key: str) -> _Node:
        doc = self.doc
        if doc[node.start : node.start + 2] != b"{\n":  # an empty object, an array, a scalar
            raise _AbsentError(key)
        lead = b"\n" + _indent(node.depth + 1)
        for literal in _key_literals(key, self.ensure_ascii):
            pattern = lead + literal + b": "
            found = (
                self._find_forward(node, pattern)
                if node.end is None
                else _find_both_ways(doc, pattern, node.start, node.end)
            )
            if found >= 0:
                return _Node(found + len(pattern), node.depth + 1, clear_to=found + len(pattern))
        raise _AbsentError(key)

    def _find_forward(self, node: _Node, pattern: bytes) -> int:
        """The first ``pattern`` in the object ``node`` (end not known yet), or -1; searches
        windows from its start, each also for the object's closing line, which it then
        records."""
        doc = self.doc
        closer = _closer(doc, node)
        assert closer is not None  # callers checked "{\n"
        size = len(doc)
        low = node.start
        window = _FIRST_WINDOW
        while low < size:
            high = min(low + window, size)
            found = doc.find(pattern, low, min(high + len(pattern) - 1, size))
            # A closing line before the match (or anywhere in the window) ends the object. The
            # closing line has a newline only at its start, so one starting before ``found``
            # ends before it: searching [.., found) is enough.
            limit = found if found >= 0 else min(high + len(closer) - 1, size)
            close_from = max(low, node.clear_to)
            closing = doc.find(closer, close_from, limit) if close_from < limit else -1
            if closing >= 0:
                node.end = closing + len(closer)
                return -1
            node.clear_to = max(node.clear_to, found if found >= 0 else high)
            if found >= 0:
                return found
            low = high
            window = min(window * 2, _MAX_WINDOW)
        return -1

    def _element(self, node: _Node, index: int) -> _Node:
        doc = self.doc
        if doc[node.start : node.start + 2] != b"[\n" or index < 0:
            raise _AbsentError(index)
        depth = node.depth + 1
        lead = _indent(depth)
        start = node.start + 2 + len(lead)
        if doc[node.start + 2 : start] != lead:
            raise _AbsentError(index)
        for _ in range(index):
            end = self._end(_Node(start, depth, clear_to=start))
            # The next element follows ",\n" and its indentation; anything else closes the array.
            if doc[end : end + 2 + len(lead)] != b",\n" + lead:
                raise _AbsentError(index)
            start = end + 2 + len(lead)
        return _Node(start, depth, clear_to=start)


def _find_both_ways(doc: bytes, pattern: bytes, start: int, end: int) -> int:
    """``pattern`` in ``doc[start:end]`` (occurring at most once there), or -1: windows of
    doubling size alternately from the start and from the end, so the cost follows the
    distance from the nearer end."""
    low, high = start, end
    window = _FIRST_WINDOW
    extra = len(pattern) - 1
    while low < high:
        upper = min(low + window, high)
        found = doc.find(pattern, low, min(upper + extra, end))
        if found >= 0:
            return found
        low = upper
        if low >= high:
            break
        lower = max(high - window, low)
        found = doc.rfind(pattern, lower, min(high + extra, end))
        if found >= 0:
            return found
        high = lower
        window = min(window * 2, _MAX_WINDOW)
    return -1


def value_span(
    doc: bytes, path: Path, *, ensure_ascii: bool | None = None
) -> tuple[int, int] | None:
    """``[start, end)`` of the JSON value at ``path`` in canonical JSON ``doc`` (None: a key is
    absent, an index out of range or negative, or the path goes through a scalar).

    ``ensure_ascii`` says how ``doc`` was written, so how a non-ASCII key is spelled in it; None
    tries both spellings. :class:`ValueError` for a path element neither ``str`` nor ``int``."""
    locator = _Locator(doc, ensure_ascii)
    try:
        return locator.span(locator.node(path))
    except _AbsentError:
        return None


def read_value(doc: bytes, path: Path, *, ensure_ascii: bool | None = None) -> Any:
    """The value at ``path`` in canonical JSON ``doc`` (``json.loads`` of its span);
    :class:`LookupError` when there is none."""
    span = value_span(doc, path, ensure_ascii=ensure_ascii)
    if span is None:
        raise LookupError(f"no value at {list(path)!r}")
    try:
        return json.loads(doc[span[0] : span[1]])
    except RecursionError as error:  # only text that is not canonical JSON nests that deep
        raise ValueError(f"value at {list(path)!r} nests too deeply") from error


def _check_no_float(value: Any, path: Sequence[str | int]) -> None:
    """ValueError for a float anywhere in ``value`` (keys become strings and are fine)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            raise ValueError(
                f"new value at {list(path)!r} holds the float {item!r}: canonical JSON here "
                "supports no floats"
            )
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def _check_not_nested(paths: Iterable[tuple[str | int, ...]]) -> None:
    """ValueError when one path lies inside another (replacing both is ambiguous)."""
    ordered = sorted(paths, key=len)
    seen: set[tuple[str | int, ...]] = set()
    for path in ordered:
        for cut in range(len(path)):
            if path[:cut] in seen:
                raise ValueError(f"path {list(path)!r} lies inside {list(path[:cut])!r}")
        seen.add(path)


def span_parts(doc: bytes, spans: Iterable[tuple[int, int, bytes]]) -> list[bytes | memoryview]:
    """The pieces of ``doc`` with each ``[start, end)`` replaced by its bytes, in order, without
    copying ``doc`` (memoryview slices of it): ``b"".join`` them, or write them
    (``file.writelines``) and hash them piece by piece, which spares a copy of the whole
    document (about 20 ms at 40 MB, most of a splice). ValueError when spans overlap or fall
    outside ``doc``."""
    view = memoryview(doc)
    parts: list[bytes | memoryview] = []
    position = 0
    for start, end, text in sorted(spans, key=lambda span: (span[0], span[1])):
        if start < position or end < start or end > len(doc):
            raise ValueError(f"span [{start}, {end}) overlaps another or lies outside the text")
        parts.append(view[position:start])
        parts.append(text)
        position = end
    parts.append(view[position:])
    return parts


def replace_spans(doc: bytes, spans: Iterable[tuple[int, int, bytes]]) -> bytes:
    """``doc`` with each ``[start, end)`` replaced by its bytes (:func:`span_parts` joined)."""
    return b"".join(span_parts(doc, spans))


def replaced_parts(
    doc: bytes,
    changes: Mapping[tuple[str | int, ...], Any],
    *,
    ensure_ascii: bool = True,
) -> list[bytes | memoryview]:
    """:func:`replace_values` as pieces (:func:`span_parts`): to write or hash without joining."""
    _check_not_nested(changes)
    for path, value in changes.items():
        _check_no_float(value, path)
    locator = _Locator(doc, ensure_ascii)
    spans: list[tuple[int, int, bytes]] = []
    for path, value in changes.items():
        try:
            node = locator.node(path)
            start, end = locator.span(node)
        except _AbsentError as error:
            raise LookupError(f"no value at {list(path)!r}") from error
        text = canonical_json(value, ensure_ascii=ensure_ascii)[:-1]
        if "\n" in text:
            text = text.replace("\n", "\n" + "  " * node.depth)
        try:
            encoded = text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ValueError(f"new value at {list(path)!r} has no UTF-8 form") from error
        spans.append((start, end, encoded))
    return span_parts(doc, spans)


def replace_values(
    doc: bytes,
    changes: Mapping[tuple[str | int, ...], Any],
    *,
    ensure_ascii: bool = True,
) -> bytes:
    """``doc`` with the value at each path replaced by the canonical JSON of the new value,
    indented for its depth: byte-identical to ``canonical_json(data with those values
    replaced, ensure_ascii=ensure_ascii)`` when ``doc`` is ``canonical_json(data,
    ensure_ascii=ensure_ascii)``. Paths must exist (:class:`LookupError` otherwise) and must not
    nest in one another (:class:`ValueError`); a float in a new value is a ValueError."""
    return b"".join(replaced_parts(doc, changes, ensure_ascii=ensure_ascii))
