"""Schema gates as rule results: the planner's ``ad.schema`` / ``ad.exchange_schema`` diff
(objectVersion, required classes and attributes, Exchange rangeUpper)."""

from __future__ import annotations

from planner.rules.base import Result
from planner.rules.context import VERIFY_AD, RuleContext, status_of


def gate_result(ctx: RuleContext, address: str, what: str) -> list[Result]:
    """pass / fail / unknown for the schema gate resource at ``address``."""
    r = ctx.resource(address)
    if r is None:  # the policy does not require the gate (the rule's predicate is wrong)
        raise AssertionError(f"no requirement {address} for this policy")
    if ctx.state.ad is None:
        return [
            Result("unknown", address, "Active Directory was not observed", verify_at=VERIFY_AD)
        ]
    outcome = ctx.outcome(r)
    status = status_of(outcome)
    before = outcome.before if isinstance(outcome.before, dict) else {}
    evidence = {**before, "required": dict(r.desired)}
    if status == "pass":
        return [Result("pass", address, f"{what} is present: {_show(before)}", evidence)]
    if status == "unknown":
        return [
            Result("unknown", address, f"{what} could not be read", evidence, verify_at=VERIFY_AD)
        ]
    return [Result("fail", address, f"{what} is missing or too old: {_show(before)}", evidence)]


def _show(before: dict[str, object]) -> str:
    parts = []
    for key, value in before.items():
        if key == "missing" and not value:
            continue
        parts.append(f"{key} {value}")
    return ", ".join(parts) or "nothing observed"
