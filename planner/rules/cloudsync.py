"""Cloud Sync rules on the AD side (WB-CS-101 … WB-CS-120; the tenant's are WB-CS-05x): the
agent's gMSA (WB-CS-101, WB-CS-102), the KDS root key (WB-CS-103), the schema attribute of group
provisioning (WB-CS-104), the target OUs (WB-CS-105, WB-CS-106), the gMSA's effective rights per
feature (WB-CS-110 … WB-CS-112), AdminSDHolder-protected objects (WB-CS-113), and Connect's
password writeback grants in a domain Cloud Sync serves (WB-CS-120).

Each verdict is the planner's own (``planner.requirements.cloudsync`` diffed by
``planner.diff.ad``, per object by ``planner.scope_rights`` with the gMSA's token), so a failing
SHALL rule always has its change or manual step in the plan.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from planner.acewords import Names
from planner.model.dn import dn_key
from planner.model.plan import Resource
from planner.model.policy import CloudSyncDomain, Policy
from planner.model.report import RuleInfo
from planner.model.state import SecurityDescriptor
from planner.requirements.cloudsync import (
    ENCODING_NOTE,
    EXCHANGE_FEATURE,
    EXCHANGE_PURPOSE,
    GROUP_ANALYSIS,
    GROUP_FEATURE,
    GROUP_NOTE,
    GROUP_PURPOSE,
    KDS_NOTE,
    PASSWORD_FEATURE,
    PASSWORD_PURPOSE,
    anchor_address,
    domain_root,
    gmsa_address,
    kds_address,
)
from planner.requirements.common import Context
from planner.rights import CONTROL_ACCESS
from planner.rules.base import Result, rule
from planner.rules.context import VERIFY_AD, RuleContext, status_of
from planner.rules.gates import gate_result
from planner.rules.password import by_parent, object_row
from planner.scope_rights import ObjectVerdict, ScopeAnalysis, analyse

FEATURE = "cloud_sync"
GMSA_WORDS = "the Cloud Sync gMSA"
AES = 0x08 | 0x10
"""AES128_CTS_HMAC_SHA1_96 | AES256_CTS_HMAC_SHA1_96 in msDS-SupportedEncryptionTypes."""
LISTED = 50
RIGHT_WORDS = {
    "create-groups": "CC group (create group objects)",
    "delete-groups": "DC group (delete group objects)",
    "unexpire-password": "CA Unexpire Password",
}
"""dsacls words of the rights a grant judged on its object alone gives."""


def _domains(
    policy: Policy, *, group: bool = False, password: bool = False, exchange: bool = False
) -> list[CloudSyncDomain]:
    cloud = policy.cloud_sync
    if cloud is None:
        return []
    return [
        d
        for d in cloud.domains
        if (group and d.group_provisioning is not None)
        or (password and d.password_writeback)
        or (exchange and d.exchange_hybrid)
    ]


def uses_ad(policy: Policy) -> bool:
    """A Cloud Sync domain serves a feature that acts in AD (all three do)."""
    return bool(_domains(policy, group=True, password=True, exchange=True))


def provisions_groups(policy: Policy) -> bool:
    """A Cloud Sync domain has group provisioning."""
    return bool(_domains(policy, group=True))


def writes_passwords(policy: Policy) -> bool:
    """A Cloud Sync domain has password writeback."""
    return bool(_domains(policy, password=True))


def writes_exchange(policy: Policy) -> bool:
    """A Cloud Sync domain has Exchange hybrid writeback."""
    return bool(_domains(policy, exchange=True))


def ctx_context(ctx: RuleContext) -> Context:
    """The requirement context of a rule context (for the address helpers)."""
    return Context(ctx.policy, ctx.state)


def _by_outcome(ctx: RuleContext, address: str, what: str) -> Result:
    """pass / fail / unknown of one requirement, in the planner's words."""
    r = ctx.resource(address)
    if r is None:
        raise AssertionError(f"no requirement {address} for this policy")
    if ctx.state.ad is None:
        return Result("unknown", address, "Active Directory was not observed", verify_at=VERIFY_AD)
    outcome = ctx.outcome(r)
    status = status_of(outcome)
    before = outcome.before if isinstance(outcome.before, dict) else {}
    if status == "pass":
        return Result("pass", address, f"{what}: {_words(before)}", dict(before))
    if status == "unknown":
        return Result(
            "unknown",
            address,
            f"{what} could not be verified: {outcome.instructions or 'not observed'}",
            dict(before),
            verify_at=VERIFY_AD,
        )
    how = outcome.instructions or r.instructions
    return Result("fail", address, f"{what}: {how or _words(before)}", dict(before))


