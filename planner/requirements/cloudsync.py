"""Microsoft Entra Cloud Sync, AD side (cloud-sync.md §1–§3): what each Cloud Sync feature of
the policy needs in AD, with the gMSA as the trustee of every ACE.

Per feature the chain is: schema attribute → target OU → gMSA ACEs → the tenant configuration
(``tenant.cloudsync[<domain>]``, planned by ``planner.requirements.cloudsync_tenant``; this
module only adds its AD prerequisites to it as edges, see :func:`link_configurations`). Shared by all
features: the KDS root key → the gMSA.

* **Group Provision to AD** (``group_provisioning``): ``msDS-ExternalDirectoryObjectId`` in the
  schema (its join anchor, Windows Server 2016 schema) → each target OU → on it, Create/Delete
  group children (``UserGroupCreateDelete``: "Create/delete group objects" on "This object and
  all descendant objects") and GR GW SD DT on descendant groups (the installer's group
  writeback permissions, the same as Connect's ``Set-ADSyncUnifiedGroupWritebackPermissions``);
  the gMSA's rights on every group already there are judged per object (write member and each
  mapped attribute, delete), protected containers below get their own grant.
* **Password writeback** (``password_writeback``): Reset Password, WP lockoutTime, WP pwdLastSet
  on descendant users of the domain root, and Unexpire Password on the root
  (``-PermissionType PasswordWriteBack`` = Connect's password writeback permissions).
* **Exchange hybrid** (``exchange_hybrid``): the Exchange schema → RPWP on descendant user,
  inetOrgPerson, group and contact objects of the domain root (``HybridExchangePermissions``).

UNCONFIRMED (cloud-sync.md §8 item 1): the exact ACEs ``Set-AADCloudSyncPermissions`` writes. Microsoft
says its permission types "are identical to the permissions used by Azure AD Connect"; the
Cloud Sync module is not public. wbplan plans Connect's documented ACE shapes (domain.md §3,
§7, §10) with the gMSA as trustee, each requirement ``inferred`` with a note saying so. Group
provisioning rights are placed on each target OU (what the feature touches), not on the domain
root where the cmdlet puts them: the least privilege that works, and what the checks judge.
Users created by the 2026 user-provisioning preview ("Create/delete User objects") are not part
of the policy and not planned.

**Migration from Connect group writeback v2** (``group_provisioning.migrate_from_connect_v2``,
Microsoft's "Migrate Microsoft Entra Connect Sync group writeback V2 to Microsoft Entra Cloud
Sync"): one attribute update per universal security group v2 wrote under its OU
(msDS-ExternalDirectoryObjectId = adminDescription, as Microsoft's copy script writes it; apply
keeps a before-image and rollback removes the value again), then turning v2 off — a manual step
(``Set-ADSyncAADCompanyFeature -GroupWritebackV2 $false`` within Microsoft's steps) that depends
on every copy, whose blast radius is the groups v2 wrote under the OU (``planner.diff.tenant``).
A policy with Cloud Sync group provisioning but no declared migration, in a tenant where v2 is
still on, gets the same manual step with the groups under the target OUs as its blast radius.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner import connectv2
from planner.model.dn import dn_key, domain_dn, split_rdns
from planner.model.plan import AceSpec, Resource, RightSpec
from planner.model.policy import CloudSyncDomain
from planner.references import Confidence
from planner.requirements.common import CI, Context, ace_resource, ad_object
from planner.requirements.group import exchange_gate
from planner.requirements.password import GRANTS, unexpire_ace, unexpire_rights
from planner.requirements.scoped import At, below_root, placed_ace, placed_right, scoped
from planner.requirements.tenant import retired_flag_resource
from planner.rights import (
    CONTROL_ACCESS,
    CREATE_CHILD,
    DELETE,
    DELETE_CHILD,
    DELETE_TREE,
    DS_GENERIC_READ,
    DS_GENERIC_WRITE,
    READ_PROPERTY,
    WRITE_PROPERTY,
)
from planner.scope_rights import EXCHANGE_CLASSES, PASSWORD_CLASSES, property_sets_of

GROUP_FEATURE = "cloud_sync_group"
PASSWORD_FEATURE = "cloud_sync_password"  # noqa: S105 (a feature name)
EXCHANGE_FEATURE = "cloud_sync_exchange"
FEATURES = (GROUP_FEATURE, PASSWORD_FEATURE, EXCHANGE_FEATURE)

GROUP_PURPOSE = "cloud-sync-group-provisioning"
PASSWORD_PURPOSE = "cloud-sync-password-writeback"  # noqa: S105
EXCHANGE_PURPOSE = "cloud-sync-exchange-hybrid"
GROUP_ANALYSIS = "cloud-sync-group"
ANCHOR = "msDS-ExternalDirectoryObjectId"
V2_FLAG = "groupWriteBackEnabled"

ENCODING_NOTE = (
    "Microsoft documents that Set-AADCloudSyncPermissions grants the gMSA the same permissions "
    "Entra Connect's cmdlets grant its connector account, not the exact access-control entries it "
    "writes; wbplan plans Connect's documented entries with the gMSA as trustee"
)
GROUP_NOTE = (
    "Microsoft documents UserGroupCreateDelete as 'Create/delete group objects' on 'This object and "
    "all descendant objects' and the installer's group permissions as read, write, create, delete "
    "child, delete and delete tree on group objects, not the exact access-control entries; wbplan "
    "plans Connect's group writeback entries with the gMSA as trustee, on each target OU rather "
    "than on the domain root"
)
KDS_NOTE = (
    "Cloud Sync's pages do not name the KDS root key; Microsoft's gMSA documentation requires one "
    "before any gMSA password can be generated"
)
V2_NOTE = (
    "Microsoft's migration takes the groups out of Connect's scope before turning group writeback "
    "v2 off; that they are deleted otherwise follows from Connect deleting the groups it wrote "
    "back when their writeback ends"
)


def gmsa_address(ctx: Context) -> str:
    """Address of the gMSA: the account the policy names, else the default one."""
    cloud = ctx.policy.cloud_sync
    account = cloud.gmsa.account if cloud is not None else None
    return f"ad.gmsa[{account or 'provAgentgMSA'}]"


def kds_address(ctx: Context) -> str:
    """Address of the forest's KDS root key."""
    return f"ad.kds_root_key[{ctx.forest}]"


