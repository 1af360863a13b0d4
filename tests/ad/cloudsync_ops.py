"""Test-side AD changes for Cloud Sync on a Samba DC: the 2016 schema attribute, a gMSA, a KDS
root key, and a Cloud Sync policy for the harness forest. Plain ldap3 on the harness's admin
connection (no wbplan code on the write path).

Samba 4.17 cannot provision or upgrade to the Windows Server 2016 schema, so
``msDS-ExternalDirectoryObjectId`` is added on its own with Microsoft's definition (OID,
schemaIDGUID, property set) read from the 2016 LDF Samba ships — the attribute wbplan looks for,
not a whole 2016 schema (objectVersion stays 69). The 2012 R2 schema has the
``msDS-GroupManagedServiceAccount`` and ``msKds-ProvRootKey`` classes; Samba 4.17 stores objects
of both over LDAP, but hands out no gMSA password: ``tests/rules/test_dc_judge_gmsa.py`` plants
one in the DC's database to bind as the gMSA.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import ldap3

from planner.model.policy import Policy
from tests.support.samba_tools import SAMBA_2016_ATTRIBUTES, _ldf_stanza

GMSA_CLASSES = [
    "top",
    "person",
    "organizationalPerson",
    "user",
    "computer",
    "msDS-GroupManagedServiceAccount",
]
TENANT_ID = "7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b"


def add_external_directory_object_id(conn: ldap3.Connection, schema_dn: str) -> None:
    """``msDS-ExternalDirectoryObjectId`` as the Windows Server 2016 schema defines it
    (needs ``dsdb:schema update allowed``): the attribute, and in the same 2016 LDF a
    ``mayContain`` of the auxiliary class Mail-Recipient (which users and groups carry), so that
    it can be set on a group. A fresh connection sees it in ldap3's schema."""
    text = SAMBA_2016_ATTRIBUTES.read_text(encoding="cp1252").replace("\r\n", "\n")
    attrs = _ldf_stanza(text, "ms-DS-External-Directory-Object-Id")
    dn = f"CN=ms-DS-External-Directory-Object-Id,{schema_dn}"
    if not conn.add(dn, ["top", "attributeSchema"], attrs):
        raise RuntimeError(f"adding msDS-ExternalDirectoryObjectId failed: {conn.result}")
    conn.modify("", {"schemaUpdateNow": [(ldap3.MODIFY_REPLACE, ["1"])]})
    recipient = f"CN=Mail-Recipient,{schema_dn}"
    if not conn.modify(
        recipient, {"mayContain": [(ldap3.MODIFY_ADD, ["msDS-ExternalDirectoryObjectId"])]}
    ):
        raise RuntimeError(f"adding it to Mail-Recipient's mayContain failed: {conn.result}")
    conn.modify("", {"schemaUpdateNow": [(ldap3.MODIFY_REPLACE, ["1"])]})


def add_gmsa(
    conn: ldap3.Connection,
    base_dn: str,
    *,
    cn: str = "provAgentgMSA",
    sam: str = "pGMSA_e6620264$",
    encryption_types: int | None = 0x1C,
) -> str:
    """A gMSA as the agent's wizard creates it (CN=provAgentgMSA, pGMSA_<hex>$) under
    ``CN=Managed Service Accounts``; returns its DN."""
    dn = f"CN={cn},CN=Managed Service Accounts,{base_dn}"
    attrs: dict[str, Any] = {
        "sAMAccountName": sam,
        "msDS-ManagedPasswordInterval": "30",
        "dNSHostName": f"{cn.lower()}.{dns_of(base_dn)}",
        "userAccountControl": "4096",
    }
    if encryption_types is not None:
        attrs["msDS-SupportedEncryptionTypes"] = str(encryption_types)
    if not conn.add(dn, GMSA_CLASSES, attrs):
        raise RuntimeError(f"adding the gMSA failed: {conn.result}")
    return dn


def dns_of(base_dn: str) -> str:
    return ".".join(part.split("=", 1)[1] for part in base_dn.split(","))


def add_kds_root_key(conn: ldap3.Connection, config_dn: str, domain_dn: str) -> str:
    """A ``msKds-ProvRootKey`` where Windows keeps them (MS-GKDI's container under
    ``CN=Group Key Distribution Service``), with placeholder key data: what ``Add-KdsRootKey``
    leaves for wbplan to find. Not a usable key (nothing here derives passwords from it)."""
    services = f"CN=Services,{config_dn}"
    gkds = f"CN=Group Key Distribution Service,{services}"
    keys = f"CN=Master Root Keys,{gkds}"
    for container in (gkds, keys):
        conn.search(services, f"(distinguishedName={container})", attributes=["cn"])
        if not conn.entries:
            conn.add(container, ["top", "container"])
    now = int((dt.datetime.now(dt.UTC) - dt.datetime(1601, 1, 1, tzinfo=dt.UTC)).total_seconds())
    filetime = str(now * 10_000_000)
    cn = "6f0e2a1c-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
    dn = f"CN={cn},{keys}"
    attrs = {
        "msKds-Version": "1",
        "msKds-KDFAlgorithmID": "SP800_108_CTR_HMAC",
        "msKds-SecretAgreementAlgorithmID": "DH",
        "msKds-PublicKeyLength": "2048",
        "msKds-PrivateKeyLength": "512",
        "msKds-RootKeyData": os.urandom(64),
        "msKds-CreateTime": filetime,
        "msKds-UseStartTime": filetime,
        "msKds-DomainID": f"CN=DC1,OU=Domain Controllers,{domain_dn}",
    }
    if not conn.add(dn, ["top", "msKds-ProvRootKey"], attrs):
        raise RuntimeError(f"adding a KDS root key failed: {conn.result}")
    return dn


def cloud_sync_policy(
    *,
    target_ous: tuple[str, ...] = (),
    password: bool = False,
    exchange: bool = False,
    account: str | None = None,
    domain: str = "contoso.test",
) -> Policy:
    """A policy for forest contoso.test whose contoso.test is served by Cloud Sync."""
    entry: dict[str, Any] = {"domain": domain}
    if target_ous:
        entry["group_provisioning"] = {"target_ous": list(target_ous)}
    if password:
        entry["password_writeback"] = True
    if exchange:
        entry["exchange_hybrid"] = True
    return Policy.model_validate(
        {
            "apiVersion": "wbplan.dev/v1",
            "kind": "WritebackPolicy",
            "metadata": {"name": "cloud-sync-test"},
            "forest": "contoso.test",
            "tenant": {"id": TENANT_ID, "domain": "contoso.onmicrosoft.com"},
            "connector": {"account": "CONTOSO\\MSOL_1a2b3c4d5e6f"},
            "cloud_sync": {"gmsa": {"account": account} if account else {}, "domains": [entry]},
        }
    )


def policy_yaml(policy: Policy) -> str:
    """The policy as a file the CLI reads (JSON is YAML)."""
    return policy.model_dump_json(by_alias=True, exclude_none=True)
