"""Helpers for the rule tests: a policy for the Samba forest and the emulated tenant, a live
observation through the real reading path (``observe_live``), and report lookups."""

from __future__ import annotations

import datetime as dt
from typing import Any

from planner.checking import make_report
from planner.graphapi.client import GraphOptions
from planner.model.policy import Policy
from planner.model.report import Finding, Report
from planner.model.state import ObservedState
from planner.observe.live import LiveSources, observe_live
from planner.planning import make_plan
from planner.story import unplanned_failures
from tests.ad.conftest import options_for
from tests.support import graph_tenants
from tests.support.graph_emulator import GraphEmulator
from tests.support.samba import SambaDC

TODAY = dt.date(2026, 11, 22)
CONNECTOR = "CONTOSO\\MSOL_1a2b3c4d5e6f"
BASE = "DC=contoso,DC=test"


def make_policy(
    *,
    connector: str = CONNECTOR,
    connect_version: str | None = "2.4.27.0",
    waivers: list[dict[str, Any]] | None = None,
    **writeback: Any,
) -> Policy:
    """A policy for forest contoso.test and the emulator's tenant."""
    doc: dict[str, Any] = {
        "apiVersion": "wbplan.dev/v1",
        "kind": "WritebackPolicy",
        "metadata": {"name": "rules-test"},
        "forest": "contoso.test",
        "tenant": {"id": graph_tenants.TENANT_ID, "domain": "contoso.onmicrosoft.com"},
        "connector": {"account": connector},
        "writeback": writeback,
        "waivers": waivers or [],
    }
    if connect_version is not None:
        doc["connect"] = {"version": connect_version}
    return Policy.model_validate(doc)


def fresh_sync(emu: GraphEmulator, minutes_ago: int = 10) -> None:
    """Make the emulated tenant's last sync recent (relative to now, when we observe)."""
    when = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)
    emu.tenant.organization["onPremisesLastSyncDateTime"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")


def observe(
    policy: Policy,
    dc: SambaDC | None,
    emu: GraphEmulator | None,
    *,
    user: str | None = None,
    password: str | None = None,
) -> ObservedState:
    """Observe live (needs ``WBPLAN_GRAPH_TOKEN`` in the environment when ``emu`` is given)."""
    from pathlib import Path

    sources = LiveSources(
        ldap=options_for(dc, user, password) if dc is not None else None,
        graph=GraphOptions(graph_url=emu.base_url, ca_file=Path(emu.tls.ca_file))
        if emu is not None
        else None,
    )
    return observe_live(policy, sources)


def report(
    policy: Policy, state: ObservedState, *, today: dt.date = TODAY, fail_on: str = "shall"
) -> Report:
    """The report for ``policy`` against ``state``; every failing SHALL finding must have a
    change or manual step in the plan for the same observations (plan and check tell one
    story, issue 12)."""
    plan = make_plan(
        policy, state, policy_file="p", policy_digest="", state_source="live", timestamp="t"
    )
    rep = make_report(
        policy,
        state,
        policy_file="policy.yaml",
        policy_digest="sha256:test",
        state_source="live",
        timestamp="2026-11-22T00:00:00Z",
        today=today,
        fail_on=fail_on,  # type: ignore[arg-type]
    )
    unplanned = unplanned_failures(plan, rep.findings)
    assert not unplanned, [(f.rule_id, f.address, f.message) for f in unplanned]
    return rep


def findings(rep: Report, rule_id: str) -> list[Finding]:
    """Every finding of one rule."""
    return [f for f in rep.findings if f.rule_id == rule_id]


def one(rep: Report, rule_id: str, address: str | None = None) -> Finding:
    """The single finding of ``rule_id`` (at ``address``, case-insensitive, when given)."""
    found = [
        f for f in findings(rep, rule_id) if address is None or f.address.lower() == address.lower()
    ]
    assert len(found) == 1, (
        rule_id,
        address,
        [(f.address, f.status) for f in findings(rep, rule_id)],
    )
    return found[0]


def statuses(rep: Report, *rule_ids: str) -> dict[str, str]:
    """rule id → status of its single finding."""
    return {r: one(rep, r).status for r in rule_ids}
