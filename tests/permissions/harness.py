"""What ``wbplan permissions`` prints for each example policy (shared by the test and regen).

Goldens live in ``golden/<name>.txt``: the exact stdout of ``wbplan permissions --policy PATH``
run from the repository root, for every policy in :data:`POLICIES`.
"""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from planner.cli import cli

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
GOLDEN = HERE / "golden"

POLICIES = {
    "example": "policies/example.yaml",
    "full-featured": "tests/policy/valid/full-featured/policy.yaml",
}
"""Golden name → policy path (relative to the repository root): the shipped example and the
policy that declares every feature."""


def output(policy: str) -> str:
    """stdout of ``wbplan permissions --policy POLICY`` run from the repository root."""
    before = Path.cwd()
    os.chdir(REPO)
    try:
        result = CliRunner().invoke(cli, ["permissions", "--policy", policy], env={"NO_COLOR": "1"})
    finally:
        os.chdir(before)
    assert result.exit_code == 0, result.output
    return result.stdout
