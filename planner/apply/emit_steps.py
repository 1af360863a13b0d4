"""The plan as the emit renderers see it: *steps* (the AD changes a file can carry, in plan
order) and *notes* (everything else, which becomes comments with instructions).

Emitted: object adds, attribute replaces, ACE adds/removals and group memberships of the
connector, when nothing blocks them. Not emitted: manual changes, changes deferred behind a
manual step, items nobody can verify remotely, and the tenant part (Graph), each listed with
what a person should do. Pure: nothing here talks to AD or Graph.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from planner.errors import WbplanError
from planner.model.dn import dn_key
from planner.model.plan import Plan, ResourceChange
from planner.model.state import Ace
from planner.planfile import plan_document


class EmitError(WbplanError):
    """The plan cannot be written as a change file (e.g. a descriptor the caller did not read)."""


# --------------------------------------------------------------------------- steps


@dataclass(frozen=True)
class CreateObject:
    """Add ``dn`` with exactly the planned class and attributes."""

    change: ResourceChange
    dn: str
    object_class: tuple[str, ...]
    attributes: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class ReplaceAttributes:
    """Set attributes of an existing object to the planned values (attribute drift)."""

    change: ResourceChange
    dn: str
    before: dict[str, tuple[str, ...]]
    after: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class AceStep:
    """Add (``create``) or remove (``delete``) one explicit ACE on ``dn``."""

    change: ResourceChange
    dn: str
    action: Literal["create", "delete"]
    ace: Ace
    object_type_name: str | None = None
    """Display name of ``ace.object_type`` from the plan (for ``dsacls`` and comments only)."""
    inherited_object_type_name: str | None = None


@dataclass(frozen=True)
class MembershipStep:
    """Add the connector to, or remove it from, a group."""

    change: ResourceChange
    action: Literal["create", "delete"]
    group: str
    """The group's name as the plan names it (``Key Admins``)."""
    group_sid: str | None
    """From the plan's ``ad.group[...]`` change; None when the plan does not carry it."""
    member: str
    """The connector account as the policy names it (``CONTOSO\\MSOL_…``)."""
    member_sid: str | None


Step = CreateObject | ReplaceAttributes | AceStep | MembershipStep


@dataclass(frozen=True)
class Note:
    """A change that is not emitted, with what a person should do about it."""

    change: ResourceChange
    kind: Literal["manual", "deferred", "read", "tenant"]
    text: str


@dataclass
class EmitPlan:
    """What a renderer needs: header facts, steps in plan order, and notes."""

    plan: Plan
    plan_digest: str
    steps: list[Step] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    connector_account: str | None = None
    connector_sid: str | None = None

    def notes_of(self, kind: str) -> list[Note]:
        """Notes of one kind, in plan order."""
        return [n for n in self.notes if n.kind == kind]

    def created_dns(self) -> set[str]:
        """``dn_key`` of every object a step creates."""
        return {dn_key(s.dn) for s in self.steps if isinstance(s, CreateObject)}


_ASCII = str.maketrans({"→": "->", "…": "...", "—": "-", "–": "-", "§": "section "})


def ascii_text(text: str) -> str:
    """One line of ASCII for a comment: whitespace collapsed (a newline would end the comment
    and start data), common punctuation spelled out, anything else as a ``\\u`` escape (LDIF
    tools and Windows PowerShell 5.1 read files as ASCII/ANSI)."""
    flat = " ".join(text.translate(_ASCII).split())
    return flat.encode("ascii", "backslashreplace").decode("ascii")


