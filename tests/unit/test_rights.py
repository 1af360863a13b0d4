"""Effective-rights evaluation on hand-built DACLs (the Samba tests repeat the key cases on
ACLs written by a real DC)."""

from __future__ import annotations

from planner.model.state import (
    CONTAINER_INHERIT_ACE,
    INHERIT_ONLY_ACE,
    INHERITED_ACE,
    NO_PROPAGATE_INHERIT_ACE,
    OBJECT_INHERIT_ACE,
    Ace,
    SecurityDescriptor,
)
from planner.rights import (
    CONTROL_ACCESS,
    CREATE_CHILD,
    DS_GENERIC_ALL,
    GENERIC_ALL,
    GENERIC_READ,
    GENERIC_WRITE,
    GROUP_CLASS_GUID,
    LOCKOUT_TIME_GUID,
    PWD_LAST_SET_GUID,
    READ_PROPERTY,
    RESET_PASSWORD_GUID,
    USER_CLASS_GUID,
    WRITE_PROPERTY,
    Right,
    inherited_by_child,
    normalise_mask,
    rights_on_new_child,
    rights_on_object,
)

CONNECTOR = "S-1-5-21-1-2-3-1105"
GROUP = "S-1-5-21-1-2-3-1200"
OTHER = "S-1-5-21-1-2-3-1300"
INETORGPERSON = "4828cc14-1437-45bc-9b07-ad6f015e5f28"
USER_ACCOUNT_RESTRICTIONS = "4c164200-20c0-11d0-a768-00aa003de0f7"  # property set (test value)

CI_IO = CONTAINER_INHERIT_ACE | INHERIT_ONLY_ACE
RESET = Right("reset-password", CONTROL_ACCESS, RESET_PASSWORD_GUID)
WP_LOCKOUT = Right("write-lockoutTime", WRITE_PROPERTY, LOCKOUT_TIME_GUID)
WP_PWDLASTSET = Right("write-pwdLastSet", WRITE_PROPERTY, PWD_LAST_SET_GUID)
PASSWORD = (RESET, WP_LOCKOUT, WP_PWDLASTSET)


def sd(*aces: Ace, protected: bool = False) -> SecurityDescriptor:
    return SecurityDescriptor(dacl_protected=protected, aces=aces)


def allow(
    trustee: str, mask: int, obj: str | None = None, inh: str | None = None, flags: int = 0
) -> Ace:
    return Ace(
        qualifier="allow",
        trustee=trustee,
        mask=mask,
        flags=flags,
        object_type=obj,
        inherited_object_type=inh,
    )


def deny(
    trustee: str, mask: int, obj: str | None = None, inh: str | None = None, flags: int = 0
) -> Ace:
    return Ace(
        qualifier="deny",
        trustee=trustee,
        mask=mask,
        flags=flags,
        object_type=obj,
        inherited_object_type=inh,
    )


CI_IO = CONTAINER_INHERIT_ACE | INHERIT_ONLY_ACE


def test_explicit_allow_grants_on_the_object() -> None:
    check = rights_on_object(
        sd(allow(CONNECTOR, CONTROL_ACCESS, RESET_PASSWORD_GUID)),
        [CONNECTOR],
        [USER_CLASS_GUID],
        [RESET],
    )
    assert check.ok
    assert check.granted == {"reset-password"}
    assert len(check.evidence) == 1


def test_no_ace_means_missing_not_denied() -> None:
    check = rights_on_object(
        sd(allow(OTHER, CONTROL_ACCESS)), [CONNECTOR], [USER_CLASS_GUID], PASSWORD
    )
    assert not check.ok
    assert check.missing == {"reset-password", "write-lockoutTime", "write-pwdLastSet"}
    assert check.denied == frozenset()
    assert check.evidence == ()


def test_deny_first_beats_later_allow() -> None:
    dacl = sd(
        deny(CONNECTOR, CONTROL_ACCESS, RESET_PASSWORD_GUID),
        allow(CONNECTOR, CONTROL_ACCESS | WRITE_PROPERTY),
    )
    check = rights_on_object(dacl, [CONNECTOR], [USER_CLASS_GUID], PASSWORD)
    assert check.denied == {"reset-password"}
    assert check.granted == {"write-lockoutTime", "write-pwdLastSet"}
    assert check.evidence == dacl.aces


