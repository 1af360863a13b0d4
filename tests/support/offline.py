"""The CLI run offline, as the tests of saved plans and of "no silent defaults" need it: no
live source reachable through the environment (so nothing can fall back to LDAP or Graph
unnoticed), a fixed "today" for the goldens' dates and no colour."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import planner
from planner.cli import cli

REPO = Path(planner.__file__).resolve().parent.parent
LIVE_ENV = (
    "WBPLAN_LDAP_URL",
    "WBPLAN_GRAPH_URL",
    "WBPLAN_GRAPH_TOKEN",
    "AZURE_CLIENT_ID",
    "AZURE_FEDERATED_TOKEN_FILE",
)
"""Variables that would point wbplan at a live DC or tenant."""


def go_offline(monkeypatch: pytest.MonkeyPatch, today: str = "2026-11-22") -> None:
    monkeypatch.setenv("WBPLAN_TODAY", today)
    monkeypatch.setenv("NO_COLOR", "1")
    for name in LIVE_ENV:
        monkeypatch.delenv(name, raising=False)


def wbplan(*args: str, stdin: str | None = None) -> Result:
    """One CLI run in-process, as `wbplan ARGS` with ``stdin`` typed at its prompts."""
    return CliRunner().invoke(cli, list(args), prog_name="wbplan", input=stdin)
