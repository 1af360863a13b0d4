"""YAML 1.2 → plain Python data, with the line and column of every key and value.

ruamel.yaml *composes* the document (a node tree that carries marks) and this module constructs
the values itself, because the stock constructors either stop at the first duplicate key or drop
the marks. Duplicate keys are recorded as diagnostics and parsing goes on, so a user sees every
problem at once. YAML 1.2 (ruamel's default) is used on purpose: ``no`` and ``on`` stay strings.

Timestamps are kept as their source text (``2027-03-31``): the JSON Schema checks their format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from planner.errors import Diagnostic

PathKey = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"


@dataclass(frozen=True)
class Mark:
    """1-based position of a key (if the value sits under one) and of the value itself."""

    line: int
    column: int
    key_line: int
    key_column: int


@dataclass
class ParsedYaml:
    """The constructed data, marks by path, and problems found while parsing."""

    data: Any
    marks: dict[PathKey, Mark] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def mark(self, path: PathKey) -> Mark:
        """The mark of ``path``, or of its nearest marked ancestor (1:1 for the document)."""
        p = tuple(path)
        while p:
            if p in self.marks:
                return self.marks[p]
            p = p[:-1]
        return self.marks.get((), Mark(1, 1, 1, 1))


def _scalar(node: ScalarNode) -> Any:
    tag = str(node.tag)
    value: str = node.value
    if tag == _TAG + "null":
        return None
    if tag == _TAG + "bool":
        return value.lower() == "true"
    if tag == _TAG + "int":
        try:
            return int(value.replace("_", ""), 0)
        except ValueError:
            return value
    if tag == _TAG + "float":
        try:
            return float(value)
        except ValueError:
            return value
    return value  # str, timestamp (format-checked by the schema), custom tags


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.marks: dict[PathKey, Mark] = {}
        self.diagnostics: list[Diagnostic] = []

    def build(self, node: Node, path: PathKey, key_node: Node | None) -> Any:
        start = node.start_mark
        key_mark = key_node.start_mark if key_node is not None else start
        self.marks[path] = Mark(start.line + 1, start.column + 1, key_mark.line + 1, key_mark.column + 1)
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, i), None) for i, item in enumerate(node.value)]
        if isinstance(node, ScalarNode):
            return _scalar(node)
        return None  # pragma: no cover - ruamel produces only the three node kinds

    def _mapping(self, node: MappingNode, path: PathKey) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                m = key_node.start_mark
                self.diagnostics.append(
                    Diagnostic(
                        "error",
                        "WBP003",
                        self.file,
                        m.line + 1,
                        m.column + 1,
                        _dotted(path),
                        "a key must be a plain string",
                        found="a mapping or sequence used as a key",
                    )
                )
                continue
            key = str(key_node.value)
            if key in out:
                m = key_node.start_mark
                self.diagnostics.append(
                    Diagnostic(
                        "error",
                        "WBP002",
                        self.file,
                        m.line + 1,
                        m.column + 1,
                        _dotted((*path, key)),
                        f"duplicate key {key!r} (first defined on line {first_seen[key]})",
                        hint="remove one of them; YAML would silently keep only the last",
                    )
                )
                continue
            first_seen[key] = key_node.start_mark.line + 1
            out[key] = self.build(value_node, (*path, key), key_node)
        return out


def _dotted(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_yaml(text: str, file: str) -> ParsedYaml:
    """Parse one YAML document. Syntax errors become a diagnostic with the parser's position."""
    yaml = YAML(typ="rt")
    try:
        nodes = list(yaml.compose_all(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        diag = Diagnostic(
            "error",
            "WBP001",
            file,
            line,
            col,
            "",
            f"YAML syntax error: {problem}{context}",
            hint="check indentation and quoting near this position",
        )
        return ParsedYaml(None, {}, [diag])
    except YAMLError as exc:  # errors without a mark (e.g. reader errors on bad bytes)
        diag = Diagnostic("error", "WBP001", file, 1, 1, "", f"YAML error: {exc}")
        return ParsedYaml(None, {}, [diag])
    nodes = [n for n in nodes if n is not None]
    if not nodes:
        diag = Diagnostic(
            "error",
            "WBP003",
            file,
            1,
            1,
            "",
            "the file holds no YAML document",
            expected="a WritebackPolicy mapping (apiVersion, kind, metadata, …)",
            found="an empty file",
        )
        return ParsedYaml(None, {}, [diag])
    builder = _Builder(file)
    data = builder.build(nodes[0], (), None)
    if len(nodes) > 1:
        m = nodes[1].start_mark
        builder.diagnostics.append(
            Diagnostic(
                "error",
                "WBP003",
                file,
                m.line + 1,
                m.column + 1,
                "",
                "a policy file holds exactly one YAML document",
                found=f"{len(nodes)} documents",
                hint="put each policy in a file of its own",
            )
        )
    return ParsedYaml(data, builder.marks, builder.diagnostics)