def test_allow_first_beats_later_deny() -> None:
    # Non-canonical order: Windows evaluates in DACL order, so the earlier allow decides.
    dacl = sd(
        allow(CONNECTOR, CONTROL_ACCESS, RESET_PASSWORD_GUID), deny(CONNECTOR, CONTROL_ACCESS)
    )
    assert rights_on_object(dacl, [CONNECTOR], [USER_CLASS_GUID], [RESET]).granted == {
        "reset-password"
    }


def test_inherit_only_ace_does_not_apply_to_its_holder() -> None:
    dacl = sd(allow(CONNECTOR, CONTROL_ACCESS, RESET_PASSWORD_GUID, USER_CLASS_GUID, CI_IO))
    assert rights_on_object(dacl, [CONNECTOR], [USER_CLASS_GUID], [RESET]).missing == {
        "reset-password"
    }


def test_inherited_object_type_scopes_inheritance_to_the_exact_class() -> None:
    grant = allow(CONNECTOR, CONTROL_ACCESS, RESET_PASSWORD_GUID, USER_CLASS_GUID, CI_IO)
    assert rights_on_new_child(sd(grant), [CONNECTOR], USER_CLASS_GUID, [RESET]).ok
    # inetOrgPerson derives from user, but inheritance matches the exact class (domain.md §3):
    # the DC stores the ACE on an inetOrgPerson as inherit-only.
    assert rights_on_new_child(sd(grant), [CONNECTOR], INETORGPERSON, [RESET]).missing == {
        "reset-password"
    }


def test_an_effective_ace_applies_whatever_its_inherited_object_type() -> None:
    # The access check does not consult the inherited object type of an effective ACE (MS-DTYP
    # 2.5.3.2; Samba 4.17 grants the write, see tests/rules/test_dc_judge.py): the DC already
    # used it when it decided what the object inherits.
    effective = allow(
        CONNECTOR, CONTROL_ACCESS, RESET_PASSWORD_GUID, USER_CLASS_GUID, INHERITED_ACE
    )
    assert rights_on_object(sd(effective), [CONNECTOR], [USER_CLASS_GUID], [RESET]).ok
    assert rights_on_object(sd(effective), [CONNECTOR], [INETORGPERSON], [RESET]).ok


def test_an_object_ace_on_the_objects_class_decides_every_property() -> None:
    # The object type list's root is the object's class (MS-ADTS 5.1.3.3).
    dacl = sd(allow(CONNECTOR, WRITE_PROPERTY, USER_CLASS_GUID))
    assert rights_on_object(dacl, [CONNECTOR], [USER_CLASS_GUID], [WP_PWDLASTSET]).ok
    assert not rights_on_object(dacl, [CONNECTOR], [INETORGPERSON], [WP_PWDLASTSET]).ok


def test_property_set_decides_its_members() -> None:
    uar = "4c164200-20c0-11d0-a768-00aa006e0529"
    wp = Right("write-pwdLastSet", WRITE_PROPERTY, PWD_LAST_SET_GUID, frozenset({uar}))
    denied = sd(
        deny(CONNECTOR, WRITE_PROPERTY, uar), allow(CONNECTOR, WRITE_PROPERTY, PWD_LAST_SET_GUID)
    )
    assert rights_on_object(denied, [CONNECTOR], [USER_CLASS_GUID], [wp]).denied == {
        "write-pwdLastSet"
    }
    granted = sd(allow(CONNECTOR, WRITE_PROPERTY, uar))
    assert rights_on_object(granted, [CONNECTOR], [USER_CLASS_GUID], [wp]).ok


def test_no_propagate_grant_reaches_children_not_grandchildren() -> None:
    np_grant = allow(CONNECTOR, CONTROL_ACCESS, RESET_PASSWORD_GUID, USER_CLASS_GUID, CI_IO | 0x04)
    assert rights_on_new_child(sd(np_grant), [CONNECTOR], USER_CLASS_GUID, [RESET]).missing == {
        "reset-password"
    }