def anchor_address(ctx: Context) -> str:
    """Address of the schema attribute gate of group provisioning."""
    return f"ad.schema_attribute[{ctx.forest}/{ANCHOR}]"


def _features(entry: CloudSyncDomain) -> tuple[str, ...]:
    out = []
    if entry.group_provisioning is not None:
        out.append(GROUP_FEATURE)
    if entry.password_writeback:
        out.append(PASSWORD_FEATURE)
    if entry.exchange_hybrid:
        out.append(EXCHANGE_FEATURE)
    return tuple(out)


def domain_root(ctx: Context, domain: str) -> str:
    """The DN of ``domain``'s root: observed when the forest was read, else from its name."""
    name = domain.lower().rstrip(".")
    if ctx.state is not None and ctx.state.ad is not None:
        for d in ctx.state.ad.domains:
            if d.dns_name.lower() == name:
                return d.dn
    return domain_dn(name)


# --------------------------------------------------------------------------- shared


def _kds(ctx: Context, features: tuple[str, ...]) -> Resource:
    return Resource(
        address=kds_address(ctx),
        type="ad.kds_root_key",
        provider="ad",
        features=features,
        why="A group Managed Service Account's password is derived from the forest's KDS root key: without one no "
        "gMSA can be created or used",
        references=("M42", "M44", "M15"),
        confidence="inferred",
        confidence_note=KDS_NOTE,
        manageable=False,
        desired={"present": True},
        instructions=(
            "As a Domain Admin of the forest root domain, run `Add-KdsRootKey -EffectiveImmediately` on a domain "
            "controller (domain controllers use it after replication, up to 10 hours); `Get-KdsRootKey` lists the "
            "keys there are"
        ),
    )


