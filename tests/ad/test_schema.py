"""Schema reads on DCs provisioned with different base schemas: objectVersion 47 vs 69, device
classes absent vs present (GUIDs cross-checked with domain.md §1.2), the Exchange-like
extension's rangeUpper, and extended-right GUIDs from CN=Extended-Rights."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from planner.observe.ad import observe_ad
from planner.observe.ldapconn import LdapSession
from tests.ad.adops import drs_dns, policy
from tests.support.samba import SambaDC
from tests.support.samba_tools import EXCHANGE_RANGE_UPPER

pytestmark = pytest.mark.samba

DEVICE = {"device": {"enabled": True}}
DEVICE_CLASSES = {
    "msDS-Device": "5df2b673-6d41-4774-b3e8-d52e8ee9ff99",
    "msDS-DeviceContainer": "7c9e8c58-901b-4ea8-b6ec-4eb9e9fc0e11",
    "msDS-DeviceRegistrationService": "96bc3a1a-e3d2-49d3-af11-7b0df79d67f5",
    "msDS-DeviceRegistrationServiceContainer": "310b55ce-3dcd-4392-a96d-c9e35397c24f",
}


def test_2008r2_schema_is_47_without_device_classes(
    samba_2008r2: SambaDC, open_session: Callable[..., LdapSession]
) -> None:
    ad = observe_ad(open_session(samba_2008r2), policy(**DEVICE))
    assert ad.schema_info.object_version == 47
    for name in DEVICE_CLASSES:
        assert ad.schema_info.classes[name] is None
    assert ad.schema_info.attributes["msDS-DeviceLocation"] is None
    assert ad.schema_info.classes["user"] == "bf967aba-0de6-11d0-a285-00aa003049e2"
    assert ad.drs_services == ()
    assert ad.devices is None
    assert ad.unread == ()


def test_2008r2_refuses_device_objects(samba_2008r2: SambaDC) -> None:
    # The "schema too old" state is real: the msDS-* adds fail on the DC itself.
    import ldap3

    conn = samba_2008r2.admin_connection()
    configuration, services, _ = drs_dns(samba_2008r2.config_dn)
    conn.add(configuration, ["top", "container"])
    with pytest.raises(ldap3.core.exceptions.LDAPException):
        conn.add(services, ["top", "msDS-DeviceRegistrationServiceContainer"])


def test_2012r2_schema_is_69_with_device_classes(
    samba_2012r2: SambaDC, open_session: Callable[..., LdapSession]
) -> None:
    ad = observe_ad(open_session(samba_2012r2), policy(**DEVICE))
    assert ad.schema_info.object_version == 69
    for name, guid in DEVICE_CLASSES.items():
        assert ad.schema_info.classes[name] == guid
    assert (
        ad.schema_info.attributes["msDS-DeviceLocation"] == "e3fb56c8-5de8-45f5-b1b1-d2b6cd31e762"
    )
    assert ad.schema_info.attributes["msDS-KeyCredentialLink"] is None  # WS2016 schema only
    assert ad.schema_info.exchange_range_upper is None
    assert ad.schema_info.attributes["msExchSafeSendersHash"] is None


def test_extended_rights_and_base_guids(
    samba_2012r2: SambaDC, open_session: Callable[..., LdapSession]
) -> None:
    info = observe_ad(open_session(samba_2012r2), policy()).schema_info
    assert (
        info.extended_rights["User-Force-Change-Password"] == "00299570-246d-11d0-a768-00aa006e0529"
    )
    assert info.extended_rights["Unexpire-Password"] == "ccc2dc7d-a6ad-4a7a-8846-c04e3cc53501"
    assert info.extended_rights["User-Change-Password"] == "ab721a53-1e2f-11d0-9819-00aa0040529b"
    assert info.attributes["lockoutTime"] == "28630ebf-41d5-11d1-a9c1-0000f80367c1"
    assert info.attributes["pwdLastSet"] == "bf967a0a-0de6-11d0-a285-00aa003049e2"
    assert info.classes["contact"] == "5cb41ed0-0e4c-11d0-a286-00aa003049e2"
    assert info.classes["container"] == "bf967a8b-0de6-11d0-a285-00aa003049e2"


def test_exchange_like_extension(
    samba_exchange: SambaDC, open_session: Callable[..., LdapSession]
) -> None:
    info = observe_ad(open_session(samba_exchange), policy(group={"enabled": False})).schema_info
    assert info.exchange_range_upper == EXCHANGE_RANGE_UPPER == 15312
    # Placeholder schemaIDGUIDs (random per test session): resolved by name, not hard-coded.
    for name in ("msExchArchiveStatus", "msExchSafeSendersHash", "msExchUserHoldPolicies"):
        assert info.attributes[name] is not None
        assert info.attributes[name] == info.attributes[name].lower()
    assert info.object_version == 69


def test_drs_container_without_class_is_still_observed(
    samba_2008r2: SambaDC, open_session: Callable[..., LdapSession]
) -> None:
    # test_2008r2_refuses_device_objects may have created the plain container; either way the
    # observer reports the tree by DN with exists true/false, never an error.
    ad = observe_ad(open_session(samba_2008r2), policy(**DEVICE))
    configuration, services, service = drs_dns(samba_2008r2.config_dn)
    by_dn = {o.dn.lower(): o for o in ad.objects}
    assert by_dn[services.lower()].exists is False
    assert by_dn[service.lower()].exists is False
    assert configuration.lower() in by_dn
