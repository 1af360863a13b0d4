"""Cloud Sync rules that depend only on the tenant (WB-CS-050 … WB-CS-057): the configuration
each declared domain needs exists and is the only one, its jobs are healthy, the group scope is as
declared, the licences cover the configurations, an active provisioning agent serves the
domain, and group provisioning maps a target container that is the OUs the policy declares. Observed over Microsoft Graph (:mod:`planner.observe.cloudsync_graph`); each verdict is
the planner's own (:func:`planner.diff.cloudsync_tenant.judge`), so a failing rule always has its
manual step in the plan at the same address. The AD-side Cloud Sync rules live elsewhere.
"""

from __future__ import annotations

from planner.diff.cloudsync_tenant import Judgement, judge
from planner.model.policy import Policy
from planner.model.report import RuleInfo
from planner.requirements.cloudsync_tenant import PORTAL, job_needs
from planner.rules.base import Result, rule
from planner.rules.context import RuleContext

FEATURE = "cloud_sync"
CONFIGURATION = "tenant.cloud_sync_configuration"
TARGET = "tenant.cloud_sync_target"


def uses_cloud_sync(policy: Policy) -> bool:
    """A Cloud Sync domain serves at least one feature."""
    return policy.cloud_sync is not None and any(job_needs(d) for d in policy.cloud_sync.domains)


def provisions_groups(policy: Policy) -> bool:
    """A Cloud Sync domain has group provisioning."""
    return policy.cloud_sync is not None and any(
        d.group_provisioning is not None for d in policy.cloud_sync.domains
    )


def needs_licence(policy: Policy) -> bool:
    """Group provisioning or password writeback through Cloud Sync (both need P1)."""
    return policy.cloud_sync is not None and any(
        d.group_provisioning is not None or d.password_writeback for d in policy.cloud_sync.domains
    )


def _result(ctx: RuleContext, address: str, j: Judgement) -> Result:
    return Result(
        j.status,
        address,
        j.message,
        j.evidence,
        verify_at=j.verify_at
        or (ctx.tenant_verify_at("tenant.cloud_sync") if j.status == "unknown" else None),
    )


def _one_cause(ctx: RuleContext, address: str, j: Judgement, cause: str) -> Result:
    """The configuration judgement seen by a rule about one ``cause`` of failure: a failure
    for another cause only passes here (its own rule fails it)."""
    if j.status != "fail" or cause in j.parts:
        message = j.parts.get(cause, j.message)
        return _result(ctx, address, Judgement(j.status, message, j.outcome, j.evidence))
    domain = j.evidence.get("domain", address)
    holds = (
        f"every configuration {domain} needs exists"
        if cause == "missing"
        else f"no configuration of {domain} is duplicated"
    )
    return Result("pass", address, f"{holds} ({j.message})", j.evidence)


def _judged(ctx: RuleContext, type_: str) -> list[tuple[str, Judgement]]:
    return [(r.address, judge(r, ctx.index)) for r in ctx.resources if r.type == type_]


@rule(
    RuleInfo(
        id="WB-CS-050",
        title="A Cloud Sync configuration serves each declared domain",
        criticality="SHALL",
        feature=FEATURE,
        rationale=(
            "Cloud Sync writes into AD through configurations: a 'Microsoft Entra ID to AD' configuration "
            "(job AAD2ADGroupProvisioning) for group provisioning, the domain's 'AD to Microsoft Entra ID' "
            "configuration for Exchange hybrid writeback (job AAD2ADExchangeHybridWriteback) and for the users "
            "whose passwords it writes back. wbplan finds them over Microsoft Graph: the service principal "
            "named after the domain, and its synchronization jobs' template ids."
        ),
        remediation=(
            f"Create the configuration: {PORTAL} → New configuration → 'Microsoft Entra ID to AD sync' (group "
            "provisioning) or 'AD to Microsoft Entra ID sync' → the domain → Review and enable."
        ),
        references=("M12", "M30", "M34", "M38", "S22"),
    ),
    uses_cloud_sync,
)
def configuration_exists(ctx: RuleContext) -> list[Result]:
    """One result per Cloud Sync domain: fail when a configuration it needs is missing."""
    return [_one_cause(ctx, a, j, "missing") for a, j in _judged(ctx, CONFIGURATION)]