def _gmsa(ctx: Context, features: tuple[str, ...]) -> Resource:
    cloud = ctx.policy.cloud_sync
    account = cloud.gmsa.account if cloud is not None else None
    if account is None:
        how = (
            "Install the provisioning agent and let its wizard create the gMSA (Configure Service Account → Create "
            "gMSA, with Domain Admin credentials), or run `Add-AADCloudSyncGMSA -Credential <Domain Admin>` from "
            "the agent's Microsoft.CloudSync.PowerShell module; it is created as CN=provAgentgMSA,CN=Managed "
            "Service Accounts with the account name pGMSA_<hex>$"
        )
        why = (
            "The Cloud Sync agent runs as a group Managed Service Account; every right Cloud Sync needs in AD is a "
            "right of that account, found as cn=provAgentgMSA or sAMAccountName=pGMSA_*"
        )
    else:
        name = account.rsplit("\\", 1)[-1]
        how = (
            f"Create the gMSA {account} (`New-ADServiceAccount -Name {name.rstrip('$')} -DNSHostName <fqdn> "
            "-PrincipalsAllowedToRetrieveManagedPassword <agent hosts>`), then on each agent host run "
            f"`Add-AADCloudSyncGMSA -CustomGMSAName {name}`"
        )
        why = (
            f"The Cloud Sync agent runs as the custom gMSA {account}; every right Cloud Sync needs in AD is a right "
            "of that account (custom gMSAs get none from the agent since build 1.1.2334.0)"
        )
    return Resource(
        address=gmsa_address(ctx),
        type="ad.gmsa",
        provider="ad",
        features=features,
        why=why,
        references=("M15", "M14", "M41"),
        manageable=False,
        depends_on=(kds_address(ctx),),
        desired={"account": account, "found_by": "custom" if account else "default"},
        instructions=how,
    )


def _gmsa_ace(
    ctx: Context,
    *,
    dn: str,
    purpose: str,
    name: str,
    feature: str,
    why: str,
    references: tuple[str, ...],
    ace: AceSpec,
    rights: tuple[RightSpec, ...],
    depends_on: tuple[str, ...],
    desired: dict[str, object] | None = None,
    confidence: Confidence = "inferred",
    note: str = ENCODING_NOTE,
) -> Resource:
    """An ACE requirement for the gMSA (``desired["principal"] = "gmsa"``): judged on the gMSA's
    effective rights, granted to its SID, after the gMSA itself."""
    return ace_resource(
        ctx,
        dn=dn,
        purpose=purpose,
        name=name,
        feature=feature,
        why=why,
        references=references,
        ace=ace,
        rights=rights,
        depends_on=depends_on,
        desired={**(desired or {}), "principal": "gmsa"},
        confidence=confidence,
        confidence_note=note,
        principal_address=gmsa_address(ctx),
    )


# --------------------------------------------------------------------------- group provisioning


def _anchor_gate(ctx: Context) -> Resource:
    return Resource(
        address=anchor_address(ctx),
        type="ad.schema_attribute",
        provider="ad",
        features=(GROUP_FEATURE,),
        why=(
            "Group Provision to AD joins the groups it writes on msDS-ExternalDirectoryObjectId, an attribute of "
            "the Windows Server 2016 schema; wbplan looks for the attribute itself, not for a schema version"
        ),
        references=("M45", "S22", "M43"),
        manageable=False,
        desired={"attribute": ANCHOR},
        instructions=(
            "Extend the forest schema to Windows Server 2016 or later: `adprep /forestprep` from Windows Server "
            "2016 (or later) installation media, as a Schema Admin on the schema master"
        ),
    )


def _target_ou(ctx: Context, ou: str) -> Resource:
    creatable = bool(split_rdns(ou)) and split_rdns(ou)[0][0].lower() == "ou"
    return Resource(
        address=ad_object(ou),
        type="ad.object",
        provider="ad",
        features=(GROUP_FEATURE,),
        why="Group Provision to AD creates the groups in the configuration's target OU (parentDistinguishedName)",
        references=("S22", "M45"),
        manageable=creatable,
        dn=ou,
        desired={"objectClass": "organizationalUnit"} if creatable else {"exists": True},
        depends_on=(anchor_address(ctx),),
        instructions=None if creatable else f"Create {ou} or correct the target OU in the policy",
    )


