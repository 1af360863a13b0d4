"""Deleting a group is allowed by Delete on the group *or* by Delete child objects (of class
group) on its parent — Microsoft Learn, "Access control and object deletion": a deny of Delete
on the object has no effect when the parent grants Delete child. Found by the DC-as-judge run
for the Cloud Sync gMSA (tests/rules/test_dc_judge_gmsa.py): after apply, wbplan called a
group's delete "denied" by an inherited deny of Delete while Samba deleted it through the
planned Create/Delete group children grant on the target OU. Built observations, no DC."""

from __future__ import annotations

from planner.model.guids import CLASS_GUIDS
from planner.model.state import Ace
from planner.scope_rights import analyse
from tests.plan import build_scenarios as b
from tests.rules.test_cloudsync_ad import policy_of

GROUP = CLASS_GUIDS["group"]
DELETE, DELETE_CHILD = 0x10000, 0x2


def _state(target_aces: list[Ace], group_aces: list[Ace]) -> object:
    writeback, world = b.SCENARIOS["cloud-sync-prepared"]()
    target, scan, dacls = b.security_groups(
        target_aces, [b.Node("CN=Group_a1b2c3", "group", group_aces)]
    )
    world.objects = [o for o in world.objects if o.dn != b.SECURITY_GROUPS] + [target]
    world.scans = (*[s for s in world.scans if s.root != b.SECURITY_GROUPS], scan)
    world.dacls = {**world.dacls, **dacls}
    policy_of(writeback)  # the scenario's policy still validates
    return world.build("delete")


def _delete(target_aces: list[Ace], group_aces: list[Ace]) -> str:
    state = _state(target_aces, group_aces)
    analysis = analyse(state, b.SECURITY_GROUPS, "cloud-sync-group", "gmsa")  # type: ignore[arg-type]
    assert analysis is not None
    [verdict] = analysis.verdicts
    return verdict.state("delete-group")


def ace(qualifier: str, mask: int, object_type: str | None = None) -> Ace:
    return Ace(qualifier=qualifier, trustee=b.GMSA_SID, mask=mask, object_type=object_type)


def test_delete_child_on_the_parent_overrides_a_deny_of_delete_on_the_group() -> None:
    deny_delete = [ace("deny", DELETE)]
    assert _delete([], deny_delete) == "denied"
    assert _delete([ace("allow", DELETE_CHILD, GROUP)], deny_delete) == "granted"


def test_delete_child_on_the_parent_grants_a_delete_the_group_does_not() -> None:
    assert _delete([], []) == "missing"
    assert _delete([ace("allow", DELETE_CHILD, GROUP)], []) == "granted"
    assert _delete([ace("allow", DELETE_CHILD)], []) == "granted"  # every class


def test_delete_child_for_another_class_or_denied_on_the_parent_does_not() -> None:
    user = CLASS_GUIDS["user"]
    assert _delete([ace("allow", DELETE_CHILD, user)], []) == "missing"
    # a deny of Delete child on the parent does not take away Delete on the group itself
    both = [ace("deny", DELETE_CHILD, GROUP)]
    assert _delete(both, [ace("allow", DELETE)]) == "granted"
    assert _delete(both, []) == "missing"
