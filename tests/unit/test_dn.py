"""DN parsing and the well-known DNs every stage derives the same way."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.model import dn
from planner.model.dn import _slow_key, dn_key


@pytest.mark.parametrize(
    ("text", "rdns"),
    [
        ("OU=Staff,DC=contoso,DC=com", [("OU", "Staff"), ("DC", "contoso"), ("DC", "com")]),
        ("CN=Smith\\, John,OU=Staff,DC=x", [("CN", "Smith\\, John"), ("OU", "Staff"), ("DC", "x")]),
        ("CN=a\\2Cb,DC=x", [("CN", "a\\2Cb"), ("DC", "x")]),
        ("2.5.4.3=x, DC=y", [("2.5.4.3", "x"), ("DC", "y")]),
    ],
)
def test_split_rdns_honours_escapes_and_oids(text: str, rdns: list[tuple[str, str]]) -> None:
    assert dn.split_rdns(text) == rdns


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("Staff", "has no '='"),
        ("OU=,DC=x", "empty value"),
        ("OU=a,DC=x\\", "dangling escape"),
        ("O U=a,DC=x", "invalid attribute type"),
    ],
)
def test_invalid_dns_say_why(text: str, fragment: str) -> None:
    with pytest.raises(dn.DnError, match=fragment):
        dn.split_rdns(text)


def test_dn_comparison_ignores_case_and_spacing() -> None:
    assert dn.dn_key("OU=Staff, DC=Contoso,DC=COM") == dn.dn_key("ou=staff,dc=contoso,dc=com")
    assert dn.is_at_or_under("CN=u,OU=Staff,DC=contoso,DC=com", "ou=staff,dc=contoso,dc=com")
    assert not dn.is_at_or_under("OU=NotStaff,DC=contoso,DC=com", "OU=Staff,DC=contoso,DC=com")


def test_parent_and_dns_name() -> None:
    assert dn.parent_dn("CN=a,OU=b,DC=c") == "OU=b,DC=c"
    assert dn.parent_dn("DC=c") is None
    assert dn.dns_name_of("OU=x,DC=Contoso,DC=Test") == "contoso.test"
    assert dn.dns_name_of("CN=x") is None


def test_well_known_device_registration_dns() -> None:
    config = dn.configuration_nc("contoso.com")
    assert config == "CN=Configuration,DC=contoso,DC=com"
    assert dn.drs_service_dn(config) == (
        "CN=DeviceRegistrationService,CN=Device Registration Services,"
        "CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=contoso,DC=com"
    )
    assert dn.registered_devices_dn("contoso.com") == "CN=RegisteredDevices,DC=contoso,DC=com"
    assert dn.scp_dn(config).startswith(
        "CN=62a0ff2e-97b9-4513-943f-0d221bd30080,CN=Device Registration Configuration,"
    )


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["CN", "OU", "DC", "cn", "ou", "1.2.3"]),
            st.text(alphabet='abcXYZ 09-_.=,\\+#"', min_size=0, max_size=6),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_the_fast_dn_key_equals_the_parser_s(rdns: list[tuple[str, str]]) -> None:
    dn = ",".join(f"{a}={v}" for a, v in rdns)
    assert dn_key(dn) == _slow_key(dn)
