"""The policy JSON Schema itself (issue #2: "the JSON Schemas themselves are tested").

The schema is checked with jsonschema directly, not through wbplan's loader: it is a valid
Draft 2020-12 schema, every valid example passes it, every corpus policy fails it with the
keyword recorded in ``schema_errors.json`` (a snapshot; ``python -m tests.policy.regen``), and the
pydantic model mirrors it key for key.
"""

from __future__ import annotations

import copy
import json
import types
import typing
from pathlib import Path
from typing import Any

import jsonschema
import pydantic
import pytest

from planner.model.policy import Policy
from tests.policy.corpus import GOLDEN, INVALID, REPO, VALID, cases, policy_files
from tests.policy.schema_snapshot import (
    SNAPSHOT,
    direct_validator,
    read_policy_data,
    schema,
    schema_errors,
    schema_errors_by_case,
)

EXAMPLE = REPO / "policies" / "example.yaml"
VALID_FILES = [EXAMPLE, *(c / f for c in cases(VALID) for f in policy_files(c))]


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def _keywords(data: Any) -> list[str]:
    errors = schema_errors(data)
    assert errors is not None
    return errors


# -- the schema document ----------------------------------------------------------------------


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    doc = schema()
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert jsonschema.validators.validator_for(doc) is jsonschema.Draft202012Validator
    jsonschema.Draft202012Validator.check_schema(doc)


def test_every_object_in_the_schema_forbids_unknown_keys() -> None:
    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object":
                assert node.get("additionalProperties") is False, where
            for key, sub in node.items():
                walk(sub, f"{where}/{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{where}/{i}")

    walk(schema(), "#")


def test_wbplan_loads_the_schema_tested_here() -> None:
    """planner.schemas (bundled copy first, else the source tree) yields this very schema."""
    from planner.schemas import load_schema

    assert load_schema("policy") == schema()


# -- valid examples ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", VALID_FILES, ids=[_rel(p) for p in VALID_FILES])
def test_valid_example_passes_the_schema(path: Path) -> None:
    data = read_policy_data(path)
    assert isinstance(data, dict)
    assert _keywords(data) == []


@pytest.mark.parametrize("path", VALID_FILES, ids=[_rel(p) for p in VALID_FILES])
def test_model_accepts_every_valid_example(path: Path) -> None:
    policy = Policy.model_validate(read_policy_data(path))
    assert policy.api_version == "wbplan.dev/v1"


# -- invalid examples -------------------------------------------------------------------------


def test_corpus_schema_errors_match_the_snapshot() -> None:
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert schema_errors_by_case() == expected


@pytest.mark.parametrize("case", cases(INVALID), ids=[c.name for c in cases(INVALID)])
def test_schema_rejects_exactly_the_cases_with_shape_diagnostics(case: Path) -> None:
    """A case whose golden has a shape code (WBP010–WBP015) fails the schema; a case with only
    YAML, semantic or cross-file codes passes it (or is no mapping at all)."""
    golden = (case / GOLDEN).read_text(encoding="utf-8")
    has_shape_code = any(f"[WBP01{d}]" in golden for d in range(6))
    errors = [schema_errors(read_policy_data(case / f)) for f in policy_files(case)]
    schema_rejects = any(e for e in errors if e)
    assert schema_rejects == has_shape_code


@pytest.mark.parametrize("case", cases(INVALID), ids=[c.name for c in cases(INVALID)])
def test_model_accepts_every_schema_valid_corpus_policy(case: Path) -> None:
    """Semantic mistakes (user writeback on, group v2, …) are shape-valid: the model must take
    them, or the loader would crash instead of reporting them."""
    for name in policy_files(case):
        data = read_policy_data(case / name)
        if schema_errors(data) == []:
            Policy.model_validate(data)


BASE = read_policy_data(VALID / "full-featured" / "policy.yaml")

