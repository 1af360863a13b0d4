"""``planner.jsonspan`` finds the value at a path in canonical JSON bytes and splices new values
in so that the result is byte for byte ``canonical_json`` of the modified data: on generated
documents with awkward keys and strings (a fixed-seed ``random.Random``, so a failure replays),
on every canonical snapshot and report in the repository, and on hand-made traps where a
looser byte search would find the wrong line."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path as FsPath
from typing import Any

import pytest

from planner import jsonspan
from planner.jsonspan import (
    read_value,
    replace_spans,
    replace_values,
    replaced_parts,
    value_span,
)
from planner.jsontext import canonical_json

REPO = FsPath(__file__).resolve().parents[2]

Key = tuple[str | int, ...]

# Keys that trip a naive search: prefixes of one another, quotes, backslashes, '": ' inside a
# key, non-ASCII (escaped with ensure_ascii, raw UTF-8 without), astral (a surrogate pair when
# escaped), DEL (escaped only with ensure_ascii), control characters, JSON punctuation, a key
# that looks like an indented key line once its escapes are ignored.
KEYS = [
    "",
    "a",
    "ab",
    "abc",
    "b",
    "k",
    "k2",
    "ke",
    "key",
    'a": "b',
    '"',
    "\\",
    '\\"',
    "k\\",
    'k"',
    "é",
    "éa",
    "日本",
    "😀",
    "\n",
    "a\nb",
    "\x7f",
    "\x00",
    ", ",
    "}",
    "]",
    "{",
    '  "k": 1',
    "\u2028",
]
STRINGS = [*KEYS, '\n  "k": 1,\n', "}\n  ]", "x" * 40, ",", "a,"]
LONE_SURROGATE = "\ud800"  # no UTF-8 form: only in documents written with ensure_ascii


def _scalar(rng: random.Random, ascii_doc: bool) -> Any:
    kind = rng.randrange(7)
    if kind == 0:
        return rng.randint(-(10**6), 10**6)
    if kind == 1:
        return rng.randint(-(2**200), 2**200)
    if kind == 2:
        return rng.choice([True, False])
    if kind == 3:
        return None
    strings = [*STRINGS, LONE_SURROGATE] if ascii_doc else STRINGS
    return rng.choice(strings) + rng.choice(strings)


def _value(rng: random.Random, depth: int, ascii_doc: bool) -> Any:
    roll = rng.random()
    if depth >= 4 or roll < 0.35:
        return _scalar(rng, ascii_doc)
    keys = [*KEYS, LONE_SURROGATE] if ascii_doc else KEYS
    if roll < 0.7:
        return {k: _value(rng, depth + 1, ascii_doc) for k in rng.sample(keys, rng.randrange(6))}
    if roll < 0.8:  # a list of objects, as snapshots hold them
        return [
            {k: _value(rng, depth + 2, ascii_doc) for k in rng.sample(keys, rng.randrange(1, 4))}
            for _ in range(rng.randrange(1, 5))
        ]
    return [_value(rng, depth + 1, ascii_doc) for _ in range(rng.randrange(6))]


def _document(rng: random.Random, ascii_doc: bool) -> Any:
    roll = rng.random()
    if roll < 0.85:  # snapshots and reports are objects at the top
        keys = [*KEYS, LONE_SURROGATE] if ascii_doc else KEYS
        return {k: _value(rng, 1, ascii_doc) for k in rng.sample(keys, rng.randrange(1, 8))}
    if roll < 0.95:
        return [_value(rng, 1, ascii_doc) for _ in range(rng.randrange(1, 5))]
    return _scalar(rng, ascii_doc)


def _paths(data: Any, prefix: Key = ()) -> list[Key]:
    """Every path in ``data``, the empty path (the whole document) included."""
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


def _get(data: Any, path: Key) -> Any:
    for part in path:
        data = data[part]
    return data


def _set(data: Any, path: Key, value: Any) -> Any:
    if not path:
        return value
    _get(data, path[:-1])[path[-1]] = value
    return data


def _absent_paths(data: Any, rng: random.Random) -> list[Key]:
    """Paths that lead nowhere: a key the object lacks (often one it holds deeper or a sibling
    holds), an index one past the end or negative, a step into a scalar, a key into an array and
    an index into an object."""
    absent: list[Key] = []
    for path in _paths(data):
        value = _get(data, path)
        if isinstance(value, dict):
            missing = [k for k in KEYS if k not in value]
            absent.append((*path, rng.choice(missing)))
            absent.append((*path, 0))
        elif isinstance(value, list):
            absent += [(*path, len(value)), (*path, -1), (*path, "a")]
        else:
            absent += [(*path, "a"), (*path, 0)]
    return absent


def _not_nested(paths: list[Key]) -> list[Key]:
    kept: list[Key] = []
    for path in paths:
        if all(path[: len(k)] != k and k[: len(path)] != path for k in kept):
            kept.append(path)
    return kept


@pytest.fixture(params=[None, (1, 8), (5, 5)], ids=["windows-default", "windows-1-8", "windows-5"])
def documents(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many documents to generate, with the search windows as the module has them (64 KiB
    doubling to 8 MiB: larger than these documents) or tiny, which puts window boundaries inside
    key lines and closing lines everywhere (fewer documents: slower)."""
    if request.param is None:
        return 300
    first, largest = request.param
    monkeypatch.setattr(jsonspan, "_FIRST_WINDOW", first)
    monkeypatch.setattr(jsonspan, "_MAX_WINDOW", largest)
    return 100


