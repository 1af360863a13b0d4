"""Walk a plan's changes in order and execute them, journaling every step.

``plan.resource_changes`` are already in dependency order (``depends_on`` edges). A change
runs when none of its prerequisites failed or waits on a person:

- a failed change's dependents — transitively, also through no-op and unknown nodes — are
  ``skipped`` (naming the failed change); independent branches still run;
- ``manual`` changes are not executed (their instructions are printed, status ``manual``); their
  dependents, and the plan's ``deferred_changes``, are ``blocked``;
- ``no-op`` and ``read`` changes do nothing and are not journaled;
- a write whose reply was lost (the connection broke while it was in flight) is ``unknown``:
  the DC may have made it or not; its dependents are skipped like a failed change's;
- a stop request (SIGTERM/SIGINT, see :class:`StopFlag`) lets the running step finish; the
  steps not started stay ``pending``.

Nothing here prints: progress goes through a callback the CLI renders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planner.apply.executors import Targets, execute
from planner.apply.journal import Journal, JournalEntry
from planner.apply.ldapwrite import ReplyLostError
from planner.errors import WbplanError
from planner.model.plan import Plan, ResourceChange
from planner.observe.live import now_iso

EXECUTED = ("create", "update", "delete")

Progress = Callable[[str, JournalEntry], None]
"""Called with an event (``start``, ``done``, ``failed``, ``skipped``, ``blocked``, ``manual``)
and the entry."""


@dataclass
class ApplyResult:
    """Counts for the summary line (Terraform's added / changed / destroyed)."""

    added: int = 0
    changed: int = 0
    destroyed: int = 0
    failed: int = 0
    skipped: int = 0
    blocked: int = 0
    manual: int = 0
    unknown: int = 0
    not_started: int = 0
    """Changes left ``pending`` because a stop was requested."""
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.failed == 0
            and self.skipped == 0
            and self.unknown == 0
            and self.not_started == 0
            and not self.warnings
        )


@dataclass
class StopFlag:
    """Set by a signal handler: finish the running step, start no other."""

    requested: str | None = None
    """The signal's name, once one arrived."""
    journal: Path | None = None
    """The journal of the run, once it exists (printed when the run is stopped)."""


def journal_entries(plan: Plan) -> list[tuple[ResourceChange, JournalEntry]]:
    """One entry per change that does something or waits on something."""
    out: list[tuple[ResourceChange, JournalEntry]] = []
    changes = [(c, False) for c in plan.resource_changes] + [
        (c, True) for c in plan.deferred_changes
    ]
    for change, deferred in changes:
        action = change.change.actions[0]
        if not deferred and action not in (*EXECUTED, "manual"):
            continue
        out.append(
            (
                change,
                JournalEntry(
                    seq=len(out) + 1,
                    address=change.address,
                    type=change.type,
                    action=action,
                    dn=change.dn,
                    depends_on=list(change.depends_on),
                    planned={
                        "dn": change.dn,
                        "before": change.change.before,
                        "after": change.change.after,
                    },
                ),
            )
        )
    return out


def _starter(journal: Journal, entry: JournalEntry) -> Callable[[dict[str, Any]], None]:
    """The callback an executor calls with the before-image, just before it writes."""

    def started(image: dict[str, Any]) -> None:
        journal.update(entry, status="started", before_image=image, started=now_iso())

    return started


def run_apply(
    plan: Plan,
    targets: Targets,
    journal: Journal,
    progress: Progress,
    stop: StopFlag | None = None,
) -> ApplyResult:
    """Execute ``plan`` against ``targets``; every step is written to ``journal`` first."""
    pairs = journal_entries(plan)
    journal.entries.extend(e for _, e in pairs)
    if targets.ad is not None and any(
        e.type.startswith("ad.") and e.action in EXECUTED for _, e in pairs
    ):
        # before the first write: AD's record of what this journal may undo (anchor.py)
        from planner.apply.anchor import write_record

        journal.doc.anchor = write_record(targets.ad.session, journal.doc, journal.path.name)
    journal.save()
    by_address = {c.address: e for c, e in pairs}
    failed: dict[str, str] = {}
    """address → the failed change it (transitively) waits for."""
    waiting: dict[str, str] = {}
    """address → the manual step it (transitively) waits for."""
    result = ApplyResult()
    unknown: set[str] = set()
    """Changes whose reply was lost (their dependents' notes say so)."""
    for change in plan.resource_changes:
        action = change.change.actions[0]
        cause = next((failed[d] for d in change.depends_on if d in failed), None)
        blocker = next((waiting[d] for d in change.depends_on if d in waiting), None)
        entry = by_address.get(change.address)
        if entry is None:  # no-op / read: nothing to do, but failures and waits pass through
            if cause is not None:
                failed[change.address] = cause
            elif blocker is not None:
                waiting[change.address] = blocker
            continue
        if cause is not None:
            failed[change.address] = cause
            result.skipped += 1
            how = "has an unknown outcome" if cause in unknown else "failed"
            journal.update(entry, status="skipped", note=f"not attempted: {cause} {how}")
            progress("skipped", entry)
            continue
        if action == "manual":
            waiting[change.address] = change.address
            result.manual += 1
            journal.update(entry, status="manual", note=change.instructions)
            progress("manual", entry)
            continue
        if blocker is not None:
            waiting[change.address] = blocker
            result.blocked += 1
            journal.update(entry, status="blocked", note=f"waits for {blocker}")
            progress("blocked", entry)
            continue
        if stop is not None and stop.requested:
            result.not_started += 1
            continue
        progress("start", entry)
        try:
            outcome = execute(change, targets, _starter(journal, entry))
        except ReplyLostError as exc:
            failed[change.address] = change.address
            unknown.add(change.address)
            result.unknown += 1
            journal.update(entry, status="unknown", error=str(exc), finished=now_iso())
            progress("unknown", entry)
            continue
        except WbplanError as exc:
            failed[change.address] = change.address
            result.failed += 1
            journal.update(entry, status="failed", error=str(exc), finished=now_iso())
            progress("failed", entry)
            continue
        changes: dict[str, Any] = {"after_image": outcome.after, "note": outcome.note}
        if outcome.before is not None:
            changes["before_image"] = outcome.before
        if outcome.warnings:
            changes["warnings"] = list(outcome.warnings)
            result.warnings.extend(outcome.warnings)
        journal.update(entry, status="done", finished=now_iso(), **changes)
        result.added += action == "create"
        result.changed += action == "update"
        result.destroyed += action == "delete"
        progress("done", entry)
    for change in plan.deferred_changes:
        if stop is not None and stop.requested:
            break
        entry = by_address[change.address]
        result.blocked += 1
        journal.update(entry, status="blocked", note="waits for " + ", ".join(change.blocked_by))
        progress("blocked", entry)
    return result
