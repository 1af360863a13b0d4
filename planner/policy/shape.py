"""JSON Schema violations of a policy → diagnostics with file:line:column.

Each jsonschema error is turned into one message a person can act on: an unknown key points at
the key itself and suggests the closest allowed key; a wrong type says what was expected and what
was found; a pattern failure quotes the field's description (which says the format by example).
"""

from __future__ import annotations

import difflib
import re
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


_YAML11_BOOLEANS = {"yes", "no", "on", "off", "y", "n"}


_LONGEST_QUOTED = 200
"""Longer strings are shown by their first 100 characters and their length."""


def quoted(text: str) -> str:
    """A string as the user typed it: single quotes, backslashes not doubled (``repr`` would
    show ``CONTOSO\\\\MSOL``). Control characters fall back to ``repr``. A string longer than
    ``_LONGEST_QUOTED`` is cut (``'abc…' (50,000 characters)``) so a message stays readable."""
    if len(text) > _LONGEST_QUOTED:
        start = quoted(text[:100])
        return f"{start[:-1]}…{start[-1]} ({len(text):,} characters)"
    return f"'{text}'" if text.isprintable() else repr(text)


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
        return f"the string {quoted(value)}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return f"{type(value).__name__} {value!r}"


def _format_problem(fmt: str, value: Any) -> str:
    """Why a value fails a ``format`` (only ``date`` is used by the policy schema)."""
    if fmt == "date" and isinstance(value, str):
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return "no such date in the calendar"
        return "not a date in YYYY-MM-DD form"
    return f"not a valid {fmt}"


def _diag(
    parsed: ParsedYaml, file: str, path: PathKey, code: str, message: str, **kw: Any
) -> Diagnostic:
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
        # jsonschema reports each missing key as an error of its own (same instance, same list)
        # while this handler names them all; shape_diagnostics drops the repeats.
        required = err.validator_value if isinstance(err.validator_value, list) else []
        missing = [r for r in required if r not in err.instance]
        return [
            _diag(
                parsed,
                file,
                path,
                "WBP012",
                f"missing required key {name!r}",
                expected=f"a key {name!r}" + (f" under {json_path(path)}" if path else ""),
                found="keys: " + (", ".join(sorted(err.instance)) or "none"),
                at_key=True,
            )
            for name in missing
        ]
    if kind == "type":
        types = (
            err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        )
        expected = " or ".join(_TYPE_NAMES.get(str(t), str(t)) for t in types)
        hint = None
        if (
            "boolean" in types
            and isinstance(err.instance, str)
            and err.instance.lower() in _YAML11_BOOLEANS
        ):
            hint = "YAML 1.2 reads yes/no/on/off as strings: write true or false"
        return [
            _diag(
                parsed,
                file,
                path,
                "WBP011",
                "wrong type",
                expected=expected,
                found=describe(err.instance),
                hint=hint,
            )
        ]
    if kind in ("enum", "const"):
        value = err.validator_value
        options: list[Any] = value if kind == "enum" and isinstance(value, list) else [value]
        return [
            _diag(
                parsed,
                file,
                path,
                "WBP013",
                "value not allowed",
                expected="one of: " + ", ".join(map(repr, options))
                if len(options) > 1
                else repr(options[0]),
                found=describe(err.instance),
            )
        ]
    if kind in ("pattern", "format"):
        fallback = f"format {err.validator_value}" if kind == "format" else "a valid value"
        what = schema.get("description") or fallback
        message = "invalid value"
        if kind == "format":
            message += f": {_format_problem(str(err.validator_value), err.instance)}"
        return [
            _diag(
                parsed, file, path, "WBP014", message, expected=what, found=describe(err.instance)
            )
        ]
    if kind == "uniqueItems" and isinstance(err.instance, list):
        return _duplicates(parsed, file, path, err.instance)
    if kind == "minItems" and isinstance(err.instance, list):
        n = err.validator_value
        return [
            _diag(
                parsed,
                file,
                path,
                "WBP015",
                "the list is empty" if not err.instance else "the list is too short",
                expected=f"at least {n} entr{'y' if n == 1 else 'ies'}",
                found=f"{len(err.instance)} entr{'y' if len(err.instance) == 1 else 'ies'}",
                hint="list at least one value, or remove the key to use the default",
            )
        ]
    if kind == "minLength":
        n = err.validator_value
        return [
            _diag(
                parsed,
                file,
                path,
                "WBP015",
                "the value is too short",
                expected=f"at least {n} character{'' if n == 1 else 's'}",
                found=describe(err.instance),
            )
        ]
    return [_diag(parsed, file, path, "WBP015", err.message)]


def _duplicates(parsed: ParsedYaml, file: str, path: PathKey, items: list[Any]) -> list[Diagnostic]:
    """One diagnostic per repeated entry, at the repeat, naming the line of the first one."""
    out = []
    for j, item in enumerate(items):
        first = next(i for i, other in enumerate(items) if _same(other, item))
        if first == j:
            continue
        out.append(
            _diag(
                parsed,
                file,
                (*path, j),
                "WBP015",
                "duplicate entry in the list",
                found=f"{describe(item)}, already entry [{first}] on line"
                f" {parsed.mark((*path, first)).line}",
                hint="remove the repeat",
            )
        )
    return out


def _same(a: Any, b: Any) -> bool:
    """Equality as JSON Schema ``uniqueItems`` sees it (true is not 1)."""
    return type(a) is type(b) and a == b


def shape_diagnostics(parsed: ParsedYaml, file: str) -> list[Diagnostic]:
    """Every schema violation in the parsed document, ordered by position."""
    errors = validator("policy").iter_errors(parsed.data)
    out: list[Diagnostic] = []
    for err in errors:
        out.extend(d for d in _one(parsed, file, err) if d not in out)
    return out
