"""Device writeback (domain.md §4, §12.2 item 3): schema ≥ 69 with the device classes → the DRS
configuration tree in the configuration NC → RegisteredDevices → the DRS object pointing at it →
connector ACEs → ``deviceWritebackEnabled`` → the Connect option.

The creation order is the one proven on Samba (samba.md): the DRS object must carry an existing
msDS-DeviceLocation, so RegisteredDevices comes before it.
"""

from __future__ import annotations

from planner.model.dn import (
    dn_key,
    drs_configuration_dn,
    drs_service_dn,
    drs_services_dn,
    registered_devices_dn,
)
from planner.model.plan import AceSpec, Resource, RightSpec
from planner.requirements.common import (
    CI,
    DEVICE_CLASSES,
    SCHEMA_2012R2,
    Context,
    ace_resource,
    ad_object,
)
from planner.requirements.scoped import At, below_root, placed_ace, placed_right, scoped
from planner.requirements.tenant import connect_option, feature_flag
from planner.rights import (
    CREATE_CHILD,
    DELETE,
    DELETE_CHILD,
    DELETE_TREE,
    DS_GENERIC_READ,
    DS_GENERIC_WRITE,
    READ_PROPERTY,
    WRITE_PROPERTY,
)

FEATURE = "device"


def schema_gate(ctx: Context, feature: str) -> Resource:
    """Forest schema at Windows Server 2012 R2 level with the device classes (manual: adprep)."""
    return Resource(
        address=ctx.schema_address,
        type="ad.schema",
        provider="ad",
        features=(feature,),
        why="Device writeback needs the forest schema at Windows Server 2012 R2 (objectVersion 69) and the msDS-Device* classes",
        references=("S4", "S9", "S54"),
        manageable=False,
        desired={
            "min_object_version": SCHEMA_2012R2,
            "classes": list(DEVICE_CLASSES),
        },
        instructions=(
            "Extend the forest schema to Windows Server 2012 R2 or later: `adprep /forestprep` from 2012 R2+ media "
            "as a Schema Admin (on Samba: `samba-tool domain schemaupgrade --schema=2012_R2`)"
        ),
    )


def drs_configuration(ctx: Context, feature: str) -> Resource:
    """The Device Registration Configuration container (shared with hybrid join)."""
    dn = drs_configuration_dn(ctx.config_nc)
    return Resource(
        address=ad_object(dn),
        type="ad.object",
        provider="ad",
        features=(feature,),
        why="Parent of the device registration configuration in the configuration NC",
        references=("S4", "S6", "S46"),
        manageable=True,
        dn=dn,
        desired={"objectClass": "container"},
    )


def drs_configuration_ace(
    ctx: Context, feature: str, *, destroy: bool = False, after: tuple[str, ...] = ()
) -> Resource:
    """Connector read/write on the DRS configuration container and below (dsacls GRGW /I:T)."""
    dn = drs_configuration_dn(ctx.config_nc)
    return ace_resource(
        ctx,
        dn=dn,
        purpose="device-registration",
        name="read-write",
        feature=feature,
        why="The connector gets GR+GW on CN=Device Registration Configuration, this object and sub-objects (as Entra Connect's AdSyncPrep module grants it)",
        references=("S46", "S4"),
        confidence="observed",
        confidence_note=(
            "read from a public script derived from Entra Connect's AdSyncPrep module"
        ),
        ace=AceSpec(mask=DS_GENERIC_READ | DS_GENERIC_WRITE, flags=CI),
        rights=(
            RightSpec(name="read-write", mask=READ_PROPERTY | WRITE_PROPERTY, applies_to="object"),
        ),
        depends_on=(ad_object(dn), *after),
        destroy=destroy,
    )