def _words(values: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in values.items()) or "nothing observed"


# --------------------------------------------------------------------------- the gMSA


@rule(
    RuleInfo(
        id="WB-CS-101",
        title="The Cloud Sync agent's gMSA exists, and exactly one account is it",
        criticality="SHALL",
        feature=FEATURE,
        rationale=(
            "The provisioning agent runs as a group Managed Service Account and every right Cloud Sync needs in "
            "AD is a right of that account. The default one is created as CN=provAgentgMSA with the account name "
            "pGMSA_<hex>$ (not provAgentgMSA$); a custom one is the account the policy names. wbplan evaluates "
            "the rights of the account it finds, so it must find exactly one: with several candidates it picks "
            "none."
        ),
        remediation=(
            "Create it with the agent's wizard (Create gMSA) or `Add-AADCloudSyncGMSA`; for a custom gMSA create "
            "it with `New-ADServiceAccount` and install it with `Add-AADCloudSyncGMSA -CustomGMSAName name$`. "
            "With several candidates, name the one the agents run as in cloud_sync.gmsa.account."
        ),
        references=("M15", "M14", "M41"),
    ),
    uses_ad,
)
def gmsa_exists(ctx: RuleContext) -> list[Result]:
    """The planner's ``ad.gmsa`` requirement."""
    return [_by_outcome(ctx, gmsa_address(ctx_context(ctx)), "the Cloud Sync gMSA")]


@rule(
    RuleInfo(
        id="WB-CS-102",
        title="The gMSA's msDS-SupportedEncryptionTypes is set and includes AES",
        criticality="SHOULD",
        feature=FEATURE,
        rationale=(
            "Installing the gMSA on the agent host fails ('Unable to install service account pGMSA_…$ after 6 "
            "retries') when the account's msDS-SupportedEncryptionTypes does not match the host's, e.g. RC4 "
            "disabled on the host while the account, without the attribute, offers only RC4."
        ),
        remediation=(
            "Set msDS-SupportedEncryptionTypes on the gMSA to the agent host computer account's value (AES: "
            "0x18, or 0x1C with RC4), e.g. `Set-ADServiceAccount <gMSA> -KerberosEncryptionType AES128,AES256`."
        ),
        references=("M15",),
    ),
    uses_ad,
)
def gmsa_encryption(ctx: RuleContext) -> list[Result]:
    """pass when AES is among the types; fail when unset or without AES; unknown without a
    gMSA."""
    address = gmsa_address(ctx_context(ctx))
    cloud = ctx.state.ad.cloud_sync if ctx.state.ad else None
    gmsa = cloud.gmsa if cloud else None
    if gmsa is None:
        return [
            Result(
                "unknown",
                address,
                "no gMSA was identified (WB-CS-101), so its encryption types cannot be read",
                verify_at=VERIFY_AD,
            )
        ]
    value = gmsa.supported_encryption_types
    evidence = {"dn": gmsa.dn, "msDS-SupportedEncryptionTypes": value}
    if value is None:
        return [
            Result(
                "fail",
                gmsa.dn,
                f"msDS-SupportedEncryptionTypes is not set on {gmsa.dn}: the account offers RC4 only, and "
                "installing it fails on an agent host that disabled RC4",
                evidence,
            )
        ]
    if not value & AES:
        return [
            Result(
                "fail",
                gmsa.dn,
                f"msDS-SupportedEncryptionTypes of {gmsa.dn} is 0x{value:x}: no AES type",
                evidence,
            )
        ]
    return [
        Result(
            "pass",
            gmsa.dn,
            f"msDS-SupportedEncryptionTypes of {gmsa.dn} is 0x{value:x} (AES included)",
            evidence,
        )
    ]