def test_uncertain_sids_count_for_deny_only() -> None:
    this_org = "S-1-5-15"
    allowed = sd(allow(this_org, CONTROL_ACCESS, RESET_PASSWORD_GUID))
    assert not rights_on_object(allowed, [CONNECTOR], [USER_CLASS_GUID], [RESET]).ok
    denied = sd(
        deny(this_org, CONTROL_ACCESS, RESET_PASSWORD_GUID),
        allow(CONNECTOR, CONTROL_ACCESS, RESET_PASSWORD_GUID),
    )
    assert rights_on_object(denied, [CONNECTOR], [USER_CLASS_GUID], [RESET]).denied == {
        "reset-password"
    }
    network = sd(allow("S-1-5-2", CONTROL_ACCESS, RESET_PASSWORD_GUID))
    assert rights_on_object(network, [CONNECTOR], [USER_CLASS_GUID], [RESET]).ok


def test_principal_self_applies_to_the_principals_own_object_only() -> None:
    dacl = sd(allow("S-1-5-10", CONTROL_ACCESS, RESET_PASSWORD_GUID))
    assert not rights_on_object(dacl, [CONNECTOR], [USER_CLASS_GUID], [RESET]).ok
    assert rights_on_object(dacl, [CONNECTOR], [USER_CLASS_GUID], [RESET], is_self=True).ok


def test_object_type_scoping() -> None:
    dacl = sd(allow(CONNECTOR, WRITE_PROPERTY, LOCKOUT_TIME_GUID))
    check = rights_on_object(dacl, [CONNECTOR], [USER_CLASS_GUID], [WP_LOCKOUT, WP_PWDLASTSET])
    assert check.granted == {"write-lockoutTime"}
    assert check.missing == {"write-pwdLastSet"}
    all_props = Right("write-all", WRITE_PROPERTY)
    assert rights_on_object(dacl, [CONNECTOR], [USER_CLASS_GUID], [all_props]).missing == {
        "write-all"
    }


def test_ace_without_object_type_covers_every_property_and_right() -> None:
    dacl = sd(allow(CONNECTOR, CONTROL_ACCESS | WRITE_PROPERTY))
    assert rights_on_object(dacl, [CONNECTOR], [USER_CLASS_GUID], PASSWORD).ok


def test_property_set_grants_member_attribute() -> None:
    dacl = sd(allow(CONNECTOR, WRITE_PROPERTY, USER_ACCOUNT_RESTRICTIONS))
    with_set = Right(
        "write-pwdLastSet",
        WRITE_PROPERTY,
        PWD_LAST_SET_GUID,
        frozenset({USER_ACCOUNT_RESTRICTIONS}),
    )
    assert rights_on_object(dacl, [CONNECTOR], [USER_CLASS_GUID], [with_set]).ok
    assert not rights_on_object(dacl, [CONNECTOR], [USER_CLASS_GUID], [WP_PWDLASTSET]).ok


def test_rights_through_group_sid_and_well_known_principals() -> None:
    via_group = sd(allow(GROUP, CONTROL_ACCESS, RESET_PASSWORD_GUID))
    assert rights_on_object(via_group, [CONNECTOR, GROUP], [USER_CLASS_GUID], [RESET]).ok
    assert not rights_on_object(via_group, [CONNECTOR], [USER_CLASS_GUID], [RESET]).ok
    for well_known in ("S-1-1-0", "S-1-5-11"):
        dacl = sd(allow(well_known, CONTROL_ACCESS, RESET_PASSWORD_GUID))
        assert rights_on_object(dacl, [CONNECTOR], [USER_CLASS_GUID], [RESET]).ok


def test_generic_rights_are_normalised_both_ways() -> None:
    assert normalise_mask(GENERIC_ALL) == DS_GENERIC_ALL
    assert normalise_mask(GENERIC_READ) == 0x20094
    assert normalise_mask(GENERIC_WRITE) == 0x20028
    stored_generic = sd(allow(CONNECTOR, GENERIC_ALL))
    stored_expanded = sd(allow(CONNECTOR, DS_GENERIC_ALL))
    for dacl in (stored_generic, stored_expanded):
        assert rights_on_object(dacl, [CONNECTOR], [USER_CLASS_GUID], PASSWORD).ok
    gw = sd(allow(CONNECTOR, GENERIC_WRITE))
    assert rights_on_object(gw, [CONNECTOR], [USER_CLASS_GUID], [WP_LOCKOUT]).ok
    assert not rights_on_object(gw, [CONNECTOR], [USER_CLASS_GUID], [RESET]).ok
    requested_generic = Right("read", GENERIC_READ)
    assert rights_on_object(
        sd(allow(CONNECTOR, 0x20094)), [CONNECTOR], [USER_CLASS_GUID], [requested_generic]
    ).ok


