"""Progress of long live reads on stderr (issue 15 §8): which phase a read is in, and how many
objects and pages it has read so far.

The readers (``planner/observe``) report to a :class:`Progress`; the base class ignores every
report, so a read without a display costs one method call per object. The CLI picks the
display (:func:`for_stderr`): none with ``--quiet``; a status line rewritten in place when
stderr is a terminal; plain lines with ``--progress`` when it is not (a CI log). Nothing ever
goes to stdout, so plans and reports are byte-identical with and without progress.

Terminal::

    Reading AD: scope OU=Staff,DC=contoso,DC=com: 12,000 objects, 13 pages…

(one line, rewritten at most ten times a second and cleared when the read ends). Plain lines,
for a log: each phase when it starts, a long counted phase every few seconds, and its total
when it ends::

    Reading AD: scope OU=Staff,DC=contoso,DC=com…
    Reading AD: scope OU=Staff,DC=contoso,DC=com: 60,000 objects, 61 pages…
    Reading AD: scope OU=Staff,DC=contoso,DC=com: 110,000 objects, 111 pages.
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TextIO, TypeVar

T = TypeVar("T")

TERMINAL_INTERVAL = 0.1
"""Seconds between two redraws of the terminal status line."""
LOG_INTERVAL = 5.0
"""Seconds between two running counts in plain (log) mode."""


class Progress:
    """Where a live read reports what it is doing. This base class shows nothing."""

    def phase(self, what: str, unit: str | None = None) -> None:
        """A new phase begins (ending the previous one): ``Reading AD: schema``. ``unit``
        (``objects``, ``devices``, ``names``) when the phase counts what it reads."""

    def update(self, count: int, pages: int | None = None) -> None:
        """``count`` items (and ``pages`` requests) read so far in the current phase."""

    def close(self) -> None:
        """The read ended (or failed): end the phase and leave stderr clean."""


NO_PROGRESS = Progress()
"""The silent default."""

_ACTIVE: ContextVar[Progress] = ContextVar("wbplan_progress", default=NO_PROGRESS)


def active() -> Progress:
    """The display a command set with :func:`showing` (``NO_PROGRESS`` outside one): what a
    live read reports to when no display is passed to it."""
    return _ACTIVE.get()


@contextmanager
def showing(progress: Progress) -> Iterator[Progress]:
    """Make ``progress`` the active display for the reads inside the block."""
    token = _ACTIVE.set(progress)
    try:
        yield progress
    finally:
        _ACTIVE.reset(token)


def counted(
    items: Iterable[T], progress: Progress, pages: Callable[[], int] | None = None
) -> Iterator[T]:
    """``items`` unchanged, reporting the running count (and ``pages()``) to ``progress``."""
    for count, item in enumerate(items, 1):
        progress.update(count, pages() if pages is not None else None)
        yield item


def amount(count: int, unit: str, pages: int | None = None) -> str:
    """``12,000 objects, 13 pages`` (``1 page``; no pages part when unknown)."""
    text = f"{count:,} {unit}"
    if pages is not None:
        text += f", {pages:,} page{'s' if pages != 1 else ''}"
    return text


class StderrProgress(Progress):
    """Shows progress on a text stream: a status line rewritten in place (``terminal``) or
    plain lines (a log)."""

    def __init__(
        self,
        stream: TextIO,
        *,
        terminal: bool,
        clock: Callable[[], float] = time.monotonic,
        width: Callable[[], int] | None = None,
    ) -> None:
        self.stream = stream
        self.terminal = terminal
        self.clock = clock
        self.width = width or (lambda: shutil.get_terminal_size((100, 24)).columns)
        self._what: str | None = None
        self._unit: str | None = None
        self._count = 0
        self._pages: int | None = None
        self._shown = 0.0
        self._drawn = False
        self._guarded: list[logging.Handler] = []
        self._guard = _ClearBeforeLog(self)

    # -------------------------------------------------------------------- Progress

    def phase(self, what: str, unit: str | None = None) -> None:
        self._end_phase()
        self._what, self._unit, self._count, self._pages = what, unit, 0, None
        self._shown = self.clock()
        self._show(f"{what}…")

    def update(self, count: int, pages: int | None = None) -> None:
        self._count, self._pages = count, pages
        now = self.clock()
        if now - self._shown >= (TERMINAL_INTERVAL if self.terminal else LOG_INTERVAL):
            self._shown = now
            self._show(f"{self._line()}…")

    def close(self) -> None:
        self._end_phase()
        self.clear()
        for handler in self._guarded:
            handler.removeFilter(self._guard)
        self._guarded = []

    def clear(self) -> None:
        """Erase the terminal status line (before a log line is written under it); the next
        update draws it again."""
        if self.terminal and self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False
            self._shown = float("-inf")

    # -------------------------------------------------------------------- internals

    def _line(self) -> str:
        if self._unit is None:
            return self._what or ""
        return f"{self._what}: {amount(self._count, self._unit, self._pages)}"

    def _end_phase(self) -> None:
        if self._what is None:
            return
        if self._unit is not None and not self.terminal:
            self._show(f"{self._line()}.")  # the total, for the log
        self._what = None

    def _show(self, text: str) -> None:
        if self.terminal:
            columns = max(20, self.width() - 1)
            if len(text) > columns:
                text = text[: columns - 1] + "…"
            if not self._guarded:  # a warning logged mid-read gets a line of its own
                self._guarded = [
                    h
                    for h in logging.getLogger().handlers
                    if getattr(h, "stream", None) is self.stream
                ]
                for handler in self._guarded:
                    handler.addFilter(self._guard)
            self.stream.write(f"\r\x1b[K{text}")
            self._drawn = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


class _ClearBeforeLog(logging.Filter):
    """A filter on the log handlers writing to the progress display's terminal: it erases the
    status line before each record, so that log lines never run into it."""

    def __init__(self, progress: StderrProgress) -> None:
        super().__init__()
        self.progress = progress

    def filter(self, record: logging.LogRecord) -> bool:
        self.progress.clear()
        return True


def for_stderr(*, quiet: bool = False, force: bool = False) -> Progress:
    """The display for a command: none with ``quiet``; on stderr when it is a terminal, or
    always with ``force`` (``--progress``: plain lines when it is not a terminal)."""
    if quiet:
        return NO_PROGRESS
    stream = sys.stderr
    terminal = _isatty(stream)
    if not terminal and not force:
        return NO_PROGRESS
    return StderrProgress(stream, terminal=terminal)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False
