"""Build ``state/example.json``: the observed state of the fictional contoso.test forest and its
tenant that ``policies/example.yaml`` is planned against by default (no DC needed).

The scenario is half-prepared, so the example plan shows every kind of line:
- schema 2012 R2 (69) with the device classes; Exchange schema at 15312;
- password writeback: Reset Password and lockoutTime granted on OU=Staff, pwdLastSet missing;
  Unexpire Password held by Authenticated Users on the domain root; OU=Admins under Staff has
  inheritance disabled with a service account and an adminCount=1 user; Engineering holds an
  inetOrgPerson the user-scoped grants do not reach; a kiosk account in Sales denies Reset
  Password to Everyone;
- device writeback: nothing prepared (no DRS objects, no RegisteredDevices);
- group writeback: the OU exists, no connector ACEs; Group.Unified setting absent;
- tenant: P1 active, sync features off.

Run ``python scripts/make_example_state.py`` after changing it; a test checks the committed file
is what this script produces.
"""

from __future__ import annotations

import sys
from pathlib import Path

from planner.model.guids import ATTRIBUTE_GUIDS, CLASS_GUIDS, EXTENDED_RIGHTS, PROPERTY_SETS
from planner.model.state import (
    Ace,
    AdObject,
    AdState,
    ConnectorAccount,
    Domain,
    GroupsInContainer,
    GroupUnifiedSetting,
    ObservedState,
    Organization,
    PrepaidUnits,
    RootDse,
    SchemaInfo,
    ScopedObject,
    ScopeScan,
    SecurityDescriptor,
    ServicePlan,
    Source,
    SubscribedSku,
    SyncFeatures,
    TenantDevice,
    TenantDevices,
    TenantDomain,
    TenantState,
)
from planner.observe.ad_scan import dacl_digest
from planner.observe.sd import descriptor_bytes
from planner.observe.snapshot import dump_state

DOMAIN_SID = "S-1-5-21-1004336348-1177238915-682003330"
CONNECTOR_SID = f"{DOMAIN_SID}-1105"
TENANT = "7f3c1e2a-4b5d-4e6f-8a9b-0c1d2e3f4a5b"
BASE = "DC=contoso,DC=test"
CONFIG = f"CN=Configuration,{BASE}"
DRS = f"CN=Device Registration Configuration,CN=Services,{CONFIG}"

SYSTEM = "S-1-5-18"
DOMAIN_ADMINS = f"{DOMAIN_SID}-512"
AUTH_USERS = "S-1-5-11"
FULL = 0xF01FF
READ = 0x20094


def admin_aces(inherited: bool) -> list[Ace]:
    """The defaults every object carries (SYSTEM / Domain Admins full control, AU read)."""
    flag = 0x12 if inherited else 0x02
    return [
        Ace(qualifier="allow", trustee=SYSTEM, mask=FULL, flags=flag),
        Ace(qualifier="allow", trustee=DOMAIN_ADMINS, mask=FULL, flags=flag),
        Ace(qualifier="allow", trustee=AUTH_USERS, mask=READ, flags=flag),
    ]


def sd(aces: list[Ace], protected: bool = False) -> SecurityDescriptor:
    """A descriptor with a short display SDDL."""
    return SecurityDescriptor(dacl_protected=protected, aces=tuple(aces), sddl=None)


def missing(dn: str) -> AdObject:
    """An object wbplan looked for and did not find."""
    return AdObject(dn=dn, exists=False)


def _inherited(aces: list[Ace], cls: str) -> list[Ace]:
    """What an object of class ``cls`` stores of its parent's inheritable ACEs: effective copies
    of those scoped to its class (or to none), inherit-only copies of the others."""
    out = []
    for a in aces:
        if not a.flags & 0x02:
            continue
        matches = a.inherited_object_type in (None, CLASS_GUIDS[cls])
        out.append(a.model_copy(update={"flags": 0x12 if matches else 0x1A}))
    return out