@pytest.mark.parametrize("ensure_ascii", [True, False], ids=["ascii", "utf8"])
def test_generated_documents(ensure_ascii: bool, documents: int) -> None:
    rng = random.Random(20261201 + ensure_ascii)
    replaced = absent_checked = 0
    for _ in range(documents):
        data = _document(rng, ensure_ascii)
        doc = canonical_json(data, ensure_ascii=ensure_ascii).encode("utf-8")
        paths = _paths(data)
        for path in rng.sample(paths, min(len(paths), 8)):
            assert read_value(doc, path) == _get(data, path), path
            assert read_value(doc, path, ensure_ascii=ensure_ascii) == _get(data, path), path
            span = value_span(doc, path)
            assert span is not None
            # The span is exactly the value: replacing it by itself changes nothing.
            assert replace_values(doc, {path: _get(data, path)}, ensure_ascii=ensure_ascii) == doc
        for _ in range(4):
            chosen = _not_nested(rng.sample(paths, min(len(paths), rng.randrange(1, 5))))
            changes = {path: _value(rng, 2, ensure_ascii) for path in chosen}
            expected = copy.deepcopy(data)
            for path, value in changes.items():
                expected = _set(expected, path, value)
            got = replace_values(doc, changes, ensure_ascii=ensure_ascii)
            assert got == canonical_json(expected, ensure_ascii=ensure_ascii).encode("utf-8"), (
                data,
                changes,
            )
            replaced += len(changes)
        for path in rng.sample(absent := _absent_paths(data, rng), min(len(absent), 4)):
            assert value_span(doc, path) is None, path
            with pytest.raises(LookupError):
                read_value(doc, path)
            with pytest.raises(LookupError):
                replace_values(doc, {path: 1}, ensure_ascii=ensure_ascii)
            absent_checked += 1
    assert replaced > 3 * documents
    assert absent_checked > 2 * documents


def _canonical_files() -> list[tuple[FsPath, bool]]:
    """Every JSON file under state/ and tests/ that is canonical JSON (a snapshot or a report:
    bytes equal to ``canonical_json`` of their data, with or without ensure_ascii)."""
    found = []
    for path in sorted([*REPO.glob("state/*.json"), *REPO.glob("tests/**/*.json")]):
        raw = path.read_bytes()
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        for ensure_ascii in (True, False):
            try:
                text = canonical_json(data, ensure_ascii=ensure_ascii).encode("utf-8")
            except (TypeError, ValueError):
                break
            if text == raw:
                found.append((path, ensure_ascii))
                break
    return found


CANONICAL = _canonical_files()


def test_the_example_snapshot_and_report_goldens_are_canonical() -> None:
    """The file test below checks something only if these are found canonical."""
    names = {path.relative_to(REPO).as_posix() for path, _ in CANONICAL}
    assert "state/example.json" in names
    assert "tests/report/golden/example/report.json" in names


