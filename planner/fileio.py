"""Reading and writing the files wbplan keeps: atomic writes, bounded reads.

Writes (snapshots, plans, the apply journal): temp file in the target folder + rename, so a crash
or a full disk never leaves half a file where a reader (or a later ``apply``) expects a whole one.

Reads of every file a user hands wbplan (plan, snapshot, journal, policy, CA file, password file)
go through the bounded readers here, which never let a bad file become an "internal error":

- **size**: at most ``max_bytes`` are read (a policy at most :data:`MAX_POLICY_BYTES`, a JSON file
  at most :data:`MAX_JSON_BYTES`), checked *before* anything is parsed, so a 20 MB file is refused
  at once instead of being parsed for minutes;
- **encoding**: strict UTF-8, a bad byte named with its offset, line and column;
- **JSON**: syntax errors with line and column, nesting deeper than :data:`MAX_JSON_DEPTH`,
  integers longer than :data:`MAX_INT_DIGITS` digits (Python would parse a 50,000-digit number
  and fail later, wherever it is printed) and lone surrogate escapes (``"\\ud800"``: a string
  that cannot be printed or written) are refused.

Each problem is a :class:`BadFileError` carrying one line of text (``problem``); the loaders turn
it into their own ``WbplanError`` subclass with the file's name, so the message says which file
and what is wrong with it.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

MAX_POLICY_BYTES = 1024 * 1024
"""Largest policy file wbplan reads (1 MiB). A real policy is a few kilobytes (the example is
5 KB); the bound keeps a mistaken or hostile file from tying the YAML parser up."""

MAX_JSON_BYTES = 256 * 1024 * 1024
"""Largest snapshot, plan or journal wbplan reads (256 MiB; a snapshot of 10,000 OUs and 100,000
users is about 30 MB)."""

MAX_JSON_DEPTH = 64
"""Deepest nesting of lists and objects in a JSON file (wbplan's own files nest about 10)."""

MAX_INT_DIGITS = 40
"""Most digits of an integer in a JSON file (wbplan's largest, an update sequence number, has at
most 20)."""


class BadFileError(ValueError):
    """A file cannot be used: ``problem`` says why in one line (without the file's name);
    ``line``/``column`` (1-based) say where, when known."""

    def __init__(self, problem: str, *, line: int | None = None, column: int | None = None):
        super().__init__(problem)
        self.problem = problem
        self.line = line
        self.column = column

    def at(self) -> str:
        """``, line L, column C`` when the position is known, else empty."""
        return f", line {self.line}, column {self.column}" if self.line is not None else ""

    def located(self, name: str) -> str:
        """``name:line:column: problem`` (or ``name: problem`` without a position)."""
        where = f"{name}:{self.line}:{self.column}" if self.line is not None else name
        return f"{where}: {self.problem}"


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8), creating the folder; never a partial file."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``, creating the folder; never a partial file (a temporary file
    in the same folder, renamed over ``path``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def size_text(size: int) -> str:
    """``1 MiB``, ``20.5 MiB``, ``300 KiB``, ``12 bytes``."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            value = size / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} bytes"


class TooLargeError(BadFileError):
    """The file is larger than the limit; ``size`` is None when it has no size (a pipe)."""

    def __init__(self, size: int | None, limit: int) -> None:
        found = (
            f"{size_text(size)} ({size:,} bytes)"
            if size is not None
            else f"more than {size_text(limit)}"
        )
        super().__init__(f"too large: {found}; the limit is {size_text(limit)}")
        self.size = size
        self.limit = limit
        self.found = found


def read_bytes_bounded(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, refusing a file larger than ``max_bytes`` before reading it whole.

    The size is checked on the open file (``fstat``) and again while reading (a pipe or a
    device has no size), so at most ``max_bytes + 1`` bytes are ever read. Raises ``OSError``
    when the file cannot be opened or read (a folder included), :class:`TooLargeError` when it
    is too large."""
    with path.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > max_bytes:
            raise TooLargeError(size, max_bytes)
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLargeError(None, max_bytes)
    return data


def decode_utf8(data: bytes, *, show_byte: bool = True) -> str:
    """Strict UTF-8 → text; a bad byte is named with its offset, line and column
    (``show_byte=False``: not its value — for secrets)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", errors="replace")) + 1
        what = f"byte 0x{data[exc.start]:02X}" if show_byte else "a byte"
        raise BadFileError(
            f"not UTF-8 text: {what} at offset {exc.start}",
            line=line,
            column=column,
        ) from None


def _bounded_int(text: str) -> int:
    digits = len(text) - text.startswith("-")
    if digits > MAX_INT_DIGITS:
        raise _HugeNumberError(digits)
    return int(text)


class _HugeNumberError(ValueError):
    def __init__(self, digits: int) -> None:
        super().__init__(digits)
        self.digits = digits


def json_depth_exceeds(data: Any, max_depth: int) -> bool:
    """True when lists/objects in ``data`` nest deeper than ``max_depth`` (iterative: never a
    RecursionError)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth > max_depth:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def parse_json(text: str) -> Any:
    """JSON text → data, with :data:`MAX_JSON_DEPTH` and :data:`MAX_INT_DIGITS` enforced;
    every problem a :class:`BadFileError` (syntax errors with line and column)."""
    too_deep = BadFileError(f"lists or objects nest deeper than {MAX_JSON_DEPTH} levels")
    try:
        data = json.loads(text, parse_int=_bounded_int)
    except json.JSONDecodeError as exc:
        raise BadFileError(f"not JSON: {exc.msg}", line=exc.lineno, column=exc.colno) from None
    except _HugeNumberError as exc:
        raise BadFileError(
            f"a number with {exc.digits:,} digits; at most {MAX_INT_DIGITS} are accepted"
        ) from None
    except RecursionError:
        raise too_deep from None
    if isinstance(data, dict | list) and json_depth_exceeds(data, MAX_JSON_DEPTH):
        raise too_deep
    if _SURROGATE_ESCAPE.search(text) and _holds_lone_surrogate(data):
        raise BadFileError(
            "a string holds a lone UTF-16 surrogate (a \\uD800-\\uDFFF escape that is not "
            "half of a pair), which is not text"
        )
    return data


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
"""A ``\\uD800``-``\\uDFFF`` escape: a character outside the BMP written by ``json.dumps``
(a pair, fine) or a lone surrogate, which no file, terminal or LDAP server can take."""


def _holds_lone_surrogate(data: Any) -> bool:
    """True when a string (value or key) in ``data`` cannot be encoded as UTF-8."""
    stack: list[Any] = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


def read_json(path: Path, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Read a JSON file through every bound above. ``OSError`` when it cannot be read,
    :class:`BadFileError` for everything else."""
    return parse_json(decode_utf8(read_bytes_bounded(path, max_bytes)))


def first_problem(errors: list[Any], count: int) -> str:
    """``N problem(s), the first at KEY.PATH: MESSAGE`` from a pydantic ``ValidationError``'s
    ``errors()`` and ``error_count()`` (no value is quoted: it may be long)."""
    if not errors:
        return f"{count} problem(s)"
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "the top level"
    message = " ".join(str(first.get("msg", "invalid")).split())[:200]
    return f"{count} problem(s), the first at {where}: {message}"
