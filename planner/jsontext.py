"""Canonical JSON text — ``json.dumps(data, indent=2, sort_keys=True)`` plus a final newline —
built fast, for the big documents wbplan writes (snapshots, JSON reports: megabytes at tens of
thousands of objects).

``json.dumps`` with ``indent`` runs the standard library's pure-Python encoder (the C encoder
does not indent). Here the C encoder
sorts the keys (compact), the C decoder keeps that order, and pydantic-core's Rust encoder
indents: the same bytes, 2–3× faster on an 8 MB snapshot (``bench/snapshot_io.py``).
"""

from __future__ import annotations

import json
import re
from operator import itemgetter
from typing import Any

import pydantic_core
from pydantic import BaseModel

_NOT_PRINTABLE_ASCII = re.compile("[^\x00-\x7e]")


def _ascii_escape(match: re.Match[str]) -> str:
    """``json.dumps``'s escape of one character: lower-case hex, a surrogate pair above the
    BMP."""
    n = ord(match.group())
    if n < 0x10000:
        return f"\\u{n:04x}"
    n -= 0x10000
    return f"\\u{0xD800 | (n >> 10):04x}\\u{0xDC00 | (n & 0x3FF):04x}"


def _sorted_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return dict(sorted(pairs, key=itemgetter(0)))


def canonical_model_json(model: BaseModel, *, ensure_ascii: bool = True) -> str:
    """:func:`canonical_json` of ``model.model_dump(mode="json", by_alias=True)`` without
    building that tree: pydantic writes compact JSON (Rust) and the C decoder builds each object
    with its keys sorted — one tree instead of two, so less time and a lower peak (8 MB
    snapshot: +9 MB instead of +23 MB while writing)."""
    try:
        ordered = json.loads(model.model_dump_json(by_alias=True), object_pairs_hook=_sorted_object)
    except pydantic_core.PydanticSerializationError:  # e.g. a lone surrogate: the general path
        return canonical_json(
            model.model_dump(mode="json", by_alias=True), ensure_ascii=ensure_ascii
        )
    return _indented(ordered, ensure_ascii)


def canonical_json(data: Any, *, ensure_ascii: bool = True) -> str:
    """``json.dumps(data, indent=2, sort_keys=True, ensure_ascii=ensure_ascii) + "\\n"``, byte
    for byte, for JSON data **without floats**: the Rust encoder writes exponents differently
    (``1e16``, not ``1e+16``). Snapshots and reports have no float field (a test checks their
    schemas for ``number``).

    pydantic-core writes non-ASCII characters and DEL as UTF-8 where ``json.dumps`` with
    ``ensure_ascii`` escapes them, so those are escaped afterwards (JSON's structure is ASCII:
    only strings hold them). Control characters are escaped alike by both (``\\n`` …,
    ``\\u00XX`` in lower case). A value the fast encoders refuse (a lone surrogate has no
    UTF-8) also falls back. ``tests/unit/test_snapshot_fast.py`` compares the two on generated
    data."""
    return _indented(json.loads(json.dumps(data, sort_keys=True, ensure_ascii=False)), ensure_ascii)


def _indented(ordered: Any, ensure_ascii: bool) -> str:
    """``ordered`` (keys already in sorted order) indented by the Rust encoder, escaped as
    ``json.dumps`` escapes; ``json.dumps`` itself for what the Rust encoder refuses."""
    try:
        out = pydantic_core.to_json(ordered, indent=2)
    except (TypeError, ValueError, pydantic_core.PydanticSerializationError):
        return json.dumps(ordered, indent=2, sort_keys=True, ensure_ascii=ensure_ascii) + "\n"
    text = out.decode("utf-8")
    if ensure_ascii and (not out.isascii() or "\x7f" in text):
        text = _NOT_PRINTABLE_ASCII.sub(_ascii_escape, text)
    return text + "\n"
