"""Microsoft Entra Cloud Sync, tenant side (cloud-sync.md §2–§4): per AD domain of the policy's
``cloud_sync`` section, the configuration(s) its features need, their jobs' health, the group
scope, the group target container, an active provisioning agent, and the licence for the number
of configurations.

Nothing here is manageable: Cloud Sync configurations are made in the Entra admin center (Graph
documents the objects behind them, not a supported way to create an Entra-to-AD configuration),
so every unmet requirement is a manual step carrying the portal path. The AD side (gMSA, schema
attribute, target OUs, the gMSA's rights) is another module's.

Edges: licence and agent → configuration → its jobs, its group scope and its group target
container; the AD side adds its
own prerequisites (gMSA, its rights) to the configuration (``planner.requirements.cloudsync``,
which addresses it with the same :func:`configuration_address`). Features carry the AD side's
names: ``cloud_sync_group``, ``cloud_sync_password``, ``cloud_sync_exchange``.

Which configuration serves which feature (cloud-sync.md §4.1):

- ``group_provisioning`` → an **Entra-to-AD** configuration (job ``AAD2ADGroupProvisioning``);
- ``exchange_hybrid`` → the **AD-to-Entra** configuration's ``AAD2ADExchangeHybridWriteback``
  job (created when Exchange hybrid writeback is enabled in its properties);
- ``password_writeback`` → the AD-to-Entra configuration (``AD2AADProvisioning``) that
  synchronizes the domain's users: inferred — Microsoft pairs each domain's users with the
  sync service that serves the domain, it does not state that writeback needs the job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from planner.model.plan import Resource
from planner.model.policy import CloudSyncDomain
from planner.requirements.common import Context

GROUP_FEATURE = "cloud_sync_group"
PASSWORD_FEATURE = "cloud_sync_password"  # noqa: S105 -- a feature name, not a password
EXCHANGE_FEATURE = "cloud_sync_exchange"
Direction = Literal["entra-to-ad", "ad-to-entra"]
DIRECTIONS: tuple[Direction, ...] = ("entra-to-ad", "ad-to-entra")

GROUP_PROVISIONING = "AAD2ADGroupProvisioning"
EXCHANGE_HYBRID = "AAD2ADExchangeHybridWriteback"
AD_TO_ENTRA = "AD2AADProvisioning"

PORTAL = "Entra admin center → Entra ID → Entra Connect → Cloud sync"
LICENCE_ADDRESS = "tenant.cloudsync.licence[]"
SSPR_ADDRESS = "tenant.sspr[cloud-sync-writeback]"
WRITEBACK_INFERENCE = (
    "Microsoft pairs each domain's users with the sync service that serves the domain (Cloud "
    "Sync and Connect side by side, one per domain); that Cloud Sync password writeback needs "
    "the domain's AD-to-Entra configuration is wbplan's inference, not Microsoft's words"
)


@dataclass(frozen=True)
class JobNeed:
    """A job a declared feature needs, in the configuration of one direction."""

    template: str
    direction: Direction
    feature: str
    """The feature in words (``group provisioning`` …)."""
    plan_feature: str
    """The plan's feature name (``cloud_sync_group`` …)."""


def job_needs(entry: CloudSyncDomain) -> tuple[JobNeed, ...]:
    """The jobs ``entry``'s features need (see the module docstring)."""
    needs: list[JobNeed] = []
    if entry.group_provisioning is not None:
        needs.append(
            JobNeed(GROUP_PROVISIONING, "entra-to-ad", "group provisioning", GROUP_FEATURE)
        )
    if entry.password_writeback:
        needs.append(JobNeed(AD_TO_ENTRA, "ad-to-entra", "password writeback", PASSWORD_FEATURE))
    if entry.exchange_hybrid:
        needs.append(
            JobNeed(EXCHANGE_HYBRID, "ad-to-entra", "Exchange hybrid writeback", EXCHANGE_FEATURE)
        )
    return tuple(needs)


def domain_key(domain: str) -> str:
    """A DNS name as addresses carry it: lower case, no trailing dot."""
    return domain.lower().rstrip(".")


def configuration_address(domain: str) -> str:
    """``tenant.cloudsync[emea.contoso.com]``: the domain's Cloud Sync configuration(s)."""
    return f"tenant.cloudsync[{domain_key(domain)}]"


def job_address(domain: str, template: str) -> str:
    """``tenant.cloudsync.job[emea.contoso.com/AAD2ADGroupProvisioning]``."""
    return f"tenant.cloudsync.job[{domain_key(domain)}/{template}]"


def scope_address(domain: str) -> str:
    """``tenant.cloudsync.scope[emea.contoso.com]``."""
    return f"tenant.cloudsync.scope[{domain_key(domain)}]"


def target_address(domain: str) -> str:
    """``tenant.cloudsync.target[emea.contoso.com]``: the group target container."""
    return f"tenant.cloudsync.target[{domain_key(domain)}]"


