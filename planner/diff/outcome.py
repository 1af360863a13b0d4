"""The result type every per-type diff function returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from planner.model.plan import Action, ActionReason


@dataclass(frozen=True)
class Outcome:
    """What a type-specific diff decided for one resource."""

    action: Action
    reason: ActionReason
    before: Any = None
    after: Any = None
    instructions: str | None = None
    extra: dict[str, Any] | None = None


def not_observed(what: str) -> Outcome:
    """The side this resource lives on was not read (offline snapshot without it, or unread)."""
    return Outcome(
        "read",
        "not_observed",
        instructions=f"{what} was not observed; run `wbplan refresh` with access to it",
    )
