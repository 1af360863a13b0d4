"""Test-side AD changes on a Samba DC: OUs, users, groups, ACEs, protected DACLs, device
writeback objects. Plain ldap3 on the harness's admin connection (no wbplan code on the write
path, except the binary DACL merge the apply issue will use too)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

# ldap3 is first imported (with its pyasn1 deprecation warning silenced) by the Samba plugin.
import ldap3
from ldap3.protocol.microsoft import security_descriptor_control

from planner.model.policy import Policy

if TYPE_CHECKING:
    from tests.support.samba import SambaDC
from planner.model.state import Ace, SecurityDescriptor
from planner.observe.sd import merge_into_descriptor, parse_descriptor, remove_aces, sid_from_bytes

DACL_ONLY = security_descriptor_control(sdflags=0x04)
RESET_PASSWORD = "00299570-246d-11d0-a768-00aa006e0529"
LOCKOUT_TIME = "28630ebf-41d5-11d1-a9c1-0000f80367c1"
PWD_LAST_SET = "bf967a0a-0de6-11d0-a285-00aa003049e2"
USER = "bf967aba-0de6-11d0-a285-00aa003049e2"
GROUP = "bf967a9c-0de6-11d0-a285-00aa003049e2"
CI = 0x02
CI_IO = 0x0A
GROUP_GLOBAL_SECURITY = -2147483646  # 0x80000002
GROUP_DOMAIN_LOCAL_SECURITY = -2147483644  # 0x80000004


def policy(**writeback: Any) -> Policy:
    """A policy for forest contoso.test with the given writeback features."""
    return Policy.model_validate(
        {
            "apiVersion": "wbplan.dev/v1",
            "kind": "WritebackPolicy",
            "metadata": {"name": "samba-test"},
            "forest": "contoso.test",
            "tenant": {
                "id": "7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b",
                "domain": "contoso.onmicrosoft.com",
            },
            "connector": {"account": "CONTOSO\\MSOL_1a2b3c4d5e6f"},
            "writeback": writeback,
        }
    )


def add_ou(conn: ldap3.Connection, dn: str) -> str:
    conn.add(dn, ["top", "organizationalUnit"])
    return dn


def add_group(conn: ldap3.Connection, dn: str, *, group_type: int = GROUP_GLOBAL_SECURITY) -> str:
    sam = dn.split(",", 1)[0].split("=", 1)[1]
    conn.add(dn, ["top", "group"], {"sAMAccountName": sam, "groupType": str(group_type)})
    return dn


def add_member(conn: ldap3.Connection, group_dn: str, member_dn: str) -> None:
    conn.modify(group_dn, {"member": [(ldap3.MODIFY_ADD, [member_dn])]})


def object_sid(conn: ldap3.Connection, dn: str) -> str:
    conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["objectSid"])
    return sid_from_bytes(conn.response[0]["raw_attributes"]["objectSid"][0])


def read_sd(conn: ldap3.Connection, dn: str) -> bytes:
    conn.search(
        dn, "(objectClass=*)", ldap3.BASE, attributes=["nTSecurityDescriptor"], controls=DACL_ONLY
    )
    return bytes(conn.response[0]["raw_attributes"]["nTSecurityDescriptor"][0])


def write_sd(conn: ldap3.Connection, dn: str, data: bytes) -> None:
    # MODIFY_REPLACE of the whole DACL under the SD-flags control: owner, group and SACL are
    # left alone; the DC recomputes inherited ACEs (samba.md).
    conn.modify(dn, {"nTSecurityDescriptor": [(ldap3.MODIFY_REPLACE, [data])]}, controls=DACL_ONLY)


def add_aces(conn: ldap3.Connection, dn: str, *aces: Ace) -> SecurityDescriptor:
    write_sd(conn, dn, merge_into_descriptor(read_sd(conn, dn), aces))
    return parse_descriptor(read_sd(conn, dn))


def protect_without_inherited(conn: ldap3.Connection, dn: str) -> SecurityDescriptor:
    """Disable inheritance and drop what was inherited — the case that silently breaks
    password writeback. Samba turns inherited ACEs into explicit copies when the DACL is
    protected, so the copies are removed in a second write (samba.md)."""
    before = parse_descriptor(read_sd(conn, dn))
    was_inherited = [
        a.model_copy(update={"flags": a.flags & ~0x10}) for a in before.aces if a.inherited
    ]
    write_sd(conn, dn, merge_into_descriptor(read_sd(conn, dn), [], protect=True))
    write_sd(conn, dn, remove_aces(read_sd(conn, dn), was_inherited))
    return parse_descriptor(read_sd(conn, dn))


def may_replace(conn: ldap3.Connection, dn: str, attribute: str, value: Any) -> bool:
    """Ask the DC: does this bind's replace of ``attribute`` on ``dn`` succeed? Only an
    insufficientAccessRights refusal is a no; any other error fails the test."""
    try:
        conn.modify(dn, {attribute: [(ldap3.MODIFY_REPLACE, [value])]})
    except ldap3.core.exceptions.LDAPInsufficientAccessRightsResult:
        return False
    return True


def principal_may_replace(
    dc: SambaDC, principal_dn: str, password: str, dn: str, attribute: str, value: Any
) -> bool:
    """:func:`may_replace` on a fresh bind as ``principal_dn`` (the DC as judge)."""
    conn = dc.connection(principal_dn, password)
    try:
        return may_replace(conn, dn, attribute, value)
    finally:
        conn.unbind()


def allow(
    sid: str, mask: int, obj: str | None = None, inh: str | None = None, flags: int = 0
) -> Ace:
    return Ace(
        qualifier="allow",
        trustee=sid,
        mask=mask,
        flags=flags,
        object_type=obj,
        inherited_object_type=inh,
    )


def deny(
    sid: str, mask: int, obj: str | None = None, inh: str | None = None, flags: int = 0
) -> Ace:
    return Ace(
        qualifier="deny",
        trustee=sid,
        mask=mask,
        flags=flags,
        object_type=obj,
        inherited_object_type=inh,
    )


def password_writeback_aces(sid: str) -> tuple[Ace, ...]:
    """What Set-ADSyncPasswordWritebackPermissions grants (domain.md §3): descendant users."""
    return (
        allow(sid, 0x100, RESET_PASSWORD, USER, CI_IO),
        allow(sid, 0x20, LOCKOUT_TIME, USER, CI_IO),
        allow(sid, 0x20, PWD_LAST_SET, USER, CI_IO),
    )


# ----------------------------------------------------------------------------- devices


def drs_dns(config_dn: str) -> tuple[str, str, str]:
    configuration = f"CN=Device Registration Configuration,CN=Services,{config_dn}"
    services = f"CN=Device Registration Services,{configuration}"
    return configuration, services, f"CN=DeviceRegistrationService,{services}"


def add_drs_containers(conn: ldap3.Connection, config_dn: str) -> None:
    configuration, services, _ = drs_dns(config_dn)
    conn.add(configuration, ["top", "container"])
    conn.add(services, ["top", "msDS-DeviceRegistrationServiceContainer"])


def add_device_container(conn: ldap3.Connection, dn: str) -> None:
    conn.add(dn, ["top", "msDS-DeviceContainer"])


def add_drs_service(conn: ldap3.Connection, dn: str, location: str) -> None:
    # The attribute set samba.md found accepted; the location must already exist.
    conn.add(
        dn,
        ["top", "msDS-DeviceRegistrationService"],
        {
            "msDS-DeviceLocation": location,
            "msDS-IsEnabled": "TRUE",
            "msDS-MaximumRegistrationInactivityPeriod": "0",
        },
    )


def add_device(conn: ldap3.Connection, container: str, name: str) -> str:
    """An msDS-Device with its mandatory attributes; returns its msDS-DeviceID (a GUID)."""
    device_id = uuid.uuid4()
    conn.add(
        f"CN={name},{container}",
        ["top", "msDS-Device"],
        {
            "msDS-DeviceID": device_id.bytes_le,
            "msDS-IsEnabled": "TRUE",
            "altSecurityIdentities": f"X509:<SHA1-PUKEY>{name}",
            "displayName": name,
        },
    )
    return str(device_id)
