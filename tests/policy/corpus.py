"""The policy corpus: case folders under ``invalid/`` and ``valid/``, and how a case is run.

A case is a folder holding one or more ``*.yaml`` policy files and ``expected.txt``, the exact
stdout of ``wbplan validate <every *.yaml of the folder, sorted>`` run *inside* the folder (so the
paths in the output are relative and stable) with "today" pinned to ``TODAY``. The command runs
in a subprocess, as a user would run it, so a traceback or a stray stderr line cannot hide.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
INVALID = HERE / "invalid"
VALID = HERE / "valid"
GOLDEN = "expected.txt"

TODAY = "2026-11-22"
"""Pinned "today" (WBPLAN_TODAY) so waiver expiry diagnostics never drift with the calendar."""

DIAGNOSTIC_LINE = re.compile(
    r"^(?P<file>[^\s:]+):(?P<line>\d+):(?P<column>\d+): (?P<severity>error|warning)"
    r"\[(?P<code>WBP\d{3})\]"
)
"""The first line of every diagnostic ``Diagnostic.format()`` prints."""


def cases(root: Path) -> list[Path]:
    """Case folders under ``root``, sorted by name."""
    return sorted(p for p in root.iterdir() if p.is_dir())


def policy_files(case: Path) -> list[str]:
    """The policy files of a case, relative to it, in the order they are passed."""
    return sorted(p.name for p in case.iterdir() if p.suffix == ".yaml")


def cli_env() -> dict[str, str]:
    """The environment ``wbplan`` runs in: pinned date, no colour, this source tree first."""
    env = dict(os.environ)
    env.update(
        WBPLAN_TODAY=TODAY,
        NO_COLOR="1",
        PYTHONUTF8="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
    )
    return env


@dataclass(frozen=True)
class Run:
    """One finished ``wbplan`` process."""

    exit_code: int
    stdout: str
    stderr: str


def run_wbplan(args: list[str], cwd: Path) -> Run:
    """Run ``wbplan ARGS`` (the console-script entry point) in ``cwd``."""
    proc = subprocess.run(
        [sys.executable, "-c", "from planner.cli import main; main()", *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def run_case(case: Path) -> Run:
    """``wbplan validate`` on every policy file of ``case``, from inside it."""
    return run_wbplan(["validate", *policy_files(case)], cwd=case)