@rule(
    RuleInfo(
        id="WB-CS-103",
        title="The forest has a KDS root key (unknown when the reader cannot see it)",
        criticality="SHALL",
        feature=FEATURE,
        rationale=(
            "Domain controllers derive every gMSA password from a KDS root key; without one the gMSA cannot be "
            "created or used. Root keys (msKds-ProvRootKey in the configuration partition) are readable by "
            "Enterprise Admins, Domain Admins and SYSTEM only: read with another account, none visible is "
            "unknown, never missing."
        ),
        remediation=(
            "As a Domain Admin, `Get-KdsRootKey` on a domain controller; if there is none, "
            "`Add-KdsRootKey -EffectiveImmediately` (domain controllers use it after up to 10 hours)."
        ),
        references=("M42", "M44", "M15"),
        confidence="inferred",
        confidence_note=KDS_NOTE,
    ),
    uses_ad,
)
def kds_root_key(ctx: RuleContext) -> list[Result]:
    """The planner's ``ad.kds_root_key`` requirement."""
    return [_by_outcome(ctx, kds_address(ctx_context(ctx)), "the KDS root key")]


@rule(
    RuleInfo(
        id="WB-CS-104",
        title="msDS-ExternalDirectoryObjectId is in the forest schema for group provisioning",
        criticality="SHALL",
        feature=FEATURE,
        rationale=(
            "Group Provision to AD writes and matches groups by msDS-ExternalDirectoryObjectId, an attribute of "
            "the Windows Server 2016 schema. wbplan looks the attribute up by name in the schema partition "
            "rather than inferring it from the schema version."
        ),
        remediation="`adprep /forestprep` from Windows Server 2016 (or later) media, as a Schema Admin.",
        references=("M45", "S22", "M43"),
    ),
    provisions_groups,
)
def anchor_attribute(ctx: RuleContext) -> list[Result]:
    """The planner's schema attribute gate."""
    return gate_result(ctx, anchor_address(ctx_context(ctx)), "msDS-ExternalDirectoryObjectId")


# --------------------------------------------------------------------------- target OUs


def _target_ous(ctx: RuleContext) -> list[str]:
    return [
        ou
        for d in _domains(ctx.policy, group=True)
        if d.group_provisioning is not None
        for ou in d.group_provisioning.target_ous
    ]


@rule(
    RuleInfo(
        id="WB-CS-105",
        title="Each target OU of group provisioning exists",
        criticality="SHALL",
        feature=FEATURE,
        rationale=(
            "Group Provision to AD creates its groups in the configuration's target container "
            "(parentDistinguishedName); provisioning into a container that does not exist fails."
        ),
        remediation="Run `wbplan apply` (it creates a missing OU), or correct target_ous in the policy.",
        references=("S22", "M45"),
    ),
    provisions_groups,
)
def target_ous_exist(ctx: RuleContext) -> list[Result]:
    """One result per target OU."""
    out = []
    for ou in _target_ous(ctx):
        address = f"ad.object[{ou}]"
        r = ctx.resource(address)
        assert r is not None
        if ctx.state.ad is None:
            out.append(
                Result("unknown", ou, "Active Directory was not observed", verify_at=VERIFY_AD)
            )
            continue
        outcome = ctx.outcome(r)
        status = status_of(outcome)
        if status == "pass":
            out.append(Result("pass", ou, f"the target OU {ou} exists"))
        elif status == "unknown":
            out.append(Result("unknown", ou, f"{ou} could not be read", verify_at=VERIFY_AD))
        elif outcome.reason == "wrong_object_class":
            out.append(
                Result(
                    "fail",
                    ou,
                    f"{ou} exists but is not an organizationalUnit",
                    dict(outcome.before or {}),
                )
            )
        else:
            out.append(
                Result("fail", ou, f"the target OU {ou} does not exist", fixed_by=(address,))
            )
    return out