def staff_scan(grants: list[Ace], admins: AdObject) -> tuple[ScopeScan, dict[str, SecurityDescriptor]]:
    """Per-object DACLs under OU=Staff: Sales and Engineering inherit the Staff grants (no
    pwdLastSet), Engineering holds an inetOrgPerson (the user-scoped grants do not reach it),
    Sales a kiosk account with an explicit deny, and Admins has inheritance disabled with a
    service account and an adminCount=1 user."""
    table: dict[str, SecurityDescriptor] = {}

    def key(d: SecurityDescriptor) -> str:
        k = dacl_digest(descriptor_bytes(d))
        table[k] = d
        return k

    staff = f"OU=Staff,{BASE}"
    plain_ou = key(sd([*_inherited(grants, "organizationalUnit"), *admin_aces(True)]))
    user = key(sd([*_inherited(grants, "user"), *admin_aces(True)]))
    iop = key(sd([*_inherited(grants, "inetOrgPerson"), *admin_aces(True)]))
    kiosk = key(
        sd(
            [
                Ace(
                    qualifier="deny",
                    trustee="S-1-1-0",
                    mask=0x100,
                    flags=0,
                    object_type=EXTENDED_RIGHTS["User-Force-Change-Password"],
                ),
                *_inherited(grants, "user"),
                *admin_aces(True),
            ]
        )
    )
    assert admins.security is not None
    admins_key = key(admins.security)
    behind = key(sd(admin_aces(True)))
    sdprop = key(sd(admin_aces(False), protected=True))
    containers = (
        ScopedObject(dn=f"OU=Admins,{staff}", object_class="organizationalUnit", dacl=admins_key),
        ScopedObject(dn=f"OU=Engineering,{staff}", object_class="organizationalUnit", dacl=plain_ou),
        ScopedObject(dn=f"OU=Sales,{staff}", object_class="organizationalUnit", dacl=plain_ou),
    )
    objects = (
        ScopedObject(dn=f"CN=adm-jdoe,OU=Admins,{staff}", object_class="user", dacl=sdprop, admin_count=True),
        ScopedObject(dn=f"CN=svc-backup,OU=Admins,{staff}", object_class="user", dacl=behind),
        ScopedObject(dn=f"CN=bwhite,OU=Engineering,{staff}", object_class="user", dacl=user),
        ScopedObject(dn=f"CN=cgreen,OU=Engineering,{staff}", object_class="inetOrgPerson", dacl=iop),
        ScopedObject(dn=f"CN=dblack,OU=Engineering,{staff}", object_class="user", dacl=user),
        ScopedObject(dn=f"CN=ajones,OU=Sales,{staff}", object_class="user", dacl=user),
        ScopedObject(dn=f"CN=kiosk01,OU=Sales,{staff}", object_class="user", dacl=kiosk),
        ScopedObject(dn=f"CN=mlee,OU=Sales,{staff}", object_class="user", dacl=user),
    )
    scan = ScopeScan(root=staff, containers=containers, objects=objects, ous_total=3)
    return scan, dict(sorted(table.items()))


