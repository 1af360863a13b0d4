"""Waivers themselves: an expired waiver is a failure (WB-WVR-001, SHALL) and one that expires
soon is a warning (WB-WVR-002, SHOULD, so `--fail-on should` can gate on it). Loading a policy
with an expired waiver only warns (WBP040), so that ``check`` can run and report it here.

Neither rule can be waived (``planner.checking``)."""

from __future__ import annotations

from planner.model.policy import Policy, Waiver
from planner.model.report import RuleInfo
from planner.policy.semantics import WAIVER_WARNING_DAYS
from planner.rules.base import Result, rule
from planner.rules.context import RuleContext


def has_waivers(policy: Policy) -> bool:
    """The policy declares at least one waiver."""
    return bool(policy.waivers)


def _address(i: int) -> str:
    return f"policy.waivers[{i}]"


def _evidence(w: Waiver, ctx: RuleContext) -> dict[str, object]:
    return {
        "rule": w.rule,
        "scope": w.scope,
        "approved_by": w.approved_by,
        "expires": w.expires.isoformat(),
        "days_left": (w.expires - ctx.today).days,
    }


@rule(
    RuleInfo(
        id="WB-WVR-001",
        title="No waiver has expired",
        criticality="SHALL",
        feature="policy",
        rationale=(
            "A waiver is an approved exception until a date; after it the finding it covered counts again, and "
            "the lapsed approval is itself a failure so that it is renewed or removed deliberately."
        ),
        remediation="Renew the waiver with a new approval and expiry date, or remove it and fix the finding.",
        references=("W1",),
        failure_modes=(),
    ),
    has_waivers,
)
def expired(ctx: RuleContext) -> list[Result]:
    """One failure per expired waiver; one pass when none expired."""
    out = [
        Result(
            "fail",
            _address(i),
            f"the waiver of {w.rule} for {w.scope} expired on {w.expires.isoformat()}",
            _evidence(w, ctx),
        )
        for i, w in enumerate(ctx.policy.waivers)
        if w.expires < ctx.today
    ]
    if not out:
        out.append(
            Result(
                "pass",
                "policy.waivers[]",
                f"none of the {len(ctx.policy.waivers)} waiver(s) has expired",
            )
        )
    return out


@rule(
    RuleInfo(
        id="WB-WVR-002",
        title=f"No waiver expires within {WAIVER_WARNING_DAYS} days",
        criticality="SHOULD",
        feature="policy",
        rationale=(
            f"A waiver expiring within {WAIVER_WARNING_DAYS} days is flagged so that its renewal is not missed "
            "(the same window as the validation warning WBP041)."
        ),
        remediation="Renew the waiver before it lapses, or fix the finding it covers.",
        references=("W1",),
        failure_modes=(),
    ),
    has_waivers,
)
def expiring(ctx: RuleContext) -> list[Result]:
    """One failure per waiver expiring within the window (expired ones are WB-WVR-001's)."""
    out = []
    for i, w in enumerate(ctx.policy.waivers):
        days = (w.expires - ctx.today).days
        if 0 <= days <= WAIVER_WARNING_DAYS:
            out.append(
                Result(
                    "fail",
                    _address(i),
                    f"the waiver of {w.rule} for {w.scope} expires in {days} day(s), on {w.expires.isoformat()}",
                    _evidence(w, ctx),
                )
            )
    if not out:
        out.append(
            Result(
                "pass",
                "policy.waivers[]",
                f"no waiver expires within {WAIVER_WARNING_DAYS} days",
            )
        )
    return out
