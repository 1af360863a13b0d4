"""How the report goldens are produced (shared by the tests and ``python -m tests.report.regen``).

A case is a folder under ``golden/`` holding what ``wbplan check --format FMT`` printed for one
input, with ``WBPLAN_TODAY`` pinned and the volatile values (the check's timestamp, wbplan's
version, the snapshot's age at the check) replaced by placeholders:

- ``example``: ``wbplan check`` with no options, run from the repository root — the shipped
  ``policies/example.yaml`` against ``state/example.json``;
- every name in :data:`SCENARIOS`: ``wbplan check --policy policy.yaml --state state.json`` run
  inside ``tests/plan/scenarios/<name>/`` (inputs owned by the plan scenarios).

Files: ``report.txt``, ``report.json``, ``report.sarif``, ``report.junit.xml``, ``report.md``,
``report.html``, and ``exit.txt`` (the exit code). wbplan runs through its click command group,
in-process. The SARIF run also gets ``--sarif-root <repository root>`` (:data:`FORMAT_ARGS`), so
its URIs are the same whether or not the tree is a git checkout (the default root, git's top
level, is tested on a repository made for the test).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from planner.cli import cli

HERE = Path(__file__).resolve().parent
GOLDEN_DIR = HERE / "golden"
REPO = HERE.parent.parent
PLAN_SCENARIOS = REPO / "tests" / "plan" / "scenarios"
TODAY = "2026-11-22"
"""``WBPLAN_TODAY`` for every golden run (waiver expiry, WB-WVR-*)."""

SCENARIOS = (
    "fully-prepared",
    "schema-too-old",
    "tenant-not-observed",
    "connect-evidence-v2",
    "connect-evidence-mismatch",
)
"""Plan scenarios whose check reports are pinned: compliant with unknowns; SHALL failures from a
schema too old; a tenant not observed (unknowns only, which do not fail); Connect server
evidence that settles the Connect rules (passes), and that contradicts the policy (failures)."""
CASES = ("example", *SCENARIOS)

FILES = {
    "text": "report.txt",
    "json": "report.json",
    "sarif": "report.sarif",
    "junit": "report.junit.xml",
    "markdown": "report.md",
    "html": "report.html",
}
FORMAT_ARGS: dict[str, tuple[str, ...]] = {"sarif": ("--sarif-root", str(REPO))}
"""Extra ``check`` options per format for the golden runs."""
TIMESTAMP = "<timestamp>"
VERSION = "<wbplan_version>"
XML_TIMESTAMP = "&lt;timestamp&gt;"
XML_VERSION = "&lt;wbplan_version&gt;"
"""The placeholders escaped, so the JUnit and HTML goldens stay well-formed."""


@dataclass(frozen=True)
class Run:
    """One finished ``wbplan`` invocation."""

    exit_code: int
    stdout: str
    stderr: str


@contextmanager
def _inside(folder: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def wbplan(folder: Path, *args: str, today: str = TODAY) -> Run:
    """Run ``wbplan ARGS`` inside ``folder`` with ``WBPLAN_TODAY`` pinned."""
    runner = CliRunner()
    with _inside(folder):
        result = runner.invoke(
            cli, list(args), prog_name="wbplan", env={"NO_COLOR": "1", "WBPLAN_TODAY": today}
        )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def case_folder(case: str) -> Path:
    """Where the case's check runs."""
    return REPO if case == "example" else PLAN_SCENARIOS / case


def check_args(case: str, fmt: str, *extra: str) -> list[str]:
    """The ``check`` command line of a case."""
    inputs = [] if case == "example" else ["--policy", "policy.yaml", "--state", "state.json"]
    return ["check", *inputs, "--format", fmt, *extra]


def _sub(pattern: str, repl: str, text: str, flags: int = 0) -> str:
    out, n = re.subn(pattern, repl, text, flags=flags)
    assert n >= 1, f"volatile value not found ({pattern!r}); the normaliser is out of date"
    return out


def _json(text: str) -> str:
    doc = json.loads(text)
    doc["timestamp"], doc["wbplan_version"] = TIMESTAMP, VERSION
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _sarif(text: str) -> str:
    doc = json.loads(text)
    run = doc["runs"][0]
    run["tool"]["driver"]["version"] = VERSION
    run["properties"]["timestamp"] = TIMESTAMP
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _junit(text: str) -> str:
    text = _sub(r' timestamp="[^"]*"', f' timestamp="{XML_TIMESTAMP}"', text)
    return _sub(
        r'<property name="wbplan_version" value="[^"]*" />',
        f'<property name="wbplan_version" value="{XML_VERSION}" />',
        text,
    )


def _text(text: str) -> str:
    text = _sub(r"\Awbplan \S+ check:", f"wbplan {VERSION} check:", text)
    text = _sub(r"\((?:\d+[dhms] ?)+ ago\)", "(<age> ago)", text)  # the snapshot's age
    return _sub(r" · checked \S+ · ", f" · checked {TIMESTAMP} · ", text)


def _markdown(text: str) -> str:
    return _sub(
        r"· checked \S+ by wbplan \S+$", f"· checked {TIMESTAMP} by wbplan {VERSION}", text, re.M
    )


def _html(text: str) -> str:
    # the snapshot's age at the check (in the context and, when stale, in the banner)
    text = _sub(r"(?:\d+[dhms] ?)+ before (this check|it ran)", r"&lt;age&gt; before \1", text)
    return _sub(
        r'<time datetime="[^"]*">[^<]*</time> by wbplan [^<]*<',
        f'<time datetime="{XML_TIMESTAMP}">{XML_TIMESTAMP}</time> by wbplan {XML_VERSION}<',
        text,
    )


NORMALISE: dict[str, Callable[[str], str]] = {
    "text": _text,
    "json": _json,
    "sarif": _sarif,
    "junit": _junit,
    "markdown": _markdown,
    "html": _html,
}


def outputs(case: str) -> dict[str, str]:
    """File name → expected content, computed now (what regen writes, what the tests compare)."""
    out: dict[str, str] = {}
    codes = set()
    for fmt, name in FILES.items():
        run = wbplan(case_folder(case), *check_args(case, fmt, *FORMAT_ARGS.get(fmt, ())))
        assert run.exit_code in (0, 2), f"{case} {fmt}: exit {run.exit_code}\n{run.stderr}"
        codes.add(run.exit_code)
        out[name] = NORMALISE[fmt](run.stdout)
    assert len(codes) == 1, f"{case}: the exit code depends on the format: {codes}"
    out["exit.txt"] = f"{codes.pop()}\n"
    return out
