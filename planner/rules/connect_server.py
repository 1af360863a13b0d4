"""The Entra Connect server, judged by its own evidence (``wbplan refresh --connect-evidence``):
its AD DS connector account (WB-CON-004), its device writeback forest and container (WB-CON-005),
staging mode (WB-CON-007) and the evidence's age (WB-CON-008); its wizard options are in
``connect_options`` (WB-CON-003, WB-CON-006).

Without Connect evidence these rules report nothing (the plan's ``?`` items say what to check by
hand, as before); with evidence that no longer counts (older than ``--max-evidence-age``, or
undated) they are unknown and WB-CON-008 fails. Every message names the fact it was decided by
and the evidence's age; the verdicts are the plan's (``planner.connect.verdicts``), so a failing
SHALL finding always has its manual step in the plan.
"""

from __future__ import annotations

from collections.abc import Callable

from planner.connect.verdicts import (
    Freshness,
    account_match,
    connector_account,
    connector_for,
    device_location_check,
    fact_text,
    freshness,
    server_words,
    stale_note,
)
from planner.model.policy import Policy
from planner.model.report import RuleInfo
from planner.rules.base import Result, always, rule
from planner.rules.connector import ad_feature_enabled
from planner.rules.context import RuleContext

COLLECT = (
    "write the collector with `wbplan connect-collector`, run it on the Connect server, and import "
    "what it writes: `wbplan refresh --connect-evidence FILE`"
)
OPTIONS = {
    "password": "password-writeback",
    "device": "device-writeback",
    "group": "group-writeback",
    "exchange_hybrid": "exchange-hybrid",
}
"""Policy feature → the Connect wizard option it needs (``connect.option[…]``)."""


def enabled(policy: Policy, name: str) -> bool:
    """The policy declares feature ``name`` and enables it."""
    f = getattr(policy.writeback, name)
    return f is not None and bool(f.enabled)


def judged(
    ctx: RuleContext, addresses: list[str], judge: Callable[[Freshness], list[Result]]
) -> list[Result]:
    """No finding without evidence; unknown at every address when it does not count; else the
    judge's verdicts."""
    fresh = freshness(ctx.state)
    if fresh.evidence is None:
        return []
    if fresh.usable is None:
        note = stale_note(fresh)
        return [Result("unknown", a, note, verify_at=COLLECT) for a in addresses]
    return judge(fresh)


@rule(
    RuleInfo(
        id="WB-CON-004",
        title="The Connect server's AD DS connector account for the forest is the one the policy names",
        criticality="SHALL",
        feature="connect",
        rationale=(
            "wbplan grants and checks every writeback right for the account the policy names; Connect "
            "writes back as the account its Active Directory connector for the forest signs in with "
            "(forest-login-user, forest-login-domain). If they differ, every ACE check is about the wrong "
            "account; if the server has no connector for the forest, it writes nothing back there."
        ),
        remediation="Name the connector's account in the policy (connector.account), or make the forest's "
        "AD connector sign in as the policy's account (Entra Connect wizard → Connect your directories).",
        references=("S1", "S2", "M7", "M9"),
    ),
    ad_feature_enabled,
)
def connector_account_matches(ctx: RuleContext) -> list[Result]:
    """The evidence's AD connector for the policy's forest against ``connector.account``."""
    forest = ctx.policy.forest.lower()
    address = f"connect.connector[{forest}]"
    wanted = ctx.policy.connector_account

    def judge(fresh: Freshness) -> list[Result]:
        ev = fresh.evidence
        assert ev is not None
        where = server_words(ev)
        if ev.ad_connectors is None:
            return [
                Result(
                    "unknown",
                    address,
                    f"the Connect evidence from {where} holds no connectors",
                    verify_at=COLLECT,
                )
            ]
        conn = connector_for(ev, forest)
        if conn is None:
            names = ", ".join(c.forest or c.name for c in ev.ad_connectors) or "none"
            return [
                Result(
                    "fail",
                    address,
                    f"{where} has no Active Directory connector for {forest} (its AD connectors: {names})",
                    {"ad_connectors": names, "age": fresh.describe()},
                )
            ]
        verdict = account_match(wanted, conn, ctx.state)
        evidence = {
            "connector": conn.name,
            "account": connector_account(conn),
            "policy": wanted,
            "evidence": f"{conn.cmdlet} in {conn.file}, {fresh.describe()}",
        }
        return [
            Result(
                verdict.status,
                address,
                f"{verdict.message} ({fresh.describe()})",
                evidence,
            )
        ]

    return judged(ctx, [address], judge)