def device_write(
    ctx: Context,
    location: str,
    *,
    dn: str,
    at: At,
    destroy: bool = False,
    after: tuple[str, ...] = (),
) -> Resource:
    """RP WP on msDS-Device objects: on descendants of ``dn`` (the device container, or a
    container below it with inheritance disabled), or on ``dn`` itself (a device with
    inheritance disabled)."""
    device_class = ctx.class_guid("msDS-Device")
    mask = READ_PROPERTY | WRITE_PROPERTY
    ace = placed_ace(at, mask, device_class, "msDS-Device")
    right = placed_right(at, "read-write-devices", mask, device_class)
    if at == "object":
        why = f"{dn} has inheritance disabled: the connector needs RP WP on the device itself"
    else:
        why = (
            "The connector writes the device attributes (altSecurityIdentities, msDS-DeviceID, …) on msDS-Device objects"
            if at == "root"
            else f"{dn} has inheritance disabled: RP WP on its msDS-Device objects from {dn} itself"
        )
    return ace_resource(
        ctx,
        dn=dn,
        purpose="device-writeback",
        name="read-write-devices",
        feature=FEATURE,
        why=why,
        references=("S26", "S4"),
        ace=ace,
        rights=(right,),
        depends_on=(ad_object(location), *after),
        destroy=destroy,
        desired=scoped(location, "device", "msDS-Device", "read-write-devices", at),
    )


def device_aces(
    ctx: Context, location: str, *, destroy: bool = False, after: tuple[str, ...] = ()
) -> list[Resource]:
    """The connector's ACE on the device container, as the Connect wizard's "create the
    container for device writeback" script (CreateDeviceContainer.ps1) writes it:
    ``dsacls <RegisteredDevices> /G <connector>:GRGWCCDCSDDT /I:T`` — generic read and write,
    create and delete child, delete and delete tree, on this object and all descendants, with no
    object-class restriction (read from a public copy of the generated script). Any existing
    grant that gives the rights device writeback uses (create and delete msDS-Device children,
    read and write their attributes) satisfies it: the rights engine decides."""
    device_class = ctx.class_guid("msDS-Device")
    mask = DS_GENERIC_READ | DS_GENERIC_WRITE | CREATE_CHILD | DELETE_CHILD | DELETE | DELETE_TREE
    wizard = ace_resource(
        ctx,
        dn=location,
        purpose="device-writeback",
        name="manage-devices",
        feature=FEATURE,
        why=(
            "The Connect wizard's device writeback preparation grants the connector GR GW CC DC SD DT on the "
            "device container, this object and all descendants; device writeback creates, deletes, reads and "
            "writes msDS-Device objects there"
        ),
        references=("S4", "S26"),
        confidence="observed",
        confidence_note=(
            "Microsoft documents that the wizard prepares the device container (or hands out "
            "CreateDeviceContainer.ps1), not the ACE it writes; the ACE is read from a public copy of that script"
        ),
        ace=AceSpec(mask=mask, flags=CI),
        rights=(
            RightSpec(
                name="create-devices",
                mask=CREATE_CHILD,
                object_type=device_class,
                applies_to="object",
            ),
            RightSpec(
                name="delete-devices",
                mask=DELETE_CHILD,
                object_type=device_class,
                applies_to="object",
            ),
            RightSpec(
                name="read-write-devices",
                mask=READ_PROPERTY | WRITE_PROPERTY,
                applies_to="descendants",
                target_class=device_class,
            ),
        ),
        depends_on=(ad_object(location), *after),
        destroy=destroy,
        desired=scoped(location, "device", "msDS-Device", "read-write-devices", "root"),
    )
    return [wizard]


def duplicate_address(dn: str) -> str:
    """Address of a surplus msDS-DeviceRegistrationService object."""
    return f"ad.duplicate[{dn}]"


def _drs_objects(ctx: Context) -> tuple[str, list[str]]:
    """(the DRS object wbplan keeps, the surplus ones). Only one may exist per forest (domain.md
    §4): the canonical CN=DeviceRegistrationService when it exists, else the single one found
    under another name (never create a second), else the canonical DN, to be created."""
    canonical = drs_service_dn(ctx.config_nc)
    found = list(ctx.state.ad.drs_services) if ctx.state is not None and ctx.state.ad else []
    if not found:
        return canonical, []
    keep = next((d for d in found if dn_key(d) == dn_key(canonical)), found[0])
    return keep, [d for d in found if dn_key(d) != dn_key(keep)]


def _duplicate(ctx: Context, dn: str, keep: str) -> Resource:
    return Resource(
        address=duplicate_address(dn),
        type="ad.duplicate",
        provider="ad",
        features=(FEATURE,),
        why="Only one device registration configuration object may exist per forest; duplicates break device writeback",
        references=("S4",),
        manageable=False,
        dn=dn,
        desired={"keep": keep},
        instructions=(
            f"Delete {dn} as an Enterprise Admin (after checking nothing else, e.g. AD FS device registration, "
            f"uses it) and keep {keep}: only one msDS-DeviceRegistrationService may exist per forest"
        ),
    )