def _manage_groups(ctx: Context, ou: str, *, dn: str, at: At) -> Resource:
    """GR GW SD DT on the groups: on descendant groups of ``dn`` (the target OU, or an OU below
    it with inheritance disabled), or on ``dn`` itself (a group with inheritance disabled)."""
    group = ctx.class_guid("group")
    mask = DS_GENERIC_READ | DS_GENERIC_WRITE | DELETE | DELETE_TREE
    rights = (
        placed_right(at, "read-write-groups", READ_PROPERTY | WRITE_PROPERTY, group),
        placed_right(at, "delete-groups-tree", DELETE | DELETE_TREE, group),
    )
    if at == "root":
        why = (
            "The gMSA writes the members and mapped attributes of the groups it provisions and deletes them with "
            "their cloud group: read, write, delete and delete tree on descendant group objects"
        )
    elif at == "container":
        why = (
            f"{dn} has inheritance disabled, so the grant on {ou} does not reach its groups: the gMSA needs read, "
            f"write, delete and delete tree on descendant group objects of {dn} itself"
        )
    else:
        why = f"{dn} has inheritance disabled: the gMSA needs read, write, delete and delete tree on the group itself"
    return _gmsa_ace(
        ctx,
        dn=dn,
        purpose=GROUP_PURPOSE,
        name="manage-groups",
        feature=GROUP_FEATURE,
        why=why,
        references=("M40", "M15", "S22"),
        ace=placed_ace(at, mask, group, "group"),
        rights=rights,
        depends_on=(ad_object(ou),),
        desired=scoped(ou, GROUP_ANALYSIS, "group", "manage-groups", at),
        note=GROUP_NOTE,
    )


def _group_provisioning(ctx: Context, entry: CloudSyncDomain) -> list[Resource]:
    assert entry.group_provisioning is not None
    group = ctx.class_guid("group")
    out: list[Resource] = [_anchor_gate(ctx)]
    for ou in entry.group_provisioning.target_ous:
        out.append(_target_ou(ctx, ou))
        out.append(
            _gmsa_ace(
                ctx,
                dn=ou,
                purpose=GROUP_PURPOSE,
                name="create-delete-groups",
                feature=GROUP_FEATURE,
                why=(
                    "The gMSA creates and deletes the provisioned groups in the target OU: Create/Delete group "
                    "objects on the OU (Set-AADCloudSyncPermissions -PermissionType UserGroupCreateDelete)"
                ),
                references=("M40", "M45", "S22"),
                ace=AceSpec(
                    mask=CREATE_CHILD | DELETE_CHILD,
                    flags=CI,
                    object_type=group,
                    object_type_name="group",
                ),
                rights=(
                    RightSpec(
                        name="create-groups",
                        mask=CREATE_CHILD,
                        object_type=group,
                        applies_to="object",
                    ),
                    RightSpec(
                        name="delete-groups",
                        mask=DELETE_CHILD,
                        object_type=group,
                        applies_to="object",
                    ),
                ),
                depends_on=(ad_object(ou),),
                note=GROUP_NOTE,
            )
        )
        out.append(_manage_groups(ctx, ou, dn=ou, at="root"))

        def build(grant: str, cls: str, dn: str, at: At, ou: str = ou) -> Resource:
            del grant, cls  # one grant gives every right on the groups
            return _manage_groups(ctx, ou, dn=dn, at=at)

        _present, below = below_root(
            ctx,
            root=ou,
            analysis=GROUP_ANALYSIS,
            purpose=GROUP_PURPOSE,
            feature=GROUP_FEATURE,
            build=build,
            principal="gmsa",
            principal_address=gmsa_address(ctx),
        )
        out.extend(below)
    return out


# --------------------------------------------------------------------------- password writeback

# the grants Set-AADCloudSyncPermissions -PermissionType PasswordWriteBack makes are those of
# Connect's password writeback ("identical to the permissions used by Azure AD Connect")
PASSWORD_GRANTS = GRANTS


def _password_grant(
    ctx: Context, *, root: str, dn: str, grant: tuple[str, int, str, str], cls: str, at: At
) -> Resource:
    name, mask, source, label = grant
    guid = ctx.right_guid(source) if mask == CONTROL_ACCESS else ctx.attribute_guid(source)
    sets = (
        tuple(sorted(property_sets_of(ctx.state, source)))
        if ctx.state and mask == WRITE_PROPERTY
        else ()
    )
    cls_guid = ctx.class_guid(cls)
    words = "Reset Password" if mask == CONTROL_ACCESS else f"Write {label}"
    if at == "root":
        why = (
            f"Cloud Sync password writeback resets passwords as the gMSA: {words} on descendant {cls} objects of "
            "the domain root (Set-AADCloudSyncPermissions -PermissionType PasswordWriteBack)"
        )
    elif at == "container":
        why = (
            f"{dn} has inheritance disabled, so the grant on {root} does not reach the {cls} objects below it: the "
            f"gMSA needs {words} on descendant {cls} objects of {dn} itself"
        )
    else:
        why = f"{dn} has inheritance disabled: the gMSA needs {words} on the object itself"
    suffix = name if cls == "user" else f"{name}-{cls}"
    return _gmsa_ace(
        ctx,
        dn=dn,
        purpose=PASSWORD_PURPOSE,
        name=suffix,
        feature=PASSWORD_FEATURE,
        why=why,
        references=("M40", "M11", "S1"),
        ace=placed_ace(at, mask, cls_guid, cls, guid, label),
        rights=(placed_right(at, name, mask, cls_guid, guid, sets),),
        depends_on=(ad_object(dn),) if at == "root" else (ad_object(root),),
        desired=scoped(root, "password", cls, name, at),
    )


