"""What every rule evaluates against: the policy, the observed state, and the planner's own
requirements and diff — so a rule judges exactly the observations and effective-rights decisions
the planner uses (one reading path, one evaluation), never a second interpretation.

``outcome(resource)`` is the planner's diff of one required resource (cached), and
``status_of`` maps it onto a rule status: ``no-op`` → pass, ``read`` → unknown (not observed,
or unverifiable), anything else (create / update / manual / delete) → fail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from planner.diff.ad import diff_ad
from planner.diff.outcome import Outcome
from planner.diff.tenant import diff_tenant
from planner.model.plan import Resource
from planner.model.policy import Policy
from planner.model.report import CheckStatus
from planner.model.state import ObservedState, Unread
from planner.observations import Index
from planner.requirements import expand

VERIFY_AD = (
    "run `wbplan check --ldap-url …` (or check a snapshot written by `wbplan refresh --ldap-url …`) "
    "with an account that can read the object"
)
VERIFY_TENANT = (
    "run `wbplan check --graph-url …` with Graph credentials that hold the permission named in "
    "the message (or check a snapshot written with them)"
)


@dataclass
class RuleContext:
    """The inputs of every rule check (built once per report)."""

    policy: Policy
    state: ObservedState
    today: dt.date
    index: Index = field(init=False)
    resources: list[Resource] = field(init=False)
    _by_address: dict[str, Resource] = field(init=False)
    _outcomes: dict[str, Outcome] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.index = Index(self.state)
        self.resources = expand(self.policy, self.state)
        self._by_address = {r.address: r for r in self.resources}

    # -- requirements and the planner's diff ---------------------------------------------------
    def resource(self, address: str) -> Resource | None:
        """The required resource at ``address`` (None: the policy does not require it)."""
        return self._by_address.get(address)

    def resources_of(
        self, feature: str, type_: str | None = None, purpose: str | None = None
    ) -> list[Resource]:
        """Required resources of ``feature`` (optionally one type / ACE purpose), in order."""
        out = []
        for r in self.resources:
            if feature not in r.features or (type_ is not None and r.type != type_):
                continue
            if purpose is not None and f"/{purpose}/" not in r.address:
                continue
            out.append(r)
        return out

    def outcome(self, r: Resource) -> Outcome:
        """The planner's diff of ``r`` against the observations (cached)."""
        found = self._outcomes.get(r.address)
        if found is None:
            group = self.policy.writeback.group
            if r.provider == "ad":
                found = diff_ad(r, self.index)
            else:
                found = diff_tenant(r, self.index, group.container if group else None)
            self._outcomes[r.address] = found
        return found

    # -- what could not be read ----------------------------------------------------------------
    def unread(self, *prefixes: str) -> Unread | None:
        """The first ``Unread`` entry (AD or tenant) whose ``what`` starts with a prefix."""
        entries: list[Unread] = []
        if self.state.ad is not None:
            entries += self.state.ad.unread
        if self.state.tenant is not None:
            entries += self.state.tenant.unread
        for u in entries:
            if u.what.startswith(prefixes):
                return u
        return None

    def tenant_verify_at(self, section: str) -> str:
        """Where to verify a tenant section by hand (from the observer's note, else generic)."""
        u = self.unread(section)
        return u.verify_at if u is not None and u.verify_at else VERIFY_TENANT


def status_of(outcome: Outcome) -> CheckStatus:
    """pass for no-op, unknown for read (not observed / unverifiable), fail otherwise."""
    if outcome.action == "no-op":
        return "pass"
    if outcome.action == "read":
        return "unknown"
    return "fail"
