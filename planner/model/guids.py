"""Well-known schema and extended-right GUIDs from the domain reference (domain.md §1.2–§1.4).

One table for the whole code base. wbplan resolves GUIDs from the observed schema at run time
(domain.md §0.1); these values are the cross-check and the fallback for an unobserved forest.
"""

from __future__ import annotations

CLASS_GUIDS: dict[str, str] = {
    "user": "bf967aba-0de6-11d0-a285-00aa003049e2",
    "group": "bf967a9c-0de6-11d0-a285-00aa003049e2",
    "computer": "bf967a86-0de6-11d0-a285-00aa003049e2",
    "inetOrgPerson": "4828cc14-1437-45bc-9b07-ad6f015e5f28",
    "contact": "5cb41ed0-0e4c-11d0-a286-00aa003049e2",
    "organizationalUnit": "bf967aa5-0de6-11d0-a285-00aa003049e2",
    "container": "bf967a8b-0de6-11d0-a285-00aa003049e2",
    "msDS-Device": "5df2b673-6d41-4774-b3e8-d52e8ee9ff99",
    "msDS-DeviceContainer": "7c9e8c58-901b-4ea8-b6ec-4eb9e9fc0e11",
    "msDS-DeviceRegistrationService": "96bc3a1a-e3d2-49d3-af11-7b0df79d67f5",
    "msDS-DeviceRegistrationServiceContainer": "310b55ce-3dcd-4392-a96d-c9e35397c24f",
}
ATTRIBUTE_GUIDS: dict[str, str] = {
    "lockoutTime": "28630ebf-41d5-11d1-a9c1-0000f80367c1",
    "pwdLastSet": "bf967a0a-0de6-11d0-a285-00aa003049e2",
    "msDS-DeviceLocation": "e3fb56c8-5de8-45f5-b1b1-d2b6cd31e762",
    "msDS-KeyCredentialLink": "5b47d60f-6090-40b2-9f37-2a4de88f3063",
    # What Cloud Sync's Group Provision to AD writes on groups (cloud-sync.md §2.3); values from
    # the Windows Server 2016 schema files (MS-ADA1/MS-ADA2 schemaIdGuid).
    "member": "bf9679c0-0de6-11d0-a285-00aa003049e2",
    "adminDescription": "bf967919-0de6-11d0-a285-00aa003049e2",
    "description": "bf967950-0de6-11d0-a285-00aa003049e2",
    "displayName": "bf967953-0de6-11d0-a285-00aa003049e2",
    "cn": "bf96793f-0de6-11d0-a285-00aa003049e2",
    "msDS-ExternalDirectoryObjectId": "bd29bf90-66ad-40e1-887b-10df070419a6",
    # name (RDN): a rename needs Write Property on it as well as on cn (MS-ADA3 "RDN")
    "name": "bf967a0e-0de6-11d0-a285-00aa003049e2",
}
EXTENDED_RIGHTS: dict[str, str] = {
    "User-Force-Change-Password": "00299570-246d-11d0-a768-00aa006e0529",
    "Unexpire-Password": "ccc2dc7d-a6ad-4a7a-8846-c04e3cc53501",
}
PROPERTY_SETS: dict[str, str] = {
    # attributeSecurityGUID: the property set an attribute belongs to. wbplan reads it from the
    # schema; this table is the fallback for a state whose schema read did not include it.
    "pwdLastSet": "4c164200-20c0-11d0-a768-00aa006e0529",  # User-Account-Restrictions
    "member": "bc0ac240-79a9-11d0-9020-00c04fc2d4cf",  # Membership
    "adminDescription": "59ba2f42-79a2-11d0-9020-00c04fc2d3cf",  # General-Information
    "displayName": "59ba2f42-79a2-11d0-9020-00c04fc2d3cf",  # General-Information
    "description": "e48d0154-bcf8-11d1-8702-00c04fb96050",  # Public-Information
    "cn": "e48d0154-bcf8-11d1-8702-00c04fb96050",  # Public-Information
    "name": "e48d0154-bcf8-11d1-8702-00c04fb96050",  # Public-Information (MS-ADA3 "RDN")
    "msDS-ExternalDirectoryObjectId": "77b5b886-944a-11d1-aebd-0000f80367c1",  # Personal-Inf.
}
