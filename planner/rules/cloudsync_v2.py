"""Rules of the migration from Entra Connect group writeback v2 to Cloud Sync (WB-CS-121,
WB-CS-122), for a policy declaring ``group_provisioning.migrate_from_connect_v2``.

Microsoft's migration page copies each group's adminDescription into
msDS-ExternalDirectoryObjectId before v2 is turned off, and supports only cloud security groups
written back as universal groups (``planner.connectv2``). WB-CS-121 is the planner's own verdict
on each planned copy (``planner.requirements.cloudsync``, diffed by ``planner.diff.ad``), so a
failure always names the changes or manual steps that fix it; WB-CS-122 reports the groups that
will not migrate.
"""

from __future__ import annotations

from planner import connectv2
from planner.connectv2 import V2Group
from planner.model.policy import Policy
from planner.model.report import RuleInfo
from planner.requirements.common import ad_object
from planner.rules.base import Result, rule
from planner.rules.context import VERIFY_AD, RuleContext, status_of

FEATURE = "cloud_sync"
LISTED = 50
SHOWN = 5


def migrations(policy: Policy) -> list[str]:
    """The OUs group writeback v2 wrote to, one per declared migration."""
    cloud = policy.cloud_sync
    if cloud is None:
        return []
    return [
        d.group_provisioning.migrate_from_connect_v2.ou
        for d in cloud.domains
        if d.group_provisioning is not None and d.group_provisioning.migrate_from_connect_v2
    ]


def migrates(policy: Policy) -> bool:
    """The policy declares a migration from group writeback v2."""
    return bool(migrations(policy))


def _names(groups: list[V2Group]) -> str:
    shown = ", ".join(g.dn for g in groups[:SHOWN])
    more = len(groups) - SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def _groups(ctx: RuleContext, ou: str) -> list[V2Group] | Result:
    """The groups v2 wrote back under ``ou``, or the ``unknown`` result saying why not."""
    ad = ctx.state.ad
    if ad is None:
        return Result("unknown", ou, "Active Directory was not observed", verify_at=VERIFY_AD)
    read = connectv2.read_of(ad, ou)
    if read is None:
        why = next(
            (
                u.reason
                for u in ad.unread
                if u.what in (ad_object(ou), f"ad.cloud_sync.connect_v2[{ou}]")
            ),
            "it was not read",
        )
        return Result(
            "unknown", ou, f"the groups under {ou} could not be read: {why}", verify_at=VERIFY_AD
        )
    if not read.exists:
        return Result(
            "unknown",
            ou,
            f"{ou} does not exist, so no group that group writeback v2 wrote back can be found there: check the OU "
            "named in migrate_from_connect_v2 (the group writeback OU of the Connect wizard)",
            verify_at=VERIFY_AD,
        )
    return [g for g in connectv2.groups_of(ad, read) if g.written_by_connect]