def _protected(sd: SecurityDescriptor | None) -> bool:
    return sd is not None and sd.dacl_protected


@rule(
    RuleInfo(
        id="WB-CS-106",
        title="No target OU, or OU below it, has inheritance disabled",
        criticality="SHOULD",
        feature=FEATURE,
        rationale=(
            "The agent's installer and Set-AADCloudSyncPermissions grant the gMSA its rights on the domain root; "
            "they reach a target OU and the groups below it only by inheritance. An OU with inheritance disabled "
            "cuts them off: re-running the cmdlet does not repair it. wbplan grants on such an OU itself "
            "(WB-CS-110), but a person should know that these OUs depend on explicit grants."
        ),
        remediation=(
            "Re-enable inheritance on the OU (Active Directory Users and Computers → Security → Advanced → Enable "
            "inheritance), or keep the explicit grants wbplan plans there."
        ),
        references=("M40", "M4", "S1"),
    ),
    provisions_groups,
)
def target_ou_inheritance(ctx: RuleContext) -> list[Result]:
    """One result per target OU (naming protected OUs below it)."""
    out = []
    ad = ctx.state.ad
    for ou in _target_ous(ctx):
        obj = ctx.index.object(ou)
        if ad is None or obj is None:
            out.append(Result("unknown", ou, f"{ou} was not observed", verify_at=VERIFY_AD))
            continue
        if not obj.exists:
            out.append(
                Result(
                    "pass", ou, f"{ou} does not exist yet (WB-CS-105): wbplan creates it inheriting"
                )
            )
            continue
        if obj.security is None:
            out.append(
                Result("unknown", ou, f"the DACL of {ou} could not be read", verify_at=VERIFY_AD)
            )
            continue
        scan = next((s for s in ad.scopes if dn_key(s.root) == dn_key(ou)), None)
        below = [
            c.dn
            for c in (scan.containers if scan else ())
            if c.dacl and _protected(ad.dacls.get(c.dacl))
        ]
        blocked = ([ou] if obj.security.dacl_protected else []) + below
        if not blocked:
            out.append(
                Result("pass", ou, f"{ou} and the OUs below it inherit from the domain root")
            )
            continue
        out.append(
            Result(
                "fail",
                ou,
                f"inheritance is disabled on {', '.join(blocked[:5])}"
                + (f" and {len(blocked) - 5} more" if len(blocked) > 5 else "")
                + ": the gMSA's domain-root rights do not reach the groups there",
                {"inheritance_disabled": blocked[:LISTED]},
            )
        )
    return out


# --------------------------------------------------------------------------- effective rights


def _labels(analysis: ScopeAnalysis | None) -> dict[str, str]:
    return {op.name: op.label for op in analysis.operations} if analysis else {}


def _right_names(r: Resource, labels: dict[str, str], analysis: ScopeAnalysis | None) -> list[str]:
    """What a grant gives, in dsacls words: the per-object operations it covers, else its
    rights."""
    grant = r.desired.get("grant")
    if grant and analysis is not None:
        ops = [op.label for op in analysis.operations if op.grant_name == grant]
        if ops:
            return ops
    return [labels.get(s.name, RIGHT_WORDS.get(s.name, s.name)) for s in r.rights]