# (description, path to set, value, expected "path: keyword" list): schema corners the corpus
# does not reach.
TABLE: list[tuple[str, tuple[str | int, ...], Any, list[str]]] = [
    ("ngc group", ("writeback", "ngc_keys", "group"), "domain_admins",
     ["writeback.ngc_keys.group: enum"]),
    ("connect version", ("connect", "version"), "2.4", ["connect.version: pattern"]),
    ("hybrid join name", ("writeback", "hybrid_join", "azure_ad_name"), "-bad-.com",
     ["writeback.hybrid_join.azure_ad_name: pattern"]),
    ("other forests repeat", ("other_forests",), ["a.test", "a.test"], ["other_forests: uniqueItems"]),
    ("empty waiver scope", ("waivers", 0, "scope"), "", ["waivers[0].scope: minLength"]),
    ("empty name", ("metadata", "name"), "", ["metadata.name: minLength", "metadata.name: pattern"]),
    ("user has only enabled", ("writeback", "user", "remove_preparation"), False,
     ["writeback.user: additionalProperties"]),
    ("number as date", ("waivers", 0, "expires"), 20270630, ["waivers[0].expires: type"]),
    ("null feature", ("writeback", "device"), None, ["writeback.device: type"]),
    ("bool for list", ("licences", "require"), True, ["licences.require: type"]),
    ("uppercase version", ("apiVersion",), "WBPLAN.DEV/V1", ["apiVersion: const"]),
    ("cloud sync group scope", ("cloud_sync", "domains", 0, "group_provisioning", "scope"), "all",
     ["cloud_sync.domains[0].group_provisioning.scope: enum"]),
    ("cloud sync no target OU", ("cloud_sync", "domains", 0, "group_provisioning", "target_ous"),
     [], ["cloud_sync.domains[0].group_provisioning.target_ous: minItems"]),
    ("cloud sync target OU repeat",
     ("cloud_sync", "domains", 0, "group_provisioning", "target_ous"),
     ["OU=G,DC=apac,DC=fabrikam,DC=test", "OU=G,DC=apac,DC=fabrikam,DC=test"],
     ["cloud_sync.domains[0].group_provisioning.target_ous: uniqueItems"]),
    ("cloud sync target OU not a DN",
     ("cloud_sync", "domains", 0, "group_provisioning", "target_ous", 0), "CloudGroups",
     ["cloud_sync.domains[0].group_provisioning.target_ous[0]: pattern"]),
    ("cloud sync domain name", ("cloud_sync", "domains", 0, "domain"), "-bad-.test",
     ["cloud_sync.domains[0].domain: pattern"]),
    ("cloud sync feature as text", ("cloud_sync", "domains", 0, "password_writeback"), "true",
     ["cloud_sync.domains[0].password_writeback: type"]),
    ("cloud sync empty gmsa", ("cloud_sync", "gmsa", "account"), "",
     ["cloud_sync.gmsa.account: minLength"]),
    ("cloud sync gmsa key", ("cloud_sync", "gmsa", "name"), "gmsa$",
     ["cloud_sync.gmsa: additionalProperties"]),
    ("cloud sync no domains", ("cloud_sync",), {"gmsa": {}}, ["cloud_sync: required"]),
]  # fmt: skip


@pytest.mark.parametrize(("what", "path", "value", "expected"), TABLE, ids=[t[0] for t in TABLE])
def test_schema_rejects_with_the_expected_keyword(
    what: str, path: tuple[str | int, ...], value: Any, expected: list[str]
) -> None:
    data = copy.deepcopy(BASE)
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    assert _keywords(data) == expected


def test_base_of_the_table_is_valid() -> None:
    assert _keywords(BASE) == []
    assert direct_validator().is_valid(BASE)


# -- schema / model parity --------------------------------------------------------------------


def _nested_model(annotation: Any) -> type[pydantic.BaseModel] | None:
    """The pydantic model inside ``X``, ``X | None`` or ``tuple[X, ...]``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _object_schema(node: dict[str, Any]) -> dict[str, Any]:
    """The object schema of a property: itself, or its ``items`` for a list."""
    return node["items"] if node.get("type") == "array" else node


def _walk_parity(node: dict[str, Any], model: type[pydantic.BaseModel], where: str) -> int:
    """Assert schema ``node`` and ``model`` agree; return how many objects were compared."""
    fields = {f.alias or name: f for name, f in model.model_fields.items()}
    props = node.get("properties", {})
    assert set(props) == set(fields), f"{where}: schema {sorted(props)} vs model {sorted(fields)}"
    assert model.model_config.get("extra") == "forbid", where
    model_required = {key for key, f in fields.items() if f.is_required()}
    assert model_required <= set(node.get("required", [])), where
    compared = 1
    for key, f in fields.items():
        sub = _object_schema(props[key])
        nested = _nested_model(f.annotation)
        if nested is None:
            assert sub.get("type") != "object", f"{where}.{key}: schema object, model scalar"
            continue
        assert sub.get("type") == "object", f"{where}.{key}: model object, schema not"
        compared += _walk_parity(sub, nested, f"{where}.{key}")
    return compared


def test_schema_and_model_have_the_same_keys_at_every_level() -> None:
    compared = _walk_parity(schema(), Policy, "policy")
    # policy, metadata, tenant, connector, connect, licences, writeback + 7 features, waiver,
    # cloud_sync + gmsa + domain entry + group_provisioning + migrate_from_connect_v2
    assert compared == 20


def test_nested_model_finder_sees_through_optional_and_tuple() -> None:
    from planner.model.policy import Waiver, Writeback

    assert _nested_model(Writeback | None) is Writeback
    assert _nested_model(tuple[Waiver, ...]) is Waiver
    assert _nested_model(types.NoneType) is None
    assert _nested_model(str) is None


@pytest.mark.parametrize("name", ["policy", "state", "plan", "report"])
def test_every_bundled_schema_is_valid_against_its_metaschema(name: str) -> None:
    """wbplan does not check this at run time (it cost a fifth of an offline plan): here."""
    from planner.schemas import load_schema

    doc = load_schema(name)  # type: ignore[arg-type]
    jsonschema.validators.validator_for(doc).check_schema(doc)
