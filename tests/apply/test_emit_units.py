"""The building blocks of ``apply --emit``: LDIF value encoding, PowerShell quoting, the
dsacls-or-.NET decision per ACE, and the refusals."""

from __future__ import annotations

import base64

import pytest

from planner.apply.emit import render_emit
from planner.apply.emit_dsacls import dsacls_grant, net_flags, rights_letters
from planner.apply.emit_ldif import SD_CONTROL_LINE, attr_line
from planner.apply.emit_powershell import ps_string
from planner.apply.emit_steps import EmitError, ascii_text
from planner.model.state import Ace
from tests.apply.emit_regen import scenario_descriptors, scenario_plan

SID = "S-1-5-21-1-2-3-1105"
RESET = "00299570-246d-11d0-a768-00aa006e0529"
USER = "bf967aba-0de6-11d0-a285-00aa003049e2"


def ace(mask: int, flags: int, obj: str | None = None, inh: str | None = None) -> Ace:
    return Ace(
        qualifier="allow",
        trustee=SID,
        mask=mask,
        flags=flags,
        object_type=obj,
        inherited_object_type=inh,
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("OU=Staff,DC=contoso,DC=test", "dn: OU=Staff,DC=contoso,DC=test"),
        (
            "<SID=S-1-5-21-1-2-3-526>",
            "dn:: " + base64.b64encode(b"<SID=S-1-5-21-1-2-3-526>").decode(),
        ),
        (" leading", "dn:: IGxlYWRpbmc="),
        (":colon", "dn:: OmNvbG9u"),
        ("trailing ", "dn:: dHJhaWxpbmcg"),
        ("OU=Société", "dn:: " + base64.b64encode("OU=Société".encode()).decode()),
    ],
)
def test_ldif_values_are_base64_unless_safe(value: str, expected: str) -> None:
    assert attr_line("dn", value) == [expected]


def test_long_ldif_lines_fold_at_76_and_unfold_to_the_value() -> None:
    data = bytes(range(256))
    lines = attr_line("nTSecurityDescriptor", data)
    assert len(lines) > 1
    assert all(len(x) <= 76 for x in lines)
    assert all(x.startswith(" ") for x in lines[1:])
    joined = lines[0] + "".join(x[1:] for x in lines[1:])
    assert base64.b64decode(joined.split(":: ", 1)[1]) == data


def test_sd_flags_control_is_the_ber_of_dacl_only() -> None:
    oid, critical, value = SD_CONTROL_LINE.removeprefix("control: ").split(" ")
    assert (oid, critical) == ("1.2.840.113556.1.4.801", "true::")
    assert base64.b64decode(value) == bytes([0x30, 0x03, 0x02, 0x01, 0x04])


def test_powershell_strings_are_literal_and_escape_every_single_quote() -> None:
    assert ps_string("CN=O'Brien,DC=x") == "'CN=O''Brien,DC=x'"
    assert ps_string("a\u2019b") == "'a\u2019\u2019b'"  # PowerShell reads ’ as a quote too
    assert ps_string("$env:USERNAME `n") == "'$env:USERNAME `n'"  # no expansion in '…'


def test_comments_are_one_ascii_line() -> None:
    assert ascii_text("a → b\nc  §4 é") == "a -> b c section 4 \\xe9"


@pytest.mark.parametrize(
    ("mask", "letters"),
    [
        (0x30, "RPWP"),
        (0x3, "CCDC"),
        (0x100, "CA"),
        (0x200BC, "LCWSRPWPLORC"),  # GR|GW as stored
        (0x300FC, "LCWSRPWPDTLOSDRC"),  # GR|GW|SD|DT (group writeback)
        (0x10000000, None),  # generic all: no exact letter
        (0x1000000, None),  # ACCESS_SYSTEM_SECURITY
    ],
)
def test_rights_letters(mask: int, letters: str | None) -> None:
    assert rights_letters(mask) == letters


def test_dsacls_grant_for_what_it_can_say_exactly() -> None:
    grant = dsacls_grant(
        ace(0x100, 0x0A, RESET, USER),
        "OU=Staff,DC=contoso,DC=test",
        account="CONTOSO\\MSOL_1",
        account_sid=SID,
        object_type_name="Reset Password",
        inherited_object_type_name="user",
    )
    assert grant == ["/G", "CONTOSO\\MSOL_1:CA;Reset Password;user", "/I:S"]
    this_object = dsacls_grant(
        ace(0x30, 0),
        "OU=Staff,DC=contoso,DC=test",
        account="CONTOSO\\MSOL_1",
        account_sid=SID,
        object_type_name=None,
        inherited_object_type_name=None,
    )
    assert this_object == ["/G", "CONTOSO\\MSOL_1:RPWP"]


@pytest.mark.parametrize(
    ("the_ace", "account", "names"),
    [
        (ace(0x30, 0x06), "CONTOSO\\MSOL_1", (None, None)),  # CI|NP: /I:P is ambiguous
        (ace(0x30, 0x01), "CONTOSO\\MSOL_1", (None, None)),  # object-inherit
        (ace(0x100, 0x0A, RESET, USER), "CONTOSO\\MSOL_1", (None, "user")),  # no name
        (ace(0x100, 0x0A, RESET, USER), "msol_1@contoso.test", ("Reset Password", "user")),
        (ace(0x10000000, 0x02), "CONTOSO\\MSOL_1", (None, None)),  # generic all
        (ace(0x30, 0x02).model_copy(update={"qualifier": "deny"}), "CONTOSO\\MSOL_1", (None, None)),
        (
            ace(0x30, 0x02).model_copy(update={"trustee": "S-1-5-11"}),
            "CONTOSO\\MSOL_1",
            (None, None),
        ),
        (ace(0x100, 0x0A, RESET, USER), "CONTOSO\\MSOL_1", ("Reset;Password", "user")),
    ],
)
def test_dsacls_is_not_used_when_it_could_mean_something_else(
    the_ace: Ace, account: str, names: tuple[str | None, str | None]
) -> None:
    grant = dsacls_grant(
        the_ace,
        "OU=Staff,DC=contoso,DC=test",
        account=account,
        account_sid=SID,
        object_type_name=names[0],
        inherited_object_type_name=names[1],
    )
    assert grant is None


def test_net_flags() -> None:
    assert net_flags(0x0A) == net_flags(0x02 | 0x08)
    assert (net_flags(0x0A).inheritance, net_flags(0x0A).propagation) == (1, 2)
    assert (net_flags(0x07).inheritance, net_flags(0x07).propagation) == (3, 1)
    assert (net_flags(0).inheritance, net_flags(0).propagation) == (0, 0)


def test_ldif_without_the_descriptor_of_an_existing_object_is_refused() -> None:
    plan = scenario_plan("password-from-nothing")
    with pytest.raises(EmitError, match=r"no security descriptor was read for DC=contoso,DC=test"):
        render_emit(plan, "ldif", {})
    # the script reads the DACL when it runs: it needs none
    assert "Get-WbplanEntry 'OU=Staff,DC=contoso,DC=test'" in render_emit(plan, "powershell", {})


def test_unknown_format_is_refused() -> None:
    plan = scenario_plan("password-from-nothing")
    with pytest.raises(EmitError, match="unknown emit format"):
        render_emit(plan, "yaml", scenario_descriptors("password-from-nothing"))  # type: ignore[arg-type]
