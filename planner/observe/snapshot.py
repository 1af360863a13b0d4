"""Snapshots: an ``ObservedState`` saved as JSON (``wbplan refresh --out``) and read back
(``--state FILE``).

The file is exactly the model serialised, so a snapshot and a live read are interchangeable.
Reading validates against ``schemas/state.schema.json`` first, so a hand-edited file gets a
message naming the JSON path that is wrong instead of a pydantic trace.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pydantic

from planner.errors import StateFileError
from planner.fileio import BadFileError, first_problem, read_json, write_text_atomic
from planner.model.state import ObservedState
from planner.schemas import validate_document


def dump_state(state: ObservedState) -> str:
    """Canonical JSON text of a state: sorted keys, two-space indent, trailing newline."""
    data = state.model_dump(mode="json", by_alias=True)
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def save_state(state: ObservedState, path: Path) -> None:
    """Write atomically so a crash never leaves half a snapshot."""
    write_text_atomic(path, dump_state(state))


def parse_state(data: Any, source: str) -> ObservedState:
    """Validate ``data`` (parsed JSON) and build the model; errors name ``source``."""
    if isinstance(data, dict) and data.get("format_version") == 1:
        raise StateFileError(
            f"{source} is a format 1 snapshot, written before wbplan read every object's DACL "
            "in scope: it cannot say whether the connector holds its rights on each object",
            hint="write a fresh one with `wbplan refresh --out FILE`",
        )
    # The model is the schema's source (schemas/state.schema.json is generated from it): what it
    # accepts is what the schema describes, give or take pydantic's lax coercions (a number
    # written as a string), which yield the same state. JSON Schema validation, slow on a
    # snapshot of 100,000 objects, runs only to explain a document the model refuses.
    try:
        return ObservedState.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = validate_document("state", data)
        if problems:
            # the first problem on the error's own line; up to 19 more below it
            shown = [" ".join(p.split())[:300] for p in problems[:20]]
            more = "".join(f"\n  {p}" for p in shown[1:])
            rest = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise StateFileError(
                f"{source} is not a valid wbplan snapshot: {shown[0]}{rest}{more}",
                hint="write a fresh one with `wbplan refresh --out FILE`",
            ) from exc
        # schema and model disagree (a bug), or a value no schema can describe
        raise StateFileError(
            f"{source} is not a valid wbplan snapshot: "
            f"{first_problem(exc.errors(), exc.error_count())}",
            hint="write a fresh one with `wbplan refresh --out FILE`",
        ) from exc


def load_state(path: Path) -> ObservedState:
    """Read a snapshot file (bounded: see :mod:`planner.fileio`); every problem is a
    ``StateFileError`` naming the file."""
    try:
        data = read_json(path)
    except OSError as exc:
        raise StateFileError(
            f"cannot read snapshot {path}: {exc.strerror or exc}",
            hint="check the path given to --state",
        ) from exc
    except BadFileError as exc:
        raise StateFileError(
            exc.located(str(path)),
            hint="write a fresh one with `wbplan refresh --out FILE`",
        ) from exc
    return parse_state(data, str(path))