@rule(
    RuleInfo(
        id="WB-CS-051",
        title="At most one Cloud Sync configuration per AD domain",
        criticality="SHALL",
        feature=FEATURE,
        rationale=(
            "Microsoft supports only one configuration per AD domain (users, groups or both in the same "
            "configuration). Counted per direction over the configurations Graph shows for the domain."
        ),
        remediation=(
            f"Keep one configuration and delete the others: {PORTAL} → Configurations → the configuration → "
            "Delete configuration."
        ),
        references=("M12", "M38"),
    ),
    uses_cloud_sync,
)
def one_configuration(ctx: RuleContext) -> list[Result]:
    """One result per Cloud Sync domain: fail when a direction has several configurations."""
    return [_one_cause(ctx, a, j, "duplicated") for a, j in _judged(ctx, CONFIGURATION)]


@rule(
    RuleInfo(
        id="WB-CS-052",
        title="Cloud Sync jobs run: not quarantined, on schedule, with a recent successful run",
        criticality="SHALL",
        feature=FEATURE,
        rationale=(
            "A job in quarantine (status Quarantine, with a reason such as TooManyDeletes or "
            "EncounteredQuarantineException), not configured, paused, or without a successful run in the "
            "three hours before the observation writes nothing into AD. Read from the job's status (code, "
            "quarantine reason and error, last successful execution) and schedule; the message names the "
            "quarantine reason."
        ),
        remediation=(
            f"{PORTAL} → Configurations → the configuration: read its status and provisioning logs, fix the "
            "cause (TooManyDeletes: review the pending deletions, then allow them or correct the scope), then "
            "Restart sync."
        ),
        references=("M31", "M32", "M33", "M34", "M37"),
    ),
    uses_cloud_sync,
)
def job_healthy(ctx: RuleContext) -> list[Result]:
    """One result per job a declared feature needs."""
    return [_result(ctx, a, j) for a, j in _judged(ctx, "tenant.cloud_sync_job")]


@rule(
    RuleInfo(
        id="WB-CS-053",
        title="Group provisioning scope is as the policy declares",
        criticality="SHALL",
        feature=FEATURE,
        rationale=(
            "With 'Selected security groups' (Microsoft's recommended scoping filter) only the groups assigned "
            "to the configuration's service principal are provisioned: the configuration must require "
            "assignment and have at least one group assigned, else nothing (or every cloud security group) "
            "is written to AD. With 'All security groups' it must not require assignment; Microsoft does not "
            "document how that choice is stored, so a configuration that requires assignment is reported "
            "unknown, not failed."
        ),
        remediation=(
            f"{PORTAL} → Configurations → the Entra-to-AD configuration → Scoping filters: 'Selected security "
            "groups' and add the groups, or declare `scope: all_security_groups` in the policy if that is what "
            "you want."
        ),
        references=("M12", "S22", "M35"),
    ),
    provisions_groups,
)
def group_scope(ctx: RuleContext) -> list[Result]:
    """One result per domain with group provisioning."""
    return [_result(ctx, a, j) for a, j in _judged(ctx, "tenant.cloud_sync_scope")]


@rule(
    RuleInfo(
        id="WB-CS-054",
        title="The licences cover the Cloud Sync configurations",
        criticality="SHALL",
        feature=FEATURE,
        rationale=(
            "Cloud Sync group provisioning and password writeback need Microsoft Entra ID P1. Under the "
            "configuration-based licensing, a tenant's first two provisioning-to-AD configurations are covered "
            "by P1 and the third to twentieth need Microsoft Entra ID Governance (at most 20 per tenant). "
            "Decided on service plans as for P1 (provisioned, in an enabled SKU with units); configurations are "
            "counted over the policy's domains, those of other domains are not read."
        ),
        remediation=(
            "Buy or assign Microsoft Entra ID P1 (or P2), and Microsoft Entra ID Governance for a third to "
            "twentieth configuration, in the Microsoft 365 admin center → Billing → Licenses."
        ),
        references=("M13", "M11"),
        confidence="observed",
        confidence_note=(
            "the service plan that carries Microsoft Entra ID Governance (Entra_Identity_Governance, "
            "e866a266-3cff-43a3-acca-0c90a7e00c8b) is taken from public licence tables, not from a Microsoft "
            "page wbplan cites"
        ),
    ),
    needs_licence,
)
def licences_cover(ctx: RuleContext) -> list[Result]:
    """One result for the tenant."""
    return [_result(ctx, a, j) for a, j in _judged(ctx, "tenant.cloud_sync_licence")]