def expand(ctx: Context) -> list[Resource]:
    """Resources device writeback needs."""
    wb = ctx.policy.writeback.device
    if wb is None:
        return []
    location = registered_devices_dn(wb.domain or ctx.forest)
    if not wb.enabled:
        off = feature_flag(
            ctx,
            "deviceWritebackEnabled",
            False,
            FEATURE,
            "Device writeback is declared off: the tenant flag should be false",
            (),
            references=("S36a", "S4"),
        )
        if not wb.remove_preparation:
            return [off]
        # The connector's ACEs go once the feature is off; containers and the DRS object stay
        # (they may hold devices). The DRS configuration grant stays while hybrid join needs it.
        removed = [*device_aces(ctx, location, destroy=True, after=(off.address,))]
        hybrid_join = ctx.policy.writeback.hybrid_join
        if hybrid_join is None or not hybrid_join.enabled:
            removed.append(drs_configuration_ace(ctx, FEATURE, destroy=True, after=(off.address,)))
        return [off, *removed]
    cfg = drs_configuration(ctx, FEATURE)
    services = drs_services_dn(ctx.config_nc)
    service, duplicates = _drs_objects(ctx)
    gate = ctx.schema_address
    out = [
        schema_gate(ctx, FEATURE),
        Resource(**{**cfg.model_dump(), "depends_on": (gate,)}),
        Resource(
            address=ad_object(services),
            type="ad.object",
            provider="ad",
            features=(FEATURE,),
            why="msDS-DeviceRegistrationServiceContainer under the DRS configuration",
            references=("S6", "S46"),
            manageable=True,
            dn=services,
            desired={"objectClass": "msDS-DeviceRegistrationServiceContainer"},
            depends_on=(gate, cfg.address),
        ),
        Resource(
            address=ad_object(location),
            type="ad.object",
            provider="ad",
            features=(FEATURE,),
            why="Devices are written to an msDS-DeviceContainer directly under the domain root (default CN=RegisteredDevices)",
            references=("S4", "S53"),
            manageable=True,
            dn=location,
            desired={"objectClass": "msDS-DeviceContainer"},
            depends_on=(gate,),
        ),
        Resource(
            address=ad_object(service),
            type="ad.object",
            provider="ad",
            features=(FEATURE,),
            why="Exactly one msDS-DeviceRegistrationService per forest, whose msDS-DeviceLocation names the device container",
            references=("S4", "S53"),
            manageable=True,
            dn=service,
            desired={
                "objectClass": "msDS-DeviceRegistrationService",
                "msDS-DeviceLocation": location,
                "msDS-IsEnabled": "TRUE",
                # What the wizard's CreateDeviceContainer.ps1 sets (and no msDS-RegistrationQuota)
                "msDS-MaximumRegistrationInactivityPeriod": "0",
            },
            depends_on=(gate, ad_object(services), ad_object(location)),
        ),
    ]
    out += [_duplicate(ctx, dn, service) for dn in duplicates]
    wizard = device_aces(ctx, location)
    cfg_ace = drs_configuration_ace(ctx, FEATURE)
    out += [*wizard, cfg_ace]

    def build(grant: str, cls: str, dn: str, at: At) -> Resource:
        del grant, cls  # one grant: read and write the devices
        return device_write(ctx, location, dn=dn, at=at)

    _present, below = below_root(
        ctx,
        root=location,
        analysis="device",
        purpose="device-writeback",
        feature=FEATURE,
        build=build,
    )
    out += below
    flag = feature_flag(
        ctx,
        "deviceWritebackEnabled",
        True,
        FEATURE,
        "features.deviceWritebackEnabled is the tenant's record of device writeback, set after the forest is "
        "prepared; it does not enable the feature by itself: Microsoft's documented step is the Connect wizard's "
        "device writeback option (connect.option[device-writeback]), which is still required",
        (
            ad_object(service),
            *(w.address for w in wizard),
            cfg_ace.address,
            *(duplicate_address(dn) for dn in duplicates),
        ),
        references=("S36a", "S4"),
    )
    out.append(flag)
    out.append(
        connect_option(
            "device-writeback",
            FEATURE,
            (flag.address,),
            "Entra Connect wizard → Configure device options → Configure device writeback → select this forest",
        )
    )
    return out
