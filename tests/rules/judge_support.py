"""What the two DC-as-judge tests (the connector's, tests/rules/test_dc_judge.py, and the Cloud
Sync gMSA's, tests/rules/test_dc_judge_gmsa.py) share: the user objects they create, the
password-writeback operations they attempt as the principal, the live observation whose
verdicts they compare with the DC's, and applying wbplan's own plan between the two looks."""

from __future__ import annotations

import tempfile
from pathlib import Path

import ldap3

from planner.apply.lock import held
from planner.apply.run import execute_plan
from planner.model.plan import Plan
from planner.model.policy import Policy
from planner.model.state import ObservedState
from planner.observe.live import LiveSources, observe_live
from planner.planning import make_plan
from tests.ad.adops import may_replace
from tests.ad.conftest import options_for
from tests.support.samba import SambaDC

USER_CLASSES = ["top", "person", "organizationalPerson", "user"]
IOP_CLASSES = [*USER_CLASSES, "inetOrgPerson"]
PASSWORD_OPERATIONS = ("reset-password", "write-lockoutTime", "write-pwdLastSet")
"""Password writeback's operations on a user, as wbplan's per-object verdicts name them."""


def add_user(conn: ldap3.Connection, dn: str, inetorg: bool, admin: bool) -> None:
    """A user (or inetOrgPerson) named by its RDN, with adminCount=1 when ``admin``."""
    sam = dn.split(",", 1)[0].split("=", 1)[1]
    attrs: dict[str, object] = {"sAMAccountName": sam}
    if admin:
        attrs["adminCount"] = "1"
    conn.add(dn, IOP_CLASSES if inetorg else USER_CLASSES, attrs)


def attempt_password_operation(conn: ldap3.Connection, dn: str, op: str, n: int) -> bool:
    """Ask the DC: does the bound principal's attempt of ``op`` on ``dn`` succeed? Refusals
    must be access refusals (``may_replace`` raises on any other error)."""
    attribute, value = {
        "reset-password": ("unicodePwd", f'"Judge!{n}Pw#x9Q"'.encode("utf-16-le")),
        "write-lockoutTime": ("lockoutTime", "0"),
        "write-pwdLastSet": ("pwdLastSet", "0"),
    }[op]
    return may_replace(conn, dn, attribute, value)


def observe(dc: SambaDC, policy: Policy) -> ObservedState:
    """wbplan's live observation of ``dc`` for ``policy`` (LDAP only)."""
    return observe_live(policy, LiveSources(ldap=options_for(dc), graph=None))


def plan_and_apply(dc: SambaDC, policy: Policy, state: ObservedState) -> Plan:
    """wbplan's plan for ``state``, applied to ``dc`` as `wbplan apply` does (a lock and a
    journal in a temporary folder); the apply must succeed. Returns the plan."""
    plan = make_plan(
        policy,
        state,
        policy_file="p.yaml",
        policy_digest="",
        state_source="live",
        timestamp="now",
    )
    with (
        tempfile.TemporaryDirectory() as tmp,
        held(Path(tmp) / "locks", "contoso.test", policy.tenant.id, "apply") as lock,
    ):
        run = execute_plan(
            plan,
            policy,
            LiveSources(ldap=options_for(dc), graph=None),
            state,
            lock,
            journal_dir=Path(tmp),
            progress=lambda *_: None,
        )
    assert run.result.ok, run.journal.read_text()
    return plan
