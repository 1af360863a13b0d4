"""The parser of attribute-mapping expressions (planner/observe/mapping_expression.py) on the
syntax Microsoft documents ("Reference for writing expressions for attribute mappings in
Microsoft Entra ID"): string constants with backslash escapes, [attributes], nested function
calls; Switch() and IIF() value positions; anything else is open or an error, never a value."""

from __future__ import annotations

import pytest

from planner.observe.mapping_expression import (
    Attribute,
    Call,
    ExpressionError,
    Literal,
    parse,
    possible_values,
)


def test_the_three_kinds_of_argument_parse_into_a_tree() -> None:
    assert parse('Append([displayName], "_x")') == Call(
        "Append", (Attribute("displayName"), Literal("_x"))
    )


def test_the_documented_escapes_are_resolved_and_other_backslashes_kept() -> None:
    # "Company name: \"Contoso\"" is Microsoft's example; a DN's own escape (\,) stays as written.
    assert possible_values('"Company name: \\"Contoso\\""').literals == ('Company name: "Contoso"',)
    assert possible_values('"OU=A\\\\,B,DC=x"').literals == ("OU=A\\,B,DC=x",)
    assert possible_values('"OU=A\\,B,DC=x"').literals == ("OU=A\\,B,DC=x",)


def test_switch_yields_its_default_and_values_not_its_source_or_keys() -> None:
    values = possible_values('Switch([department], "OU=D", "Sales", "OU=S", "HR", "OU=H")')
    assert values.literals == ("OU=D", "OU=S", "OU=H")
    assert values.open == ()


def test_iif_yields_both_branches_not_its_condition() -> None:
    values = possible_values('IIF(IsPresent([x]), "OU=Yes", Switch([y], "OU=No", "k", "OU=K"))')
    assert values.literals == ("OU=Yes", "OU=No", "OU=K")
    assert values.open == ()


def test_a_computed_value_makes_the_set_open_naming_it() -> None:
    values = possible_values('Switch([d], Append("OU=", [d]), "k", [dn])')
    assert values.literals == ()
    assert values.open == ("the function Append()", "the attribute [dn]")


@pytest.mark.parametrize(
    "text",
    [
        "",
        '"unclosed',
        'Switch([d], "a", "k")',  # a key without its value
        'IIF([c], "a")',
        'Append("a" "b")',
        '"a" + "b"',  # operators are not part of the syntax
        "[unclosed",
        "Name",  # a function name without arguments
        '"a") ',
    ],
)
def test_what_is_not_the_documented_syntax_is_an_error(text: str) -> None:
    with pytest.raises(ExpressionError):
        possible_values(text)


def test_function_names_are_case_sensitive() -> None:
    # "The syntax is case-sensitive": switch() is not Switch(), so its values are not trusted.
    assert possible_values('switch([d], "OU=A", "k", "OU=B")').open == ("the function switch()",)


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(ExpressionError, match="nesting too deep"):
        parse("F(" * 100 + '"x"' + ")" * 100)