def plan_digest(plan: Plan) -> str:
    """sha256 of the public plan document (canonical JSON): names the plan in the header."""
    text = json.dumps(plan_document(plan), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _values(value: Any) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return (str(value),)


def _sid_of(plan: Plan, address: str) -> str | None:
    for c in (*plan.resource_changes, *plan.deferred_changes):
        if c.address == address:
            for side in (c.change.after, c.change.before):
                if isinstance(side, dict) and side.get("sid"):
                    return str(side["sid"])
    return None


def _connector(plan: Plan) -> tuple[str | None, str | None]:
    for c in plan.resource_changes:
        if c.type == "ad.connector":
            account = c.address.removeprefix("ad.connector[").removesuffix("]")
            return account, _sid_of(plan, c.address)
    return None, None


def _step(plan: Plan, c: ResourceChange) -> Step:
    action = c.change.actions[0]
    before, after = c.change.before, c.change.after
    if c.type == "ad.object" and action == "create" and isinstance(after, dict) and c.dn:
        attrs = {k: _values(v) for k, v in after.items() if k not in ("dn", "objectClass")}
        return CreateObject(c, c.dn, _values(after.get("objectClass", ())), attrs)
    if c.type == "ad.object" and action == "update" and isinstance(after, dict) and c.dn:
        old = {k: _values(v) for k, v in (before or {}).items()}
        return ReplaceAttributes(c, c.dn, old, {k: _values(v) for k, v in after.items()})
    if c.type == "ad.ace" and action in ("create", "delete") and c.dn:
        raw = after if action == "create" else before
        if isinstance(raw, dict):
            spec = c.ace
            return AceStep(
                c,
                c.dn,
                "create" if action == "create" else "delete",
                Ace.model_validate(raw),
                spec.object_type_name if spec else None,
                spec.inherited_object_type_name if spec else None,
            )
    if c.type == "ad.membership" and action in ("create", "delete"):
        group, _, member = c.address.removeprefix("ad.membership[").removesuffix("]").partition("/")
        return MembershipStep(
            c,
            "create" if action == "create" else "delete",
            group,
            _sid_of(plan, f"ad.group[{group}]"),
            member,
            _sid_of(plan, f"ad.connector[{member}]"),
        )
    raise EmitError(
        f"{c.address}: wbplan cannot emit a {c.type} {action} change",
        hint="apply this plan directly with `wbplan apply`, or report it as a bug",
    )


def _tenant_text(c: ResourceChange) -> str:
    action = c.change.actions[0]
    after = c.change.after if isinstance(c.change.after, dict) else {}
    if c.type == "tenant.feature" and action == "update":
        flag = c.address.removeprefix("tenant.feature[").removesuffix("]")
        return (
            f"set the directory-sync feature {flag} to {json.dumps(after.get('value'))} "
            "(Graph: PATCH /directory/onPremisesSynchronization/{id} with "
            f'{{"features": {{"{flag}": {json.dumps(after.get("value"))}}}}}), '
            "or run `wbplan apply` with a Graph credential once the AD part is done"
        )
    if c.type == "tenant.setting" and action in ("create", "update"):
        name = c.address.removeprefix("tenant.setting[").removesuffix("]")
        return (
            f"set {name} to {json.dumps(after.get('value'))} in the tenant's directory "
            "settings (Graph: /groupSettings, created from the Group.Unified template when "
            "absent), before any group writeback flag is turned on"
        )
    return c.instructions or f"{action} {c.address} (see the plan)"


def collect(plan: Plan) -> EmitPlan:
    """Split the plan into emitted steps and notes, in plan order."""
    account, sid = _connector(plan)
    out = EmitPlan(plan, plan_digest(plan), connector_account=account, connector_sid=sid)
    for c in plan.resource_changes:
        action = c.change.actions[0]
        if action == "no-op":
            continue
        if c.provider != "ad":
            if action == "read":
                out.notes.append(Note(c, "read", c.instructions or "verify by hand"))
            elif action == "manual":
                out.notes.append(Note(c, "manual", c.instructions or "a person must act"))
            else:
                out.notes.append(Note(c, "tenant", _tenant_text(c)))
        elif action in ("create", "update", "delete") and not c.blocked_by:
            out.steps.append(_step(plan, c))
        elif action == "read":
            out.notes.append(Note(c, "read", c.instructions or "verify by hand"))
        else:
            out.notes.append(Note(c, "manual", c.instructions or "a person must act"))
    for c in plan.deferred_changes:
        text = f"waits for {', '.join(c.blocked_by)}; re-plan and re-emit once that is done"
        out.notes.append(Note(c, "deferred", text))
    return out
