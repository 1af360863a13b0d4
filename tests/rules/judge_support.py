"""What the two DC-as-judge tests (the connector's, tests/rules/test_dc_judge.py, and the Cloud
Sync gMSA's, tests/rules/test_dc_judge_gmsa.py) share: the user objects they create, the
password-writeback operations they attempt as the principal, and the live observation whose
verdicts they compare with the DC's."""

from __future__ import annotations

import ldap3

from planner.model.policy import Policy
from planner.model.state import ObservedState
from planner.observe.live import LiveSources, observe_live
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