def _password(ctx: Context, entry: CloudSyncDomain) -> list[Resource]:
    root = domain_root(ctx, entry.domain)
    by_name = {g[0]: g for g in PASSWORD_GRANTS}

    def build(grant: str, cls: str, dn: str, at: At) -> Resource:
        return _password_grant(ctx, root=root, dn=dn, grant=by_name[grant], cls=cls, at=at)

    present, below = below_root(
        ctx,
        root=root,
        analysis="password",
        purpose=PASSWORD_PURPOSE,
        feature=PASSWORD_FEATURE,
        build=build,
        principal="gmsa",
        principal_address=gmsa_address(ctx),
    )
    classes = ["user", *(c for c in present if c != "user" and c in PASSWORD_CLASSES)]
    out = [
        _password_grant(ctx, root=root, dn=root, grant=g, cls=cls, at="root")
        for cls in classes
        for g in PASSWORD_GRANTS
    ]
    out.extend(below)
    guid = ctx.right_guid("Unexpire-Password")
    out.append(
        _gmsa_ace(
            ctx,
            dn=root,
            purpose=PASSWORD_PURPOSE,
            name="unexpire-password",
            feature=PASSWORD_FEATURE,
            why=(
                "Cloud Sync password writeback needs Unexpire Password on the root of the domain, if not already set "
                "(an existing Authenticated Users grant also satisfies it)"
            ),
            references=("M11", "M40", "M3"),
            ace=unexpire_ace(guid),
            rights=unexpire_rights(guid),
            depends_on=(ad_object(root),),
        )
    )
    return out


# --------------------------------------------------------------------------- Exchange hybrid


def _exchange_grant(ctx: Context, *, root: str, dn: str, cls: str, at: At) -> Resource:
    guid = ctx.class_guid(cls)
    mask = READ_PROPERTY | WRITE_PROPERTY
    if at == "root":
        why = (
            f"Cloud Sync's Exchange hybrid writeback writes Exchange attributes back to {cls} objects: RPWP on "
            f"descendant {cls} objects (Set-AADCloudSyncPermissions -PermissionType HybridExchangePermissions)"
        )
    elif at == "container":
        why = (
            f"{dn} has inheritance disabled, so the grant on {root} does not reach its {cls} objects: RPWP on "
            f"descendant {cls} objects of {dn} itself"
        )
    else:
        why = f"{dn} has inheritance disabled: the gMSA needs RPWP on the object itself"
    return _gmsa_ace(
        ctx,
        dn=dn,
        purpose=EXCHANGE_PURPOSE,
        name=f"read-write-{cls}",
        feature=EXCHANGE_FEATURE,
        why=why,
        references=("M40", "S27", "S1"),
        ace=placed_ace(at, mask, guid, cls),
        rights=(placed_right(at, f"read-write-{cls}", mask, guid),),
        depends_on=(ctx.exchange_schema_address, ad_object(dn if at == "root" else root)),
        desired=scoped(root, "exchange", cls, "read-write", at),
    )


def _exchange(ctx: Context, entry: CloudSyncDomain) -> list[Resource]:
    root = domain_root(ctx, entry.domain)
    out = [exchange_gate(ctx, EXCHANGE_FEATURE)]
    out += [
        _exchange_grant(ctx, root=root, dn=root, cls=cls, at="root") for cls in EXCHANGE_CLASSES
    ]

    def build(grant: str, cls: str, dn: str, at: At) -> Resource:
        del grant  # one RPWP grant per class gives every attribute
        return _exchange_grant(ctx, root=root, dn=dn, cls=cls, at=at)

    _present, below = below_root(
        ctx,
        root=root,
        analysis="exchange",
        purpose=EXCHANGE_PURPOSE,
        feature=EXCHANGE_FEATURE,
        build=build,
        principal="gmsa",
        principal_address=gmsa_address(ctx),
    )
    return out + below


