"""Trustee names from the snapshot's names table (``AdState.principals``, issue 15 §4): what a
refresh resolved is what plans and findings print, names first and the SID beside a domain
principal's; the connector keeps the policy's spelling; anything unresolved stays a SID. The
resolution itself runs against Samba (``tests/ad/test_principals.py``)."""

from __future__ import annotations

from pathlib import Path

from planner.acewords import Names
from planner.model.state import Ace, ObservedState
from planner.observe.snapshot import load_state
from planner.planning import make_plan
from planner.policy.loader import load_policies

REPO = Path(__file__).resolve().parents[2]
DOMAIN = "S-1-5-21-1004336348-1177238915-682003330"
CONNECTOR = f"{DOMAIN}-1105"
HELPDESK = f"{DOMAIN}-1201"
UNKNOWN = "S-1-5-21-1111111111-2222222222-3333333333-1104"


def _state(principals: dict[str, str]) -> ObservedState:
    state = load_state(REPO / "state" / "example.json")
    assert state.ad is not None
    return state.model_copy(update={"ad": state.ad.model_copy(update={"principals": principals})})


def test_recorded_names_are_used_and_win_over_rid_guesses() -> None:
    names = Names(
        _state(
            {
                HELPDESK: "CONTOSO\\Helpdesk Operators",
                f"{DOMAIN}-512": "CONTOSO\\Domänen-Admins",  # a localised or renamed group
                CONNECTOR: "CONTOSO\\msol_1a2b3c4d5e6f",
                "S-1-5-32-548": "BUILTIN\\Account Operators",
            }
        ),
        "CONTOSO\\MSOL_1a2b3c4d5e6f",
    )
    assert names.sid(HELPDESK) == "CONTOSO\\Helpdesk Operators"
    assert names.sid(f"{DOMAIN}-512") == "CONTOSO\\Domänen-Admins"
    assert names.sid(f"{DOMAIN}-513") == "CONTOSO\\Domain Users"  # still the RID's name
    assert names.sid(CONNECTOR) == "CONTOSO\\MSOL_1a2b3c4d5e6f"  # as the policy names it
    assert names.sid("S-1-5-32-548") == "BUILTIN\\Account Operators"
    assert names.sid(UNKNOWN) == UNKNOWN
    deny = Ace(qualifier="deny", trustee=HELPDESK, mask=0x100)
    assert names.ace(deny) == f"deny CA to CONTOSO\\Helpdesk Operators ({HELPDESK})"
    assert names.ace(deny.model_copy(update={"trustee": UNKNOWN})) == f"deny CA to {UNKNOWN}"


def test_without_a_names_table_a_trustee_is_its_sid() -> None:
    assert Names(_state({})).sid(HELPDESK) == HELPDESK


def test_the_plan_names_its_trustees_from_the_table() -> None:
    """The example plan's trustees are the connector and well-known groups; a recorded name for
    the connector's SID does not replace the policy's spelling in ``principals``."""
    [loaded] = load_policies([REPO / "policies" / "example.yaml"]).policies
    plan = make_plan(
        loaded.policy,
        _state({CONNECTOR: "CONTOSO\\msol_1a2b3c4d5e6f"}),
        policy_file="policies/example.yaml",
        policy_digest="sha256:0",
        state_source="test",
        timestamp="2026-11-22T18:00:00Z",
    )
    assert plan.principals[CONNECTOR] == "CONTOSO\\MSOL_1a2b3c4d5e6f"