def agent_address(domain: str) -> str:
    """``tenant.cloudsync.agent[emea.contoso.com]``."""
    return f"tenant.cloudsync.agent[{domain_key(domain)}]"


def kind(direction: Direction) -> str:
    """The portal's name of a configuration of ``direction``."""
    return "Microsoft Entra ID to AD" if direction == "entra-to-ad" else "AD to Microsoft Entra ID"


def new_configuration(domain: str, direction: Direction) -> str:
    """The portal steps that create a configuration of ``direction`` for ``domain``."""
    if direction == "entra-to-ad":
        return (
            f"{PORTAL} → New configuration → Microsoft Entra ID to AD sync → {domain}: set the "
            "scoping filter, the target container (the OU groups are created in), the attribute "
            "mapping and the deletion threshold, then Review and enable"
        )
    return (
        f"{PORTAL} → New configuration → AD to Microsoft Entra ID sync → {domain} (Exchange "
        "hybrid writeback is a property of this configuration), then Review and enable"
    )


def _configuration(domain: str, needs: tuple[JobNeed, ...]) -> Resource:
    directions = {d: sorted({n.template for n in needs if n.direction == d}) for d in DIRECTIONS}
    directions = {d: jobs for d, jobs in directions.items() if jobs}
    words = " and ".join(f"its {kind(d)} configuration" for d in directions)
    serves = " and ".join(n.feature for n in needs)
    password_only = "ad-to-entra" in directions and all(
        n.template == AD_TO_ENTRA for n in needs if n.direction == "ad-to-entra"
    )
    return Resource(
        address=configuration_address(domain),
        type="tenant.cloud_sync_configuration",
        provider="tenant",
        features=tuple(dict.fromkeys(n.plan_feature for n in needs)),
        why=f"Cloud Sync serves {serves} for {domain} through {words}, and Microsoft allows only "
        "one configuration per AD domain",
        references=("M12", "M30", "M34", "M38", *(("S27",) if "ad-to-entra" in directions else ())),
        confidence="inferred" if password_only else "documented",
        confidence_note=WRITEBACK_INFERENCE if password_only else None,
        manageable=False,
        depends_on=(LICENCE_ADDRESS, agent_address(domain)),
        desired={"domain": domain, "directions": directions},
        instructions="; ".join(new_configuration(domain, d) for d in directions),
    )


def _job(domain: str, need: JobNeed) -> Resource:
    enable = (
        f"{PORTAL} → Configurations → the AD-to-Entra configuration of {domain} → Properties → "
        "Exchange hybrid writeback: enable it (the job appears once the agent has discovered the "
        "Exchange schema; restart the agent after extending the schema)"
        if need.template == EXCHANGE_HYBRID
        else f"Created with the configuration: {new_configuration(domain, need.direction)}"
    )
    inferred = need.template == AD_TO_ENTRA
    return Resource(
        address=job_address(domain, need.template),
        type="tenant.cloud_sync_job",
        provider="tenant",
        features=(need.plan_feature,),
        why=f"The {need.template} job carries {need.feature} for {domain}: it must exist, run on "
        "schedule and not be quarantined (a quarantined job provisions nothing)",
        references=("M31", "M32", "M33", "M37"),
        confidence="inferred" if inferred else "documented",
        confidence_note=WRITEBACK_INFERENCE if inferred else None,
        manageable=False,
        depends_on=(configuration_address(domain),),
        desired={"domain": domain, "template": need.template, "direction": need.direction},
        instructions=enable,
    )


def _scope(domain: str, scope: str) -> Resource:
    selected = scope == "selected_groups"
    how = (
        "Scoping filters → Selected security groups → add the groups to provision"
        if selected
        else "Scoping filters → All security groups (narrow it with attribute filters)"
    )
    return Resource(
        address=scope_address(domain),
        type="tenant.cloud_sync_scope",
        provider="tenant",
        features=(GROUP_FEATURE,),
        why=(
            "With 'Selected security groups' only the groups assigned to the configuration are "
            "provisioned: it must require assignment and have at least one group assigned"
            if selected
            else "With 'All security groups' every cloud security group is in scope: the "
            "configuration must not require assignment"
        ),
        references=("M12", "S22", "M35"),
        confidence="documented" if selected else "observed",
        confidence_note=None
        if selected
        else "Microsoft documents how selected groups are assigned, not how 'All security "
        "groups' is stored; wbplan reads it as assignment not required",
        manageable=False,
        depends_on=(configuration_address(domain),),
        desired={"domain": domain, "scope": scope},
        instructions=f"{PORTAL} → Configurations → the Entra-to-AD configuration of {domain} → "
        f"{how}",
    )


def target_instructions(domain: str) -> str:
    """The portal steps that set the group target container of ``domain``'s configuration."""
    return (
        f"{PORTAL} → Configurations → the Entra-to-AD configuration of {domain} → Attribute "
        "mapping → parentDistinguishedName (the target container): a constant DN, or a Switch() "
        "expression choosing one of several DNs, each one an OU the policy declares in "
        "group_provisioning.target_ous"
    )


