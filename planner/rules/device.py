"""Device writeback, the forest side (domain.md §4, §12.2 item 3): schema (WB-DEV-001), exactly
one DRS object (WB-DEV-002), its msDS-DeviceLocation resolving to an msDS-DeviceContainer
(WB-DEV-003). The connector's rights, the tenant flag and coverage are in ``device_tenant``."""

from __future__ import annotations

from planner.model.dn import dn_key, drs_service_dn, drs_services_dn, registered_devices_dn
from planner.model.policy import Policy
from planner.model.report import RuleInfo
from planner.rules.base import Result, rule
from planner.rules.context import VERIFY_AD, RuleContext
from planner.rules.gates import gate_result


def device_enabled(policy: Policy) -> bool:
    """Device writeback is declared and enabled."""
    return policy.writeback.device is not None and policy.writeback.device.enabled


@rule(
    RuleInfo(
        id="WB-DEV-001",
        title="Forest schema ≥ Windows Server 2012 R2 (objectVersion 69) with the device classes",
        criticality="SHALL",
        feature="device",
        rationale=(
            "Device writeback needs the forest schema at Windows Server 2012 R2 level so that msDS-Device, "
            "msDS-DeviceContainer and the device registration classes exist; the classes are checked too."
        ),
        remediation=(
            "Extend the forest schema: `adprep /forestprep` from Windows Server 2012 R2 or later media as a "
            "Schema Admin (Samba: `samba-tool domain schemaupgrade --schema=2012_R2`)."
        ),
        references=("S4", "S9", "S54"),
        failure_modes=("F2",),
    ),
    device_enabled,
)
def device_schema(ctx: RuleContext) -> list[Result]:
    """The planner's schema gate for device writeback."""
    return gate_result(
        ctx, f"ad.schema[{ctx.policy.forest.lower()}]", "the device writeback schema"
    )


def _drs_unknown(ctx: RuleContext, address: str) -> Result | None:
    if ctx.state.ad is None:
        return Result("unknown", address, "Active Directory was not observed", verify_at=VERIFY_AD)
    u = ctx.unread("ad.drs_services")
    if u is not None:
        return Result(
            "unknown",
            address,
            f"the device registration objects could not be searched: {u.reason}",
            verify_at=u.verify_at or VERIFY_AD,
        )
    return None


@rule(
    RuleInfo(
        id="WB-DEV-002",
        title="Exactly one msDS-DeviceRegistrationService object in the configuration NC",
        criticality="SHALL",
        feature="device",
        rationale=(
            "Only one device registration configuration object may exist per forest; duplicates break device "
            "writeback and must be deleted."
        ),
        remediation=(
            "Keep CN=DeviceRegistrationService,CN=Device Registration Services,CN=Device Registration "
            "Configuration,CN=Services,<configuration NC> and delete the others (as an Enterprise Admin); when "
            "none exists, run `wbplan apply` or the Connect wizard's 'Configure device writeback'."
        ),
        references=("S4",),
        failure_modes=("F4",),
    ),
    device_enabled,
)
def one_drs_object(ctx: RuleContext) -> list[Result]:
    """Count every msDS-DeviceRegistrationService the observer found in the configuration NC."""
    config = ctx.state.ad.root_dse.configuration_naming_context if ctx.state.ad else None
    address = drs_services_dn(config) if config else "ad.drs_services[]"
    unknown = _drs_unknown(ctx, address)
    if unknown is not None:
        return [unknown]
    assert ctx.state.ad is not None
    found = list(ctx.state.ad.drs_services)
    evidence = {"count": len(found), "objects": found}
    if len(found) == 1:
        return [Result("pass", address, f"one DRS object: {found[0]}", evidence)]
    if not found:
        return [
            Result(
                "fail",
                address,
                "no msDS-DeviceRegistrationService object exists",
                evidence,
                fixed_by=(f"ad.object[{drs_service_dn(config)}]",) if config else (),
            )
        ]
    steps = tuple(
        r.address
        for r in ctx.resources_of("device", "ad.duplicate")
        if ctx.outcome(r).action == "manual"
    )
    return [
        Result(
            "fail",
            address,
            f"{len(found)} msDS-DeviceRegistrationService objects exist; exactly one is allowed",
            evidence,
            fixed_by=steps,
        )
    ]


@rule(
    RuleInfo(
        id="WB-DEV-003",
        title="msDS-DeviceLocation is set and resolves to an msDS-DeviceContainer",
        criticality="SHALL",
        feature="device",
        rationale=(
            "Device objects are created under the DN that the DRS object's msDS-DeviceLocation names; a missing "
            "value, or one that points at anything but an msDS-DeviceContainer, stops device writeback."
        ),
        remediation=(
            "Create CN=RegisteredDevices,<domain DN> as an msDS-DeviceContainer and set msDS-DeviceLocation on "
            "the DRS object to it (`wbplan apply` does both), or rerun the Connect wizard's device writeback "
            "preparation."
        ),
        references=("S4", "S53"),
        failure_modes=("F5",),
    ),
    device_enabled,
)
def device_location(ctx: RuleContext) -> list[Result]:
    """One result per DRS object (the default DN when there is none)."""
    ad = ctx.state.ad
    default = (
        drs_service_dn(ad.root_dse.configuration_naming_context) if ad else "ad.drs_services[]"
    )
    unknown = _drs_unknown(ctx, default)
    if unknown is not None:
        return [unknown]
    assert ad is not None
    wb = ctx.policy.writeback.device
    declared = registered_devices_dn((wb.domain if wb else None) or ctx.policy.forest.lower())
    if not ad.drs_services:
        return [
            Result(
                "fail",
                default,
                "no msDS-DeviceRegistrationService object exists, so no device location is set",
                {"declared_location": declared},
            )
        ]
    out = []
    for dn in ad.drs_services:
        obj = ctx.index.object(dn)
        values = obj.attributes.get("msDS-DeviceLocation", ()) if obj else ()
        evidence: dict[str, object] = {
            "msDS-DeviceLocation": list(values),
            "declared_location": declared,
        }
        if not values or not values[0].strip():
            out.append(Result("fail", dn, "msDS-DeviceLocation is not set", evidence))
            continue
        location = values[0]
        evidence["matches_policy"] = dn_key(location) == dn_key(declared)
        target = ctx.index.object(location)
        if target is None:
            out.append(
                Result(
                    "unknown",
                    dn,
                    f"the device location {location} was not read",
                    evidence,
                    verify_at=VERIFY_AD,
                )
            )
            continue
        evidence["location_classes"] = list(target.object_class)
        if not target.exists:
            out.append(
                Result(
                    "fail",
                    dn,
                    f"msDS-DeviceLocation names {location}, which does not exist",
                    evidence,
                )
            )
        elif "msds-devicecontainer" not in {c.lower() for c in target.object_class}:
            out.append(
                Result(
                    "fail",
                    dn,
                    f"msDS-DeviceLocation names {location}, which is not an msDS-DeviceContainer",
                    evidence,
                )
            )
        else:
            out.append(
                Result(
                    "pass",
                    dn,
                    f"msDS-DeviceLocation resolves to the device container {location}",
                    evidence,
                )
            )
    return out
