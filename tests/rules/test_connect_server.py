"""The Connect server rules (WB-CON-002 … WB-CON-008) on the plan scenarios that carry Connect
evidence: the verdict of each rule at each address. (What the evidence is read from, the plan's
items and the command line are tested in ``tests/connect``.)"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from planner.checking import evaluate
from planner.observe.snapshot import load_state
from planner.policy.loader import load_file

SCENARIOS = Path(__file__).resolve().parents[1] / "plan" / "scenarios"
TODAY = dt.date(2026, 11, 22)
DEVICE = "connect.option[device-writeback]"
GROUP = "connect.option[group-writeback]"
PASSWORD = "connect.option[password-writeback]"
EXCHANGE = "connect.option[exchange-hybrid]"
CONNECTOR = "connect.connector[contoso.test]"
STAGING = "connect.staging[]"
EVIDENCE = "connect.evidence[]"
VERSION = "connect.version[]"

ALL_PASS = {
    ("WB-CON-002", VERSION): "pass",
    ("WB-CON-003", DEVICE): "pass",
    ("WB-CON-003", EXCHANGE): "pass",
    ("WB-CON-003", GROUP): "pass",
    ("WB-CON-003", PASSWORD): "pass",
    ("WB-CON-004", CONNECTOR): "pass",
    ("WB-CON-005", DEVICE): "pass",
    ("WB-CON-006", DEVICE): "pass",
    ("WB-CON-006", GROUP): "pass",
    ("WB-CON-007", STAGING): "pass",
    ("WB-CON-008", EVIDENCE): "pass",
}
EXPECTED = {
    "fully-prepared": {("WB-CON-002", VERSION): "unknown"},  # no evidence: nothing more said
    "connect-evidence-v1": ALL_PASS,
    "connect-evidence-v2": ALL_PASS,
    "connect-evidence-mismatch": {
        **ALL_PASS,
        ("WB-CON-003", GROUP): "fail",
        ("WB-CON-004", CONNECTOR): "fail",
        ("WB-CON-005", DEVICE): "fail",
        ("WB-CON-006", GROUP): "fail",
        ("WB-CON-007", STAGING): "fail",
    },
    "connect-evidence-stale": {
        **dict.fromkeys(ALL_PASS, "unknown"),
        ("WB-CON-008", EVIDENCE): "fail",
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_connect_rules_per_scenario(name: str) -> None:
    loaded, diags = load_file(SCENARIOS / name / "policy.yaml", TODAY)
    assert loaded is not None, diags
    findings, _ = evaluate(loaded.policy, load_state(SCENARIOS / name / "state.json"), TODAY)
    got = {
        (f.rule_id, f.address): f.status
        for f in findings
        if f.rule_id.startswith("WB-CON-") and f.rule_id != "WB-CON-001"
    }
    assert got == EXPECTED[name]
