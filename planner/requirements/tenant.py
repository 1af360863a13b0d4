"""Tenant-side requirements shared by features: licences, sync feature flags, and the switches
no API exposes (Connect wizard options, the SSPR on-premises toggle).

Licences are not manageable: a missing one is a ``manual`` change, and every tenant feature
depends on it ("licences before features", domain.md §12.2 item 1).
"""

from __future__ import annotations

from planner.connect.verdicts import evidence_version
from planner.connectversion import UPGRADE, problems_for, version_problems
from planner.model.plan import Resource
from planner.requirements.common import Context
from planner.syncstate import CONNECT_CHECK

LICENCE_NAMES = {
    "AAD_PREMIUM": "Microsoft Entra ID P1 (service plan AAD_PREMIUM 41781fb2-bc02-4b7c-bd55-b576c07bb09d)",
    "AAD_PREMIUM_P2": "Microsoft Entra ID P2 (service plan AAD_PREMIUM_P2 eec0eb4f-6444-4f95-aba0-50c24d67f998)",
}


def licence_resources(ctx: Context) -> list[Resource]:
    """One resource per required service plan."""
    return [
        Resource(
            address=f"tenant.licence[{name}]",
            type="tenant.licence",
            provider="tenant",
            features=(),
            why=(
                "Writeback features need an active Entra ID P1 or P2 service plan, decided on service plans "
                "(provisioningStatus Success in an Enabled/Warning SKU with units), never on the SKU id"
            ),
            references=("S31", "S34", "S37a"),
            manageable=False,
            desired={"service_plan": name},
            instructions=f"Buy or assign {LICENCE_NAMES[name]} in the Microsoft 365 admin center (P2 also satisfies P1)",
        )
        for name in ctx.policy.licences.require
    ]


def feature_flag(
    ctx: Context,
    flag: str,
    value: bool,
    feature: str,
    why: str,
    depends_on: tuple[str, ...],
    *,
    references: tuple[str, ...],
) -> Resource:
    """``features.<flag>`` of /directory/onPremisesSynchronization, changed with Graph PATCH;
    ``references`` are the ids of the sources stating ``why``."""
    deps = (*ctx.licence_addresses(), *depends_on) if value else depends_on
    return Resource(
        address=f"tenant.feature[{flag}]",
        type="tenant.feature",
        provider="tenant",
        features=(feature,),
        why=why,
        references=references,
        manageable=True,
        depends_on=deps,
        desired={"value": value},
    )


def connect_option(option: str, feature: str, depends_on: tuple[str, ...], where: str) -> Resource:
    """An Entra Connect optional feature: local server configuration, never visible remotely."""
    return Resource(
        address=f"connect.option[{option}]",
        type="connect.option",
        provider="connect",
        features=(feature,),
        why="Which optional features are ticked on a Connect server is local configuration that no API exposes",
        references=("S32",),
        confidence="observed",
        confidence_note=(
            "Microsoft documents the optional features in the Connect wizard, not an API that reports "
            "them; none was found"
        ),
        manageable=False,
        depends_on=depends_on,
        desired={"enabled": True},
        instructions=where,
    )


def sync_status_resource(ctx: Context) -> Resource:
    """The tenant is directory-synced and the last sync is recent (every writeback runs through
    it): a manual step on the Connect server when not."""
    return Resource(
        address=f"tenant.organization[{ctx.policy.tenant.id}]",
        type="tenant.sync_status",
        provider="tenant",
        features=(),
        why="Every writeback feature runs through directory synchronisation: organization.onPremisesSyncEnabled true and a recent onPremisesLastSyncDateTime",
        references=("M1", "S17c"),
        manageable=False,
        desired={"synced": True},
        instructions=CONNECT_CHECK,
    )


def connect_version_resource(ctx: Context) -> Resource:
    """The Connect version supports the enabled features (a manual upgrade when not): the version
    the server's evidence reports when there is evidence that counts, else the declared one."""
    reported = evidence_version(ctx.state)
    found = problems_for(ctx.policy, str(reported.value)) if reported is not None else None
    problems = found if found is not None else version_problems(ctx.policy)
    return Resource(
        address="connect.version[]",
        type="connect.version",
        provider="connect",
        features=(),
        why="Connect up to 1.0.8641.0 cannot do password writeback; device writeback options need 1.1.819.0",
        references=("S32", "S4", "S33"),
        manageable=False,
        desired={"problems": problems or []},
        instructions=UPGRADE,
    )


RETIRED_FLAGS = {
    "groupWriteBackEnabled": (
        "group",
        "Group writeback v2 was retired after June 30, 2024",
        ("S20", "S18", "S21"),
        "Turn group writeback v2 off on the Connect server: `Set-ADSyncAADCompanyFeature -GroupWritebackV2 $false`, "
        "after moving security groups to Cloud Sync 'Group Provision to Active Directory'",
    ),
    "userWritebackEnabled": (
        "user",
        "User writeback was withdrawn in August 2015",
        ("S25", "S36a"),
        "Turn user writeback off in the Entra Connect wizard (Optional features), or declare `user: {enabled: false}` "
        "in the policy and let `wbplan apply` turn the flag off",
    ),
}


def retired_flag_resource(flag: str) -> Resource:
    """A retired or withdrawn feature still on in the tenant: a person turns it off (wbplan
    changes no flag the policy does not name)."""
    feature, why, references, how = RETIRED_FLAGS[flag]
    return Resource(
        address=f"tenant.feature[{flag}]",
        type="tenant.retired_feature",
        provider="tenant",
        features=(feature,),
        why=why,
        references=references,
        manageable=False,
        desired={"value": False},
        instructions=how,
    )