def test_partial_grant_is_missing_with_evidence() -> None:
    rpwp = Right("rpwp", READ_PROPERTY | WRITE_PROPERTY)
    dacl = sd(allow(CONNECTOR, READ_PROPERTY))
    check = rights_on_object(dacl, [CONNECTOR], [USER_CLASS_GUID], [rpwp])
    assert check.missing == {"rpwp"}
    assert check.evidence == dacl.aces


def test_new_child_inherits_descendant_user_grants() -> None:
    # What Set-ADSyncPasswordWritebackPermissions writes on an OU (domain.md §3, /I:S).
    ou = sd(
        allow(CONNECTOR, CONTROL_ACCESS, RESET_PASSWORD_GUID, USER_CLASS_GUID, CI_IO),
        allow(CONNECTOR, WRITE_PROPERTY, LOCKOUT_TIME_GUID, USER_CLASS_GUID, CI_IO),
        allow(CONNECTOR, WRITE_PROPERTY, PWD_LAST_SET_GUID, USER_CLASS_GUID, CI_IO),
    )
    user = rights_on_new_child(ou, [CONNECTOR], USER_CLASS_GUID, PASSWORD)
    assert user.ok
    assert user.evidence == ou.aces  # the parent's ACEs, as they exist in AD
    group = rights_on_new_child(ou, [CONNECTOR], GROUP_CLASS_GUID, PASSWORD)
    assert group.missing == {"reset-password", "write-lockoutTime", "write-pwdLastSet"}


def test_inheritance_flags() -> None:
    parent = sd(
        allow(CONNECTOR, CREATE_CHILD),  # no CI: stays on the parent
        allow(CONNECTOR, READ_PROPERTY, flags=OBJECT_INHERIT_ACE),  # OI only: leaf objects
        allow(CONNECTOR, WRITE_PROPERTY, flags=CONTAINER_INHERIT_ACE | NO_PROPAGATE_INHERIT_ACE),
        allow(CONNECTOR, CONTROL_ACCESS, RESET_PASSWORD_GUID, GROUP_CLASS_GUID, CI_IO),
    )
    child = inherited_by_child(parent, USER_CLASS_GUID)
    assert [a.mask for a in child] == [WRITE_PROPERTY, CONTROL_ACCESS]
    assert child[0].flags == INHERITED_ACE  # NP: effective here, propagates no further
    assert (
        child[1].flags == INHERITED_ACE | CONTAINER_INHERIT_ACE | INHERIT_ONLY_ACE
    )  # other class: keeps travelling
    grandchild = inherited_by_child(
        SecurityDescriptor(dacl_protected=False, aces=child), GROUP_CLASS_GUID
    )
    assert [a.mask for a in grandchild] == [CONTROL_ACCESS]
    assert grandchild[0].flags & INHERIT_ONLY_ACE == 0


def test_explicit_deny_on_parent_is_inherited_before_allow() -> None:
    parent = sd(
        deny(CONNECTOR, CONTROL_ACCESS, RESET_PASSWORD_GUID, USER_CLASS_GUID, CI_IO),
        allow(CONNECTOR, CONTROL_ACCESS, RESET_PASSWORD_GUID, USER_CLASS_GUID, CI_IO),
    )
    assert rights_on_new_child(parent, [CONNECTOR], USER_CLASS_GUID, [RESET]).denied == {
        "reset-password"
    }


def test_mask_words_read_like_dsacls() -> None:
    from planner.acewords import mask_words

    assert mask_words(0x300FF) == "GR GW CC DC DT SD"  # the wizard's device container grant
    assert mask_words(0xF01FF) == "GA"
    assert mask_words(0x20094 | 0x20028) == "GR GW"  # GR and GW share READ_CONTROL
    assert mask_words(0x30) == "RP WP"
    assert mask_words(0x100) == "CA"
