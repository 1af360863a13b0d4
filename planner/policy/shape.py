"""JSON Schema violations of a policy → diagnostics with file:line:column.

Each jsonschema error is turned into one message a person can act on: an unknown key points at
the key itself and suggests the closest allowed key; a wrong type says what was expected and what
was found; a pattern failure quotes the field's description (which says the format by example).
"""

from __future__ import annotations

import difflib
from typing import Any

import jsonschema

from planner.errors import Diagnostic
from planner.policy.yamlmarks import ParsedYaml, PathKey
from planner.schemas import json_path, validator

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "boolean": "true or false",
    "integer": "an integer",
    "number": "a number",
    "null": "null",
}


def describe(value: Any) -> str:
    """How a found value is shown to the user."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string {value!r}"
    return f"{type(value).__name__} {value!r}"


def _diag(parsed: ParsedYaml, file: str, path: PathKey, code: str, message: str, **kw: Any) -> Diagnostic:
    mark = parsed.mark(path)
    use_key = kw.pop("at_key", False)
    line, col = (mark.key_line, mark.key_column) if use_key else (mark.line, mark.column)
    return Diagnostic("error", code, file, line, col, json_path(path), message, **kw)


def _one(parsed: ParsedYaml, file: str, err: jsonschema.ValidationError) -> list[Diagnostic]:
    path: PathKey = tuple(err.absolute_path)
    schema = err.schema if isinstance(err.schema, dict) else {}
    kind = err.validator
    if kind == "additionalProperties" and isinstance(err.instance, dict):
        allowed = sorted(schema.get("properties", {}))
        out = []
        for key in sorted(set(err.instance) - set(allowed)):
            close = difflib.get_close_matches(key, allowed, n=1)
            out.append(
                _diag(
                    parsed,
                    file,
                    (*path, key),
                    "WBP010",
                    f"unknown key {key!r}",
                    expected="one of: " + ", ".join(allowed),
                    found=repr(key),
                    hint=f"did you mean {close[0]!r}?" if close else None,
                    at_key=True,
                )
            )
        return out
    if kind == "required" and isinstance(err.instance, dict):
        missing = [r for r in err.validator_value if r not in err.instance]
        return [
            _diag(
                parsed,
                file,
                path,
                "WBP012",
                f"missing required key {name!r}",
                expected=f"a {name!r} entry" + (f" under {json_path(path)}" if path else ""),
                found="keys: " + (", ".join(sorted(err.instance)) or "none"),
                at_key=True,
            )
            for name in missing
        ]
    if kind == "type":
        types = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        expected = " or ".join(_TYPE_NAMES.get(t, t) for t in types)
        return [_diag(parsed, file, path, "WBP011", "wrong type", expected=expected, found=describe(err.instance))]
    if kind in ("enum", "const"):
        options = err.validator_value if kind == "enum" else [err.validator_value]
        return [
            _diag(
                parsed,
                file,
                path,
                "WBP013",
                "value not allowed",
                expected="one of: " + ", ".join(map(repr, options)) if len(options) > 1 else repr(options[0]),
                found=describe(err.instance),
            )
        ]
    if kind in ("pattern", "format"):
        what = schema.get("description") or (f"format {err.validator_value}" if kind == "format" else "a valid value")
        return [_diag(parsed, file, path, "WBP014", "invalid value", expected=what, found=describe(err.instance))]
    if kind == "uniqueItems":
        return [_diag(parsed, file, path, "WBP015", "the list has duplicate entries", found=describe(err.instance))]
    return [_diag(parsed, file, path, "WBP015", err.message)]


def shape_diagnostics(parsed: ParsedYaml, file: str) -> list[Diagnostic]:
    """Every schema violation in the parsed document, ordered by position."""
    errors = validator("policy").iter_errors(parsed.data)
    out: list[Diagnostic] = []
    for err in errors:
        out.extend(_one(parsed, file, err))
    return out
