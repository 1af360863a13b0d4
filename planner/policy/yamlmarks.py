"""YAML 1.2 → plain Python data, with the line and column of every key and value.

ruamel.yaml *composes* the document (a node tree that carries marks) and this module constructs
the values itself, because the stock constructors either stop at the first duplicate key or drop
the marks. Duplicate keys are recorded as diagnostics and parsing goes on, so a user sees every
problem at once. YAML 1.2 (ruamel's default) is used on purpose: ``no`` and ``on`` stay strings.

Timestamps are kept as their source text (``2027-03-31``): the JSON Schema checks their format.

Parser errors are translated into plain words (a tab, an unclosed quote, a line indented
differently from its block) and point where the user must look: an unclosed quote or bracket is
reported where it opens, not at the end of the file where the parser noticed it. Documents that
refer to themselves through an alias, nest without end, or expand past ``MAX_NODES`` values are
reported as diagnostics too, never as a crash, and so are integers longer than
``MAX_INT_CHARS`` and strings holding a lone surrogate (``"\\ud800"``, which nothing can print
or save).

The document is composed with ruamel's pure-Python *safe* parser: the round-trip parser keeps
comments, and gathering them is quadratic in the number of comment lines (a 20 MB file of
comments took minutes); the nodes and their marks are the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from planner.errors import Diagnostic

PathKey = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"

MAX_NODES = 50_000
"""Most values one document may expand to. A real policy has a few hundred; the bound stops an
alias "billion laughs" document from exhausting memory and time."""

MAX_INT_CHARS = 40
"""Longest integer a policy may hold (as written). Python would build a 50,000-digit number and
fail wherever it is printed; no policy value needs more than a few digits."""

_SYNTAX_HINT = "check indentation and quoting near this position"


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
    if tag == _TAG + "bool":  # YAML 1.2: true/false; a %YAML 1.1 directive also allows yes/on/y
        return value.lower() in ("true", "yes", "on", "y")
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


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _BuildError(Exception):
    """The document cannot be turned into data; ``node`` is where, ``message`` says why."""

    def __init__(
        self,
        node: Node,
        message: str,
        hint: str = "write the values out instead of nesting aliases",
    ) -> None:
        super().__init__(message)
        self.node = node
        self.message = message
        self.hint = hint


def _implicit_null(node: Node) -> bool:
    """``key:`` with nothing after it. The parser marks such a value at the *next* token (often
    the next line), so diagnostics about it point at the key instead."""
    return isinstance(node, ScalarNode) and str(node.tag) == _TAG + "null" and node.value == ""


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.marks: dict[PathKey, Mark] = {}
        self.diagnostics: list[Diagnostic] = []
        self.count = 0
        self.open: set[int] = set()  # ids of the collections being built (alias cycles)

    def build(self, node: Node, path: PathKey, key_node: Node | None) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _BuildError(node, f"the document expands to more than {MAX_NODES} values")
        if id(node) in self.open:
            raise _BuildError(node, "an alias refers to the collection that contains it")
        key_mark = key_node.start_mark if key_node is not None else node.start_mark
        start = key_mark if _implicit_null(node) else node.start_mark
        self.marks[path] = Mark(
            start.line + 1, start.column + 1, key_mark.line + 1, key_mark.column + 1
        )
        if isinstance(node, ScalarNode):
            if str(node.tag) == _TAG + "int" and len(node.value) > MAX_INT_CHARS:
                raise _BuildError(
                    node,
                    f"a number {len(node.value):,} characters long: a policy's numbers have at "
                    f"most {MAX_INT_CHARS}",
                    hint="quote the value if it is meant as text",
                )
            if not _encodable(node.value):
                raise _BuildError(
                    node,
                    "the value holds a UTF-16 surrogate (a \\uD800-\\uDFFF escape), which is "
                    "not a character: YAML does not join two of them into one",
                    hint="write the character itself, or escape it with 8 hex digits (\\U0001F600)",
                )
            return _scalar(node)
        self.open.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            if isinstance(node, SequenceNode):
                return [self.build(item, (*path, i), None) for i, item in enumerate(node.value)]
        finally:
            self.open.discard(id(node))
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


_UNCLOSED = {  # parser context → (message, hint) for a construct the end of the file cut short
    "while scanning a quoted scalar": (
        "the quoted value that starts here is never closed",
        "add the closing quote",
    ),
    "while parsing a flow sequence": (
        "the '[' list that starts here is never closed",
        "add the closing ']'",
    ),
    "while parsing a flow mapping": (
        "the '{' mapping that starts here is never closed",
        "add the closing '}'",
    ),
}


def _explain(exc: MarkedYAMLError) -> tuple[Any, str, str]:
    """Where to point, what to say and what to suggest for one parser error."""
    problem = exc.problem or exc.context or "invalid YAML"
    context = exc.context or ""
    at_end = "end of stream" in problem or "<stream end>" in problem
    if at_end and context in _UNCLOSED and exc.context_mark is not None:
        return exc.context_mark, *_UNCLOSED[context]
    mark = exc.problem_mark or exc.context_mark
    if "'\\t' that cannot start any token" in problem:
        return mark, "a tab character: YAML indents with spaces only", "replace the tab by spaces"
    if "that cannot start any token" in problem:
        char = problem.split("'")[1] if problem.count("'") >= 2 else "this character"
        return (
            mark,
            f"a plain value cannot start with {char!r} (a reserved YAML character)",
            "put the value in quotes",
        )
    if problem.startswith("expected <block end>"):
        return (
            mark,
            "this line is indented differently from the block it belongs to",
            "indent every key of one mapping (and every '-' of one list) by the same spaces",
        )
    if problem == "mapping values are not allowed here":
        return (
            mark,
            "a ':' here would start a mapping inside a plain value",
            "quote a value that contains ': ', or indent this line under its parent key",
        )
    detail = f" ({context})" if context and exc.problem else ""
    return mark, f"{problem}{detail}", _SYNTAX_HINT


def _syntax_error(file: str, exc: YAMLError, text: str) -> Diagnostic:
    if isinstance(exc, MarkedYAMLError):
        mark, message, hint = _explain(exc)
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        return Diagnostic(
            "error", "WBP001", file, line, col, "", f"YAML syntax error: {message}", hint=hint
        )
    if isinstance(exc, ReaderError) and isinstance(exc.position, int):  # a control character
        before = text[: exc.position]
        line = before.count("\n") + 1
        col = exc.position - (before.rfind("\n") + 1) + 1
        return Diagnostic(
            "error",
            "WBP001",
            file,
            line,
            col,
            "",
            f"YAML syntax error: the control character U+{exc.character:04X} is not allowed",
            hint="remove it, or write it as an escape inside a double-quoted string",
        )
    return Diagnostic(
        "error", "WBP001", file, 1, 1, "", f"YAML syntax error: {exc}", hint=_SYNTAX_HINT
    )


def _too_deep(file: str) -> ParsedYaml:
    diag = Diagnostic(
        "error",
        "WBP001",
        file,
        1,
        1,
        "",
        "YAML syntax error: the document nests lists or mappings too deeply to read",
        hint="a policy is a few levels deep; check for runaway brackets",
    )
    return ParsedYaml(None, {}, [diag])


def parse_yaml(text: str, file: str) -> ParsedYaml:
    """Parse one YAML document. Syntax errors become a diagnostic with the parser's position."""
    yaml = YAML(typ="safe", pure=True)
    try:
        nodes = list(yaml.compose_all(text))
    except YAMLError as exc:
        return ParsedYaml(None, {}, [_syntax_error(file, exc, text)])
    except RecursionError:
        return _too_deep(file)
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
            found="an empty file" if not text.strip() else "only comments",
        )
        return ParsedYaml(None, {}, [diag])
    builder = _Builder(file)
    try:
        data = builder.build(nodes[0], (), None)
    except _BuildError as stop:
        m = stop.node.start_mark
        diag = Diagnostic(
            "error",
            "WBP001",
            file,
            m.line + 1,
            m.column + 1,
            "",
            f"YAML error: {stop.message}",
            hint=stop.hint,
        )
        return ParsedYaml(None, {}, [diag])
    except RecursionError:
        return _too_deep(file)
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