def build() -> ObservedState:
    """The example observed state."""
    user = CLASS_GUIDS["user"]
    staff_grants = [
        Ace(
            qualifier="allow",
            trustee=CONNECTOR_SID,
            mask=0x100,
            flags=0x0A,
            object_type=EXTENDED_RIGHTS["User-Force-Change-Password"],
            inherited_object_type=user,
        ),
        Ace(
            qualifier="allow",
            trustee=CONNECTOR_SID,
            mask=0x20,
            flags=0x0A,
            object_type=ATTRIBUTE_GUIDS["lockoutTime"],
            inherited_object_type=user,
        ),
    ]
    root = AdObject(
        dn=BASE,
        exists=True,
        object_class=("top", "domain", "domainDNS"),
        usn_changed=4107,
        security=sd(
            [
                *admin_aces(False),
                Ace(
                    qualifier="allow",
                    trustee=AUTH_USERS,
                    mask=0x100,
                    flags=0,
                    object_type=EXTENDED_RIGHTS["Unexpire-Password"],
                ),
            ]
        ),
    )
    staff = AdObject(
        dn=f"OU=Staff,{BASE}",
        exists=True,
        object_class=("top", "organizationalUnit"),
        usn_changed=12871,
        security=sd([*staff_grants, *admin_aces(True)]),
    )
    admins = AdObject(
        dn=f"OU=Admins,OU=Staff,{BASE}",
        exists=True,
        object_class=("top", "organizationalUnit"),
        usn_changed=12903,
        security=sd(admin_aces(False), protected=True),
    )
    groups_ou = AdObject(
        dn=f"OU=CloudGroups,{BASE}",
        exists=True,
        object_class=("top", "organizationalUnit"),
        usn_changed=13020,
        security=sd(admin_aces(True)),
    )
    scan, dacls = staff_scan(staff_grants, admins)
    holder = AdObject(
        dn=f"CN=AdminSDHolder,CN=System,{BASE}",
        exists=True,
        object_class=("top", "container"),
        usn_changed=4203,
        security=sd(admin_aces(False), protected=True),
    )
    objects = [
        root,
        holder,
        staff,
        groups_ou,
        missing(f"CN=RegisteredDevices,{BASE}"),
        missing(DRS),
        missing(f"CN=Device Registration Services,{DRS}"),
        missing(f"CN=DeviceRegistrationService,CN=Device Registration Services,{DRS}"),
    ]
    ad = AdState(
        forest="contoso.test",
        forest_guid="5b2e6a10-8c4d-4f1e-9a3b-7d6c5e4f3a21",
        root_dse=RootDse(
            default_naming_context=BASE,
            configuration_naming_context=CONFIG,
            schema_naming_context=f"CN=Schema,{CONFIG}",
            root_domain_naming_context=BASE,
            dns_host_name="dc1.contoso.test",
            forest_functionality=6,
            domain_functionality=6,
        ),
        domains=(Domain(dns_name="contoso.test", dn=BASE, netbios_name="CONTOSO", sid=DOMAIN_SID),),
        schema_info=SchemaInfo(
            object_version=69,
            classes={name: CLASS_GUIDS[name] for name in sorted(CLASS_GUIDS)},
            attributes={
                "lockoutTime": ATTRIBUTE_GUIDS["lockoutTime"],
                "pwdLastSet": ATTRIBUTE_GUIDS["pwdLastSet"],
                "msDS-DeviceLocation": ATTRIBUTE_GUIDS["msDS-DeviceLocation"],
                "msDS-KeyCredentialLink": None,
            },
            property_sets={"lockoutTime": None, "pwdLastSet": PROPERTY_SETS["pwdLastSet"]},
            exchange_range_upper=15312,
            extended_rights=dict(EXTENDED_RIGHTS),
        ),
        objects=tuple(sorted(objects, key=lambda o: o.dn.lower())),
        drs_services=(),
        connector=ConnectorAccount(
            account="CONTOSO\\MSOL_1a2b3c4d5e6f",
            found=True,
            dn=f"CN=MSOL_1a2b3c4d5e6f,CN=Users,{BASE}",
            sid=CONNECTOR_SID,
            token_groups=(f"{DOMAIN_SID}-513",),
        ),
        scopes=(scan,),
        dacls=dacls,
        groups=(GroupsInContainer(container=f"OU=CloudGroups,{BASE}", count=0),),
    )
    p1 = SubscribedSku(
        sku_id="078d2b04-f1bd-4111-bbd4-b4b1b354cef4",
        sku_part_number="AAD_PREMIUM",
        capability_status="Enabled",
        consumed_units=212,
        prepaid_units=PrepaidUnits(enabled=250),
        service_plans=(
            ServicePlan(
                service_plan_id="41781fb2-bc02-4b7c-bd55-b576c07bb09d",
                service_plan_name="AAD_PREMIUM",
                provisioning_status="Success",
                applies_to="User",
            ),
            ServicePlan(
                service_plan_id="8a256a2b-b617-496d-b51b-e76466e88db0",
                service_plan_name="MFA_PREMIUM",
                provisioning_status="Success",
                applies_to="User",
            ),
        ),
    )
    tenant = TenantState(
        tenant_id=TENANT,
        organization=Organization(
            id=TENANT,
            display_name="Contoso (test)",
            on_premises_sync_enabled=True,
            on_premises_last_sync="2026-11-22T17:30:00Z",
        ),
        subscribed_skus=(p1,),
        sync=SyncFeatures(
            id=TENANT,
            features={
                "passwordSyncEnabled": True,
                "passwordWritebackEnabled": False,
                "deviceWritebackEnabled": False,
                "unifiedGroupWritebackEnabled": False,
                "groupWriteBackEnabled": False,
                "userWritebackEnabled": False,
            },
        ),
        group_unified=GroupUnifiedSetting(present=False),
        devices=TenantDevices(
            counts_by_trust_type={"AzureAd": 2, "ServerAd": 1, "Workplace": 1},
            items=(
                TenantDevice(
                    device_id="0b7c4a8e-1f2d-4c3b-9e8f-1a2b3c4d5e6f",
                    display_name="LAPTOP-001",
                    trust_type="AzureAd",
                    account_enabled=True,
                ),
                TenantDevice(
                    device_id="1c8d5b9f-2a3e-4d4c-8f9a-2b3c4d5e6f70",
                    display_name="LAPTOP-002",
                    trust_type="AzureAd",
                    account_enabled=True,
                ),
                TenantDevice(
                    device_id="2d9e6c0a-3b4f-4e5d-9a0b-3c4d5e6f7081",
                    display_name="DESKTOP-100",
                    trust_type="ServerAd",
                    account_enabled=True,
                ),
                TenantDevice(
                    device_id="3eaf7d1b-4c5a-4f6e-8b1c-4d5e6f708192",
                    display_name="PHONE-7",
                    trust_type="Workplace",
                    account_enabled=True,
                ),
            ),
        ),
        domains=(
            TenantDomain(id="contoso.onmicrosoft.com", is_verified=True, is_initial=True),
            TenantDomain(id="contoso.test", is_verified=True, is_default=True),
        ),
    )
    return ObservedState(
        wbplan_version="example",
        observed_at="2026-11-22T18:00:00Z",
        source=Source(description="fictional example for policies/example.yaml (no DC, no tenant)"),
        ad=ad,
        tenant=tenant,
    )


def main() -> None:
    """Write (or with --check, verify) state/example.json."""
    target = Path(__file__).resolve().parent.parent / "state" / "example.json"
    text = dump_state(build())
    if "--check" in sys.argv:
        if target.read_text(encoding="utf-8") != text:
            sys.stderr.write(f"{target} is stale: run python scripts/make_example_state.py\n")
            raise SystemExit(1)
        return
    target.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
