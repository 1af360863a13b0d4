"""Diff of the Connect server's resources against its evidence (pure): the wizard options
(``connect.option[…]``), staging mode (``connect.staging[]``) and the AD DS connector account
(``connect.connector[<forest>]``).

Without Connect evidence, or with evidence that does not count (older than its limit, or
undated), an option is ``read`` / ``unverifiable`` as before — a person checks it by hand, and
the item says why the evidence did not settle it. With evidence: ``no-op`` when the server has
it as the policy needs, ``manual`` (tick it in the wizard, turn staging off, fix the account)
when not, ``read`` when the evidence does not say. Every item names the fact it was decided by
and the evidence's age.
"""

from __future__ import annotations

from typing import Any

from planner.connect.verdicts import (
    Freshness,
    account_match,
    connector_account,
    connector_for,
    device_location_check,
    fact_text,
    freshness,
    observed_device_locations,
    option_fact,
    server_words,
    stale_note,
)
from planner.diff.outcome import Outcome
from planner.model.plan import Resource
from planner.observations import Index


def _unverifiable(r: Resource, fresh: Freshness, why: str | None = None) -> Outcome:
    note = why or (stale_note(fresh) if fresh.evidence is not None else None)
    text = r.instructions if note is None else f"{r.instructions}. {note[0].upper()}{note[1:]}"
    return Outcome("read", "unverifiable", instructions=text)


def _sides(before: dict[str, Any], after: dict[str, Any], evidence: str) -> tuple[Any, Any]:
    """``before`` / ``after`` both carrying the evidence (so only the setting shows as a change)."""
    return {**before, "evidence": evidence}, {**after, "evidence": evidence}


def diff_option(r: Resource, index: Index) -> Outcome:
    """A Connect wizard option (password / device / group writeback, Exchange hybrid)."""
    fresh = freshness(index.state)
    ev = fresh.usable
    if ev is None:
        return _unverifiable(r, fresh)
    option = r.address.removeprefix("connect.option[").removesuffix("]")
    fact = option_fact(ev, option)
    where = server_words(ev)
    if fact.value is None:
        why = (
            f"the Connect evidence from {where.removeprefix('the Connect server ')} does not say "
            f"whether it is on ({fact.where()}: no value)"
            if fact.cmdlet
            else f"the Connect evidence ({fresh.describe()}) does not say whether it is on"
        )
        return _unverifiable(r, fresh, why)
    text = fact_text(fact, fresh)
    if fact.value is not True:
        before, after = _sides({"enabled": False}, {"enabled": True}, text)
        return Outcome(
            "manual",
            "feature_disabled",
            before,
            after,
            instructions=f"Tick it on {where} ({text}): {r.instructions}",
        )
    if option == "device-writeback":
        where_to = device_location_check(ev, index.state)
        if where_to.status == "fail":
            locations = observed_device_locations(index.state)
            before, after = _sides(
                {
                    "enabled": True,
                    "forest": ev.device_writeback_forest.value,
                    "container": ev.device_writeback_container.value,
                },
                {
                    "enabled": True,
                    "forest": index.ad.forest if index.ad else None,
                    "container": " or ".join(locations) or None,
                },
                fact_text(ev.device_writeback_container, fresh),
            )
            return Outcome(
                "manual",
                "setting_drift",
                before,
                after,
                instructions=f"{where_to.message} ({fresh.describe()}): on {where}, {r.instructions}",
            )
    same = {"enabled": True, "evidence": text}
    return Outcome("no-op", "satisfied", same, same)


def diff_staging(r: Resource, index: Index) -> Outcome:
    """The evidence's server is not in staging mode (a staging server writes nothing back)."""
    fresh = freshness(index.state)
    ev = fresh.usable
    if ev is None:
        return _unverifiable(r, fresh)
    fact = ev.staging_mode
    where = server_words(ev)
    if fact.value is None:
        return _unverifiable(
            r, fresh, f"the Connect evidence does not say whether {where} is in staging mode"
        )
    text = fact_text(fact, fresh)
    if fact.value is True:
        before, after = _sides({"staging_mode": True}, {"staging_mode": False}, text)
        return Outcome(
            "manual",
            "setting_drift",
            before,
            after,
            instructions=f"{where[0].upper()}{where[1:]} is in staging mode ({text}): it exports "
            f"nothing, so it writes nothing back. {r.instructions}",
        )
    same = {"staging_mode": False, "evidence": text}
    return Outcome("no-op", "satisfied", same, same)


def diff_connector(r: Resource, index: Index) -> Outcome:
    """The server's AD DS connector for the policy's forest signs in as the policy's account."""
    fresh = freshness(index.state)
    ev = fresh.usable
    if ev is None:
        return _unverifiable(r, fresh)
    forest = str(r.desired["forest"])
    wanted = str(r.desired["account"])
    where = server_words(ev)
    if ev.ad_connectors is None:
        return _unverifiable(r, fresh, f"the Connect evidence from {where} holds no connectors")
    conn = connector_for(ev, forest)
    if conn is None:
        names = ", ".join(c.forest or c.name for c in ev.ad_connectors) or "none"
        text = f"its AD connectors: {names}; {fresh.describe()}"
        before, after = _sides({"forest": None}, {"forest": forest, "account": wanted}, text)
        return Outcome(
            "manual",
            "connector_missing",
            before,
            after,
            instructions=f"{where[0].upper()}{where[1:]} has no Active Directory connector for "
            f"{forest} ({text}), so it writes nothing back there. {r.instructions}",
        )
    verdict = account_match(wanted, conn, index.state)
    if verdict.status == "unknown":
        return _unverifiable(r, fresh, verdict.message)
    text = f"{conn.cmdlet} {conn.name} in {conn.file}, {fresh.describe()}"
    found = connector_account(conn)
    if verdict.status == "fail":
        before, after = _sides({"account": found}, {"account": wanted}, text)
        return Outcome(
            "manual",
            "setting_drift",
            before,
            after,
            instructions=f"{verdict.message} ({text}): every ACE wbplan checks and grants is for "
            f"the policy's account. {r.instructions}",
        )
    same = {"account": found, "evidence": text}
    return Outcome("no-op", "satisfied", same, same)


def diff_connect(r: Resource, index: Index) -> Outcome | None:
    """The outcome of a Connect server resource (None: not one of these types)."""
    match r.type:
        case "connect.option":
            return diff_option(r, index)
        case "connect.staging":
            return diff_staging(r, index)
        case "connect.connector":
            return diff_connector(r, index)
    return None