# --------------------------------------------------------------------------- migration from v2


MIGRATION_STEPS = (
    "put the Connect server in staging mode and stop its scheduler (`Set-ADSyncScheduler -SyncCycleEnabled "
    "$false`), add the inbound sync rule (join, scoping cloudMastered EQUAL true and mail ISNULL, constant True "
    "to cloudNoFlow) and the outbound one (JoinNoFlow, scoping cloudNoFlow EQUAL True) that take the groups out "
    "of its scope, run `Start-ADSyncSyncCycle -PolicyType Initial`, then `Set-ADSyncAADCompanyFeature "
    "-GroupWritebackV2 $false` and another initial sync, re-enable the scheduler and leave staging mode. "
    "Microsoft warns that turning v2 off cannot be undone and that afterwards every Microsoft 365 group is "
    "written back (group writeback v1 behaviour) whatever its Writeback Enabled setting"
)


def _v2_flag(
    ctx: Context, ous: Sequence[str], migrations: Sequence[str], copies: Sequence[str]
) -> Resource | None:
    """Connect group writeback v2 still on while Cloud Sync takes groups over: turning it off is
    a manual step after the schema attribute and before the configurations.

    With a declared migration (``migrations``: the OUs v2 wrote to) it is always planned — the
    policy says v2 must be off — after every planned copy of adminDescription into
    msDS-ExternalDirectoryObjectId (``copies``), and its blast radius is the groups v2 wrote
    under those OUs. Without one it is planned only where the tenant was read and shows v2 on,
    with the groups already under the target OUs as its blast radius."""
    if not migrations and (ctx.state is None or ctx.state.tenant is None or not ous):
        return None
    base = retired_flag_resource(V2_FLAG)
    if migrations:
        first = (
            "Microsoft's migration, after wbplan apply copied each group's adminDescription into "
            "msDS-ExternalDirectoryObjectId (the planned ad.object changes; Microsoft's own script for this step is "
            "`Get-ADGroup -Filter * -SearchBase <OU> -Properties adminDescription | Where-Object {$_.adminDescription "
            "-ne $null} | ForEach-Object { Set-ADGroup -Identity $_ -Add @{'msDS-ExternalDirectoryObjectID' = "
            "$_.adminDescription} }`): "
        )
    else:
        first = (
            "Migrate before turning v2 off, or the next Connect sync cycle deletes the groups it wrote back (declare "
            "group_provisioning.migrate_from_connect_v2 with the OU v2 wrote them to, and wbplan plans the copy of "
            "each group's adminDescription into msDS-ExternalDirectoryObjectId): copy the attribute, then "
        )
    desired: dict[str, object] = {**base.desired, "radius_containers": list(dict.fromkeys(ous))}
    if migrations:
        desired["v2_ous"] = list(dict.fromkeys(migrations))
    return base.model_copy(
        update={
            "features": (*base.features, GROUP_FEATURE),
            "why": (
                "Group writeback v2 was retired after June 30, 2024; Cloud Sync's Group Provision to AD takes its "
                "security groups over once v2 is off"
                + (", which this policy's migration from v2 requires" if migrations else "")
            ),
            "references": ("S21", *base.references),
            "confidence": "inferred",
            "confidence_note": V2_NOTE,
            "depends_on": tuple(dict.fromkeys((anchor_address(ctx), *copies))),
            "desired": desired,
            "instructions": first + MIGRATION_STEPS,
        }
    )


