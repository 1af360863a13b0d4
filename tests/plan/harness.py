"""How a plan scenario is run and what its golden files hold (shared by the tests and regen).

A scenario is a folder under ``scenarios/`` with the inputs ``policy.yaml`` and ``state.json``
(written by ``build_scenarios.py``) and the expected outputs:

- ``plan.json``: ``wbplan plan --policy policy.yaml --state state.json --format json`` with the
  volatile fields normalised (``timestamp``, ``wbplan_version``);
- ``plan.txt``: the same with ``--format text`` (the version in the first line and the
  snapshot's age in the second normalised);
- ``plan.md``: ``--format markdown``, for the scenarios in ``MARKDOWN``;
- ``error.txt`` instead of the plan files when wbplan must refuse the scenario (exit 1): its
  stderr.

wbplan runs through its click command group (the real CLI, in-process for speed) inside the
scenario folder, so the paths it prints are the relative ``policy.yaml`` / ``state.json``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from planner.cli import cli

HERE = Path(__file__).resolve().parent
SCENARIOS_DIR = HERE / "scenarios"
REPO = HERE.parent.parent

MARKDOWN = frozenset(
    {
        "half-prepared",
        "schema-too-old",
        "group-disable-blast-radius",
        "escaped-dn",
        "cloud-sync-gmsa-without-rights",
    }
)
"""Scenarios that also keep a Markdown golden."""

VOLATILE = {"timestamp": "<timestamp>", "wbplan_version": "<wbplan_version>"}
_TEXT_VERSION = re.compile(r"^wbplan \S+: ")
SNAPSHOT_AGE = re.compile(r"\((?:\d+[dhms] ?)+ ago\)")
"""The snapshot's age in the text header (``(3d 4h ago)``), which grows with the clock."""


@dataclass(frozen=True)
class Run:
    """One finished ``wbplan`` invocation."""

    exit_code: int
    stdout: str
    stderr: str


def scenario_dirs() -> list[Path]:
    """Every scenario folder, sorted by name."""
    return sorted(p for p in SCENARIOS_DIR.iterdir() if p.is_dir())


@contextmanager
def _inside(folder: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def wbplan(folder: Path, *args: str) -> Run:
    """Run ``wbplan ARGS`` inside ``folder`` through the click command group."""
    runner = CliRunner()
    with _inside(folder):
        result = runner.invoke(cli, list(args), prog_name="wbplan", env={"NO_COLOR": "1"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def plan_args(fmt: str, *extra: str) -> list[str]:
    """``plan --policy policy.yaml --state state.json --format FMT``."""
    return ["plan", "--policy", "policy.yaml", "--state", "state.json", "--format", fmt, *extra]


def normalise_json(text: str) -> str:
    """The JSON plan with volatile fields replaced, canonically formatted."""
    doc = json.loads(text)
    doc.update({k: v for k, v in VOLATILE.items() if k in doc})
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def normalise_text(text: str) -> str:
    """The text plan with the version in its first line and the snapshot's age replaced."""
    text = _TEXT_VERSION.sub("wbplan <wbplan_version>: ", text, count=1)
    return SNAPSHOT_AGE.sub("(<age> ago)", text, count=1)


def outputs(folder: Path) -> dict[str, str]:
    """File name → expected content, computed now (what regen writes, what tests compare)."""
    as_json = wbplan(folder, *plan_args("json"))
    if as_json.exit_code != 0:
        return {"error.txt": as_json.stderr}
    out = {"plan.json": normalise_json(as_json.stdout)}
    as_text = wbplan(folder, *plan_args("text"))
    assert as_text.exit_code == 0, as_text.stderr
    out["plan.txt"] = normalise_text(as_text.stdout)
    if folder.name in MARKDOWN:
        as_md = wbplan(folder, *plan_args("markdown"))
        assert as_md.exit_code == 0, as_md.stderr
        out["plan.md"] = as_md.stdout
    return out


GOLDEN_NAMES = ("plan.json", "plan.txt", "plan.md", "error.txt")
