"""What the DC-as-judge run for the Cloud Sync gMSA (tests/rules/test_dc_judge_gmsa.py) found
wrong in wbplan's per-object verdicts on groups, pinned on built observations (no DC):

- Deleting a group is allowed by Delete on the group *or* by Delete child objects (of class
  group) on its parent — Microsoft Learn, "Access control and object deletion": a deny of Delete
  on the object has no effect when the parent grants Delete child. After apply, wbplan called a
  group's delete "denied" by an inherited deny of Delete while Samba deleted it through the
  planned Create/Delete group children grant on the target OU.
- Renaming a group (Cloud Sync writes ``cn``) needs Write Property on ``name`` as well as on
  ``cn``: Samba refused a rename that WP cn alone allowed in wbplan's eyes.
- A right without an object type (Delete) is decided by object ACEs for the object's own class
  too — the class is the root of the DC's object type list: Samba let the gMSA delete a group
  through ``(OA;;GA;group;;gMSA)`` that wbplan had ignored.
- Creating a group in an OU is checked with the *group* class as the object type list: an object
  ACE for the OU's own class, ``(OA;;CC;organizationalUnit;;gMSA)``, gives no right to create
  groups there (Samba refused; wbplan had counted it)."""

from __future__ import annotations

from planner.model.guids import ATTRIBUTE_GUIDS, CLASS_GUIDS
from planner.model.state import Ace, ObservedState
from planner.scope_rights import analyse
from tests.plan import build_scenarios as b
from tests.rules.test_cloudsync_ad import policy_of

GROUP = CLASS_GUIDS["group"]
DELETE, DELETE_CHILD = 0x10000, 0x2


def _state(target_aces: list[Ace], group_aces: list[Ace]) -> ObservedState:
    writeback, world = b.SCENARIOS["cloud-sync-prepared"]()
    target, scan, dacls = b.security_groups(
        target_aces, [b.Node("CN=Group_a1b2c3", "group", group_aces)]
    )
    world.objects = [o for o in world.objects if o.dn != b.SECURITY_GROUPS] + [target]
    world.scans = (*[s for s in world.scans if s.root != b.SECURITY_GROUPS], scan)
    world.dacls = {**world.dacls, **dacls}
    policy_of(writeback)  # the scenario's policy still validates
    return world.build("delete")


def _verdict(target_aces: list[Ace], group_aces: list[Ace], op: str) -> str:
    state = _state(target_aces, group_aces)
    analysis = analyse(state, b.SECURITY_GROUPS, "cloud-sync-group", "gmsa")
    assert analysis is not None
    [verdict] = analysis.verdicts
    return verdict.state(op)


def _delete(target_aces: list[Ace], group_aces: list[Ace]) -> str:
    return _verdict(target_aces, group_aces, "delete-group")


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


CN, NAME_GUID = ATTRIBUTE_GUIDS["cn"], ATTRIBUTE_GUIDS["name"]
PUBLIC_INFORMATION = "e48d0154-bcf8-11d1-8702-00c04fb96050"
WP = 0x20


def test_a_rename_needs_write_property_on_name_as_well_as_on_cn() -> None:
    assert _verdict([], [ace("allow", WP, CN)], "write-cn") == "missing"
    assert _verdict([], [ace("allow", WP, NAME_GUID)], "write-cn") == "missing"
    assert _verdict([], [ace("allow", WP, CN), ace("allow", WP, NAME_GUID)], "write-cn") == (
        "granted"
    )
    assert _verdict([], [ace("allow", WP)], "write-cn") == "granted"  # every property
    # both are in the Public-Information property set (MS-ADA3): Samba renamed on that alone
    assert _verdict([], [ace("allow", WP, PUBLIC_INFORMATION)], "write-cn") == "granted"
    denied = [ace("deny", WP, NAME_GUID), ace("allow", WP)]
    assert _verdict([], denied, "write-cn") == "denied"


def test_an_object_ace_for_the_objects_own_class_decides_a_delete() -> None:
    group, user = CLASS_GUIDS["group"], CLASS_GUIDS["user"]
    assert _delete([], [ace("allow", 0x10000000, group)]) == "granted"  # GA for class group
    assert _delete([], [ace("allow", DELETE, group)]) == "granted"
    assert _delete([], [ace("allow", DELETE, user)]) == "missing"  # another class: not this one
    assert _delete([], [ace("deny", DELETE, group), ace("allow", DELETE)]) == "denied"


def _create_outcome(target_aces: list[Ace]) -> str:
    from planner.diff.ad import diff_ace
    from planner.observations import Index
    from planner.requirements import expand

    writeback, _world = b.SCENARIOS["cloud-sync-prepared"]()
    state = _state(target_aces, [])
    address = f"ad.ace[{b.SECURITY_GROUPS}/cloud-sync-group-provisioning/create-delete-groups]"
    [r] = [r for r in expand(policy_of(writeback), state) if r.address == address]
    return diff_ace(r, Index(state)).action


def test_creating_a_group_needs_create_child_for_the_group_class_not_the_ous() -> None:
    ou = CLASS_GUIDS["organizationalUnit"]
    both = 0x1 | DELETE_CHILD
    assert _create_outcome([ace("allow", both, GROUP)]) == "no-op"
    assert _create_outcome([ace("allow", both)]) == "no-op"  # every class
    assert _create_outcome([ace("allow", both, ou)]) == "create"