@pytest.mark.parametrize(
    ("path", "ensure_ascii"),
    CANONICAL,
    ids=[path.relative_to(REPO).as_posix() for path, _ in CANONICAL],
)
def test_repository_snapshots_and_reports(path: FsPath, ensure_ascii: bool) -> None:
    raw = path.read_bytes()
    data = json.loads(raw)
    rng = random.Random(path.name)
    # What the incremental check's fast path replaces: header times and the AD marks.
    changes: dict[Key, Any] = {}
    for key in [("observed_at",), ("timestamp",), ("ad", "marks", "marked_at")]:
        try:
            _get(data, key)
        except (KeyError, TypeError, IndexError):
            continue
        changes[key] = "2031-02-03T04:05:06Z"
    if isinstance(data.get("ad"), dict) and isinstance(data["ad"].get("marks"), dict):
        changes[("ad", "marks", "highest_committed_usn")] = 2**40
    paths = _paths(data)
    for chosen in rng.sample(paths, min(len(paths), 30)):
        assert read_value(raw, chosen) == _get(data, chosen)
        if _not_nested([*changes, chosen]) == [*changes, chosen]:
            changes[chosen] = rng.choice([{}, [], {"é": [1, {"b": None}]}, "x\ny", 7, [[]]])
    expected = copy.deepcopy(data)
    for key, value in changes.items():
        expected = _set(expected, key, value)
    got = replace_values(raw, changes, ensure_ascii=ensure_ascii)
    assert got == canonical_json(expected, ensure_ascii=ensure_ascii).encode("utf-8")
    # The same as pieces: unchanged stretches are views of the old bytes, not copies.
    parts = replaced_parts(raw, changes, ensure_ascii=ensure_ascii)
    assert b"".join(parts) == got
    assert all(part.obj is raw for part in parts if isinstance(part, memoryview))


def test_snapshot_with_marks() -> None:
    """The example snapshot with ``ad.marks`` (it was written without): the marks sit between
    ``ad``'s other members, before ``objects``; their time and USN are replaced in place."""
    data = json.loads((REPO / "state" / "example.json").read_bytes())
    data["ad"]["marks"] = {
        "dc": "CN=NTDS Settings,CN=DC1,CN=Servers,CN=Default-First-Site-Name,CN=Sites,"
        "CN=Configuration,DC=example,DC=com",
        "full_read_at": "2030-01-01T00:00:00Z",
        "highest_committed_usn": 12345,
        "invocation_id": "0b5e2c4e-0000-4000-8000-000000000001",
        "marked_at": "2030-01-01T00:00:00Z",
        "naming_contexts": ["DC=example,DC=com"],
        "roots": [],
    }
    doc = canonical_json(data).encode()
    assert read_value(doc, ("ad", "marks", "marked_at")) == "2030-01-01T00:00:00Z"
    changes: dict[Key, Any] = {
        ("observed_at",): "2030-01-02T00:00:00Z",
        ("ad", "marks", "marked_at"): "2030-01-02T00:00:00Z",
        ("ad", "marks", "highest_committed_usn"): 99999999,
        ("ad", "marks", "roots"): [{"nc": "DC=example,DC=com", "usn": 5}],
    }
    expected = copy.deepcopy(data)
    for key, value in changes.items():
        _set(expected, key, value)
    assert replace_values(doc, changes) == canonical_json(expected).encode()


def test_a_key_line_at_another_depth_is_not_the_key() -> None:
    """``k`` under ``a`` precedes the top-level ``k`` and is indented deeper: a search for the
    key without its exact indentation would find it first."""
    data = {"a": {"k": 1, "x": {"k": 3}}, "k": 2}
    doc = canonical_json(data).encode()
    assert read_value(doc, ["k"]) == 2
    assert read_value(doc, ["a", "k"]) == 1
    assert read_value(doc, ["a", "x", "k"]) == 3
    assert value_span(doc, ["x", "k"]) is None
    # Only the deeper one exists: the top-level path has no value.
    only_deep = canonical_json({"a": {"k": 1}}).encode()
    assert value_span(only_deep, ["k"]) is None


def test_a_key_in_a_later_sibling_is_not_in_this_object() -> None:
    """``b`` has no ``k`` but its sibling ``c`` (same depth) does: the search must stop at
    ``b``'s closing line."""
    doc = canonical_json({"b": {"x": 1}, "c": {"k": 2}}).encode()
    assert value_span(doc, ["b", "k"]) is None
    assert read_value(doc, ["c", "k"]) == 2
    with pytest.raises(LookupError):
        replace_values(doc, {("b", "k"): 0})


@pytest.mark.parametrize("ensure_ascii", [True, False], ids=["ascii", "utf8"])
def test_lookalike_keys_and_strings(ensure_ascii: bool) -> None:
    """A key that is a prefix of another, a key ending in a backslash or quote, a key line
    spelt out inside a string (its newline is escaped, so it is no line)."""
    data = {
        "k2": 1,
        "k\\": 2,
        'k"': 3,
        "note": '\n  "k": 99,\n  "é": 98',
        "x": ['"k": 97'],
    }
    doc = canonical_json(data, ensure_ascii=ensure_ascii).encode()
    for key in ["k", "é", "k\\\\", "x\\"]:
        assert value_span(doc, [key]) is None, key
    assert read_value(doc, ["k\\"]) == 2
    assert read_value(doc, ['k"']) == 3
    assert read_value(doc, ["k2"]) == 1


