"""The values an attribute-mapping expression of Microsoft Entra provisioning can produce, as far
as string literals tell: used for Cloud Sync's group target container (``parentDistinguishedName``).

Syntax followed: "Reference for writing expressions for attribute mappings in Microsoft Entra ID"
(https://learn.microsoft.com/entra/identity/app-provisioning/functions-for-customizing-application-data):
an expression is a function call ``Name(arg, …)`` whose arguments are attributes in square
brackets (``[displayName]``), string constants in double quotes (``"OU=Groups,DC=contoso,DC=com"``,
where a backslash or a quote inside is escaped with a backslash) or other function calls; the
syntax is case-sensitive. Of the functions, two choose between values:

- ``Switch(source, defaultValue, key1, value1, key2, value2, …)`` yields ``defaultValue`` or one
  of the ``value`` arguments (the keys are compared with ``source``, never written);
- ``IIF(condition, valueIfTrue, valueIfFalse)`` yields one of its last two arguments.

:func:`possible_values` walks those value positions: a string constant there is a value the
mapping can produce; an attribute or any other function there computes its value from the
group, so the set of values is *open* and the reason says which part. Anything the parser does
not understand raises :class:`ExpressionError` — the caller reports it unknown, never as a pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_DEPTH = 64
"""Nesting beyond this is refused (an expression typed in the portal is a few levels deep)."""


class ExpressionError(ValueError):
    """The expression is not in the documented syntax (or not in the part wbplan parses)."""


@dataclass(frozen=True)
class Literal:
    """A string constant (escapes resolved)."""

    value: str


@dataclass(frozen=True)
class Attribute:
    """``[name]``: the value of a source attribute."""

    name: str


@dataclass(frozen=True)
class Call:
    """``name(args…)``."""

    name: str
    args: tuple[Node, ...]


Node = Literal | Attribute | Call


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, what: str) -> ExpressionError:
        return ExpressionError(f"{what} at character {self.pos + 1} of {self.text!r}")

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def node(self, depth: int) -> Node:
        if depth > _MAX_DEPTH:
            raise self.error("nesting too deep")
        c = self.peek()
        if c == '"':
            return self.literal()
        if c == "[":
            end = self.text.find("]", self.pos)
            if end < 0:
                raise self.error("unclosed '['")
            name = self.text[self.pos + 1 : end]
            self.pos = end + 1
            return Attribute(name)
        m = _NAME.match(self.text, self.pos)
        if m is None:
            raise self.error("expected a string, an [attribute] or a function")
        self.pos = m.end()
        if self.peek() != "(":
            raise self.error(f"expected '(' after {m.group()}")
        self.pos += 1
        args: list[Node] = []
        if self.peek() == ")":
            self.pos += 1
            return Call(m.group(), ())
        while True:
            args.append(self.node(depth + 1))
            c = self.peek()
            self.pos += 1
            if c == ")":
                return Call(m.group(), tuple(args))
            if c != ",":
                self.pos -= 1
                raise self.error("expected ',' or ')'")

    def literal(self) -> Literal:
        out: list[str] = []
        self.pos += 1  # the opening quote
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c == "\\" and self.text[self.pos + 1 : self.pos + 2] in ("\\", '"'):
                # The documented escapes are \\ and \"; any other backslash stays as written.
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            self.pos += 1
            if c == '"':
                return Literal("".join(out))
            out.append(c)
        raise self.error("unclosed string")


def parse(text: str) -> Node:
    """The expression as a tree; :class:`ExpressionError` when it is not in the documented
    syntax. A bare string constant or attribute (what the portal stores for a constant or a
    direct mapping) is accepted too."""
    p = _Parser(text)
    node = p.node(0)
    if p.peek():
        raise p.error("unexpected text after the expression")
    return node


@dataclass(frozen=True)
class Values:
    """What an expression can produce."""

    literals: tuple[str, ...]
    """String constants in value positions, in order of appearance, without repeats."""
    open: tuple[str, ...]
    """Why other values are possible: each names a computed part (empty: ``literals`` is the
    whole set)."""


def _walk(node: Node, literals: list[str], open_: list[str]) -> None:
    if isinstance(node, Literal):
        if node.value not in literals:
            literals.append(node.value)
        return
    if isinstance(node, Attribute):
        open_.append(f"the attribute [{node.name}]")
        return
    if node.name == "Switch" and len(node.args) >= 2 and len(node.args) % 2 == 0:
        for value in (node.args[1], *node.args[3::2]):
            _walk(value, literals, open_)
        return
    if node.name == "IIF" and len(node.args) == 3:
        for value in node.args[1:]:
            _walk(value, literals, open_)
        return
    if node.name in ("Switch", "IIF"):
        raise ExpressionError(f"{node.name}() with {len(node.args)} arguments")
    open_.append(f"the function {node.name}()")


def possible_values(text: str) -> Values:
    """The values ``text`` can produce (see the module docstring); raises
    :class:`ExpressionError` when it cannot be parsed."""
    literals: list[str] = []
    open_: list[str] = []
    _walk(parse(text), literals, open_)
    return Values(tuple(literals), tuple(dict.fromkeys(open_)))
