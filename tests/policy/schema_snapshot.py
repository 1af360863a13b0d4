"""Which JSON Schema keyword rejects each corpus policy, checked with jsonschema directly.

The snapshot (``schema_errors.json``) maps ``case/file.yaml`` to the sorted ``path: keyword``
list of its schema violations: ``[]`` when the schema accepts the file (its mistake is semantic
or cross-file, found by wbplan's own checks), ``null`` when the file is not a YAML mapping at all
(nothing for the schema to see). ``python -m tests.policy.regen`` rewrites it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from planner.policy.yamlmarks import parse_yaml
from planner.schemas import json_path
from tests.policy.corpus import HERE, INVALID, REPO, cases, policy_files

SCHEMA_FILE = REPO / "schemas" / "policy.schema.json"
SNAPSHOT = HERE / "schema_errors.json"


def schema() -> dict[str, Any]:
    """The hand-written policy schema, read from the source tree."""
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return loaded


def direct_validator() -> jsonschema.Draft202012Validator:
    """A plain Draft 2020-12 validator with format checks, built without wbplan's helpers."""
    return jsonschema.Draft202012Validator(
        schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def read_policy_data(path: Path) -> Any:
    """The file's data as wbplan's YAML reader builds it (timestamps stay text), or None when
    it is not UTF-8 or not YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None
    return parse_yaml(text, path.name).data


def schema_errors(data: Any) -> list[str] | None:
    """Sorted ``path: keyword`` of every schema violation; None when ``data`` is no mapping."""
    if not isinstance(data, dict):
        return None
    found = {
        f"{json_path(e.absolute_path) or '(document)'}: {e.validator}"
        for e in direct_validator().iter_errors(data)
    }
    return sorted(found)


def schema_errors_by_case() -> dict[str, list[str] | None]:
    """The snapshot's content for the current corpus."""
    out: dict[str, list[str] | None] = {}
    for case in cases(INVALID):
        for name in policy_files(case):
            out[f"{case.name}/{name}"] = schema_errors(read_policy_data(case / name))
    return out