@rule(
    RuleInfo(
        id="WB-CS-121",
        title="Each universal security group written back by group writeback v2 has its adminDescription in "
        "msDS-ExternalDirectoryObjectId before v2 is turned off",
        criticality="SHALL",
        feature=FEATURE,
        rationale=(
            "Cloud Sync's Group Provision to AD finds the groups it manages by msDS-ExternalDirectoryObjectId. "
            "Microsoft's migration from Connect group writeback v2 therefore copies each group's adminDescription "
            "(Group_<cloud object id>, written by Connect) into msDS-ExternalDirectoryObjectId as its first step, "
            "before Connect stops managing the groups and v2 is turned off."
        ),
        remediation=(
            "Run `wbplan apply`: it writes each missing value exactly as Microsoft's script does (Set-ADGroup -Add "
            "@{'msDS-ExternalDirectoryObjectID' = <adminDescription>}), with a before-image for rollback. A group "
            "that already holds another value is a manual step: find the cloud group it names and correct it."
        ),
        references=("S21", "M45"),
    ),
    migrates,
)
def v2_groups_copied(ctx: RuleContext) -> list[Result]:
    """One result per declared migration OU, judged on the planner's copy changes."""
    out: list[Result] = []
    for ou in migrations(ctx.policy):
        groups = _groups(ctx, ou)
        if isinstance(groups, Result):
            out.append(groups)
            continue
        pending: list[V2Group] = []
        taken: list[V2Group] = []
        unknown: list[V2Group] = []
        done = 0
        for g in groups:
            r = ctx.resource(ad_object(g.dn))
            if r is None or not g.universal_security:
                continue  # not migrated (WB-CS-122)
            outcome = ctx.outcome(r)
            status = status_of(outcome)
            if status == "pass":
                done += 1
            elif status == "unknown":
                unknown.append(g)
            elif outcome.action == "manual":
                taken.append(g)
            else:
                pending.append(g)
        failing = pending + taken
        evidence = {
            "ou": ou,
            "written_back": len(groups),
            "copied": done,
            "to_copy": [g.dn for g in pending[:LISTED]],
            "other_value": [
                {
                    "dn": g.dn,
                    "adminDescription": g.admin_description,
                    "msDS-ExternalDirectoryObjectId": list(g.anchor),
                }
                for g in taken[:LISTED]
            ],
        }
        if failing:
            parts = []
            if pending:
                parts.append(f"{len(pending)} group(s) lack the value: {_names(pending)}")
            if taken:
                parts.append(
                    f"{len(taken)} group(s) hold another value than their adminDescription: {_names(taken)}"
                )
            if (
                ctx.state.ad is not None
                and ctx.state.ad.cloud_sync is not None
                and (ctx.state.ad.cloud_sync.external_directory_object_id is False)
            ):
                parts.append(
                    "the forest schema has no msDS-ExternalDirectoryObjectId yet (WB-CS-104)"
                )
            out.append(
                Result(
                    "fail",
                    ou,
                    f"of the {len(groups)} group(s) that group writeback v2 wrote back under {ou}, "
                    + "; ".join(parts),
                    evidence,
                    fixed_by=tuple(ad_object(g.dn) for g in failing),
                )
            )
        elif unknown:
            out.append(
                Result(
                    "unknown",
                    ou,
                    f"msDS-ExternalDirectoryObjectId of {len(unknown)} group(s) under {ou} could not be read: "
                    f"{_names(unknown)}",
                    evidence,
                    verify_at=VERIFY_AD,
                )
            )
        else:
            out.append(
                Result(
                    "pass",
                    ou,
                    f"{done} universal security group(s) that group writeback v2 wrote back under {ou} carry their "
                    "adminDescription in msDS-ExternalDirectoryObjectId"
                    + ("" if groups else " (v2 wrote back no group there)"),
                    evidence,
                )
            )
    return out


@rule(
    RuleInfo(
        id="WB-CS-122",
        title="The groups that group writeback v2 wrote back are universal security groups (the only ones the "
        "migration to Cloud Sync supports)",
        criticality="SHOULD",
        feature=FEATURE,
        rationale=(
            "Microsoft's migration from Connect group writeback v2 to Cloud Sync applies only to cloud security "
            "groups written back with universal scope; mail-enabled groups and distribution lists are not "
            "supported (they stay with Connect group writeback, which after v2 is off behaves as v1), and Cloud "
            "Sync provisions universal groups only. wbplan plans no copy for those groups."
        ),
        remediation=(
            "Decide per group: change a security group's scope to universal (Set-ADGroup -GroupScope Universal) "
            "and plan again so its copy is planned; leave Microsoft 365 / distribution groups with Connect group "
            "writeback."
        ),
        references=("S21",),
    ),
    migrates,
)
def v2_groups_supported(ctx: RuleContext) -> list[Result]:
    """One result per declared migration OU."""
    out: list[Result] = []
    for ou in migrations(ctx.policy):
        groups = _groups(ctx, ou)
        if isinstance(groups, Result):
            out.append(groups)
            continue
        kept = [g for g in groups if not g.universal_security]
        if kept:
            out.append(
                Result(
                    "fail",
                    ou,
                    f"{len(kept)} of the {len(groups)} group(s) that group writeback v2 wrote back under {ou} will not "
                    "migrate to Cloud Sync: "
                    + ", ".join(f"{g.dn} ({g.kind})" for g in kept[:SHOWN])
                    + (f" and {len(kept) - SHOWN} more" if len(kept) > SHOWN else ""),
                    {
                        "ou": ou,
                        "not_migrated": [{"dn": g.dn, "kind": g.kind} for g in kept[:LISTED]],
                    },
                )
            )
        else:
            out.append(
                Result(
                    "pass",
                    ou,
                    f"every group that group writeback v2 wrote back under {ou} ({len(groups)}) is a universal security group",
                )
            )
    return out