def _target(domain: str, target_ous: tuple[str, ...]) -> Resource:
    return Resource(
        address=target_address(domain),
        type="tenant.cloud_sync_target",
        provider="tenant",
        features=(GROUP_FEATURE,),
        why=f"Group provisioning creates the groups of {domain} in the container its "
        "parentDistinguishedName mapping names; the gMSA's rights are checked on the OUs the "
        "policy declares, so the configuration must write to those OUs and no other",
        references=("S22", "M50", "M51", "M52"),
        manageable=False,
        depends_on=(configuration_address(domain),),
        desired={"domain": domain, "target_ous": list(target_ous)},
        instructions=target_instructions(domain),
    )


def _agent(domain: str, needs: tuple[JobNeed, ...]) -> Resource:
    return Resource(
        address=agent_address(domain),
        type="tenant.cloud_sync_agent",
        provider="tenant",
        features=tuple(dict.fromkeys(n.plan_feature for n in needs)),
        why=f"Cloud Sync acts in {domain} only through an active provisioning agent registered "
        "for the domain (Microsoft recommends three for high availability)",
        references=("M36", "M37", "M39"),
        manageable=False,
        desired={"domain": domain, "active": True},
        instructions=f"Install the provisioning agent on a domain-joined server of {domain} "
        f"({PORTAL} → Agents → Download on-premises agent) and configure it for the domain, or "
        "start the 'Microsoft Azure AD Connect Provisioning Agent' service on an existing one",
    )


def _licence(ctx: Context, domains: list[str], features: list[str]) -> Resource:
    cloud_sync = ctx.policy.cloud_sync
    assert cloud_sync is not None
    return Resource(
        address=LICENCE_ADDRESS,
        type="tenant.cloud_sync_licence",
        provider="tenant",
        features=tuple(dict.fromkeys(features)),
        why="Cloud Sync provisioning to AD and password writeback need Microsoft Entra ID P1; "
        "a tenant's first two provisioning-to-AD configurations are covered by P1, the third "
        "to twentieth need Microsoft Entra ID Governance",
        references=("M13", "M11"),
        manageable=False,
        desired={
            "entra_to_ad_domains": sorted(domains),
            "policy_domains": sorted(domain_key(d.domain) for d in cloud_sync.domains),
        },
        instructions="Buy or assign the licence in the Microsoft 365 admin center → Billing → "
        "Licenses: Microsoft Entra ID P1 (or P2), and Microsoft Entra ID Governance for a third "
        "to twentieth provisioning-to-AD configuration",
    )


def _sspr(domain_names: list[str]) -> Resource:
    return Resource(
        address=SSPR_ADDRESS,
        type="tenant.sspr",
        provider="tenant",
        features=(PASSWORD_FEATURE,),
        why="Cloud Sync password writeback is switched on by a check box no Microsoft Graph API "
        f"exposes ({', '.join(domain_names)})",
        references=("M11", "S45"),
        confidence="observed",
        confidence_note="Microsoft documents the check box and a PowerShell cmdlet on the agent "
        "server, no Graph property that reflects it",
        manageable=False,
        depends_on=(LICENCE_ADDRESS,),
        desired={"enabled": True},
        instructions="Entra admin center → Protection → Password reset → On-premises integration "
        "→ 'Enable password write back for synced users' and 'Write back passwords with "
        "Microsoft Entra Connect cloud sync'",
    )


def expand(ctx: Context) -> list[Resource]:
    """The tenant-side Cloud Sync requirements of the policy (none without ``cloud_sync``)."""
    cloud_sync = ctx.policy.cloud_sync
    if cloud_sync is None:
        return []
    out: list[Resource] = []
    entra_to_ad: list[str] = []
    licensed: list[str] = []
    password: list[str] = []
    for entry in cloud_sync.domains:
        needs = job_needs(entry)
        if not needs:
            continue
        domain = domain_key(entry.domain)
        out += [_agent(domain, needs), _configuration(domain, needs)]
        out += [_job(domain, n) for n in needs]
        if entry.group_provisioning is not None:
            entra_to_ad.append(domain)
            out.append(_scope(domain, entry.group_provisioning.scope))
            out.append(_target(domain, entry.group_provisioning.target_ous))
        licensed += [n.plan_feature for n in needs if n.template != EXCHANGE_HYBRID]
        if entry.password_writeback:
            password.append(domain)
    if licensed:
        out.append(_licence(ctx, entra_to_ad, licensed))
    else:
        # Exchange hybrid alone: no licence stated (domain.md §10); nothing depends on one.
        out = [
            r.model_copy(
                update={"depends_on": tuple(d for d in r.depends_on if d != LICENCE_ADDRESS)}
            )
            for r in out
        ]
    if password:
        out.append(_sspr(password))
    return out
