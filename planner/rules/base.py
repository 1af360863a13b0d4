"""The shape of a compliance rule and the registry every rule module adds itself to.

A rule is its catalogue entry (:class:`~planner.model.report.RuleInfo`: id, title, criticality,
feature, rationale, remediation, references, failure modes), a predicate saying whether the
policy makes it applicable, and a check returning :class:`Result` values. ``planner.checking``
turns results into findings (adding the rule's criticality and remediation, and waivers).

A check returns ``pass`` / ``fail`` / ``unknown`` only: ``waived`` is decided from the policy's
waivers and ``error`` from an exception, both by ``planner.checking``, never by a rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from planner.model.policy import Policy
from planner.model.report import CheckStatus, RuleInfo

if TYPE_CHECKING:
    from planner.rules.context import RuleContext

RULE_ID = re.compile(r"^WB-[A-Z]{2,4}-\d{3}$")
"""``WB-<AREA>-<NNN>``; ids are never reused once published."""


@dataclass(frozen=True)
class Result:
    """One verdict of a rule at one address (a DN, or a tenant / policy address)."""

    status: CheckStatus
    address: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    verify_at: str | None = None
    """For ``unknown``: where a person can verify by hand."""
    fixed_by: tuple[str, ...] = ()
    """For ``fail``: plan addresses whose change or manual step fixes it, when they differ from
    ``address`` (plan and check tell one story: a failing SHALL finding always has one)."""


Check = Callable[["RuleContext"], Sequence[Result]]
Applies = Callable[[Policy], bool]


@dataclass(frozen=True)
class Rule:
    """A catalogue entry with its applicability predicate and check."""

    info: RuleInfo
    applies: Applies
    check: Check


REGISTRY: dict[str, Rule] = {}


def always(policy: Policy) -> bool:
    """For rules that hold whatever the policy declares."""
    del policy
    return True


def rule(info: RuleInfo, applies: Applies) -> Callable[[Check], Check]:
    """Register ``info`` with the decorated check; a malformed or reused id fails at import."""

    def register(check: Check) -> Check:
        if not RULE_ID.match(info.id):
            raise ValueError(f"malformed rule id {info.id!r} (expected WB-AREA-NNN)")
        if info.id in REGISTRY:
            raise ValueError(f"duplicate rule id {info.id}")
        REGISTRY[info.id] = Rule(info, applies, check)
        return check

    return register
