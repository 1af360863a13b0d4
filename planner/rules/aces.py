"""Shared evaluation of "the connector holds these rights on this object" for the rules that
check connector ACEs (password, device, group, Exchange hybrid): the planner's ACE requirements,
judged by the planner's effective-rights diff, grouped into one result per object."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from planner.model.dn import dn_key
from planner.model.plan import Resource
from planner.rules.base import Result
from planner.rules.context import VERIFY_AD, RuleContext


def _name(r: Resource) -> str:
    return r.address.removeprefix("ad.ace[").removesuffix("]").rsplit("/", 1)[-1]


def connector_note(ctx: RuleContext) -> str | None:
    """Why no rights can be held, when the connector account itself is missing or unread."""
    ad = ctx.state.ad
    if ad is None or ad.connector is None:
        return None
    if not ad.connector.found:
        return f"the connector account {ctx.policy.connector_account} was not found in AD"
    return None


def rights_results(ctx: RuleContext, resources: Sequence[Resource], what: str) -> list[Result]:
    """One result per object DN over the ACE requirements in ``resources``.

    ``what`` names the rights for messages (e.g. "the password writeback rights").
    """
    by_dn: dict[str, list[Resource]] = {}
    for r in resources:
        if r.dn is not None and not r.destroy:
            by_dn.setdefault(dn_key(r.dn), []).append(r)
    results = []
    for group in by_dn.values():
        results.append(_one_object(ctx, group, what))
    return results


def _one_object(ctx: RuleContext, group: list[Resource], what: str) -> Result:
    dn = group[0].dn
    assert dn is not None
    obj = ctx.index.object(dn)
    granted: list[str] = []
    missing: list[str] = []
    denied: list[str] = []
    unknown: list[str] = []
    deny_aces: list[Any] = []
    lacking: dict[str, int] = {}
    for r in group:
        outcome = ctx.outcome(r)
        name = _name(r)
        before = outcome.before if isinstance(outcome.before, dict) else {}
        if before.get("objects_lacking"):
            lacking[name] = int(before["objects_lacking"])
        if outcome.action == "no-op":
            granted.append(name)
        elif outcome.action == "read":
            unknown.append(name)
        elif outcome.reason == "denied_by_ace":
            denied.append(name)
            deny_aces.extend((outcome.before or {}).get("deny_aces", []))
        else:
            missing.append(name)
    connector = ctx.state.ad.connector if ctx.state.ad else None
    evidence: dict[str, Any] = {
        "connector": ctx.policy.connector_account,
        "connector_sid": connector.sid if connector else None,
        "granted": granted,
        "missing": missing,
        "denied": denied,
    }
    if deny_aces:
        evidence["deny_aces"] = deny_aces
    if lacking:
        evidence["objects_lacking"] = lacking
    if obj is None or ctx.state.ad is None:
        u = ctx.unread(f"ad.object[{dn}]")
        return Result(
            "unknown",
            dn,
            f"{dn} was not observed{': ' + u.reason if u else ''}",
            evidence,
            verify_at=VERIFY_AD,
        )
    if not obj.exists:
        return Result("fail", dn, f"{dn} does not exist, so it carries none of {what}", evidence)
    note = connector_note(ctx)
    if missing or denied:
        parts = []
        if missing:
            parts.append("missing: " + ", ".join(missing))
        if lacking:
            parts.append(
                "objects below lacking them: "
                + ", ".join(f"{n} ({c})" for n, c in sorted(lacking.items()))
            )
        if denied:
            parts.append("denied by an explicit deny ACE: " + ", ".join(denied))
        why = f" ({note})" if note else ""
        return Result(
            "fail", dn, f"the connector lacks {what} on {dn} — {'; '.join(parts)}{why}", evidence
        )
    if unknown:
        return Result(
            "unknown",
            dn,
            f"the DACL of {dn} could not be read, so {what} cannot be verified: "
            + ", ".join(unknown),
            evidence,
            verify_at=f"grant the reading account 'Read permissions' on {dn}, or inspect its "
            "Security tab (Advanced) in Active Directory Users and Computers",
        )
    return Result("pass", dn, f"the connector holds {what} on {dn}", evidence)


def deny_results(ctx: RuleContext, feature: str) -> list[Result]:
    """One failure per deny ACE that decides against the connector on objects of ``feature``
    (the plan's manual ``ad.deny[…]`` steps), at the object the ACE is explicit on."""
    out = []
    for r in ctx.resources_of(feature, "ad.deny"):
        outcome = ctx.outcome(r)
        if outcome.action != "manual" or r.dn is None:
            continue
        before = outcome.before if isinstance(outcome.before, dict) else {}
        out.append(
            Result(
                "fail",
                r.dn,
                outcome.instructions or f"a deny ACE on {r.dn} decides against the connector",
                {
                    "operation": r.desired.get("operation"),
                    "objects_denied": before.get("denied_objects"),
                    "deny_aces": before.get("deny_aces", []),
                    "scope_root": r.desired.get("scope"),
                },
                fixed_by=(r.address,),
            )
        )
    return out
