"""Property tests: no input makes the policy loader crash (issue #2: "never a traceback").

Random mutations of the shipped example — a key deleted, a value replaced by one of another
type, junk keys inserted, characters of the text inserted or deleted — and random text or bytes
must come back from ``load_policies`` as diagnostics with a position (line ≥ 1, column ≥ 1)
inside the file, never as an exception. A document the loader accepts must also build the model
(``load_file`` asserts that the schema and the model agree).
"""

from __future__ import annotations

import copy
import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from planner.policy.loader import load_policies
from planner.policy.yamlmarks import parse_yaml
from tests.policy.corpus import REPO

EXAMPLE_TEXT = (REPO / "policies" / "example.yaml").read_text(encoding="utf-8")
EXAMPLE = parse_yaml(EXAMPLE_TEXT, "example.yaml").data
TODAY = dt.date(2026, 11, 22)

PROFILE = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["OU=Staff,DC=contoso,DC=test", "v2", "2020-01-01", "x\\", "=", "*"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``node`` (mapping keys and list indexes)."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, sub in node.items():
            out += _paths(sub, (*prefix, key))
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            out += _paths(sub, (*prefix, i))
    return out


def _containers(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of the mappings inside ``node`` (the root is ``()``)."""
    if isinstance(node, dict):
        out = [prefix]
        for key, sub in node.items():
            out += _containers(sub, (*prefix, key))
        return out
    if isinstance(node, list):
        return [c for i, sub in enumerate(node) for c in _containers(sub, (*prefix, i))]
    return []


def _at(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


@st.composite
def mutated_documents(draw: st.DrawFn, base: Any = EXAMPLE) -> Any:
    """``base`` (the example) with 1–4 structural mutations."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "replace", "junk"]))
        paths = _paths(doc)
        if kind in ("delete", "replace") and paths:
            path = draw(st.sampled_from(paths))
            parent = _at(doc, path[:-1])
            if kind == "delete":
                del parent[path[-1]]
            else:
                parent[path[-1]] = draw(values)
        else:
            target = _at(doc, draw(st.sampled_from(_containers(doc))))
            target[draw(st.text(min_size=1, max_size=12))] = draw(values)
    return doc


def _dump(doc: Any) -> str:
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    lines: list[str] = []

    class _Sink:
        def write(self, text: str | bytes) -> None:
            lines.append(text.decode("utf-8") if isinstance(text, bytes) else text)

    yaml.dump(doc, _Sink())
    return "".join(lines)


def _check(content: bytes) -> None:
    """Load ``content`` as a policy file: diagnostics only, each with a position in the file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.yaml"
        path.write_bytes(content)
        result = load_policies([path], today=TODAY)
    # YAML (and editors) also break lines at a lone CR, NEL, U+2028 and U+2029; splitlines()
    # knows every one of them (and a few more), so it bounds the last line a position may name.
    n_lines = len(content.decode("utf-8", errors="replace").splitlines()) + 1
    for d in result.diagnostics:
        assert d.file == str(path)
        assert d.severity in ("error", "warning")
        assert 1 <= d.line <= n_lines, d
        assert d.column >= 1, d
        assert d.message
    if result.errors:
        assert result.policies == []
    else:
        assert [p.path for p in result.policies] == [path]


def test_the_example_itself_loads() -> None:
    result = load_policies([REPO / "policies" / "example.yaml"], today=TODAY)
    assert result.diagnostics == []
    assert len(result.policies) == 1


@PROFILE
@given(mutated_documents())
def test_structural_mutations_never_crash(doc: Any) -> None:
    _check(_dump(doc).encode("utf-8"))


@PROFILE
@given(st.data())
def test_text_mutations_of_the_example_never_crash(data: st.DataObject) -> None:
    text = EXAMPLE_TEXT
    for _ in range(data.draw(st.integers(1, 5))):
        at = data.draw(st.integers(0, len(text)))
        if data.draw(st.booleans()):
            text = (
                text[:at]
                + data.draw(st.sampled_from(list(":-[]{}'\"\t\n #&*!|>%@`,?\\")))
                + text[at:]
            )
        else:
            text = text[:at] + text[at + data.draw(st.integers(1, 20)) :]
    _check(text.encode("utf-8"))


@PROFILE
@given(st.text(max_size=300))
def test_random_text_never_crashes(text: str) -> None:
    _check(text.encode("utf-8", errors="surrogatepass"))


@PROFILE
@given(st.binary(max_size=300))
def test_random_bytes_never_crash(content: bytes) -> None:
    _check(content)


def test_the_mutation_strategy_really_mutates() -> None:
    """Guard against a strategy that silently produces the unchanged example."""
    seen: list[bool] = []

    @settings(max_examples=30, deadline=None, database=None)
    @given(mutated_documents())
    def collect(doc: Any) -> None:
        seen.append(doc != EXAMPLE)

    collect()
    assert any(seen)