def _rights_results(
    ctx: RuleContext,
    *,
    feature: str,
    purpose: str,
    analysis_kind: str,
    roots: Iterable[str],
    what: str,
) -> list[Result]:
    """Per root: one failure per object where a grant is missing (naming the rights and the
    objects below that lack them), one per deny ACE (the plan's manual step), else a pass."""
    out: list[Result] = []
    names = Names(ctx.state, ctx.policy.connector_account)
    grants = ctx.resources_of(feature, "ad.ace", purpose)
    denies = ctx.resources_of(feature, "ad.deny")
    cloud = ctx.state.ad.cloud_sync if ctx.state.ad else None
    gmsa = cloud.gmsa if cloud else None
    for root in roots:
        mine = [
            r
            for r in grants
            if dn_key(str(r.desired.get("scope") or r.dn)) == dn_key(root)
            or (r.dn is not None and dn_key(r.dn) == dn_key(root))
        ]
        analysis = analyse(ctx.state, root, analysis_kind, "gmsa") if ctx.state.ad else None
        labels = _labels(analysis)
        failing: dict[str, list[Resource]] = {}
        unknown: list[Resource] = []
        for r in mine:
            outcome = ctx.outcome(r)
            if outcome.action == "read":
                unknown.append(r)
            elif outcome.action != "no-op":
                assert r.dn is not None
                failing.setdefault(dn_key(r.dn), []).append(r)
        for items in failing.values():
            dn = items[0].dn
            assert dn is not None
            rights = list(
                dict.fromkeys(w for r in items for w in _right_names(r, labels, analysis))
            )
            lacking: list[ObjectVerdict] = []
            if analysis is not None:
                ops = {
                    op.name
                    for op in analysis.operations
                    for r in items
                    if op.grant_name == r.desired.get("grant")
                }
                point = dn_key(dn)
                seen: dict[str, ObjectVerdict] = {}
                for (p, _cls, op), verdicts in analysis.missing.items():
                    if p == point and op in ops:
                        for v in verdicts:
                            seen.setdefault(v.key, v)
                lacking = list(seen.values())
            message = f"{GMSA_WORDS} lacks {', '.join(rights)} on {dn}"
            if gmsa is None:
                message += " (no gMSA was identified: WB-CS-101)"
            if lacking:
                message += f"; {len(lacking)} object(s) lack it now ({by_parent([v.obj.dn for v in lacking])})"
            denied = [r for r in items if ctx.outcome(r).reason == "denied_by_ace"]
            if denied and ctx.outcome(denied[0]).instructions:
                message += f" — {ctx.outcome(denied[0]).instructions}"
            out.append(
                Result(
                    "fail",
                    dn,
                    message,
                    {
                        "gmsa": gmsa.dn if gmsa else None,
                        "gmsa_sid": gmsa.sid if gmsa else None,
                        "scope_root": root,
                        "missing": rights,
                        "objects_lacking": len(lacking),
                        "objects": [object_row(analysis, v, names) for v in lacking[:LISTED]]
                        if analysis
                        else [],
                        "grants_planned": [r.address for r in items],
                    },
                    fixed_by=tuple(r.address for r in items),
                )
            )
        for r in denies:
            if dn_key(str(r.desired.get("scope"))) != dn_key(root) or r.dn is None:
                continue
            outcome = ctx.outcome(r)
            if outcome.action != "manual":
                continue
            before = outcome.before if isinstance(outcome.before, dict) else {}
            op = str(r.desired.get("operation"))
            out.append(
                Result(
                    "fail",
                    r.dn,
                    f"{labels.get(op, op)} denied to {GMSA_WORDS}: {outcome.instructions}",
                    {
                        "scope_root": root,
                        "operation": op,
                        "objects_denied": before.get("denied_objects"),
                        "deny_aces": before.get("deny_aces", []),
                    },
                    fixed_by=(r.address,),
                )
            )
        if unknown and not failing:
            out.append(
                Result(
                    "unknown",
                    root,
                    f"{what} on {root} cannot be verified: "
                    + (ctx.outcome(unknown[0]).instructions or "not observed"),
                    {"requirements": [r.address for r in unknown]},
                    verify_at=VERIFY_AD,
                )
            )
        elif analysis is not None and analysis.unreadable:
            dns = [o.dn for o in analysis.unreadable]
            out.append(
                Result(
                    "unknown",
                    root,
                    f"the DACL of {len(dns)} object(s) under {root} could not be read ({by_parent(dns)})",
                    {"objects": dns[:LISTED]},
                    verify_at="grant the reading account 'Read permissions' on those objects",
                )
            )
        elif not failing and not any(
            dn_key(str(r.desired.get("scope"))) == dn_key(root)
            and ctx.outcome(r).action == "manual"
            for r in denies
        ):
            checked = [v for v in analysis.verdicts if not v.obj.admin_count] if analysis else []
            out.append(
                Result(
                    "pass",
                    root,
                    f"{GMSA_WORDS} holds {what} on {root}"
                    + (f" and on the {len(checked)} object(s) below it" if analysis else ""),
                    {
                        "gmsa": gmsa.dn if gmsa else None,
                        "gmsa_sid": gmsa.sid if gmsa else None,
                        "objects_checked": len(checked),
                    },
                )
            )
    return out


