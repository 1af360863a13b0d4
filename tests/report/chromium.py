"""A tiny Chrome DevTools Protocol client over ``--remote-debugging-pipe``, for rendering a page
in headless Chromium (the Debian ``chromium`` package) and seeing what a browser reports.

Why the protocol rather than ``--screenshot`` plus ``--enable-logging``: the log shows console
calls but not a failed resource load, and it cannot tell which URLs the page requested. Over the
pipe (fd 3: commands to the browser, fd 4: answers and events, each JSON message ending in NUL)
the client sees every console call (``Runtime.consoleAPICalled``), uncaught exception
(``Runtime.exceptionThrown``), browser log entry such as "Failed to load resource"
(``Log.entryAdded``) and request (``Network.requestWillBeSent``), and takes a full-page
screenshot (``Page.captureScreenshot``). No network is used: the page is a local file, and the
flags below stop Chromium's own background traffic.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
]
TIMEOUT = 30.0
"""Seconds for any one protocol answer (a cold start on a busy 2-core machine takes ~1 s)."""


def chromium_binary() -> str | None:
    """The Chromium executable, if installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageReport:
    """What the browser reported while loading one page."""

    console: list[dict[str, Any]] = field(default_factory=list)
    """``Runtime.consoleAPICalled`` params (type, args)."""
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)
    """``Log.entryAdded`` entries (level, text, url)."""
    requests: list[str] = field(default_factory=list)
    png: bytes = b""
    height: int = 0
    values: list[Any] = field(default_factory=list)
    """What each ``evaluate`` expression returned, in order."""
    pdf: bytes = b""
    """The page printed to PDF (``Page.printToPDF``), when asked for."""

    def problems(self) -> list[str]:
        """Console errors and warnings, exceptions and browser log errors, one line each."""
        out = [
            f"console.{c.get('type')}: "
            + " ".join(str(a.get("value", a.get("description", ""))) for a in c.get("args", []))
            for c in self.console
            if c.get("type") in ("error", "warning", "assert")
        ]
        out += [
            f"exception: {e.get('exceptionDetails', {}).get('exception', {}).get('description') or e.get('exceptionDetails', {}).get('text')}"
            for e in self.exceptions
        ]
        out += [
            f"log.{e.get('level')}: {e.get('text')} {e.get('url', '')}".rstrip()
            for e in self.log
            if e.get("level") in ("error", "warning")
        ]
        return out


class _Pipe:
    def __init__(self, proc: subprocess.Popen[bytes], write_fd: int, read_fd: int) -> None:
        self.proc, self.write_fd, self.read_fd = proc, write_fd, read_fd
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self.read_fd], [], [], left)
            if ready:
                chunk = os.read(self.read_fd, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"Chromium closed the pipe (exit {self.proc.poll()})")
                self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.write_fd, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer.get("result", {})
                return result
            self.events.append(answer)

    def wait_for(self, method: str) -> dict[str, Any]:
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                del self.events[i]
                return event
        deadline = time.monotonic() + TIMEOUT
        while True:
            event = self._read_message(deadline)
            if event.get("method") == method:
                return event
            self.events.append(event)

    def drain(self, seconds: float) -> None:
        """Collect events for ``seconds`` (late console messages, resource failures)."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._read_message(deadline))
        except TimeoutError:
            return


def _high_pipe() -> tuple[int, int]:
    """A pipe whose ends are numbered 10 or above, so that putting them on fds 3 and 4 in the
    child can never overwrite one another (pytest's capture holds low fds)."""
    r, w = os.pipe()
    high = (fcntl.fcntl(r, fcntl.F_DUPFD_CLOEXEC, 10), fcntl.fcntl(w, fcntl.F_DUPFD_CLOEXEC, 10))
    os.close(r)
    os.close(w)
    return high


def render_page(
    page: Path,
    *,
    width: int = 1280,
    media: str | None = None,
    evaluate: tuple[str, ...] = (),
    pdf: bool = False,
) -> PageReport:
    """Load ``page`` in headless Chromium; return what it reported and a full-page PNG.

    ``media`` emulates a CSS media type (``print``) for the layout, the screenshot and
    ``evaluate`` (JavaScript expressions run in the page after it loaded, their values returned
    in ``PageReport.values``); ``pdf`` also prints the page to PDF."""
    binary = chromium_binary()
    assert binary is not None, "chromium is not installed (apt-get install chromium)"
    to_browser_r, to_browser_w = _high_pipe()
    from_browser_r, from_browser_w = _high_pipe()
    with tempfile.TemporaryDirectory(prefix="wbplan-chromium-") as profile:
        # bash puts the pipe ends on the fds the protocol expects (3: in, 4: out); dash
        # (Debian's sh) cannot redirect from fds above 9
        proc = subprocess.Popen(
            [
                "bash",
                "-c",
                f'exec "$@" 3<&{to_browser_r} 4>&{from_browser_w}',
                "bash",
                binary,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},900",
                "about:blank",
            ],
            pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        pipe = _Pipe(proc, to_browser_w, from_browser_r)
        try:
            return _load(pipe, page, width, media, evaluate, pdf)
        finally:
            with contextlib.suppress(RuntimeError, TimeoutError, OSError):
                pipe.send("Browser.close")
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            os.close(to_browser_w)
            os.close(from_browser_r)


def _load(
    pipe: _Pipe, page: Path, width: int, media: str | None, evaluate: tuple[str, ...], pdf: bool
) -> PageReport:
    target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        pipe.send(f"{domain}.enable", session=session)
    pipe.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        session=session,
    )
    if media is not None:
        pipe.send("Emulation.setEmulatedMedia", {"media": media}, session=session)
    pipe.events.clear()
    pipe.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
    pipe.wait_for("Page.loadEventFired")
    pipe.drain(0.5)
    metrics = pipe.send("Page.getLayoutMetrics", session=session)
    height = int(metrics["cssContentSize"]["height"])
    shot = pipe.send(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        },
        session=session,
    )
    report = PageReport(png=base64.b64decode(shot["data"]), height=height)
    for expression in evaluate:
        answer = pipe.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session
        )
        if "exceptionDetails" in answer:
            raise RuntimeError(f"{expression}: {answer['exceptionDetails']}")
        report.values.append(answer.get("result", {}).get("value"))
    if pdf:
        printed = pipe.send("Page.printToPDF", {"printBackground": True}, session=session)
        report.pdf = base64.b64decode(printed["data"])
    for event in pipe.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled":
            report.console.append(params)
        elif method == "Runtime.exceptionThrown":
            report.exceptions.append(params)
        elif method == "Log.entryAdded":
            report.log.append(params.get("entry", {}))
        elif method == "Network.requestWillBeSent":
            report.requests.append(params.get("request", {}).get("url", ""))
    return report
