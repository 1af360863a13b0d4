"""Is the tenant directory-synced, and recently? One verdict for the plan (a manual step when
not) and for WB-TEN-001 (pure: judged relative to when the tenant was observed).

Graph returns ``onPremisesSyncEnabled: null`` both for a tenant that was never synced and for a
token that may not see the property, so null is *unknown*, never "not synced".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from planner.model.state import Organization

SYNC_STALE_AFTER = dt.timedelta(hours=3)
"""Entra Connect syncs every 30 minutes by default (domain.md §7 [S17c]); six missed cycles
means the sync server is down or stuck (the project's threshold: Microsoft names none)."""

CONNECT_CHECK = (
    "Check the Entra Connect server: the ADSync service runs, `Get-ADSyncScheduler` shows "
    "SyncCycleEnabled True, and the last run in Synchronization Service Manager succeeded"
)


@dataclass(frozen=True)
class SyncVerdict:
    """``pass`` / ``fail`` / ``unknown`` with the sentence and the evidence behind it."""

    status: Literal["pass", "fail", "unknown"]
    message: str
    evidence: dict[str, object] = field(default_factory=dict)


def parse_time(ts: str | None) -> dt.datetime | None:
    """An ISO 8601 timestamp as Graph and wbplan write it (``Z``, up to seven fractional
    digits), UTC when it names no zone; None when absent or not one."""
    if not ts:
        return None
    try:
        parsed = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def sync_verdict(org: Organization, observed_at: str) -> SyncVerdict:
    """The verdict for ``org`` as observed at ``observed_at``."""
    evidence: dict[str, object] = {
        "onPremisesSyncEnabled": org.on_premises_sync_enabled,
        "onPremisesLastSyncDateTime": org.on_premises_last_sync,
        "observed_at": observed_at,
        "stale_after_hours": SYNC_STALE_AFTER.total_seconds() / 3600,
    }
    if org.on_premises_sync_enabled is None:
        return SyncVerdict(
            "unknown",
            "Graph returned onPremisesSyncEnabled as null: the tenant was never synced, or the "
            "credential may not see the property (it needs Organization.Read.All or Directory.Read.All)",
            evidence,
        )
    if org.on_premises_sync_enabled is False:
        return SyncVerdict("fail", "the tenant is not directory-synced", evidence)
    last = parse_time(org.on_premises_last_sync) if org.on_premises_last_sync else None
    observed = parse_time(observed_at)
    if last is None or observed is None:
        return SyncVerdict("fail", "the tenant is synced but reports no last sync time", evidence)
    age = observed - last
    evidence["age_hours"] = round(age.total_seconds() / 3600, 2)
    if age > SYNC_STALE_AFTER:
        return SyncVerdict(
            "fail",
            f"the last directory sync was {evidence['age_hours']} hours before the observation "
            f"({org.on_premises_last_sync})",
            evidence,
        )
    return SyncVerdict("pass", f"directory-synced; last sync {org.on_premises_last_sync}", evidence)
