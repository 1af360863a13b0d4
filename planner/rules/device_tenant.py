"""Device writeback, the connector and tenant side: the connector's rights on the device
container and the DRS configuration (WB-DEV-004), ``deviceWritebackEnabled`` as declared
(WB-DEV-005), and coverage of Entra devices by msDS-Device objects (WB-DEV-006)."""

from __future__ import annotations

from planner.model.dn import registered_devices_dn
from planner.model.policy import Policy
from planner.model.report import RuleInfo
from planner.rules.aces import deny_results, rights_results
from planner.rules.base import Result, rule
from planner.rules.context import VERIFY_AD, RuleContext, status_of
from planner.rules.device import device_enabled

FLAG = "deviceWritebackEnabled"
WRITTEN_BACK_TRUST_TYPES = ("Workplace", "AzureAd")
"""Entra-registered and Entra-joined devices are what device writeback creates in AD (domain.md
§4 [S26]: "devices joined to Microsoft Entra ID or domain-joined Windows 10 computers"). Hybrid
joined (ServerAd) devices already are computer objects; whether Connect also writes them as
msDS-Device is UNCONFIRMED, so they are reported but not expected."""
MISSING_LISTED = 20


@rule(
    RuleInfo(
        id="WB-DEV-004",
        title="The connector holds the required rights on the device container and the DRS configuration",
        criticality="SHALL",
        feature="device",
        rationale=(
            "The connector creates, deletes and writes msDS-Device objects in the device container and updates "
            "the DRS configuration (GR+GW on CN=Device Registration Configuration, as Entra Connect's AdSyncPrep "
            "module grants it). Microsoft does not document the exact ACEs the wizard writes, so effective rights "
            "are checked, through groups and inheritance."
        ),
        remediation=(
            "Run `wbplan apply` (it grants exactly the missing rights), or rerun the Connect wizard's device "
            "writeback preparation / CreateDeviceContainer.ps1 as an Enterprise Admin."
        ),
        references=("S4", "S6", "S46"),
        confidence="observed",
        confidence_note=(
            "the ACEs are read from a public copy of the wizard's CreateDeviceContainer.ps1 and from a "
            "public script derived from the AdSyncPrep module"
        ),
        failure_modes=(),
    ),
    device_enabled,
)
def device_rights(ctx: RuleContext) -> list[Result]:
    """Effective rights of the connector on each object device writeback grants on."""
    aces = [
        r
        for r in ctx.resources_of("device", "ad.ace")
        if "/device-writeback/" in r.address or "/device-registration/" in r.address
    ]
    return [*rights_results(ctx, aces, "the device writeback rights"), *deny_results(ctx, "device")]


def _json(value: object) -> str:
    """Booleans and null as JSON and Graph write them (``true``/``false``/``null``)."""
    if value is True or value is False or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    return str(value)


def device_declared(policy: Policy) -> bool:
    """Device writeback is declared (on or off): the tenant flag must match either way."""
    return policy.writeback.device is not None


@rule(
    RuleInfo(
        id="WB-DEV-005",
        title="deviceWritebackEnabled matches the policy",
        criticality="SHALL",
        feature="device",
        rationale=(
            "features.deviceWritebackEnabled of /directory/onPremisesSynchronization is the tenant switch for "
            "device writeback; it must say what the policy declares."
        ),
        remediation=(
            "Run `wbplan apply`, or PATCH /directory/onPremisesSynchronization/{id} with "
            "features.deviceWritebackEnabled as declared (Connect wizard → Configure device options)."
        ),
        references=("S36a", "S4"),
        failure_modes=(),
    ),
    device_declared,
)
def device_flag(ctx: RuleContext) -> list[Result]:
    """The planner's feature-flag diff."""
    return flag_matches(ctx, FLAG)