@rule(
    RuleInfo(
        id="WB-CS-110",
        title="The gMSA can create, update and delete groups in each target OU",
        criticality="SHALL",
        feature=FEATURE,
        rationale=(
            "Group Provision to AD creates and deletes groups in its target OUs and writes their members and "
            "mapped attributes (adminDescription, msDS-ExternalDirectoryObjectId, cn, description, displayName) "
            "as the gMSA: it needs Create/Delete group children on each target OU and write and delete on the "
            "groups. wbplan evaluates the gMSA's effective rights on the OU and on every group below it — held "
            "through its groups, inherited, or denied — as it does for the connector; custom gMSAs get no rights "
            "from the agent since build 1.1.2334.0, and upgraded agents get no group rights at all."
        ),
        remediation=(
            "Run `wbplan apply` for missing grants, or `Set-AADCloudSyncPermissions -PermissionType "
            "UserGroupCreateDelete -TargetDomain <domain>`; a deny ACE named in the finding must be removed by a "
            "person."
        ),
        references=("M40", "M45", "S22", "M15"),
        confidence="inferred",
        confidence_note=GROUP_NOTE,
    ),
    provisions_groups,
)
def group_rights(ctx: RuleContext) -> list[Result]:
    """Per target OU."""
    return _rights_results(
        ctx,
        feature=GROUP_FEATURE,
        purpose=GROUP_PURPOSE,
        analysis_kind=GROUP_ANALYSIS,
        roots=dict.fromkeys(_target_ous(ctx)),
        what="the group provisioning rights",
    )


def _roots(ctx: RuleContext, **kind: bool) -> list[str]:
    context = ctx_context(ctx)
    return list(dict.fromkeys(domain_root(context, d.domain) for d in _domains(ctx.policy, **kind)))


@rule(
    RuleInfo(
        id="WB-CS-111",
        title="The gMSA holds the password writeback rights on every user of each Cloud Sync domain",
        criticality="SHALL",
        feature=FEATURE,
        rationale=(
            "Cloud Sync password writeback resets passwords as the gMSA: it needs Reset Password, write "
            "lockoutTime and write pwdLastSet on every user of the domain, and Unexpire Password on the domain "
            "root if not already granted (Set-AADCloudSyncPermissions -PermissionType PasswordWriteBack, the same "
            "permissions as Connect's). Users behind an OU with inheritance disabled need the grant there."
        ),
        remediation=(
            "Run `wbplan apply`, or `Set-AADCloudSyncPermissions -PermissionType PasswordWriteBack -TargetDomain "
            "<domain>` (it does not repair OUs with inheritance disabled); a deny ACE must be removed by a person."
        ),
        references=("M40", "M11", "S1"),
        confidence="inferred",
        confidence_note=ENCODING_NOTE,
    ),
    writes_passwords,
)
def password_rights(ctx: RuleContext) -> list[Result]:
    """Per Cloud Sync password domain root."""
    return _rights_results(
        ctx,
        feature=PASSWORD_FEATURE,
        purpose=PASSWORD_PURPOSE,
        analysis_kind="password",
        roots=_roots(ctx, password=True),
        what="the password writeback rights",
    )