def test_non_ascii_key_spelt_as_written() -> None:
    data = {"ad": {"é": 1, "😀": [2]}}
    for ensure_ascii in (True, False):
        doc = canonical_json(data, ensure_ascii=ensure_ascii).encode()
        assert read_value(doc, ["ad", "😀", 0]) == 2
        assert read_value(doc, ["ad", "é"], ensure_ascii=ensure_ascii) == 1
        # Told the other spelling, the key is not found.
        assert value_span(doc, ["ad", "é"], ensure_ascii=not ensure_ascii) is None


def test_last_member_and_element_keep_their_separators() -> None:
    data = {"a": [1, "x", {"q": 1}], "z": {"y": 0}}
    doc = canonical_json(data).encode()
    changes: dict[Key, Any] = {("a", 2): [], ("a", 0): {"n": [1]}, ("z", "y"): {}, ("z",): 5}
    with pytest.raises(ValueError, match="inside"):
        replace_values(doc, changes)  # ("z", "y") lies inside ("z",)
    del changes[("z", "y")]
    expected = {"a": [{"n": [1]}, "x", []], "z": 5}
    assert replace_values(doc, changes) == canonical_json(expected).encode()


def test_whole_document_replaced_by_the_empty_path() -> None:
    doc = canonical_json({"a": 1}).encode()
    assert value_span(doc, []) == (0, len(doc) - 1)
    assert replace_values(doc, {(): [1, 2]}) == canonical_json([1, 2]).encode()
    with pytest.raises(ValueError, match="inside"):
        replace_values(doc, {(): 1, ("a",): 2})


def test_paths_through_scalars_and_wrong_containers() -> None:
    doc = canonical_json({"a": [1, {}], "e": {}, "l": [], "s": "abc"}).encode()
    for path in (["s", 0], ["s", "a"], ["a", "x"], ["a", 2], ["a", -1], ["a", 1, "k"]):
        assert value_span(doc, path) is None, path
    for path in (["e", "k"], ["e", 0], ["l", 0], ["a", 0, 0]):
        assert value_span(doc, path) is None, path
        with pytest.raises(LookupError):
            read_value(doc, path)


def test_bad_paths_and_values_are_value_errors() -> None:
    doc = canonical_json({"a": {"b": 1}}).encode()
    with pytest.raises(ValueError, match="float"):
        replace_values(doc, {("a", "b"): 1.5})
    with pytest.raises(ValueError, match="float"):
        replace_values(doc, {("a",): {"c": [1, {"d": float("nan")}]}})
    with pytest.raises(ValueError, match="path"):
        value_span(doc, "a")  # a string is a sequence of one-letter keys: refused
    with pytest.raises(ValueError, match="path"):
        value_span(doc, ["a", True])
    with pytest.raises(ValueError, match="inside"):
        replace_values(doc, {("a",): 1, ("a", "b"): 2})


def test_replace_spans_refuses_overlaps() -> None:
    assert replace_spans(b"abcdef", [(4, 5, b"E"), (0, 1, b"AA")]) == b"AAbcdEf"
    with pytest.raises(ValueError, match="overlaps"):
        replace_spans(b"abcdef", [(0, 3, b"x"), (2, 4, b"y")])
    with pytest.raises(ValueError, match="outside"):
        replace_spans(b"abc", [(2, 9, b"x")])


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"{",
        b"{\n",
        b'{\n  "a": ',
        b'{\n  "a": {\n',
        b'{\n  "a": [\n    1,\n',
        b'{\n  "a": [\n  1\n]}',
        b"[\n",
        b"[\n  ",
        b'\n  "a": 1\n',
        b"\xff\xfe{}",
        b'{"a": 1}',
    ],
)
def test_text_that_is_not_canonical_gives_no_crash(text: bytes) -> None:
    """No guarantee of a right answer, but no exception other than LookupError/ValueError and
    no endless loop."""
    for path in ([], ["a"], ["a", 0], ["a", 1], ["a", "b"], [0], [3]):
        span = value_span(text, path)
        if span is not None:
            assert 0 <= span[0] <= span[1] <= len(text)
        try:
            read_value(text, path)
            replace_values(text, {tuple(path): [1]})
        except (LookupError, ValueError):
            pass
