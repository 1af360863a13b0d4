"""Hybrid-join service connection point (domain.md §5): the SCP under the DRS configuration
container with ``keywords`` azureADName:<verified domain> and azureADId:<tenant id>, plus the
connector's read/write on the DRS configuration container."""

from __future__ import annotations

from planner.model.dn import scp_dn
from planner.model.plan import Resource
from planner.requirements.common import Context, ad_object
from planner.requirements.device import drs_configuration, drs_configuration_ace

FEATURE = "hybrid_join"


def observed_azure_ad_name(ctx: Context) -> str | None:
    """The domain Microsoft's Initialize-ADSyncDomainJoinedComputerSync puts in ``azureADName``:
    the first verified *federated* domain of the tenant, else its initial (``*.onmicrosoft.com``)
    domain (domain.md §5 [S46]); None when the tenant's domains were not observed."""
    tenant = ctx.state.tenant if ctx.state else None
    domains = (tenant.domains or ()) if tenant else ()
    for d in domains:
        if d.is_verified and (d.authentication_type or "").lower() == "federated":
            return d.id
    for d in domains:
        if d.is_initial and d.is_verified:
            return d.id
    return None


def expand(ctx: Context) -> list[Resource]:
    """Resources the hybrid-join SCP needs."""
    wb = ctx.policy.writeback.hybrid_join
    if wb is None:
        return []
    if not wb.enabled:
        # remove_preparation takes back the connector's grant on the DRS configuration unless
        # device writeback still needs it; the SCP and containers stay (objects are never deleted
        # by wbplan: a person removes the SCP once no computer joins through it).
        device = ctx.policy.writeback.device
        if wb.remove_preparation and (device is None or not device.enabled):
            return [drs_configuration_ace(ctx, FEATURE, destroy=True)]
        return []
    cfg = drs_configuration(ctx, FEATURE)
    name = wb.azure_ad_name or observed_azure_ad_name(ctx) or ctx.policy.tenant.domain
    dn = scp_dn(ctx.config_nc)
    scp = Resource(
        address=ad_object(dn),
        type="ad.object",
        provider="ad",
        features=(FEATURE,),
        why="Domain-joined Windows 10+ computers read the SCP's keywords over LDAP to find the tenant; it must exist in every forest with joined computers",
        references=("S47", "S73"),
        manageable=True,
        dn=dn,
        desired={
            "objectClass": "serviceConnectionPoint",
            "keywords": sorted([f"azureADName:{name}", f"azureADId:{ctx.policy.tenant.id}"]),
        },
        depends_on=(cfg.address,),
    )
    return [cfg, scp, drs_configuration_ace(ctx, FEATURE)]