@rule(
    RuleInfo(
        id="WB-CS-112",
        title="The gMSA holds the Exchange hybrid writeback rights in each Cloud Sync domain",
        criticality="SHALL",
        feature=FEATURE,
        rationale=(
            "Cloud Sync's Exchange hybrid writeback writes Exchange attributes back to users, inetOrgPersons, "
            "groups and contacts as the gMSA: RPWP on those objects (Set-AADCloudSyncPermissions -PermissionType "
            "HybridExchangePermissions, the same permissions as Connect's)."
        ),
        remediation=(
            "Run `wbplan apply`, or `Set-AADCloudSyncPermissions -PermissionType HybridExchangePermissions "
            "-TargetDomain <domain>`."
        ),
        references=("M40", "S27", "S1"),
        confidence="inferred",
        confidence_note=ENCODING_NOTE,
    ),
    writes_exchange,
)
def exchange_rights(ctx: RuleContext) -> list[Result]:
    """Per Cloud Sync Exchange hybrid domain root."""
    return _rights_results(
        ctx,
        feature=EXCHANGE_FEATURE,
        purpose=EXCHANGE_PURPOSE,
        analysis_kind="exchange",
        roots=_roots(ctx, exchange=True),
        what="the Exchange hybrid writeback rights",
    )


@rule(
    RuleInfo(
        id="WB-CS-113",
        title="AdminSDHolder-protected objects in a Cloud Sync scope: the gMSA holds the rights there too",
        criticality="SHOULD",
        feature=FEATURE,
        rationale=(
            "SDProp resets the DACL of adminCount=1 objects to AdminSDHolder's every hour, so the gMSA's rights "
            "hold on them only when AdminSDHolder grants them too; Microsoft notes that the group provisioning "
            "permissions are not applied to AdminSDHolder objects by default."
        ),
        remediation=(
            "Keep privileged users and groups out of Cloud Sync's scope; for stale adminCount=1 objects clear "
            "adminCount and re-enable inheritance."
        ),
        references=("S42", "M45"),
    ),
    uses_ad,
)
def protected_objects(ctx: RuleContext) -> list[Result]:
    """One result per adminCount=1 object lacking a right, or a pass per scope root."""
    out: list[Result] = []
    names = Names(ctx.state, ctx.policy.connector_account)
    scopes = [
        *((ou, GROUP_ANALYSIS) for ou in dict.fromkeys(_target_ous(ctx))),
        *((r, "password") for r in _roots(ctx, password=True)),
        *((r, "exchange") for r in _roots(ctx, exchange=True)),
    ]
    for root, kind in scopes:
        analysis = analyse(ctx.state, root, kind, "gmsa") if ctx.state.ad else None
        if analysis is None:
            out.append(
                Result(
                    "unknown",
                    root,
                    f"no verdict under {root}: the objects there or the gMSA could not be read",
                    verify_at=VERIFY_AD,
                )
            )
            continue
        labels = _labels(analysis)
        bad = [v for v in analysis.admin if not v.ok]
        if not bad:
            out.append(
                Result(
                    "pass",
                    root,
                    f"no adminCount=1 object under {root} lacks {GMSA_WORDS}'s rights "
                    f"({len(analysis.admin)} with adminCount=1)",
                )
            )
        for v in bad:
            mine = [labels[o] for o, d in v.decisions.items() if d.state != "granted"]
            held = [labels[o] for o, d in (v.holder or {}).items() if d.state != "granted"]
            parts = []
            if mine:
                parts.append(f"its own DACL lacks {', '.join(mine)}")
            if held:
                parts.append(
                    f"{analysis.holder_dn} lacks {', '.join(held)} (SDProp copies it onto the object)"
                )
            out.append(
                Result(
                    "fail",
                    v.obj.dn,
                    f"{v.obj.dn} (under {root}) has adminCount=1: " + "; ".join(parts),
                    {"scope_root": root, "object": object_row(analysis, v, names)},
                )
            )
    return out


# --------------------------------------------------------------------------- Connect and Cloud Sync


