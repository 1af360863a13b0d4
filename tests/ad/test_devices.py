"""Device writeback objects on a 2012 R2 DC: missing vs present (created in the order samba.md
found to work), duplicate DRS objects, a msDS-DeviceLocation that points to the wrong class,
the devices under the location, and the hybrid-join SCP's keywords."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from planner.model.state import AdObject, AdState
from planner.observe.ad import observe_ad
from planner.observe.ldapconn import LdapSession
from tests.ad.adops import (
    add_device,
    add_device_container,
    add_drs_containers,
    add_drs_service,
    add_ou,
    drs_dns,
    policy,
)
from tests.support.samba import SambaDC

pytestmark = pytest.mark.samba

DEVICE = {"device": {"enabled": True}}


def obj(ad: AdState, dn: str) -> AdObject:
    found = [o for o in ad.objects if o.dn.lower() == dn.lower()]
    assert len(found) == 1, f"{dn} not observed"
    return found[0]


def registered_devices(dc: SambaDC) -> str:
    return f"CN=RegisteredDevices,{dc.base_dn}"


def prepare_device_writeback(dc: SambaDC) -> str:
    conn = dc.admin_connection()
    add_drs_containers(conn, dc.config_dn)
    add_device_container(conn, registered_devices(dc))
    _, _, service = drs_dns(dc.config_dn)
    add_drs_service(conn, service, registered_devices(dc))
    return service


def test_missing_device_objects(
    fresh_samba_2012r2: SambaDC, open_session: Callable[..., LdapSession]
) -> None:
    dc = fresh_samba_2012r2
    ad = observe_ad(open_session(dc), policy(**DEVICE))
    for dn in (*drs_dns(dc.config_dn), registered_devices(dc)):
        assert obj(ad, dn).exists is False
        assert obj(ad, dn).security is None
    assert ad.drs_services == ()
    assert ad.devices is None
    assert ad.unread == ()


def test_present_device_objects_and_devices(
    fresh_samba_2012r2: SambaDC, open_session: Callable[..., LdapSession]
) -> None:
    dc = fresh_samba_2012r2
    service = prepare_device_writeback(dc)
    conn = dc.admin_connection()
    ids = sorted(add_device(conn, registered_devices(dc), f"dev{i}") for i in range(3))

    ad = observe_ad(open_session(dc), policy(**DEVICE))
    configuration, services, _ = drs_dns(dc.config_dn)
    assert obj(ad, configuration).object_class[-1] == "container"
    assert obj(ad, services).object_class[-1] == "msDS-DeviceRegistrationServiceContainer"
    drs = obj(ad, service)
    assert drs.object_class[-1] == "msDS-DeviceRegistrationService"
    assert drs.attributes["msDS-DeviceLocation"] == (registered_devices(dc),)
    assert drs.attributes["msDS-IsEnabled"] == ("TRUE",)
    assert drs.usn_changed is not None and drs.security is not None
    location = obj(ad, registered_devices(dc))
    assert "msDS-DeviceContainer" in location.object_class
    assert location.security is not None and location.security.aces
    assert [d.lower() for d in ad.drs_services] == [service.lower()]
    assert ad.devices is not None
    assert ad.devices.location.lower() == registered_devices(dc).lower()
    assert ad.devices.count == 3
    assert list(ad.devices.device_ids) == ids


def test_duplicate_drs_objects_are_all_listed(
    fresh_samba_2012r2: SambaDC, open_session: Callable[..., LdapSession]
) -> None:
    dc = fresh_samba_2012r2
    service = prepare_device_writeback(dc)
    _, services, _ = drs_dns(dc.config_dn)
    second = f"CN=DeviceRegistrationService-copy,{services}"
    add_drs_service(dc.admin_connection(), second, registered_devices(dc))

    ad = observe_ad(open_session(dc), policy(**DEVICE))
    assert sorted(d.lower() for d in ad.drs_services) == sorted([service.lower(), second.lower()])
    assert obj(ad, second).attributes["msDS-DeviceLocation"] == (registered_devices(dc),)


def test_device_location_pointing_to_wrong_class(
    fresh_samba_2012r2: SambaDC, open_session: Callable[..., LdapSession]
) -> None:
    dc = fresh_samba_2012r2
    conn = dc.admin_connection()
    add_drs_containers(conn, dc.config_dn)
    wrong = add_ou(conn, f"OU=NotDevices,{dc.base_dn}")
    _, _, service = drs_dns(dc.config_dn)
    add_drs_service(conn, service, wrong)

    ad = observe_ad(open_session(dc), policy(**DEVICE))
    assert obj(ad, service).attributes["msDS-DeviceLocation"] == (wrong,)
    target = obj(ad, wrong)
    assert target.exists
    assert "organizationalUnit" in target.object_class
    assert "msDS-DeviceContainer" not in target.object_class
    assert obj(ad, registered_devices(dc)).exists is False  # the default is reported as well
    assert ad.devices is not None and ad.devices.location == wrong and ad.devices.count == 0


def test_hybrid_join_scp_keywords(
    fresh_samba_2012r2: SambaDC, open_session: Callable[..., LdapSession]
) -> None:
    dc = fresh_samba_2012r2
    conn = dc.admin_connection()
    add_drs_containers(conn, dc.config_dn)
    configuration, _, _ = drs_dns(dc.config_dn)
    scp = f"CN=62a0ff2e-97b9-4513-943f-0d221bd30080,{configuration}"
    keywords = [
        "azureADName:contoso.onmicrosoft.com",
        "azureADId:7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b",
    ]
    conn.add(scp, ["top", "serviceConnectionPoint"], {"keywords": keywords})

    ad = observe_ad(open_session(dc), policy(hybrid_join={"enabled": True}))
    assert sorted(obj(ad, scp).attributes["keywords"]) == sorted(keywords)
    assert obj(ad, scp).object_class[-1] == "serviceConnectionPoint"
    # device writeback is not declared: the DRS service object is not read
    assert not [o for o in ad.objects if "DeviceRegistrationService," in o.dn]