def _copies(ctx: Context, ou: str) -> list[Resource]:
    """One attribute update per universal security group v2 wrote under ``ou``:
    msDS-ExternalDirectoryObjectId = its adminDescription, exactly as Microsoft's copy script
    writes it (``Set-ADGroup -Add @{'msDS-ExternalDirectoryObjectID' = $group.adminDescription}``
    on the migration page; the value is copied as it is, ``Group_<cloud object id>``). The
    groups not written back by Connect, and those the migration does not support (not universal,
    or not security: see ``planner.connectv2``), get none."""
    ad = ctx.state.ad if ctx.state is not None else None
    read = connectv2.read_of(ad, ou)
    if ad is None or read is None:
        return []
    out = []
    for g in connectv2.groups_of(ad, read):
        if not (g.written_by_connect and g.universal_security):
            continue
        out.append(
            Resource(
                address=ad_object(g.dn),
                type="ad.object",
                provider="ad",
                features=(GROUP_FEATURE,),
                why=(
                    "Cloud Sync recognises a group that group writeback v2 wrote back by its msDS-ExternalDirectoryObjectId: "
                    "Microsoft's migration copies the group's adminDescription into it before v2 is turned off"
                ),
                references=("S21", "M45"),
                manageable=True,
                dn=g.dn,
                desired={ANCHOR: g.admin_description},
                depends_on=(anchor_address(ctx),),
            )
        )
    return out


# --------------------------------------------------------------------------- expand and edges


def expand(ctx: Context) -> list[Resource]:
    """Resources the ``cloud_sync`` section needs in AD (and the v2 flag of a migration)."""
    cloud = ctx.policy.cloud_sync
    if cloud is None:
        return []
    features = tuple(f for f in FEATURES if any(f in _features(e) for e in cloud.domains))
    if not features:
        return []
    out = [_kds(ctx, features), _gmsa(ctx, features)]
    ous: list[str] = []
    migrations: list[str] = []
    copies: list[Resource] = []
    for entry in cloud.domains:
        if entry.group_provisioning is not None:
            out += _group_provisioning(ctx, entry)
            ous += entry.group_provisioning.target_ous
            migration = entry.group_provisioning.migrate_from_connect_v2
            if migration is not None:
                migrations.append(migration.ou)
                copies += _copies(ctx, migration.ou)
        if entry.password_writeback:
            out += _password(ctx, entry)
        if entry.exchange_hybrid:
            out += _exchange(ctx, entry)
    out += copies
    flag = _v2_flag(ctx, ous, migrations, [r.address for r in copies])
    if flag is not None:
        out.append(flag)
    return out


def _in_domain(dn: str | None, root: str) -> bool:
    if dn is None:
        return False
    key, root_key = dn_key(dn), dn_key(root)
    return key == root_key or key.endswith("," + root_key)


def configuration_address(domain: str) -> str:
    """``tenant.cloudsync[<domain>]``: the address of a domain's Cloud Sync configuration, as the
    tenant module (``planner.requirements.cloudsync_tenant``) plans it."""
    return f"tenant.cloudsync[{domain.lower().rstrip('.')}]"


def configuration_prerequisites(
    ctx: Context, entry: CloudSyncDomain, resources: Sequence[Resource]
) -> tuple[str, ...]:
    """The AD resources of this module the configuration of ``entry``'s domain waits for: the
    gMSA and every gMSA ACE (and deny step) its features need in the domain, and for group
    provisioning the group writeback v2 flag of a migration."""
    features = set(_features(entry))
    if not features:
        return ()
    root = domain_root(ctx, entry.domain)
    deps = [gmsa_address(ctx)]
    for r in resources:
        ours = r.type in ("ad.ace", "ad.deny") and bool(features & set(r.features))
        migration = r.address == f"tenant.feature[{V2_FLAG}]" and GROUP_FEATURE in features
        if (ours and _in_domain(r.dn, root)) or migration:
            deps.append(r.address)
    return tuple(dict.fromkeys(deps))


def link_configurations(ctx: Context, resources: list[Resource]) -> list[Resource]:
    """Add the AD prerequisites of each domain's Cloud Sync configuration to its ``depends_on``
    when the configuration is among ``resources``: the tenant module plans the configurations,
    this one knows their AD side (gMSA ACEs → configuration)."""
    cloud = ctx.policy.cloud_sync
    if cloud is None:
        return resources
    wanted = {configuration_address(e.domain): e for e in cloud.domains}
    out = []
    for r in resources:
        entry = wanted.get(r.address)
        if entry is not None:
            extra = configuration_prerequisites(ctx, entry, resources)
            if extra:
                deps = tuple(dict.fromkeys((*r.depends_on, *extra)))
                r = r.model_copy(update={"depends_on": deps})  # noqa: PLW2901
        out.append(r)
    return out