def _connect_reset_grants(ctx: RuleContext, root: str) -> list[str] | None:
    """DNs in the domain of ``root`` whose DACL grants the Connect connector Reset Password
    explicitly (as Set-ADSyncPasswordWritebackPermissions does); None when the domain's DACLs
    were not read."""
    ad = ctx.state.ad
    if ad is None:
        return None
    conn = ad.connector
    if conn is None or not conn.found or conn.sid is None:
        return []
    reset = (ad.schema_info.extended_rights.get("User-Force-Change-Password") or "").lower()
    root_key = dn_key(root)
    dacls: list[tuple[str, SecurityDescriptor]] = []
    for obj in ad.objects:
        if obj.exists and obj.security is not None:
            dacls.append((obj.dn, obj.security))
    scan = next((s for s in ad.scopes if dn_key(s.root) == root_key), None)
    if scan is None and not any(dn_key(dn) == root_key for dn, _ in dacls):
        return None
    for c in scan.containers if scan else ():
        sd = ad.dacls.get(c.dacl) if c.dacl else None
        if sd is not None:
            dacls.append((c.dn, sd))
    found = []
    for dn, sd in dacls:
        key = dn_key(dn)
        if not (key == root_key or key.endswith("," + root_key)):
            continue
        for ace in sd.aces:
            if (
                not ace.inherited
                and ace.qualifier == "allow"
                and ace.trustee.upper() == conn.sid.upper()
                and ace.mask & CONTROL_ACCESS
                and (ace.object_type is None or ace.object_type.lower() == reset)
            ):
                found.append(dn)
                break
    return sorted(dict.fromkeys(found), key=dn_key)


@rule(
    RuleInfo(
        id="WB-CS-120",
        title="Password writeback for a Cloud Sync domain is not also prepared for Entra Connect",
        criticality="SHOULD",
        feature=FEATURE,
        rationale=(
            "Cloud Sync and Connect may serve password writeback side by side for different domains, with each "
            "user in scope of one of them only; which one handles a user in scope of both is not documented. The "
            "policy cannot declare both for one domain (validation refuses it), so this rule looks at AD: "
            "Connect's connector holding Reset Password in a domain whose password writeback Cloud Sync serves "
            "means Connect's writeback was prepared there too."
        ),
        remediation=(
            "Turn Connect's password writeback off for that domain (or narrow its scope to other domains) and "
            "remove the connector's password writeback grants there."
        ),
        references=("M11", "M10"),
    ),
    writes_passwords,
)
def one_engine_for_passwords(ctx: RuleContext) -> list[Result]:
    """Per Cloud Sync password domain."""
    out = []
    context = ctx_context(ctx)
    for d in _domains(ctx.policy, password=True):
        root = domain_root(context, d.domain)
        found = _connect_reset_grants(ctx, root)
        if ctx.policy.connector is None:
            # no connector named: Connect's grants cannot be told from anybody else's
            out.append(
                Result(
                    "unknown",
                    root,
                    "the policy names no Entra Connect connector account, so wbplan cannot tell whether Connect's "
                    f"password writeback was also prepared in {d.domain}",
                    verify_at="on an Entra Connect server, if there is one: Get-ADSyncADConnectorAccount, then that "
                    "account's Reset Password grants in the domain",
                )
            )
        elif found is None:
            out.append(
                Result(
                    "unknown", root, f"the DACLs of {d.domain} were not read", verify_at=VERIFY_AD
                )
            )
        elif found:
            out.append(
                Result(
                    "fail",
                    root,
                    f"Cloud Sync serves password writeback for {d.domain}, and the Entra Connect connector "
                    f"{ctx.policy.connector_account} holds Reset Password on "
                    + ", ".join(found[:5])
                    + (f" and {len(found) - 5} more" if len(found) > 5 else "")
                    + ": a user there is in scope of both",
                    {"connector": ctx.policy.connector_account, "granted_on": found[:LISTED]},
                )
            )
        else:
            out.append(
                Result(
                    "pass",
                    root,
                    f"the Entra Connect connector holds no explicit Reset Password grant in {d.domain}",
                )
            )
    return out