@rule(
    RuleInfo(
        id="WB-CS-055",
        title="An active provisioning agent serves each Cloud Sync domain",
        criticality="SHALL",
        feature=FEATURE,
        rationale=(
            "Cloud Sync acts in AD only through a provisioning agent registered for the domain "
            "(HybridIdentityServiceNoActiveAgents otherwise); Microsoft recommends three for high "
            "availability. The agents are listed only by a Microsoft Graph beta endpoint that serves "
            "signed-in administrators (delegated OnPremisesPublishingProfiles.ReadWrite.All or "
            "Directory.ReadWrite.All): with an app-only credential the verdict is unknown, and the "
            "message says why."
        ),
        remediation=(
            f"Install the provisioning agent on a domain-joined server and configure it for the domain ({PORTAL} "
            "→ Agents → Download on-premises agent), or start the 'Microsoft Azure AD Connect Provisioning "
            "Agent' service of an existing one. To verify with wbplan, run `wbplan refresh --tenant-only "
            "--graph-auth azure-cli` signed in as a Hybrid Identity Administrator."
        ),
        references=("M36", "M37", "M39"),
    ),
    uses_cloud_sync,
)
def agent_active(ctx: RuleContext) -> list[Result]:
    """One result per Cloud Sync domain."""
    return [_result(ctx, a, j) for a, j in _judged(ctx, "tenant.cloud_sync_agent")]


@rule(
    RuleInfo(
        id="WB-CS-056",
        title="Group provisioning writes to the target OUs the policy declares",
        criticality="SHALL",
        feature=FEATURE,
        rationale=(
            "A Group Provision to AD configuration creates each group in the container its "
            "parentDistinguishedName attribute mapping yields: a constant DN, or one of several DNs chosen by a "
            "Switch() or IIF() expression. wbplan checks the gMSA's rights, and plans them, on the OUs the "
            "policy declares in group_provisioning.target_ous, so the configuration must write there and "
            "nowhere else. Read from the job schema over Microsoft Graph (Get synchronizationSchema): the "
            "string constants in the mapping's value positions are the DNs it can write to; a DN computed "
            "from the group (an attribute, another function) or an expression wbplan cannot parse leaves the "
            "verdict unknown, never a pass. A tenant DN the policy does not declare fails, naming it; so "
            "does a declared OU the mapping never yields."
        ),
        remediation=(
            f"{PORTAL} → Configurations → the Entra-to-AD configuration → Attribute mapping → "
            "parentDistinguishedName (target container): set it to the declared OU, or a Switch() over the "
            "declared OUs; or declare in the policy the OUs the configuration uses, so their rights are "
            "checked too."
        ),
        references=("S22", "M50", "M51", "M52"),
    ),
    provisions_groups,
)
def target_as_declared(ctx: RuleContext) -> list[Result]:
    """One result per domain with group provisioning."""
    return [_result(ctx, a, j) for a, j in _judged(ctx, TARGET)]


@rule(
    RuleInfo(
        id="WB-CS-057",
        title="Group provisioning maps a target container (parentDistinguishedName)",
        criticality="SHALL",
        feature=FEATURE,
        rationale=(
            "Without a parentDistinguishedName mapping for groups the provisioning job has nowhere to create "
            "them and fails with SchemaInvalid; the portal keeps 'Review and enable' disabled until the target "
            "container is set, but the mapping can be removed later. Read from the job schema over Microsoft "
            "Graph; which DNs it yields is WB-CS-056's question."
        ),
        remediation=(
            f"{PORTAL} → Configurations → the Entra-to-AD configuration → Attribute mapping → add the "
            "parentDistinguishedName mapping (target container) for groups."
        ),
        references=("S22", "M50", "M37"),
    ),
    provisions_groups,
)
def target_mapped(ctx: RuleContext) -> list[Result]:
    """One result per domain with group provisioning: the mapping exists (whatever it yields)."""
    results = []
    for address, j in _judged(ctx, TARGET):
        if j.evidence.get("mapped") is True:
            expression = j.evidence.get("expression")
            message = f"{j.evidence['domain']}'s group provisioning maps parentDistinguishedName"
            message += f" ({expression})" if isinstance(expression, str) and expression else ""
            results.append(Result("pass", address, message, j.evidence))
        else:
            results.append(_result(ctx, address, j))
    return results
