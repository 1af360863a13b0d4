"""Plan and check tell one story (issue 12): over the shipped example and every plan scenario,
each failing SHALL finding of ``wbplan check`` has a change or manual step in ``wbplan plan``,
so ``plan --detailed-exitcode`` exits 2 whenever check fails a SHALL rule. The live rule tests
assert the same on Samba (``tests/rules/support.report``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from planner.checking import evaluate
from planner.observe.snapshot import load_state
from planner.planning import has_changes, make_plan
from planner.policy.loader import load_file
from planner.story import unplanned_failures
from tests.plan.harness import SCENARIOS_DIR

REPO = Path(__file__).resolve().parent.parent.parent
TODAY = dt.date(2026, 11, 22)
CASES = {
    "example": (REPO / "policies" / "example.yaml", REPO / "state" / "example.json"),
    **{
        d.name: (d / "policy.yaml", d / "state.json")
        for d in sorted(SCENARIOS_DIR.iterdir())
        if (d / "state.json").exists() and not (d / "error.txt").exists()
    },
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_failing_shall_finding_has_a_planned_change_or_manual_step(name: str) -> None:
    policy_file, state_file = CASES[name]
    loaded, diags = load_file(policy_file, TODAY)
    assert loaded is not None, diags
    state = load_state(state_file)
    plan = make_plan(
        loaded.policy, state, policy_file="p", policy_digest="", state_source="s", timestamp="t"
    )
    findings, _ = evaluate(loaded.policy, state, TODAY)
    assert unplanned_failures(plan, findings) == []
    shall_failed = any(f.criticality == "SHALL" and f.status == "fail" for f in findings)
    if shall_failed:
        assert has_changes(plan)  # plan --detailed-exitcode exits 2
    if not has_changes(plan):
        assert not shall_failed  # a clean plan means a passing check


def test_the_check_catches_a_finding_without_a_plan_step() -> None:
    """The matcher itself: a failing SHALL finding at an address the plan does not touch."""
    policy_file, state_file = CASES["fully-prepared"]
    loaded, _ = load_file(policy_file, TODAY)
    assert loaded is not None
    state = load_state(state_file)
    plan = make_plan(
        loaded.policy, state, policy_file="p", policy_digest="", state_source="s", timestamp="t"
    )
    findings, _ = evaluate(loaded.policy, state, TODAY)
    forged = findings[0].model_copy(
        update={
            "status": "fail",
            "criticality": "SHALL",
            "address": "OU=Nowhere,DC=contoso,DC=test",
        }
    )
    assert unplanned_failures(plan, [forged]) == [forged]
