"""The scope scan's shortcut: SE_DACL_PROTECTED read from the descriptor's control word agrees
with a full parse, and bytes that are not a descriptor are never skipped silently."""

from __future__ import annotations

import pytest

from planner.model.state import Ace, SecurityDescriptor
from planner.observe.sd import descriptor_bytes, is_dacl_protected, parse_descriptor

ACES = (
    Ace(qualifier="allow", trustee="S-1-5-18", mask=0xF01FF, flags=0x02),
    Ace(qualifier="deny", trustee="S-1-1-0", mask=0x40, flags=0x00),
)


@pytest.mark.parametrize("protected", [True, False])
def test_control_word_agrees_with_the_full_parse(protected: bool) -> None:
    data = descriptor_bytes(SecurityDescriptor(dacl_protected=protected, aces=ACES))
    assert is_dacl_protected(data) is protected
    assert parse_descriptor(data).dacl_protected is protected


@pytest.mark.parametrize("data", [b"", b"\x01\x00", b"\x02" + b"\x00" * 30])
def test_what_is_not_a_descriptor_goes_to_the_full_parse(data: bytes) -> None:
    assert is_dacl_protected(data) is True
