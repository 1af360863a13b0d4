"""Snapshots: the committed example is what its builder produces, is schema-valid, and
round-trips through the model unchanged. (Generated schemas' freshness: tests/plan.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from planner.errors import StateFileError
from planner.observe.snapshot import dump_state, load_state, parse_state, save_state
from planner.schemas import validate_document

REPO = Path(__file__).resolve().parents[2]


def test_example_state_is_what_the_builder_script_writes() -> None:
    proc = subprocess.run(
        [sys.executable, "scripts/make_example_state.py", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_example_state_validates_against_the_state_schema() -> None:
    data = json.loads((REPO / "state" / "example.json").read_text())
    assert validate_document("state", data) == []


def test_snapshot_round_trip_is_identical(tmp_path: Path) -> None:
    state = load_state(REPO / "state" / "example.json")
    target = tmp_path / "nested" / "copy.json"
    save_state(state, target)
    again = load_state(target)
    assert again == state
    assert dump_state(again) == (REPO / "state" / "example.json").read_text()
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".")]  # no temp file left


def test_parse_state_rejects_unknown_fields_by_path() -> None:
    data = json.loads((REPO / "state" / "example.json").read_text())
    data["tenant"]["surprise"] = 1
    with pytest.raises(StateFileError, match="surprise") as info:
        parse_state(data, "x.json")
    assert "tenant" in str(info.value)
