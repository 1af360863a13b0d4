"""Schema facts: objectVersion, schemaIDGUIDs by lDAPDisplayName, the Exchange schema version,
and extended-right GUIDs — resolved at run time (domain.md §0.1), in three searches.

The name lists are the union of what every feature needs. Asking for all of them costs the
same single search as asking for a few, and keeps snapshots of different policies comparable;
the per-feature *objects* are where reading only what the policy needs matters.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner.model.state import SchemaInfo
from planner.observe.ad_common import AdReader, escape_filter_value
from planner.observe.sd import SecurityDescriptorError, guid_from_bytes, normalise_guid

CLASSES = (
    "user",
    "group",
    "contact",
    "inetOrgPerson",
    "computer",
    "organizationalUnit",
    "container",
    "domainDNS",
    "serviceConnectionPoint",
    "msDS-Device",
    "msDS-DeviceContainer",
    "msDS-DeviceRegistrationService",
    "msDS-DeviceRegistrationServiceContainer",
    "msDS-GroupManagedServiceAccount",
)
ATTRIBUTES = (
    "lockoutTime",
    "pwdLastSet",
    "adminCount",
    "altSecurityIdentities",
    "proxyAddresses",
    "mS-DS-ConsistencyGuid",
    "msDS-DeviceLocation",
    "msDS-DeviceID",
    "msDS-IsEnabled",
    "msDS-KeyCredentialLink",
    "msDS-ExternalDirectoryObjectId",
    "msDS-CloudAnchor",
    # written by Cloud Sync's Group Provision to AD on the groups it creates (cloud-sync.md §2.3)
    "member",
    "adminDescription",
    "description",
    "displayName",
    "cn",
    # Exchange attributes written back by Exchange hybrid (domain.md §10)
    "publicDelegates",
    "msExchArchiveStatus",
    "msExchBlockedSendersHash",
    "msExchSafeRecipientsHash",
    "msExchSafeSendersHash",
    "msExchUCVoiceMailSettings",
    "msExchUserHoldPolicies",
)
EXCHANGE_VERSION_CN = "ms-Exch-Schema-Version-Pt"
EXTENDED_RIGHTS = (
    "User-Force-Change-Password",  # Reset Password
    "User-Change-Password",
    "Unexpire-Password",
    "DS-Replication-Get-Changes",
    "DS-Replication-Get-Changes-All",
    "Validated-DNS-Host-Name",
    # property sets are controlAccessRight objects too; an ACE on a set covers its members
    "User-Account-Restrictions",
    "Personal-Information",
    "Public-Information",
)


def read_schema(reader: AdReader, schema_nc: str, config_nc: str) -> SchemaInfo:
    """Everything :class:`SchemaInfo` holds; parts that cannot be read stay None/absent and are
    recorded as ``Unread``."""
    object_version: int | None = None
    classes: dict[str, str | None] = dict.fromkeys(CLASSES)
    attributes: dict[str, str | None] = dict.fromkeys(ATTRIBUTES)
    range_upper: int | None = None
    rights: dict[str, str | None] = dict.fromkeys(EXTENDED_RIGHTS)
    property_sets: dict[str, str | None] = {}

    with reader.section("ad.schema"):
        entry = reader.session.require(schema_nc, ["objectVersion"])
        object_version = entry.integer("objectVersion")

    wanted = {n.lower(): n for n in (*CLASSES, *ATTRIBUTES)}
    terms = "".join(f"(lDAPDisplayName={escape_filter_value(n)})" for n in wanted.values())
    search = f"(|{terms}(cn={EXCHANGE_VERSION_CN}))"
    with reader.section("ad.schema"):
        for entry in reader.session.search(
            schema_nc,
            search,
            [
                "lDAPDisplayName",
                "schemaIDGUID",
                "attributeSecurityGUID",
                "objectClass",
                "rangeUpper",
                "cn",
            ],
            scope="one",
        ):
            if (entry.text("cn") or "").lower() == EXCHANGE_VERSION_CN.lower():
                range_upper = entry.integer("rangeUpper")
            name = wanted.get((entry.text("lDAPDisplayName") or "").lower())
            raw_guid = entry.raw("schemaIDGUID")
            if name is None or not raw_guid:
                continue
            try:
                guid = guid_from_bytes(raw_guid[0])
            except SecurityDescriptorError as exc:
                reader.note(f"ad.schema[{name}]", str(exc))
                continue
            kinds = {c.lower() for c in entry.texts("objectClass")}
            target = classes if "classschema" in kinds else attributes
            if name in target:
                target[name] = guid
            if target is attributes:
                property_sets[name] = _property_set(
                    reader, name, entry.raw("attributeSecurityGUID")
                )

    rights_container = f"CN=Extended-Rights,{config_nc}"
    terms = "".join(f"(cn={escape_filter_value(n)})" for n in EXTENDED_RIGHTS)
    by_lower = {n.lower(): n for n in EXTENDED_RIGHTS}
    with reader.section("ad.schema.extended_rights"):
        for entry in reader.session.search(
            rights_container, f"(|{terms})", ["cn", "rightsGuid"], scope="one"
        ):
            name = by_lower.get((entry.text("cn") or "").lower())
            value = entry.text("rightsGuid")
            if name is not None and value:
                rights[name] = normalise_guid(value)

    return SchemaInfo(
        object_version=object_version,
        classes=classes,
        attributes=attributes,
        exchange_range_upper=range_upper,
        extended_rights=rights,
        property_sets=property_sets,
    )


def _property_set(reader: AdReader, name: str, raw: Sequence[bytes]) -> str | None:
    """The attribute's ``attributeSecurityGUID`` (its property set), None when it has none."""
    if not raw:
        return None
    try:
        return guid_from_bytes(raw[0])
    except SecurityDescriptorError as exc:
        reader.note(f"ad.schema[{name}]", str(exc))
        return None
