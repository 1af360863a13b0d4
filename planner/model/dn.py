"""Distinguished names: parsing (RFC 4514), comparison keys, and the well-known DNs that the
writeback features use (domain.md §4, §5).

Kept pure and dependency-free so that the policy validator, the observers and the planner all
derive the same DN for the same thing.
"""

from __future__ import annotations

import re

# An attribute type is a descriptor (letters, digits, hyphens) or a dotted OID (RFC 4514 §3).
_ATTR_TYPE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)$")
_HEX_PAIR = re.compile(r"^[0-9A-Fa-f]{2}$")

DRS_CONFIGURATION_CN = "Device Registration Configuration"
DRS_SERVICES_CN = "Device Registration Services"
DRS_SERVICE_CN = "DeviceRegistrationService"
REGISTERED_DEVICES_CN = "RegisteredDevices"
SCP_CN = "62a0ff2e-97b9-4513-943f-0d221bd30080"
"""CN of the hybrid-join service connection point (domain.md §5)."""


class DnError(ValueError):
    """A string is not a valid distinguished name; the message says where and why."""


def split_rdns(dn: str) -> list[tuple[str, str]]:
    """Split ``dn`` into (type, value) pairs, honouring RFC 4514 escapes.

    Multi-valued RDNs (``+``) are kept as one value string. Raises :class:`DnError`.
    """
    if not dn.strip():
        raise DnError("the DN is empty")
    rdns: list[tuple[str, str]] = []
    current: list[str] = []
    i = 0
    while i < len(dn):
        ch = dn[i]
        if ch == "\\":
            nxt = dn[i + 1 : i + 2]
            if not nxt:
                raise DnError(f"dangling escape at character {i + 1}")
            if _HEX_PAIR.match(dn[i + 1 : i + 3] or ""):
                current.append(dn[i : i + 3])
                i += 3
                continue
            current.append(dn[i : i + 2])
            i += 2
            continue
        if ch == ",":
            rdns.append(_split_rdn("".join(current), len(rdns) + 1))
            current = []
        else:
            current.append(ch)
        i += 1
    rdns.append(_split_rdn("".join(current), len(rdns) + 1))
    return rdns


def _split_rdn(rdn: str, position: int) -> tuple[str, str]:
    if "=" not in rdn:
        raise DnError(f"RDN {position} ({rdn.strip()!r}) has no '='; expected e.g. OU=Staff")
    attr, value = rdn.split("=", 1)
    attr = attr.strip()
    if not _ATTR_TYPE.match(attr):
        raise DnError(f"RDN {position} has an invalid attribute type {attr!r}")
    if not value.strip():
        raise DnError(f"RDN {position} ({attr}=) has an empty value")
    return attr, value.strip()


def is_valid_dn(dn: str) -> bool:
    """True when ``dn`` parses as an RFC 4514 DN."""
    try:
        split_rdns(dn)
    except DnError:
        return False
    return True


def dn_key(dn: str) -> str:
    """A comparison key: attribute types and values case-folded, spaces around separators
    removed (AD compares DNs case-insensitively)."""
    if "\\" not in dn and '"' not in dn and "+" not in dn and "#" not in dn:
        # Fast path for the common DN without escapes (per-object scans key 100,000s of them):
        # the same key the parser below builds, from C-level string operations.
        key = []
        for rdn in dn.split(","):
            attr, eq, value = rdn.partition("=")
            attr, value = attr.strip(), value.strip()
            if not eq or not value or not _ATTR_TYPE.match(attr):
                return _slow_key(dn)
            key.append(f"{attr.lower()}={value.lower()}")
        return ",".join(key)
    return _slow_key(dn)


def _slow_key(dn: str) -> str:
    try:
        return ",".join(f"{a.lower()}={v.lower()}" for a, v in split_rdns(dn))
    except DnError:
        return dn.strip().lower()


def is_at_or_under(dn: str, root: str) -> bool:
    """True when ``dn`` equals ``root`` or lies below it."""
    key, root_key = dn_key(dn), dn_key(root)
    return key == root_key or key.endswith("," + root_key)


def parent_dn(dn: str) -> str | None:
    """The parent's DN, or None for a top-level DN."""
    rdns = split_rdns(dn)
    if len(rdns) < 2:
        return None
    return ",".join(f"{a}={v}" for a, v in rdns[1:])


def domain_dn(dns_name: str) -> str:
    """``contoso.com`` → ``DC=contoso,DC=com``."""
    return ",".join(f"DC={label}" for label in dns_name.strip(".").split("."))


def dns_name_of(dn: str) -> str | None:
    """The DNS name spelled by the trailing DC= components of ``dn`` (None if there are none)."""
    labels = [v for a, v in split_rdns(dn) if a.lower() == "dc"]
    return ".".join(labels).lower() if labels else None


def configuration_nc(forest: str) -> str:
    """Configuration NC of a forest, from the forest root's DNS name."""
    return f"CN=Configuration,{domain_dn(forest)}"


def schema_nc(forest: str) -> str:
    """Schema NC of a forest."""
    return f"CN=Schema,{configuration_nc(forest)}"


def drs_configuration_dn(config_nc: str) -> str:
    """``CN=Device Registration Configuration,CN=Services,<config NC>`` (domain.md §4)."""
    return f"CN={DRS_CONFIGURATION_CN},CN=Services,{config_nc}"


def drs_services_dn(config_nc: str) -> str:
    """The msDS-DeviceRegistrationServiceContainer."""
    return f"CN={DRS_SERVICES_CN},{drs_configuration_dn(config_nc)}"


def drs_service_dn(config_nc: str) -> str:
    """The msDS-DeviceRegistrationService object that carries msDS-DeviceLocation."""
    return f"CN={DRS_SERVICE_CN},{drs_services_dn(config_nc)}"


def registered_devices_dn(domain_dns_name: str) -> str:
    """Default device location: ``CN=RegisteredDevices,<domain DN>`` (msDS-DeviceContainer's
    only possible superior is domainDNS)."""
    return f"CN={REGISTERED_DEVICES_CN},{domain_dn(domain_dns_name)}"


def admin_sd_holder_dn(domain: str) -> str:
    """``CN=AdminSDHolder,CN=System,<domain DN>``: the DACL SDProp copies onto protected
    accounts (domain.md §1.7)."""
    return f"CN=AdminSDHolder,CN=System,{domain}"


def scp_dn(config_nc: str) -> str:
    """The hybrid-join service connection point."""
    return f"CN={SCP_CN},{drs_configuration_dn(config_nc)}"
