"""The compare-and-swap branch of :meth:`AdWriter.swap_sd` (issue 14 §1).

No DC these tests can start enforces a compare-and-swap of nTSecurityDescriptor: Samba 4.17
refuses the delete-old/add-new modify and has no assertion control (proven on Samba in
``tests/apply/test_concurrency.py``, which also covers the guarded-replace fallback). Whether
Windows AD enforces it for nTSecurityDescriptor is UNCONFIRMED. So the branch is exercised here
against a small directory that follows RFC 4511 §4.6 for a single-valued attribute: a modify is
atomic, and deleting a value that is not there fails with noSuchAttribute (16). ldap3's MOCK
strategy cannot stand in: it ignores the missing value and answers constraintViolation.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import ldap3
import pytest

from planner.apply.executors import explicit_aces, swap_ace
from planner.apply.ldapwrite import ATT_NT_SECURITY_DESCRIPTOR, AdWriter, SwapConflictError
from planner.model.state import Ace, SecurityDescriptor
from planner.observe.ldapconn import LdapOptions, LdapSession
from planner.observe.sd import descriptor_bytes, merge_into_descriptor

DN = "OU=Staff,DC=contoso,DC=test"
WBPLAN = Ace(qualifier="allow", trustee="S-1-5-21-1-2-3-1105", mask=0x100, flags=0x02)
OTHER = Ace(qualifier="allow", trustee="S-1-5-21-1-2-3-2001", mask=0x10, flags=0x02)


def metadata(version: int) -> bytes:
    """A replPropertyMetaData value with one entry: nTSecurityDescriptor at ``version``."""
    header = struct.pack("<IIII", 1, 0, 1, 0)
    entry = struct.pack("<IIQ16sqq", ATT_NT_SECURITY_DESCRIPTOR, version, 0, b"\0" * 16, 1, 1)
    return header + entry


class Rfc4511Directory:
    """One object with a single-valued nTSecurityDescriptor, modified atomically."""

    def __init__(self, sd: bytes, *, cas: bool = True) -> None:
        self.sd = sd
        self.version = 1
        self.cas = cas
        self.result: dict[str, Any] = {}
        self.response: list[dict[str, Any]] = []
        self.modifies = 0

    def search(self, dn: str, _filter: str, _scope: Any, **_kw: Any) -> bool:
        assert dn == DN
        self.response = [
            {
                "type": "searchResEntry",
                "dn": DN,
                "raw_attributes": {
                    "nTSecurityDescriptor": [self.sd],
                    "replPropertyMetaData": [metadata(self.version)],
                },
            }
        ]
        self.result = {"result": 0}
        return True

    def modify(self, dn: str, changes: dict[str, list[Any]], **_kw: Any) -> bool:
        self.modifies += 1
        [(name, operations)] = changes.items()
        assert dn == DN and name == "nTSecurityDescriptor"
        value = self.sd
        for op, values in operations:
            if op == ldap3.MODIFY_REPLACE:
                value = values[0]
            elif op == ldap3.MODIFY_DELETE:
                if not self.cas:
                    self.result = {"result": 53, "message": "MOD_DELETE not supported"}
                    return False
                if values[0] != value:
                    self.result = {"result": 16, "message": "no such value"}
                    return False
                value = b""
            elif op == ldap3.MODIFY_ADD:
                if value:
                    self.result = {"result": 20, "message": "single-valued"}
                    return False
                value = values[0]
        if value != self.sd:
            self.version += 1
        self.sd = value
        self.result = {"result": 0}
        return True

    def other_admin_adds(self, ace: Ace) -> None:
        """Another administrator's write (a whole replace, as dsacls or ADUC do)."""
        self.sd = merge_into_descriptor(self.sd, [ace])
        self.version += 1


def writer(directory: Rfc4511Directory) -> AdWriter:
    session = LdapSession(directory, LdapOptions(url="ldaps://dc1.contoso.test"))
    return AdWriter(session)


def empty_sd() -> bytes:
    return descriptor_bytes(SecurityDescriptor(dacl_protected=False, aces=()))


def test_the_swap_is_atomic_where_the_dc_compares_the_old_value() -> None:
    directory = Rfc4511Directory(empty_sd())
    ad = writer(directory)
    read = ad.read_descriptor(DN)
    swap = ad.swap_sd(DN, read, merge_into_descriptor(read.data, [WBPLAN]))
    assert swap.atomic and ad.cas is True and swap.concurrent == 0
    assert explicit_aces(directory.sd) == [WBPLAN]


def test_a_change_between_read_and_write_is_never_lost_on_such_a_dc() -> None:
    directory = Rfc4511Directory(empty_sd())
    ad = writer(directory)
    interleaved: list[str] = []

    def other_admin(dn: str) -> None:
        if not interleaved:  # once: between wbplan's first read and its write
            interleaved.append(dn)
            directory.other_admin_adds(OTHER)

    ad.between_read_and_write = other_admin
    read = ad.read_descriptor(DN)
    with pytest.raises(SwapConflictError):
        ad.swap_sd(DN, read, merge_into_descriptor(read.data, [WBPLAN]))
    assert explicit_aces(directory.sd) == [OTHER]  # the refused swap wrote nothing

    interleaved.clear()
    written, swap, _, warnings = swap_ace(ad, DN, WBPLAN, add=True)
    assert written is not None and swap is not None and swap.atomic
    assert warnings == []
    assert set(explicit_aces(directory.sd)) == {OTHER, WBPLAN}  # re-read, re-merged, both kept


def test_a_dc_that_refuses_the_swap_gets_a_replace_guarded_by_the_version() -> None:
    directory = Rfc4511Directory(empty_sd(), cas=False)
    ad = writer(directory)
    calls: list[Callable[[str], None]] = []
    ad.between_read_and_write = lambda dn: calls and calls.pop()(dn)
    _, swap, _, warnings = swap_ace(ad, DN, WBPLAN, add=True)
    assert ad.cas is False and swap is not None and not swap.atomic and warnings == []

    # with another administrator's write between the read and the replace, the loss is reported
    calls.append(lambda _dn: directory.other_admin_adds(OTHER))
    _, swap, _, warnings = swap_ace(ad, DN, WBPLAN.model_copy(update={"mask": 0x20}), add=True)
    assert swap is not None and swap.concurrent == 1
    assert OTHER not in explicit_aces(directory.sd)
    [warning] = warnings
    assert f"somebody else changed the DACL of {DN}" in warning and "was overwritten" in warning


def test_a_dc_whose_comparison_differs_falls_back_instead_of_retrying_forever() -> None:
    """noSuchAttribute although nothing changed (the DC compares differently than assumed):
    wbplan stops trying the swap on this DC and writes guarded by the version."""
    directory = Rfc4511Directory(empty_sd())
    ad = writer(directory)
    real_modify = directory.modify

    def refuse_every_delete(dn: str, changes: dict[str, list[Any]], **kw: Any) -> bool:
        if any(op == ldap3.MODIFY_DELETE for op, _ in changes["nTSecurityDescriptor"]):
            directory.result = {"result": 16, "message": "no such value"}
            return False
        return real_modify(dn, changes, **kw)

    directory.modify = refuse_every_delete  # type: ignore[method-assign]
    _, swap, _, warnings = swap_ace(ad, DN, WBPLAN, add=True)
    assert ad.cas is False and swap is not None and not swap.atomic
    assert explicit_aces(directory.sd) == [WBPLAN] and warnings == []
