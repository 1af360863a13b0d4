"""Remediations that work (issue 13 §2): where a rule's remediation recommends an ADSyncConfig
cmdlet with ``-ADobjectDN``, the cmdlet — as its public module implements it — must accept the
object classes the rule fails on, and where it does not the text must say so and point at
wbplan's own ``apply --emit`` instead.

``grant_on_object`` is the class filter of ADSyncConfig's ``GrantADPermissionsOnADobject``, read
from a public copy of the Microsoft-signed module (Evangeliste/ActiveDirectory
``AdSyncConfig.psm1``): for an OU or container target (unless the cmdlet forces "this object and
sub-objects") the ACEs are used as they are; otherwise each ACE scoped to a class is kept only
when the ACE's class suffix contains the target's objectClass — a case-sensitive
``String.Contains`` — and "AD permissions are not applicable" is thrown when none is left."""

from __future__ import annotations

import re

import pytest

from planner.checking import catalogue

# ACL strings and the -ForceInheritanceOnThisAndSubObjects switch of each cmdlet, as in the module.
CMDLETS: dict[str, tuple[tuple[str, ...], bool]] = {
    "Set-ADSyncPasswordWritebackPermissions": (
        ("CA;Reset Password;user", "WP;lockoutTime;user", "WP;pwdLastSet;user"),
        False,
    ),
    "Set-ADSyncUnifiedGroupWritebackPermissions": (("GRGWCCDCSDDT;;group",), True),
    "Set-ADSyncExchangeHybridPermissions": (
        ("RPWP;;user", "RPWP;;inetorgperson", "RPWP;;group", "RPWP;;contact"),
        False,
    ),
}
RULE_TARGETS = {
    # the object classes each rule's findings are addressed at
    "WB-PWD-001": ("organizationalUnit", "container", "domainDNS"),
    "WB-PWD-002": ("organizationalUnit", "container", "user", "inetOrgPerson"),
    "WB-GRP-002": ("organizationalUnit",),
    "WB-EXH-001": ("organizationalUnit", "container", "domainDNS"),
}


def grant_on_object(cmdlet: str, target_class: str) -> list[str] | None:
    """The ACEs the cmdlet writes on an object of ``target_class`` (None: it throws)."""
    acl, forced = CMDLETS[cmdlet]
    if target_class in ("organizationalUnit", "container") and not forced:
        return list(acl)
    kept = []
    for ace in acl:
        suffix = ace[ace.rfind(";") :] if ";" in ace else ""
        if not suffix:
            kept.append(ace)
        elif target_class in suffix:
            kept.append(ace.replace(f";{target_class}", ""))
    return kept or None


def test_the_emulated_filter_matches_what_the_module_does() -> None:
    assert grant_on_object("Set-ADSyncPasswordWritebackPermissions", "user") == [
        "CA;Reset Password",
        "WP;lockoutTime",
        "WP;pwdLastSet",
    ]
    assert grant_on_object("Set-ADSyncPasswordWritebackPermissions", "inetOrgPerson") is None
    assert (
        grant_on_object("Set-ADSyncUnifiedGroupWritebackPermissions", "organizationalUnit") is None
    )
    assert grant_on_object("Set-ADSyncExchangeHybridPermissions", "contact") == ["RPWP;"]


@pytest.mark.parametrize("rule_id", sorted(RULE_TARGETS))
def test_a_recommended_adobjectdn_form_works_for_every_class_or_says_where_not(
    rule_id: str,
) -> None:
    info = next(r for r in catalogue() if r.id == rule_id)
    text = info.remediation
    for cmdlet in CMDLETS:
        pattern = rf"`{re.escape(cmdlet)}[^`]*-ADobjectDN"
        if not re.search(pattern, text, re.IGNORECASE):
            continue  # not recommended with -ADobjectDN
        for cls in RULE_TARGETS[rule_id]:
            if cls == "domainDNS":
                continue  # the domain root is the cmdlet's default target, without -ADobjectDN
            if grant_on_object(cmdlet, cls) is None:
                assert (
                    f"for an {cls} object it refuses" in text
                    or f"for a {cls} object it refuses" in text
                ), f"{rule_id} recommends {cmdlet} -ADobjectDN, which refuses {cls}: {text}"
                assert "--emit powershell" in text


def test_group_writeback_does_not_recommend_the_cmdlet_on_the_ou() -> None:
    info = next(r for r in catalogue() if r.id == "WB-GRP-002")
    assert not re.search(
        r"`Set-ADSyncUnifiedGroupWritebackPermissions[^`]*-ADObjectDN", info.remediation, re.I
    )
    assert "--emit powershell" in info.remediation
