"""Does a candidate policy entry already hold in an observed state? Answered by the planner's own
requirements and diff (``planner.requirements.expand`` and ``planner.diff``), never by matching
ACEs here: import proposes an entry, and keeps it only when planning it against the same
observation changes nothing (pure).

A candidate's verdict is about *its own* resources: everything the policy with the candidate
requires that the same policy without any writeback feature does not (the baseline). The
baseline's own problems — a tenant that stopped syncing, a retired feature still on — are
global: no policy entry describes them away, so they are reported apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from planner.diff.ad import diff_ad
from planner.diff.tenant import diff_tenant
from planner.model.plan import Resource
from planner.model.policy import API_VERSION, KIND, Policy
from planner.model.state import ObservedState
from planner.observations import Index
from planner.requirements import expand

QUIET = ("no-op", "read")


@dataclass(frozen=True)
class Item:
    """One resource of a candidate and what planning it would do."""

    address: str
    type: str
    provider: str
    action: str
    reason: str
    features: tuple[str, ...] = ()
    dn: str | None = None


@dataclass(frozen=True)
class Verdict:
    """What planning a candidate against the observation would do."""

    satisfied: tuple[Item, ...]
    """Resources already as required (no-op)."""
    pending: tuple[Item, ...]
    """Resources the plan would change or hand to a person (create, update, delete, manual), and
    AD resources it could not observe: the candidate is not imported."""
    unchecked: tuple[Item, ...]
    """Tenant and Connect resources the plan cannot judge (not observed; no API exposes them):
    imported, with a comment saying they were not verified."""

    @property
    def ok(self) -> bool:
        """Nothing to change, nothing unobserved in AD, and something observed as required."""
        return not self.pending and bool(self.satisfied)

    def aces(self) -> tuple[Item, ...]:
        """The satisfied ACE requirements (``ad.ace[…]``)."""
        return tuple(i for i in self.satisfied if i.type == "ad.ace")


def base_document(
    *, forest: str, tenant_id: str, tenant_domain: str, connector: str | None, name: str = "import"
) -> dict[str, Any]:
    """The parts of a policy every candidate shares (no writeback feature; no connector when
    ``connector`` is None: a policy whose writeback is all Cloud Sync names none)."""
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name},
        "forest": forest,
        "tenant": {"id": tenant_id, "domain": tenant_domain},
        **({"connector": {"account": connector}} if connector is not None else {}),
        "licences": {"require": ["AAD_PREMIUM"]},
    }


def _outcome(resource: Resource, index: Index, container: str | None) -> Item:
    outcome = (
        diff_ad(resource, index)
        if resource.provider == "ad"
        else diff_tenant(resource, index, container)
    )
    return Item(
        address=resource.address,
        type=resource.type,
        provider=resource.provider,
        action=outcome.action,
        reason=outcome.reason,
        features=resource.features,
        dn=resource.dn,
    )


class Verifier:
    """Plans candidates against one observation (resources are diffed one by one with the
    planner's diff functions: the same decisions as ``wbplan plan``, without rendering)."""

    def __init__(self, state: ObservedState, base: dict[str, Any]) -> None:
        self.state = state
        self.base = base
        self.index = Index(state)
        baseline = self.plan({})
        self.baseline = frozenset((i.address, i.type) for i in baseline)
        self.global_pending = tuple(
            i
            for i in baseline
            if i.action not in QUIET or (i.provider == "ad" and i.action == "read")
        )
        """Changes every plan of this observation shows, whatever the writeback section says."""

    def policy(self, writeback: dict[str, Any], cloud_sync: dict[str, Any] | None = None) -> Policy:
        """The candidate policy: the shared parts plus ``writeback`` (and ``cloud_sync``)."""
        extra = {"cloud_sync": cloud_sync} if cloud_sync is not None else {}
        return Policy.model_validate({**self.base, "writeback": writeback, **extra})

    def plan(
        self, writeback: dict[str, Any], cloud_sync: dict[str, Any] | None = None
    ) -> list[Item]:
        """Every resource the candidate requires, with its plan action."""
        policy = self.policy(writeback, cloud_sync)
        group = policy.writeback.group
        container = group.container if group is not None else None
        return [_outcome(r, self.index, container) for r in expand(policy, self.state)]

    def check(self, writeback: dict[str, Any], cloud_sync: dict[str, Any] | None = None) -> Verdict:
        """The candidate's own resources (those the baseline lacks), judged."""
        own = [
            i for i in self.plan(writeback, cloud_sync) if (i.address, i.type) not in self.baseline
        ]
        satisfied = tuple(i for i in own if i.action == "no-op")
        pending = tuple(
            i for i in own if i.action not in QUIET or (i.action == "read" and i.provider == "ad")
        )
        unchecked = tuple(i for i in own if i.action == "read" and i.provider != "ad")
        return Verdict(satisfied, pending, unchecked)
