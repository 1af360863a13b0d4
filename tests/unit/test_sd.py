"""Binary security descriptors ⇄ model (winacl binary API). The byte-exact round trip on a
descriptor written and read back by a real DC is in tests/ad/test_security.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.model.state import (
    CONTAINER_INHERIT_ACE,
    INHERIT_ONLY_ACE,
    INHERITED_ACE,
    Ace,
    SecurityDescriptor,
)
from planner.observe.sd import (
    SecurityDescriptorError,
    descriptor_bytes,
    guid_from_bytes,
    merge_aces,
    merge_into_descriptor,
    normalise_guid,
    parse_descriptor,
    remove_aces,
    sid_from_bytes,
    sid_to_bytes,
)

CONNECTOR = "S-1-5-21-98836513-1636624269-2815579145-1105"
RESET = "00299570-246d-11d0-a768-00aa006e0529"
USER = "bf967aba-0de6-11d0-a285-00aa003049e2"
CI_IO = CONTAINER_INHERIT_ACE | INHERIT_ONLY_ACE

EXPLICIT_DENY = Ace(qualifier="deny", trustee="S-1-1-0", mask=0x40, flags=0)
EXPLICIT_ALLOW = Ace(
    qualifier="allow", trustee="S-1-5-32-544", mask=0xF01BD, flags=CONTAINER_INHERIT_ACE
)
INHERITED_ALLOW = Ace(qualifier="allow", trustee="S-1-5-11", mask=0x20094, flags=INHERITED_ACE)
OBJECT_ALLOW = Ace(
    qualifier="allow",
    trustee=CONNECTOR,
    mask=0x100,
    flags=CI_IO,
    object_type=RESET,
    inherited_object_type=USER,
)


def descriptor(*aces: Ace, protected: bool = False) -> SecurityDescriptor:
    return SecurityDescriptor(dacl_protected=protected, aces=aces)


def test_model_bytes_model_round_trip() -> None:
    original = descriptor(
        EXPLICIT_DENY, EXPLICIT_ALLOW, OBJECT_ALLOW, INHERITED_ALLOW, protected=True
    )
    data = descriptor_bytes(original)
    parsed = parse_descriptor(data)
    assert parsed.aces == original.aces
    assert parsed.dacl_protected is True
    assert descriptor_bytes(parsed) == data  # bytes → model → bytes
    assert parsed.sddl is not None and parsed.sddl.startswith("D:PAI(D;;DT;;;S-1-1-0)")


def test_guids_are_lower_case_and_object_presence_kept() -> None:
    upper = OBJECT_ALLOW.model_copy(
        update={"object_type": RESET.upper(), "inherited_object_type": "{" + USER.upper() + "}"}
    )
    parsed = parse_descriptor(descriptor_bytes(descriptor(upper)))
    assert parsed.aces[0].object_type == RESET
    assert parsed.aces[0].inherited_object_type == USER
    only_inherited_type = OBJECT_ALLOW.model_copy(update={"object_type": None})
    assert parse_descriptor(descriptor_bytes(descriptor(only_inherited_type))).aces == (
        only_inherited_type,
    )


def test_merge_inserts_in_canonical_order_and_keeps_existing() -> None:
    base = descriptor(EXPLICIT_DENY, EXPLICIT_ALLOW, INHERITED_ALLOW)
    new_deny = Ace(qualifier="deny", trustee=CONNECTOR, mask=0x100, object_type=RESET)
    merged = merge_aces(base, [OBJECT_ALLOW, new_deny])
    assert merged.aces == (EXPLICIT_DENY, new_deny, EXPLICIT_ALLOW, OBJECT_ALLOW, INHERITED_ALLOW)


def test_merge_is_idempotent_and_byte_preserving() -> None:
    data = descriptor_bytes(descriptor(EXPLICIT_DENY, OBJECT_ALLOW, INHERITED_ALLOW))
    assert merge_into_descriptor(data, []) == data
    assert merge_into_descriptor(data, [OBJECT_ALLOW]) == data
    once = merge_into_descriptor(data, [EXPLICIT_ALLOW])
    assert merge_into_descriptor(once, [EXPLICIT_ALLOW]) == once


def test_merge_can_protect_and_refuses_inherited_aces() -> None:
    data = descriptor_bytes(descriptor(EXPLICIT_ALLOW))
    assert parse_descriptor(merge_into_descriptor(data, [], protect=True)).dacl_protected
    with pytest.raises(ValueError, match="computes those"):
        merge_into_descriptor(data, [INHERITED_ALLOW])


def test_remove_drops_only_matching_explicit_aces() -> None:
    data = descriptor_bytes(descriptor(EXPLICIT_DENY, OBJECT_ALLOW, INHERITED_ALLOW))
    left = parse_descriptor(remove_aces(data, [OBJECT_ALLOW, INHERITED_ALLOW]))
    assert left.aces == (EXPLICIT_DENY, INHERITED_ALLOW)


def test_sid_and_guid_bytes() -> None:
    assert sid_from_bytes(sid_to_bytes(CONNECTOR)) == CONNECTOR
    assert sid_from_bytes(bytes.fromhex("010100000000000100000000")) == "S-1-1-0"
    # objectGUID / schemaIDGUID: the first three fields are little-endian on the wire.
    assert guid_from_bytes(bytes.fromhex("709529006d24d011a76800aa006e0529")) == RESET
    assert normalise_guid("{00299570-246D-11D0-A768-00AA006E0529}") == RESET
    with pytest.raises(SecurityDescriptorError):
        sid_from_bytes(b"\x01\x05")
    with pytest.raises(SecurityDescriptorError):
        guid_from_bytes(b"\x00" * 15)


def test_unparseable_descriptor_is_a_clear_error() -> None:
    with pytest.raises(SecurityDescriptorError, match="cannot parse"):
        parse_descriptor(
            b"\x01\x00\x04\x84"
            + b"\x00" * 12
            + b"\x14\x00\x00\x00"
            + b"\x04\x00\x10\x00\x01\x00\x00\x00"
            + b"\x63\x00\x08\x00"
        )


def test_damaged_descriptors_raise_only_security_descriptor_error() -> None:
    """Mutated, cut and padded copies of real descriptors (fixed seed): each one parses or
    raises SecurityDescriptorError — never an AttributeError or another crash a caller (the
    journal loader, rollback, the snapshot reader) would report as an internal error."""
    import random

    from planner.observe.sd import SecurityDescriptorError, descriptor_bytes
    from planner.observe.snapshot import load_state

    state = load_state(Path(__file__).resolve().parents[2] / "state" / "example.json")
    assert state.ad is not None
    real = [descriptor_bytes(o.security) for o in state.ad.objects if o.security is not None][:5]
    rng = random.Random(14)
    parsed = refused = 0
    for _ in range(1000):
        data = bytearray(rng.choice(real))
        for _ in range(rng.randint(1, 4)):
            op = rng.random()
            if op < 0.5 and data:
                data[rng.randrange(len(data))] = rng.randrange(256)
            elif op < 0.8:
                data = data[: rng.randrange(len(data) + 1)]
            else:
                data += bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        try:
            parse_descriptor(bytes(data))
            parsed += 1
        except SecurityDescriptorError:
            refused += 1
    assert parsed and refused  # the corpus exercises both outcomes
