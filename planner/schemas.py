"""Access to the JSON Schemas in ``schemas/`` — inside an installed wheel or in a source tree.

The wheel carries them under ``planner/_bundled/schemas`` (hatch ``force-include``); a source
checkout or an editable install reads the top-level ``schemas/`` folder. Both are found with
importlib.resources / the package location, never with the current directory, so wbplan works
from any directory.

``policy.schema.json`` is written by hand and is the single source of truth for the policy's
shape. ``state``, ``plan`` and ``report`` schemas are generated from the pydantic models by
``python -m planner.schemas --write`` and a test fails when the committed files are stale.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import jsonschema

SchemaName = Literal["policy", "state", "plan", "report"]


def _bundled_dir() -> Path | None:
    candidate = resources.files("planner").joinpath("_bundled", "schemas")
    path = Path(str(candidate))
    return path if path.is_dir() else None


def _source_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "schemas"


def schema_dir() -> Path:
    """Folder holding the schema files (bundled copy first)."""
    return _bundled_dir() or _source_dir()


def bundled_example(relative: str) -> Path:
    """Path of a shipped example (``policies/example.yaml``, ``state/example.json``)."""
    candidate = Path(str(resources.files("planner").joinpath("_bundled", relative)))
    if candidate.is_file():
        return candidate
    return Path(__file__).resolve().parent.parent / relative


@functools.cache
def load_schema(name: SchemaName) -> dict[str, Any]:
    """The parsed schema document."""
    path = schema_dir() / f"{name}.schema.json"
    with path.open(encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


@functools.cache
def validator(name: SchemaName) -> jsonschema.protocols.Validator:
    """A Draft 2020-12 validator with format checking (dates, uuids). The bundled schemas are
    checked against the metaschema by the tests (tests/policy/test_schema.py), not on every
    run: that check was a fifth of an offline plan's time."""
    schema = load_schema(name)
    cls = jsonschema.validators.validator_for(schema)
    v: jsonschema.protocols.Validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return v


def json_path(parts: Any) -> str:
    """``['writeback', 'password', 'scope', 0]`` → ``writeback.password.scope[0]``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _deepest(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For anyOf/oneOf (optional sections), the sub-error that goes deepest into the document:
    "ad.schema_info.object_version: 'x' is not of type 'integer'" rather than "ad: … is not
    valid under any of the given schemas"."""
    while error.context:
        error = max(error.context, key=lambda e: len(e.absolute_path))
    return error


def validate_document(name: SchemaName, data: Any) -> list[str]:
    """Every schema violation as ``path: message`` (empty list = valid)."""
    errors = [_deepest(e) for e in validator(name).iter_errors(data)]
    errors.sort(key=lambda e: list(map(str, e.absolute_path)))
    return [f"{json_path(e.absolute_path) or '(document)'}: {e.message}" for e in errors]


def generated_schemas() -> dict[str, dict[str, Any]]:
    """The schemas generated from models, by file name."""
    from pydantic import BaseModel

    from planner.model.plan import Plan
    from planner.model.report import Report
    from planner.model.state import ObservedState

    models: tuple[tuple[str, type[BaseModel], str], ...] = (
        ("state", ObservedState, "wbplan observed-state snapshot"),
        ("plan", Plan, "wbplan plan document"),
        ("report", Report, "wbplan compliance report"),
    )
    out: dict[str, dict[str, Any]] = {}
    for name, model, title in models:
        schema = model.model_json_schema(mode="serialization", by_alias=True)
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://wbplan.dev/schemas/{name}.schema.json",
            "title": title,
            **{k: v for k, v in schema.items() if k != "title"},
        }
        out[f"{name}.schema.json"] = schema
    return out


def render_schema(schema: dict[str, Any]) -> str:
    """Canonical text of a schema file."""
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main() -> None:
    """``python -m planner.schemas --write`` regenerates the model-derived schema files."""
    import sys

    target = _source_dir()
    for file_name, schema in generated_schemas().items():
        path = target / file_name
        text = render_schema(schema)
        if "--write" in sys.argv:
            path.write_text(text, encoding="utf-8")
        elif not path.is_file() or path.read_text(encoding="utf-8") != text:
            sys.stderr.write(f"{path} is stale; run python -m planner.schemas --write\n")
            raise SystemExit(1)


if __name__ == "__main__":
    main()
