"""How ``wbplan import`` is run over the shipped snapshots, and its golden files.

Every plan scenario's ``state.json`` (``tests/plan/scenarios/<name>/``) and the example's
``state/example.json`` are imported through the real CLI, in-process (``tests.plan.harness``
runs click inside the folder, so the snapshot is named ``state.json`` in the output). The
scenarios in ``GOLDEN`` keep the imported YAML as ``golden/<name>.yaml``; a scenario wbplan must
refuse keeps its stderr as ``golden/<name>.error.txt``.
"""

from __future__ import annotations

from pathlib import Path

from tests.plan.harness import REPO, SCENARIOS_DIR, Run, scenario_dirs, wbplan

HERE = Path(__file__).resolve().parent
GOLDEN_DIR = HERE / "golden"
EXAMPLE = "example"
"""The shipped example snapshot (``state/example.json``), imported from the repository root."""

GOLDEN = (
    EXAMPLE,
    "fully-prepared",
    "half-prepared",
    "tenant-not-observed",
    "licence-missing",
    "connect-evidence-mismatch",
    "password-per-object",
    "ace-via-token-group",
    "drs-location-drift",
    "connector-not-found",
    "cloud-sync-prepared",
    "cloud-sync-gmsa-without-rights",
    "cloud-sync-migration-declared",
)
"""Imports whose output is pinned (the rest are checked for their meaning only)."""

REFUSED = frozenset({"connector-not-found"})
"""Snapshots import must refuse: their connector account does not exist."""


def folder_of(name: str) -> Path:
    """Where ``wbplan import`` runs for ``name``."""
    return REPO if name == EXAMPLE else SCENARIOS_DIR / name


def state_arg(name: str) -> str:
    """The ``--state`` argument for ``name`` (relative to :func:`folder_of`)."""
    return "state/example.json" if name == EXAMPLE else "state.json"


def names() -> list[str]:
    """The example and every plan scenario."""
    return [EXAMPLE, *(d.name for d in scenario_dirs())]


def run_import(name: str, *extra: str) -> Run:
    """``wbplan import --state STATE`` (stdout: the policy)."""
    return wbplan(folder_of(name), "import", "--state", state_arg(name), "--quiet", *extra)


def golden_file(name: str) -> Path:
    return GOLDEN_DIR / (f"{name}.error.txt" if name in REFUSED else f"{name}.yaml")


def expected(name: str) -> str:
    """What the golden file of ``name`` holds, computed now."""
    run = run_import(name)
    if name in REFUSED:
        assert run.exit_code == 1, run.stdout
        return run.stderr
    assert run.exit_code == 0, run.stderr
    return run.stdout
