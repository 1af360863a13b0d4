"""User writeback (domain.md §11): withdrawn in the August 2015 update. A policy can only declare
it off (validation refuses ``enabled: true``); the plan then turns a lingering tenant flag off."""

from __future__ import annotations

from planner.model.plan import Resource
from planner.requirements.common import Context
from planner.requirements.tenant import feature_flag


def expand(ctx: Context) -> list[Resource]:
    """The tenant flag must be false when the policy mentions user writeback."""
    if ctx.policy.writeback.user is None:
        return []
    return [
        feature_flag(
            ctx,
            "userWritebackEnabled",
            False,
            "user",
            "User writeback was withdrawn in August 2015; a tenant with userWritebackEnabled should turn it off",
            (),
            references=("S25", "S36a"),
        )
    ]