def flag_matches(ctx: RuleContext, flag: str) -> list[Result]:
    """pass / fail / unknown for the planner's ``tenant.feature[flag]`` requirement."""
    address = f"tenant.feature[{flag}]"
    r = ctx.resource(address)
    assert r is not None
    want = bool(r.desired["value"])
    outcome = ctx.outcome(r)
    status = status_of(outcome)
    if status == "unknown":
        u = ctx.unread("tenant.sync")
        return [
            Result(
                "unknown",
                address,
                f"the sync feature flags could not be read{': ' + u.reason if u else ''}",
                {"declared": want},
                verify_at=ctx.tenant_verify_at("tenant.sync"),
            )
        ]
    current = (outcome.before or {}).get("value")
    evidence: dict[str, object] = {"declared": want, "observed": current}
    if outcome.extra and "blast_radius" in outcome.extra:
        evidence["blast_radius"] = outcome.extra["blast_radius"].model_dump(mode="json")
    verdict = "matches" if status == "pass" else "does not match"
    return [
        Result(
            status,
            address,
            f"{flag} is {_json(current)}; {verdict} the policy ({_json(want)})",
            evidence,
        )
    ]


@rule(
    RuleInfo(
        id="WB-DEV-006",
        title="Writeback coverage: Entra devices have msDS-Device objects under the device location",
        criticality="SHOULD",
        feature="device",
        rationale=(
            "Entra-registered and Entra-joined devices (Graph /devices, trustType Workplace / AzureAd) should "
            "appear as msDS-Device objects under the device location once device writeback runs. Devices appear "
            "only up to 3 hours after enabling, so a gap right after enabling is expected."
        ),
        remediation=(
            "Wait up to 3 hours after enabling; then check the Connect server's export errors for the AD "
            "connector and the connector's rights on the device container (WB-DEV-004)."
        ),
        references=("S4", "S26", "S41"),
        failure_modes=("F23",),
    ),
    device_enabled,
)
def device_coverage(ctx: RuleContext) -> list[Result]:
    """Entra device ids (Workplace / AzureAd) against msDS-DeviceID values in AD."""
    ad, tenant = ctx.state.ad, ctx.state.tenant
    devices = ad.devices if ad else None
    wb = ctx.policy.writeback.device
    declared = registered_devices_dn((wb.domain if wb else None) or ctx.policy.forest.lower())
    address = devices.location if devices else declared
    if tenant is None or tenant.devices is None:
        u = ctx.unread("tenant.devices")
        return [
            Result(
                "unknown",
                address,
                f"the tenant's devices were not read{': ' + u.reason if u else ''}",
                verify_at=ctx.tenant_verify_at("tenant.devices"),
            )
        ]
    if devices is None:
        u = ctx.unread("ad.devices")
        why = (
            u.reason
            if u
            else "the device location does not exist or Active Directory was not observed"
        )
        return [
            Result(
                "unknown",
                address,
                f"the msDS-Device objects could not be listed: {why}",
                verify_at=VERIFY_AD,
            )
        ]
    in_ad = {d.lower() for d in devices.device_ids}
    expected = [d for d in tenant.devices.items if d.trust_type in WRITTEN_BACK_TRUST_TYPES]
    missing = sorted(d.device_id for d in expected if d.device_id.lower() not in in_ad)
    evidence = {
        "entra_by_trust_type": dict(tenant.devices.counts_by_trust_type),
        "expected": len(expected),
        "in_ad": devices.count,
        "missing_count": len(missing),
        "missing": missing[:MISSING_LISTED],
        "not_in_entra": len(in_ad - {d.device_id.lower() for d in tenant.devices.items}),
    }
    if missing:
        return [
            Result(
                "fail",
                address,
                f"{len(missing)} of {len(expected)} Entra-registered/joined device(s) have no msDS-Device "
                f"object under {address} (devices appear up to 3 hours after device writeback is enabled)",
                evidence,
            )
        ]
    return [
        Result(
            "pass",
            address,
            f"all {len(expected)} Entra-registered/joined device(s) have an msDS-Device object",
            evidence,
        )
    ]