@rule(
    RuleInfo(
        id="WB-CON-005",
        title="Connect writes devices back to the forest and container msDS-DeviceLocation names",
        criticality="SHALL",
        feature="connect",
        rationale=(
            "Device writeback writes device objects to one container of one forest, which the Connect "
            "server keeps in its global settings (Microsoft.DeviceWriteBack.Forest, "
            ".Container); the device registration service object's msDS-DeviceLocation says where "
            "devices are. If the two differ, written-back devices land where nothing looks for them."
        ),
        remediation="Run the Entra Connect wizard on the server → Configure device options → Configure "
        "device writeback, and select the forest whose device registration service names the container.",
        references=("S4", "S33", "M9"),
        confidence="inferred",
        confidence_note=(
            "Microsoft documents one device container per forest and the wizard's forest choice; that the "
            "global settings' container must equal msDS-DeviceLocation is wbplan's reading of the two"
        ),
    ),
    lambda policy: enabled(policy, "device"),
)
def device_container_matches(ctx: RuleContext) -> list[Result]:
    """Connect's device writeback forest and container against the observed DRS object."""
    address = "connect.option[device-writeback]"

    def judge(fresh: Freshness) -> list[Result]:
        ev = fresh.evidence
        assert ev is not None
        verdict = device_location_check(ev, ctx.state)
        evidence = {
            "forest": ev.device_writeback_forest.value,
            "container": ev.device_writeback_container.value,
            "evidence": fact_text(ev.device_writeback_container, fresh)
            if ev.device_writeback_container.cmdlet
            else None,
        }
        return [
            Result(verdict.status, address, f"{verdict.message} ({fresh.describe()})", evidence)
        ]

    return judged(ctx, [address], judge)


@rule(
    RuleInfo(
        id="WB-CON-007",
        title="The Connect server is not in staging mode",
        criticality="SHALL",
        feature="connect",
        rationale=(
            "A server in staging mode imports and synchronizes but runs no export: it writes nothing back "
            "and does not run password writeback, even with the features ticked. Evidence from a staging "
            "server does not describe the server that writes back."
        ),
        remediation="Collect the evidence on the active Connect server; if this server should be the active "
        "one, switch over (Entra Connect wizard → Configure staging mode).",
        references=("M5", "M6"),
    ),
    ad_feature_enabled,
)
def not_staging(ctx: RuleContext) -> list[Result]:
    """Staging mode (and the scheduler's state, as evidence)."""
    address = "connect.staging[]"

    def judge(fresh: Freshness) -> list[Result]:
        ev = fresh.evidence
        assert ev is not None
        fact = ev.staging_mode
        evidence = {
            "staging_mode": fact.value,
            "sync_cycle_enabled": ev.sync_cycle_enabled.value,
            "scheduler_suspended": ev.scheduler_suspended.value,
            "evidence": fact_text(fact, fresh) if fact.cmdlet else None,
        }
        where = server_words(ev)
        if fact.value is None:
            return [
                Result(
                    "unknown",
                    address,
                    f"the Connect evidence does not say whether {where} is in staging mode",
                    evidence,
                )
            ]
        if fact.value is True:
            return [
                Result(
                    "fail",
                    address,
                    f"{where} is in staging mode: it writes nothing back ({fact_text(fact, fresh)})",
                    evidence,
                )
            ]
        return [
            Result(
                "pass",
                address,
                f"{where} is not in staging mode ({fact_text(fact, fresh)})",
                evidence,
            )
        ]

    return judged(ctx, [address], judge)


@rule(
    RuleInfo(
        id="WB-CON-008",
        title="The Connect server evidence is recent",
        criticality="SHOULD",
        feature="connect",
        rationale=(
            "Connect evidence proves what the server had configured when it was collected; evidence "
            "collected long before the directory and the tenant were read may no longer describe the "
            "server. Older than --max-evidence-age (default 7 days) before the observation, it no longer "
            "counts: the Connect items are 'cannot be verified' again."
        ),
        remediation="Collect the evidence again on the Connect server (the script `wbplan connect-collector` "
        "writes; a daily scheduled task keeps it fresh) and import it with `wbplan refresh "
        "--connect-evidence FILE`.",
        references=("W2",),
    ),
    always,
)
def evidence_recent(ctx: RuleContext) -> list[Result]:
    """The evidence's age at the observation against its limit."""
    fresh = freshness(ctx.state)
    ev = fresh.evidence
    if ev is None:
        return []
    address = "connect.evidence[]"
    evidence = {
        "collected_at": ev.collected_at,
        "observed_at": ctx.state.observed_at,
        "max_age": fresh.limit_words(),
        "files": [f.path for f in ev.files],
    }
    if fresh.status == "fresh":
        return [
            Result(
                "pass",
                address,
                f"the Connect evidence was {fresh.describe()} (limit {fresh.limit_words()})",
                evidence,
            )
        ]
    return [Result("fail", address, stale_note(fresh), evidence)]
