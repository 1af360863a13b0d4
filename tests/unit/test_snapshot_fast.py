"""The snapshot's fast paths (``planner.observe.snapshot``) change nothing but speed: the text
written is byte for byte ``json.dumps(indent=2, sort_keys=True)``, and a file read through
pydantic's JSON parser gives the same state as the bounded parse + model it bypasses. (That bad
files still get the same errors: tests/unit/test_bad_files.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.fileio import MAX_INT_DIGITS, parse_json
from planner.jsontext import canonical_json
from planner.model.state import ObservedState
from planner.observe import snapshot
from planner.observe.snapshot import dump_state, load_state, parse_state

REPO = Path(__file__).resolve().parents[2]
STATES = [REPO / "state" / "example.json", *sorted((REPO / "tests").glob("**/state.json"))]

# Every character class json.dumps escapes differently from a plain UTF-8 writer: control
# characters, DEL, Latin-1, the BMP, astral planes (surrogate pairs), quotes and backslashes.
text = st.text(
    st.one_of(
        st.characters(max_codepoint=0x7F),
        st.characters(min_codepoint=0x80, max_codepoint=0xFFFF, exclude_categories=("Cs",)),
        st.characters(min_codepoint=0x10000),
        st.sampled_from('"\\/\b\f\n\r\t\x00\x1f\x7f'),
    ),
    max_size=12,
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**MAX_INT_DIGITS) + 1, max_value=10**MAX_INT_DIGITS - 1),
    text,
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(text, inner, max_size=5)),
    max_leaves=40,
)


def reference(data: Any, ensure_ascii: bool = True) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=ensure_ascii) + "\n"


@settings(max_examples=400, deadline=None)
@given(documents, st.booleans())
def test_canonical_json_is_json_dumps_byte_for_byte(data: Any, ensure_ascii: bool) -> None:
    assert canonical_json(data, ensure_ascii=ensure_ascii) == reference(data, ensure_ascii)


def test_a_lone_surrogate_falls_back_to_json_dumps() -> None:
    data = {"a": "x\udfff"}
    assert canonical_json(data) == reference(data)


@pytest.mark.parametrize("name", ["state", "report"])
def test_the_documents_written_fast_have_no_float(name: str) -> None:
    """canonical_json matches json.dumps only without floats (exponents differ)."""
    schema = (REPO / "schemas" / f"{name}.schema.json").read_text()
    assert '"number"' not in schema


def test_the_states_in_the_repository_are_found() -> None:
    assert REPO / "state" / "example.json" in STATES
    assert len(STATES) > 10


@pytest.mark.parametrize("path", STATES, ids=lambda p: str(p.relative_to(REPO)))
def test_committed_states_read_and_write_as_before(path: Path) -> None:
    raw = path.read_bytes()
    assert snapshot._fast_path_applies(raw)
    fast = load_state(path)
    full = parse_state(parse_json(raw.decode("utf-8")), str(path))
    assert fast == full
    assert dump_state(fast) == reference(full.model_dump(mode="json", by_alias=True))


def test_a_state_with_non_ascii_text_is_written_with_escapes(tmp_path: Path) -> None:
    state = load_state(REPO / "state" / "example.json")
    state = state.model_copy(update={"observed_at": "2026-11-22T18:00:00Z Zürich 😀 \x7f"})
    written = dump_state(state)
    assert written.isascii() and "\\u00fc" in written and "\\ud83d\\ude00" in written
    assert written == reference(state.model_dump(mode="json", by_alias=True))
    target = tmp_path / "s.json"
    target.write_text(written)
    assert load_state(target) == state


@pytest.mark.parametrize(
    ("name", "edit"),
    [
        ("a long number in a string", lambda t: t.replace('"wbplan_version": "', '"wbplan_version": "' + "7" * 41)),
        ("a surrogate pair escape", lambda t: t.replace('"wbplan_version": "', '"wbplan_version": "\\ud83d\\ude00')),
    ],
)  # fmt: skip
def test_files_the_byte_scans_flag_take_the_full_path_and_read_the_same(
    tmp_path: Path, name: str, edit: Any
) -> None:
    original = (REPO / "state" / "example.json").read_text()
    edited = edit(original)
    assert edited != original, name
    target = tmp_path / "s.json"
    target.write_text(edited)
    assert not snapshot._fast_path_applies(edited.encode())
    assert load_state(target) == ObservedState.model_validate(json.loads(edited))


def test_a_state_holding_a_lone_surrogate_is_written_as_json_dumps_writes_it() -> None:
    state = load_state(REPO / "state" / "example.json")
    state = state.model_copy(update={"observed_at": "2026-11-22T18:00:00Z\udfff"})
    assert dump_state(state) == reference(state.model_dump(mode="json", by_alias=True))


@pytest.mark.parametrize("name", ["every_status", "many_findings"])
def test_the_json_report_is_json_dumps_of_the_report_document(name: str) -> None:
    from planner.render.report_json import render_json, report_document
    from tests.report import samples

    report = samples.every_status() if name == "every_status" else samples.many_findings(300)
    expected = reference(report_document(report), ensure_ascii=False)
    assert render_json(report) == expected
