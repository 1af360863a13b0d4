"""Apply and rollback as whole runs: connections, the stale check, the journal, convergence.

The CLI (``planner/cli/apply_cmd.py``) holds the lock (:mod:`planner.apply.lock`), asks for
approval and prints; everything between "the plan is approved" and "the journal is closed" is
here, so tests can drive a run without click.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from planner import __version__
from planner.apply.engine import ApplyResult, Progress, StopFlag, run_apply
from planner.apply.executors import Targets
from planner.apply.journal import Journal, JournalDoc, new_journal_path
from planner.apply.lock import LockInfo
from planner.apply.rollback import RollbackResult, check_journal, restorable, run_rollback
from planner.apply.stale import check_not_stale, check_rederived
from planner.errors import StalePlanError, UsageError
from planner.model.dn import dn_key
from planner.model.plan import Plan
from planner.model.policy import Policy
from planner.model.state import ObservedState
from planner.observe.live import now_iso

if TYPE_CHECKING:
    from planner.observe.live import LiveSources

DEFAULT_JOURNAL_DIR = Path("state/journal")


def plan_digest(plan: Plan) -> str:
    """sha256 of the plan's canonical JSON document."""
    from planner.planfile import plan_document

    text = json.dumps(plan_document(plan), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


@contextlib.contextmanager
def open_targets(
    sources: LiveSources, state: ObservedState | None, *, ad: bool = True, graph: bool = True
) -> Iterator[Targets]:
    """Bound LDAP session and Graph client for the writes (closed afterwards)."""
    from planner.apply.ldapwrite import AdWriter
    from planner.graphapi.auth import make_token_provider
    from planner.graphapi.client import GraphClient
    from planner.observe.ldapconn import connect

    with contextlib.ExitStack() as stack:
        writer = client = None
        if ad and sources.ldap is not None:
            session = stack.enter_context(connect(sources.ldap))
            writer = AdWriter(session)
        if graph and sources.graph is not None:
            client = stack.enter_context(
                GraphClient(sources.graph, make_token_provider(sources.graph))
            )
        yield Targets(state=state, ad=writer, graph=client)


def _source_urls(sources: LiveSources) -> dict[str, str | None]:
    return {
        "ldap_url": sources.ldap.url if sources.ldap else None,
        "graph_url": sources.graph.graph_url if sources.graph else None,
    }


@dataclass
class ApplyRun:
    result: ApplyResult
    journal: Path


def execute_plan(
    plan: Plan,
    policy: Policy,
    sources: LiveSources,
    state: ObservedState,
    lock: LockInfo,
    *,
    journal_dir: Path,
    progress: Progress,
    stop: StopFlag | None = None,
) -> ApplyRun:
    """Check ``state`` (a fresh observation) against the plan, then execute and journal it.

    ``StalePlanError`` is raised before anything is written — the journal included — when the
    world changed since the plan, or when the plan holds a change its policy does not produce
    (an edited plan file)."""
    check_not_stale(plan, policy, state)
    check_rederived(plan, policy, state)
    journal = Journal(
        new_journal_path(journal_dir),
        JournalDoc(
            operation="apply",
            wbplan_version=__version__,
            started=now_iso(),
            lock_id=lock.lock_id,
            lineage=plan.lineage.model_dump(mode="json"),
            plan={
                "digest": plan_digest(plan),
                "timestamp": plan.timestamp,
                "policy_name": plan.policy_name,
                "policy_digest": plan.policy_digest,
            },
            sources=_source_urls(sources),
        ),
    )
    journal.save()
    if stop is not None:
        stop.journal = journal.path
    try:
        with open_targets(sources, state) as targets:
            result = run_apply(plan, targets, journal, progress, stop)
    except BaseException:
        journal.finish("aborted")
        raise
    if result.not_started:
        journal.finish("interrupted")
    else:
        # warnings alone (a concurrent change reported) do not make the run failed: every step
        # is done; the entries carry the warnings and apply exits 1 for a person to look
        broken = result.failed or result.skipped or result.unknown
        journal.finish("failed" if broken else "complete")
    return ApplyRun(result, journal.path)


def read_descriptors(plan: Plan, sources: LiveSources) -> dict[str, bytes]:
    """``dn_key(dn)`` → current DACL-only descriptor of every existing DN an ad.ace change
    targets (for ``--emit``). DNs the plan creates are left out: they do not exist yet."""
    from planner.observe.ldapconn import connect

    dns = {
        dn_key(c.dn): c.dn
        for c in (*plan.resource_changes, *plan.deferred_changes)
        if c.type == "ad.ace" and c.dn and c.change.actions[0] in ("create", "delete")
    }
    out: dict[str, bytes] = {}
    if not dns or sources.ldap is None:
        return out
    with connect(sources.ldap) as session:
        for key, dn in sorted(dns.items()):
            if session.read(dn, ["objectClass"]) is not None:
                out[key] = session.read_security(dn)
    return out


def wait_for_convergence(
    policy: Policy,
    sources: LiveSources,
    *,
    timeout: float,
    interval: float,
    on_poll: Callable[[Plan, float], None],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Plan:
    """Re-plan live until the plan has no changes or ``timeout`` seconds passed; returns the
    last plan (the caller checks ``has_changes``)."""
    from planner.observe.live import now_iso, observe_live
    from planner.planning import has_changes, make_plan

    deadline = clock() + timeout
    while True:
        plan = make_plan(
            policy,
            observe_live(policy, sources),
            policy_file="(apply --wait)",
            policy_digest="",
            state_source="live",
            timestamp=now_iso(),
        )
        left = deadline - clock()
        on_poll(plan, max(0.0, left))
        if not has_changes(plan) or left <= 0:
            return plan
        sleep(min(interval, left))


def check_journal_lineage(doc: JournalDoc, targets: Targets) -> None:
    """Rollback talks to the forest and tenant the journal was written for."""
    from planner.observe.ad import read_root_dse
    from planner.observe.graph import read_organization
    from planner.observe.sd import guid_from_bytes

    lineage = doc.lineage
    if targets.ad is not None and lineage.get("forest_guid"):
        session = targets.ad.session
        root = read_root_dse(session).root_domain_naming_context
        entry = session.require(root, ["objectGUID"])
        guid = guid_from_bytes(entry.raw("objectGUID")[0])
        if guid != lineage["forest_guid"]:
            raise StalePlanError(
                f"the journal is for the forest {lineage.get('forest')} ({lineage['forest_guid']}), "
                f"but the DC answers for {guid}",
                hint="point --ldap-url at the journal's forest",
            )
    if targets.graph is not None and lineage.get("tenant_id"):
        tenant = read_organization(targets.graph).id
        if tenant.lower() != str(lineage["tenant_id"]).lower():
            raise StalePlanError(
                f"the journal is for the tenant {lineage['tenant_id']}, but Graph answers for {tenant}",
                hint="use credentials of the journal's tenant",
            )


@dataclass
class RollbackRun:
    result: RollbackResult
    journal: Path


def rollback_journal(
    doc: JournalDoc,
    source_path: Path,
    sources: LiveSources,
    lock: LockInfo,
    *,
    journal_dir: Path,
    progress: Progress,
    stop: StopFlag | None = None,
) -> RollbackRun:
    """Restore ``doc``'s before-images (see :mod:`planner.apply.rollback`)."""
    if doc.operation != "apply":
        raise UsageError(
            f"{source_path} is the journal of a {doc.operation}, not of an apply",
            hint="roll back the apply journal it restored instead",
        )
    entries = restorable(doc)
    need_ad = any(e.type.startswith("ad.") for e in entries)
    need_graph = any(e.type.startswith("tenant.") for e in entries)
    if need_ad and sources.ldap is None:
        raise UsageError("the journal changed AD but no --ldap-url was given")
    if need_graph and sources.graph is None:
        raise UsageError(
            "the journal changed the tenant but no Graph endpoint or credential was given"
        )
    journal = Journal(
        new_journal_path(journal_dir, suffix="-rollback"),
        JournalDoc(
            operation="rollback",
            wbplan_version=__version__,
            started=now_iso(),
            lock_id=lock.lock_id,
            lineage=doc.lineage,
            rolls_back=str(source_path),
            sources=_source_urls(sources),
        ),
    )
    with open_targets(sources, None, ad=need_ad, graph=need_graph) as targets:
        check_journal_lineage(doc, targets)
        # the file's own consistency (and signature) first, then AD's record of it
        check_journal(doc)
        if targets.ad is not None:
            from planner.apply.anchor import check_record
            from planner.signing import signing_key

            check_record(targets.ad.session, doc, signed=signing_key() is not None)
        journal.save()
        if stop is not None:
            stop.journal = journal.path
        try:
            result = run_rollback(doc, targets, journal, progress, stop)
        except BaseException as exc:
            from planner.errors import RollbackRefusedError

            failed = any(e.status == "failed" for e in journal.entries)
            if isinstance(exc, RollbackRefusedError):
                # every step done, some with warnings (exit 1): "complete", as an apply with
                # warnings; a refused step: "refused"
                journal.finish("refused" if failed else "complete")
            else:
                journal.finish("failed")
            raise
    journal.finish("interrupted" if result.not_started else "complete")
    return RollbackRun(result, journal.path)
